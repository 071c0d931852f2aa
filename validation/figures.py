#!/usr/bin/env python3
"""Figures of SGD with momentum (Kunin et al.) drawn from fpsolve's HDF5 output.

p = 1 (grids/sgd-momentum-p1.toml): the stationary phase-space density ρ(θ, v) with the probability
current as streamlines and the level sets of Kunin's modified loss Ψ (ρ ∝ exp(−Ψ/κ)), beside the
marginals ρ(θ), ρ(v) against the closed-form Gaussians N(0, P), N(0, R).

Usage: figures.py --fpsolve BIN [--out DIR]. Writes DIR/sgd-momentum-p1.png and prints its path.
Run by `make test` (headless, Agg backend), so the pictures are always made from current output.
"""
import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def p1_figure(fpsolve, workdir, out):
    h5 = Path(workdir) / "sgd-momentum-p1.h5"
    subprocess.run([fpsolve, "solve", str(ROOT / "grids" / "sgd-momentum-p1.toml"), "-o", str(h5), "--quiet"], check=True)
    with xr.open_dataset(h5, engine="h5netcdf") as ds:
        theta, v = ds["theta1"].values, ds["v1"].values
        rho = ds["density"].values
        psi = ds["modified_loss"].values
        jt, jv = ds["current_theta1"].values, ds["current_v1"].values
        kunin = np.array(ds.attrs["kunin_covariance"]).reshape(2, 2)
        marginal_theta, marginal_v = ds["marginal_theta"].values, ds["marginal_v"].values
        title = ds.attrs["title"]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6), constrained_layout=True)
    ax = axes[0]
    mesh = ax.pcolormesh(theta, v, rho.T, shading="auto", cmap="viridis")
    fig.colorbar(mesh, ax=ax, label="ρ(θ, v)")
    ax.contour(theta, v, psi.T, levels=np.linspace(0.5, 8, 6), colors="white", linewidths=0.8)
    speed = np.hypot(jt, jv).T
    ax.streamplot(theta, v, jt.T, jv.T, color="orange", density=0.9, linewidth=0.6 + 2 * speed / speed.max())
    ax.set(xlabel="θ", ylabel="v", title="stationary density, current (streamlines), level sets of TΨ/κ")
    for ax, x, marginal, variance, label in [(axes[1], theta, marginal_theta, kunin[0, 0], "θ"), (axes[2], v, marginal_v, kunin[1, 1], "v")]:
        ax.plot(x, marginal, lw=2, label="fpsolve")
        ax.plot(x, np.exp(-0.5 * x * x / variance) / np.sqrt(2 * np.pi * variance), "k--", lw=1, label=f"N(0, {variance:.3g}) (Kunin)")
        ax.set(xlabel=label, ylabel=f"ρ({label})", title=f"marginal ρ({label})")
        ax.legend()
    fig.suptitle(title)
    path = Path(out) / "sgd-momentum-p1.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fpsolve", required=True)
    parser.add_argument("--out", default=str(ROOT / "validation" / "figures"))
    args = parser.parse_args()
    Path(args.out).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as workdir:
        path = p1_figure(args.fpsolve, workdir, args.out)
    ok = path.exists() and path.stat().st_size > 10_000
    print(f"figure: {path}")
    print(f"{1 if ok else 0} passed, {0 if ok else 1} failed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
