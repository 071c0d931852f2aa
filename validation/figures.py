#!/usr/bin/env python3
"""Figures of SGD with momentum (Kunin et al.) drawn from fpsolve's HDF5 output.

p = 1 (grids/sgd-momentum-p1.toml): the stationary phase-space density ρ(θ, v) with the probability
current as streamlines and the level sets of Kunin's modified loss Ψ (ρ ∝ exp(−Ψ/κ)), beside the
marginals ρ(θ), ρ(v) against the closed-form Gaussians N(0, P), N(0, R).

p = 2 (grids/sgd-momentum-p2.toml and grids/sgd-momentum-p2-general-noise.toml, 4-d phase space):
the position marginal ρ(θ1, θ2) = ∫ ρ dv beside the contours of the loss ½(θ−μ)ᵀH(θ−μ), with the
closed-form 1σ and 2σ ellipses of Kunin's P — the paper's picture: with Σ = σ²H the spread is
isotropic although the loss is not; with another Σ it follows neither.

Usage: figures.py --fpsolve BIN [--out DIR]. Writes DIR/sgd-momentum-p1.png and
DIR/sgd-momentum-p2.png and prints their paths.
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


def ellipse(covariance, radius):
    """Points of {x : xᵀ C⁻¹ x = radius²}."""
    values, vectors = np.linalg.eigh(covariance)
    angle = np.linspace(0, 2 * np.pi, 200)
    circle = np.stack([np.cos(angle), np.sin(angle)])
    return vectors @ (radius * np.sqrt(values)[:, None] * circle)


def p2_figure(fpsolve, workdir, out):
    fig, axes = plt.subplots(1, 2, figsize=(13, 6), constrained_layout=True)
    for ax, name in zip(axes, ["sgd-momentum-p2", "sgd-momentum-p2-general-noise"]):
        h5 = Path(workdir) / f"{name}.h5"
        subprocess.run([fpsolve, "solve", str(ROOT / "grids" / f"{name}.toml"), "-o", str(h5), "--quiet"], check=True)
        with xr.open_dataset(h5, engine="h5netcdf") as ds:
            t1, t2 = ds["theta1"].values, ds["theta2"].values
            marginal = ds["marginal_theta"].values
            hessian = np.array(ds.attrs["hessian"]).reshape(2, 2)
            minimum = np.array(ds.attrs["minimum"])
            kunin = np.array(ds.attrs["kunin_covariance"]).reshape(4, 4)
            computed = np.array(ds.attrs["stationary_covariance"]).reshape(4, 4)
            title, cells = ds.attrs["title"], "×".join(str(c) for c in np.atleast_1d(ds.attrs["cells"]))
        mesh = ax.pcolormesh(t1, t2, marginal.T, shading="auto", cmap="viridis")
        fig.colorbar(mesh, ax=ax, label="ρ(θ1, θ2) = ∫ ρ dv")
        g1, g2 = np.meshgrid(t1 - minimum[0], t2 - minimum[1], indexing="ij")
        loss = 0.5 * (hessian[0, 0] * g1 * g1 + 2 * hessian[0, 1] * g1 * g2 + hessian[1, 1] * g2 * g2)
        # Loss levels through the bulk of the density (½ tr(HP) is the mean loss).
        mean_loss = 0.5 * np.trace(hessian @ kunin[:2, :2])
        contours = ax.contour(t1, t2, loss.T, levels=mean_loss * np.array([0.25, 1, 2.5, 5, 10, 20]), colors="white", linewidths=0.8)
        ax.clabel(contours, fontsize=7, fmt="%.2g")
        for radius, style in [(1, "--"), (2, ":")]:
            x, y = ellipse(kunin[:2, :2], radius)
            ax.plot(x + minimum[0], y + minimum[1], "r" + style, lw=1.4, label=f"{radius}σ of Kunin's P")
        ax.set_aspect("equal")
        ax.set(xlabel="θ1", ylabel="θ2", title=title.replace("SGD with momentum, ", "") + f" ({cells})")
        ax.title.set_fontsize(10)
        ax.text(0.02, 0.02, f"P computed [[{computed[0, 0]:.4f}, {computed[0, 1]:.4f}], [·, {computed[1, 1]:.4f}]]\n"
                f"P exact      [[{kunin[0, 0]:.4f}, {kunin[0, 1]:.4f}], [·, {kunin[1, 1]:.4f}]]\n"
                f"E[θ1 v2] computed {computed[0, 3]:.4f}, exact {kunin[0, 3]:.4f}",
                transform=ax.transAxes, fontsize=7.5, color="white", family="monospace", va="bottom")
        ax.legend(loc="upper right", fontsize=8)
    fig.suptitle("SGD with momentum, p = 2: position marginal (colour) and loss contours (white)")
    path = Path(out) / "sgd-momentum-p2.png"
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
        paths = [p1_figure(args.fpsolve, workdir, args.out), p2_figure(args.fpsolve, workdir, args.out)]
    passed = 0
    for path in paths:
        ok = path.exists() and path.stat().st_size > 10_000
        passed += ok
        print(f"figure: {path}" + ("" if ok else " (missing or empty)"))
    print(f"{passed} passed, {len(paths) - passed} failed")
    return 0 if passed == len(paths) else 1


if __name__ == "__main__":
    sys.exit(main())
