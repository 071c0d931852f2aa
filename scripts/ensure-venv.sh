#!/usr/bin/env bash
# Creates the git-ignored virtual environment .venv for the outside checks and benchmarks and
# installs the requirement files given as arguments (re-installing only when a file changed).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
    .venv/bin/python -m pip install -q --upgrade pip >/dev/null
fi
for requirements in "$@"; do
    stamp=".venv/.installed-$(echo "$requirements" | tr '/' '_')"
    if [ ! -f "$stamp" ] || [ "$requirements" -nt "$stamp" ]; then
        .venv/bin/python -m pip install -q -r "$requirements"
        touch "$stamp"
    fi
done
