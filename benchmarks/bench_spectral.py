#!/usr/bin/env python3
"""Benchmark: Kunin p = 2 (non-commuting Σ, grids/sgd-momentum-p2-general-noise.toml) stationary,
the Hermite spectral solve against the grid solver at 32⁴ (GMRES with the separable
preconditioner) — wall time, peak memory, and the relative error of the stationary covariance
against Kunin's closed form (`kunin_covariance`, written by fpsolve from THEORY §3, not by
either solver). Both write the same fields on the same 32⁴ output grid. Measures; asserts nothing.
"""
import argparse
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
PROBLEM = ROOT / "grids" / "sgd-momentum-p2-general-noise.toml"


def run(fpsolve, out, *extra):
    """One solve in a child process: its JSON summary, peak RSS (MiB) and covariance error."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    p = subprocess.run([fpsolve, "solve", str(PROBLEM), "--cells", "32,32,32,32", "--json", "-o", str(out), *extra],
                       capture_output=True, text=True, check=True)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    summary = json.loads(p.stdout)
    with h5py.File(out) as f:
        computed = np.asarray(f.attrs["stationary_covariance"]).ravel()
        exact = np.asarray(f.attrs["kunin_covariance"]).ravel()
    error = np.abs(computed - exact).max() / np.abs(exact).max()
    # ru_maxrss of children is the largest child so far (KiB): reported only when it grew.
    return summary, max(peak, before) / 1024, error


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fpsolve", required=True)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        # Spectral first: the children's peak RSS only grows, so the smaller run is measured alone.
        spectral, spectral_mib, spectral_error = run(args.fpsolve, Path(work) / "spectral.h5",
                                                     "--set", 'solve.method="direct"', "--set", 'discretization.type="spectral"',
                                                     "--set", 'discretization.basis=["hermite", "hermite", "hermite", "hermite"]',
                                                     "--modes", "8,8,8,8")
        grid, grid_mib, grid_error = run(args.fpsolve, Path(work) / "grid.h5")
    print("Kunin p = 2, general Σ, stationary; output on 32⁴ cells for both")
    print(f"  spectral Hermite 8⁴ (330 coefficients): solve {spectral['solve_seconds']:.3f} s, wall {spectral['wall_seconds']:.2f} s, "
          f"peak {spectral_mib:.0f} MiB, covariance error {spectral_error:.1e}")
    print(f"  grid 32⁴ (GMRES):                        solve {grid['solve_seconds']:.3f} s, wall {grid['wall_seconds']:.2f} s, "
          f"peak {grid_mib:.0f} MiB, covariance error {grid_error:.1e}")
    print(f"  ratios grid/spectral: solve {grid['solve_seconds'] / spectral['solve_seconds']:.0f}×, "
          f"wall {grid['wall_seconds'] / spectral['wall_seconds']:.1f}×, memory {grid_mib / spectral_mib:.1f}×")
    return 0


if __name__ == "__main__":
    sys.exit(main())
