#!/usr/bin/env python3
"""Benchmark (issue 11): what expression coefficients cost at assembly, against the factorization.

1. grids/general-2d.toml (full, state-dependent D and a trigonometric drift, isothermal) at 400²
   and 800²: assembly and factorization seconds from `fpsolve solve --json`.
2. The same anisotropic OU written twice at 400² and 800²: as a `linear` model (coefficients
   compiled Swift: LinearModel) and as a `general` model whose drift and D are expressions of the
   same numbers — the assembly time ratio is the price of evaluating expression trees. (The linear
   model's fluxes split off its known equilibrium potential; the general one's are exponentially
   fitted: the stencils have the same shape, so the ratio is about coefficient evaluation.)

Reference of every ratio: the same process's factorization, or the compiled model in the same
script. Measures; asserts nothing.

Usage: bench_general.py --fpsolve BIN
"""
import argparse
import json
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GENERAL_OU = '''
[grid]
axes = ["x", "y"]
lower = [-5.0, -5.0]
upper = [5.0, 5.0]
cells = [200, 200]
[model]
type = "general"
drift = ["-(1.0*x + 0.3*y)", "-(-0.4*x + 2.0*y)"]
diffusion = [["0.5", "0.2"], ["0.2", "0.3"]]
'''


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--fpsolve", required=True)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        general_ou = Path(tmp) / "general-ou.toml"
        general_ou.write_text(GENERAL_OU)

        def run(problem, cells):
            out = Path(tmp) / "bench.h5"
            result = subprocess.run([args.fpsolve, "solve", str(problem), "--cells", cells, "-o", str(out), "--json", "--force"],
                                    capture_output=True, text=True)
            if result.returncode != 0:
                print(f"{Path(problem).name:<22} {cells:<10} failed: {result.stderr.strip()[:100]}")
                return None
            return json.loads(result.stdout)

        print(f"{'problem':<22} {'cells':<10} {'assembly s':>11} {'factor+solve s':>15} {'assembly/solve':>15}")
        for cells in ("400,400", "800,800"):
            if s := run(ROOT / "grids" / "general-2d.toml", cells):
                print(f"{'general-2d (full D(z))':<22} {cells:<10} {s['assembly_seconds']:>11.3f} {s['solve_seconds']:>15.3f} {s['assembly_seconds'] / s['solve_seconds']:>15.1%}")
        print(f"\n{'OU written as':<22} {'cells':<10} {'assembly s':>11} {'factor+solve s':>15} {'vs linear':>15}")
        for cells in ("400,400", "800,800"):
            compiled = run(ROOT / "grids" / "ou2d.toml", cells)
            expressions = run(general_ou, cells)
            if compiled and expressions:
                print(f"{'linear (compiled)':<22} {cells:<10} {compiled['assembly_seconds']:>11.3f} {compiled['solve_seconds']:>15.3f} {'1.00×':>15}")
                ratio = expressions['assembly_seconds'] / compiled['assembly_seconds']
                print(f"{'general (expressions)':<22} {cells:<10} {expressions['assembly_seconds']:>11.3f} {expressions['solve_seconds']:>15.3f} {ratio:>14.2f}×")


if __name__ == "__main__":
    main()
