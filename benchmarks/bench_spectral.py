#!/usr/bin/env python3
"""Benchmark: Kunin p = 2 (non-commuting Σ, grids/sgd-momentum-p2-general-noise.toml) stationary,
the Hermite spectral solve against the grid solver at 32⁴ (GMRES with the separable
preconditioner) — wall time, peak memory, and the relative error of the stationary covariance
against Kunin's closed form (`kunin_covariance`, written by fpsolve from THEORY §3, not by
either solver). Both write the same fields on the same 32⁴ output grid.

Then Kunin p = 3 (grids/sgd-momentum-p3.toml): a 6-d phase space only the spectral solver holds,
in its default basis and in a mismatched diagonal one (scale set by hand) at growing modes — time,
peak memory, the covariance error and the L1 error of ρ on the 10⁶-cell output grid against
Kunin's Gaussian (evaluated here from `kunin_covariance`). Measures; asserts nothing.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
PROBLEM = ROOT / "grids" / "sgd-momentum-p2-general-noise.toml"


def solve(fpsolve, problem, out, *extra):
    """One solve in a child process: its JSON summary, the child's own peak RSS (MiB, from
    wait4) and the relative error of its stationary covariance against Kunin's."""
    with tempfile.TemporaryFile() as stdout:
        child = subprocess.Popen([fpsolve, "solve", str(problem), "--json", "-o", str(out), *extra],
                                 stdout=stdout, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(child.pid, 0)
        if status != 0:
            raise SystemExit(f"fpsolve failed on {problem} {extra}: status {status}")
        stdout.seek(0)
        summary = json.loads(stdout.read())
    with h5py.File(out) as f:
        computed = np.asarray(f.attrs["stationary_covariance"]).ravel()
        exact = np.asarray(f.attrs["kunin_covariance"]).ravel()
    return summary, usage.ru_maxrss / 1024, np.abs(computed - exact).max() / np.abs(exact).max()


def run(fpsolve, out, *extra):
    """The p = 2 problem on 32⁴ output cells."""
    return solve(fpsolve, PROBLEM, out, "--cells", "32,32,32,32", *extra)


P3 = ROOT / "grids" / "sgd-momentum-p3.toml"


def run_p3(fpsolve, out, *extra):
    """One p = 3 solve (`solve`), and the L1 error of ρ against Kunin's Gaussian on the output grid."""
    summary, mib, covariance_error = solve(fpsolve, P3, out, *extra)
    with h5py.File(out) as f:
        exact = np.asarray(f.attrs["kunin_covariance"]).reshape(6, 6)
        axes = [np.asarray(f[name]) for name in ("theta1", "theta2", "theta3", "v1", "v2", "v3")]
        density = np.asarray(f["density"])
        summary["coefficients"] = len(f["spectral_coefficients"])
    # The exact Gaussian N(0, P) at the cell centres (the fixed point is θ = 0, v = 0 here).
    mesh = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 6)
    precision = np.linalg.inv(exact)
    gaussian = np.exp(-0.5 * np.einsum("ci,ij,cj->c", mesh, precision, mesh)) / np.sqrt((2 * np.pi) ** 6 * np.linalg.det(exact))
    volume = np.prod([a[1] - a[0] for a in axes])
    l1 = np.abs(density.ravel() - gaussian).sum() * volume
    return summary, mib, covariance_error, l1


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fpsolve", required=True)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
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
    print("Kunin p = 3 (6-d), general Σ, stationary; output on 10⁶ cells (the file is ~110 MB)")
    with tempfile.TemporaryDirectory() as work:
        cases = [("default basis, 6⁶ modes", [])]
        for m in (6, 10, 14):
            cases.append((f"diagonal scale, {m}⁶ modes", ["--set", "discretization.scale=[0.25, 0.3, 0.4, 1.2, 1.0, 0.9]",
                                                          "--modes", ",".join([str(m)] * 6)]))
        for label, extra in cases:
            summary, mib, covariance_error, l1 = run_p3(args.fpsolve, Path(work) / "p3.h5", *extra)
            print(f"  {label:28s} {summary['coefficients']:>6} coefficients: "
                  f"solve {summary['solve_seconds']:.3f} s, wall {summary['wall_seconds']:.2f} s, peak {mib:.0f} MiB, "
                  f"covariance error {covariance_error:.1e}, L1(ρ) {l1:.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
