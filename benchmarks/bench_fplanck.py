#!/usr/bin/env python3
"""Benchmark: `fpsolve solve` against the Python solver fplanck on the same stationary problems.

Problems (fplanck handles diagonal diffusion and potential drifts only, so the comparison uses the
isotropic harmonic oscillator, dz = −z dt + sqrt(2) dW, stationary N(0, I)):
2-d on 100², 200², 400² cells and 3-d on 20³ and 40³ cells, box ±6 per axis.

For each: wall time and L1 error Σ|ρ − ρ_exact| h^d against the exact Gaussian for both solvers,
and the time ratio. fpsolve's time is its own `wall_seconds` (parse, assembly, factorization,
derived fields, HDF5 output), best of --repeat runs; fplanck's is the construction of its master
matrix plus `steady_state()` (shift-invert `eigs` with SuperLU), one run, also reported separately.
This is a measurement, not a test: it asserts nothing.
"""
import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np

np.product = np.prod  # fplanck 0.2 still calls np.product, removed in NumPy 2
import fplanck  # noqa: E402
from scipy import constants  # noqa: E402

HALF_WIDTH = 6.0
CASES = [(2, 100), (2, 200), (2, 400), (3, 20), (3, 40)]


def exact_density(axes):
    mesh = np.meshgrid(*axes, indexing="ij")
    r2 = sum(m * m for m in mesh)
    return np.exp(-0.5 * r2) / (2 * math.pi) ** (len(axes) / 2)


def run_fpsolve(fpsolve, dimension, n, workdir, repeat):
    problem = Path(workdir) / f"harmonic{dimension}d_{n}.toml"
    identity = [[1.0 if i == j else 0.0 for j in range(dimension)] for i in range(dimension)]
    problem.write_text(
        f'title = "isotropic harmonic {dimension}-d"\n[grid]\n'
        f"lower = {[-HALF_WIDTH] * dimension}\nupper = {[HALF_WIDTH] * dimension}\ncells = {[n] * dimension}\n"
        f'[model]\ntype = "linear"\ndrift_matrix = {identity}\ndiffusion = {identity}\n'
    )
    out = Path(workdir) / f"harmonic{dimension}d_{n}.h5"
    best = math.inf
    for _ in range(repeat):
        run = subprocess.run([fpsolve, "solve", str(problem), "-o", str(out), "--json"], capture_output=True, text=True, check=True)
        best = min(best, json.loads(run.stdout)["wall_seconds"])
    with h5py.File(out, "r") as f:
        rho = f["density"][...]
        axes = [f[f"x{k}"][...] for k in range(dimension)]
    h = 2 * HALF_WIDTH / n
    error = np.abs(rho - exact_density(axes)).sum() * h**dimension
    return best, error


def run_fplanck(dimension, n):
    h = 2 * HALF_WIDTH / n
    start = time.perf_counter()
    # k_B T = 1 and drag 1 give D = 1; U = |z|²/2 gives the drift −z.
    solver = fplanck.fokker_planck(temperature=1 / constants.k, drag=1, extent=[2 * HALF_WIDTH] * dimension,
                                   resolution=h * (1 + 1e-12), boundary=fplanck.boundary.reflecting,
                                   potential=lambda *x: 0.5 * sum(xi * xi for xi in x))
    built = time.perf_counter()
    assert list(solver.Ngrid) == [n] * dimension, solver.Ngrid
    steady = solver.steady_state()
    done = time.perf_counter()
    rho = steady / h**dimension  # fplanck normalises Σ p = 1 (probability per cell)
    error = np.abs(rho - exact_density(solver.axes)).sum() * h**dimension
    return built - start, done - built, error


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fpsolve", required=True)
    parser.add_argument("--repeat", type=int, default=3, help="fpsolve runs per case (best is kept)")
    parser.add_argument("--skip-fplanck-above", type=int, default=10**9, help="skip fplanck on grids with more cells")
    args = parser.parse_args()
    header = f"{'problem':<14}{'cells':>10}{'fpsolve s':>11}{'fplanck s':>11}{'(build':>9}{'+ solve)':>10}{'ratio':>8}{'ratio solve':>12}{'L1 fpsolve':>12}{'L1 fplanck':>12}"
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory() as workdir:
        for dimension, n in CASES:
            ours, our_error = run_fpsolve(args.fpsolve, dimension, n, workdir, args.repeat)
            label = f"harmonic {dimension}-d"
            cells = f"{n}^{dimension}"
            if n**dimension > args.skip_fplanck_above:
                print(f"{label:<14}{cells:>10}{ours:>11.3f}{'skipped':>11}")
                continue
            build, solve, their_error = run_fplanck(dimension, n)
            total = build + solve
            print(f"{label:<14}{cells:>10}{ours:>11.3f}{total:>11.2f}{build:>9.2f}{solve:>10.2f}"
                  f"{total / ours:>8.1f}{solve / ours:>12.1f}{our_error:>12.2e}{their_error:>12.2e}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
