#!/usr/bin/env python3
"""Benchmark: the 4-d stationary solve of SGD with momentum, p = 2 (phase space (θ1, θ2, v1, v2)).

For each p = 2 example (grids/sgd-momentum-p2*.toml) and grid n⁴, `fpsolve solve --json` is run
with [solve] method = "direct" (UMFPACK LU, METIS ordering) and "iterative" (GMRES with the separable
preconditioner) on the same operator, each in its own process; reported: wall time, peak resident
memory of the process (getrusage), LU fill (direct) or GMRES iterations (iterative), and the
direct/iterative time ratio where both ran. Grids where the direct solve is refused for memory
are reported with fpsolve's own estimate. The covariance blocks of every run are compared with
Kunin's closed form (the `kunin_covariance` attribute), so that the speed is of a correct answer.
Measures; asserts nothing.

Usage: bench_phase_space.py --fpsolve BIN [--direct 12,16] [--iterative 12,16,24,32] [--large]
(--large adds a 20⁴ direct run: ~2 min and ~7 GiB).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
PROBLEMS = ["sgd-momentum-p2-general-noise", "sgd-momentum-p2"]


def run(fpsolve, problem, n, method, out):
    """One solve in a child process: (summary dict or None, stderr, wall s, peak RSS bytes)."""
    args = [fpsolve, "solve", str(ROOT / "grids" / f"{problem}.toml"), "--cells", ",".join([str(n)] * 4),
            "--set", f'solve.method="{method}"', "-o", str(out), "--json"]
    start = time.perf_counter()
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    stdout, stderr = process.stdout.read(), process.stderr.read()
    code = os.waitstatus_to_exitcode(status)
    summary = json.loads(stdout) if code == 0 else None
    return summary, stderr.strip(), code, wall, usage.ru_maxrss * 1024


def covariance_error(path):
    with h5py.File(path, "r") as f:
        computed = np.array(f.attrs["stationary_covariance"]).reshape(4, 4)
        exact = np.array(f.attrs["kunin_covariance"]).reshape(4, 4)
    scale = np.sqrt(np.outer(np.diag(exact), np.diag(exact)))
    variances = np.abs(np.diag(computed) / np.diag(exact) - 1).max()
    theta_v = np.abs(computed[:2, 2:] - exact[:2, 2:]).max() / scale[:2, 2:].max()
    return variances, theta_v


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fpsolve", required=True)
    parser.add_argument("--direct", default="12,16")
    parser.add_argument("--iterative", default="12,16,24,32")
    parser.add_argument("--large", action="store_true", help="also a direct solve at 20⁴")
    args = parser.parse_args()
    direct_sizes = [int(x) for x in args.direct.split(",")] + ([20] if args.large else [])
    iterative_sizes = [int(x) for x in args.iterative.split(",")]
    gib = 1 << 30
    print(f"{'problem':32s} {'cells':>6s} {'method':>9s} {'wall s':>8s} {'peak RSS':>9s} {'fill / its':>12s} "
          f"{'var err':>8s} {'θv err':>8s}  note")
    with tempfile.TemporaryDirectory() as workdir:
        for problem in PROBLEMS:
            times = {}
            for n in sorted(set(direct_sizes + iterative_sizes + [24, 32])):
                for method in ("direct", "iterative"):
                    wanted = n in (direct_sizes if method == "direct" else iterative_sizes)
                    if not wanted and not (method == "direct" and n in (24, 32)):
                        continue
                    out = Path(workdir) / f"{problem}-{n}-{method}.h5"
                    summary, stderr, code, wall, rss = run(args.fpsolve, problem, n, method, out)
                    if summary is None:
                        estimate = re.search(r"needs about ([0-9.]+) GiB \(estimated LU fill ([0-9.e+]+)", stderr)
                        note = f"refused (exit {code}): " + (f"estimated {estimate.group(1)} GiB, LU fill {estimate.group(2)}"
                                                            if estimate else stderr[:120])
                        print(f"{problem:32s} {n:>4d}⁴ {method:>9s} {'—':>8s} {'—':>9s} {'—':>12s} {'—':>8s} {'—':>8s}  {note}")
                        continue
                    times[(n, method)] = summary["solve_seconds"] + summary["assembly_seconds"]
                    detail = (f"{summary['factor_nonzeros']:.2e}" if method == "direct" else f"{summary['iterations']} its")
                    variances, theta_v = covariance_error(out)
                    note = ""
                    if method == "iterative" and (n, "direct") in times:
                        note = f"direct/iterative {times[(n, 'direct')] / times[(n, 'iterative')]:.1f}×"
                    print(f"{problem:32s} {n:>4d}⁴ {method:>9s} {wall:8.2f} {rss / gib:7.2f} G {detail:>12s} "
                          f"{variances:8.1e} {theta_v:8.1e}  {note}", flush=True)
                    out.unlink(missing_ok=True)
    print("wall: the whole process (assembly, solve, output of ~9 fields); ratio: assembly + solve only.")
    print("var err: max relative error of the 4 variances; θv err: max θ–v entry error / √(P_ii R_jj).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
