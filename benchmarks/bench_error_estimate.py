#!/usr/bin/env python3
"""Benchmark: the cost of the a posteriori error estimate relative to the solve it checks.

Every `fpsolve solve` also solves the problem on the grid coarsened by two (and by four, when it
can) to estimate its own error (issue 9; target: ≤ 30 % of the solve). For each problem and grid,
`fpsolve solve --json` is run once; reported: the fine solve (assembly + factor/GMRES), the
estimate's coarse solves, their ratio, and the estimate. The reference of the ratio is the same
process's own fine solve. `fpsolve evolve` likewise runs twice on the grid coarsened by two (the
run's Δt and twice it): its rows compare those runs with the fine run. Measures; asserts nothing.

Usage: bench_error_estimate.py --fpsolve BIN
"""
import argparse
import json
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CASES = [
    ("grids/ou2d.toml", "400,400"),
    ("grids/ou2d.toml", "800,800"),
    ("validation/problems/rotation-high-peclet.toml", "640,640"),
    ("grids/ou3d.toml", "48,48,48"),
    ("grids/sgd-momentum-p1.toml", "400,400"),
    ("grids/langevin-double-well.toml", "320,320"),
    ("grids/sgd-momentum-p2.toml", "24,24,24,24"),
]
EVOLVE_CASES = [
    ("grids/ou2d-transient.toml", "160,160"),
    ("grids/ou2d-transient.toml", "320,320"),
    ("grids/sgd-momentum-p1-transient.toml", "128,128"),
    ("grids/sgd-momentum-p2-transient.toml", "16,16,16,16"),
]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--fpsolve", required=True)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        def run(command, problem, cells):
            """`fpsolve COMMAND --json` on one problem: its summary, or None (reported) when it fails."""
            out = Path(tmp) / f"bench-{command}.h5"
            result = subprocess.run([args.fpsolve, command, str(ROOT / problem), "--cells", cells, "-o", str(out), "--json", "--force"],
                                    capture_output=True, text=True)
            if result.returncode != 0:
                print(f"{problem:<34} {cells:<14} failed: {result.stderr.strip()[:80]}")
                return None
            return json.loads(result.stdout)

        def row(problem, cells, work, summary):
            estimate = summary["error_estimate_seconds"]
            print(f"{Path(problem).stem:<34} {cells:<14} {work:>9.3f} {estimate:>11.3f} {estimate / work:>7.1%} {summary['estimated_error']:>10.2e}")

        print(f"{'problem':<34} {'cells':<14} {'solve s':>9} {'estimate s':>11} {'ratio':>7} {'estimate':>10}")
        for problem, cells in CASES:
            if summary := run("solve", problem, cells):
                row(problem, cells, summary["assembly_seconds"] + summary["solve_seconds"], summary)
        print(f"\n{'evolve problem':<34} {'cells':<14} {'run s':>9} {'estimate s':>11} {'ratio':>7} {'estimate':>10}")
        for problem, cells in EVOLVE_CASES:
            if summary := run("evolve", problem, cells):
                row(problem, cells, summary["wall_seconds"], summary)


if __name__ == "__main__":
    main()
