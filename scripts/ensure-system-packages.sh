#!/usr/bin/env bash
# Installs the Debian packages FokkerPlanck builds against, and the real clients the tests read its
# files with (netCDF-C's ncdump, NCO, CDO, ParaView's pvbatch), when any is missing.
set -euo pipefail
packages=(libsuitesparse-dev libopenblas-dev liblapacke-dev libfftw3-dev libhdf5-dev hdf5-tools pkg-config python3-venv
          netcdf-bin nco cdo paraview python3-paraview)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
echo "installing system packages: ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# ParaView without its recommends is ~200 MB instead of ~1 GB; pvbatch needs nothing more.
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
