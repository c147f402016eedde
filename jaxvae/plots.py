"""Figures for the demo report (matplotlib, no display needed). Each function writes one PNG."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from jaxvae.latent import tile

NAMES = {"ae": "Autoencoder", "vae": "VAE"}


def _save(fig: plt.Figure, path: Path) -> Path:
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def _scatter(ax: plt.Axes, codes: np.ndarray, labels: np.ndarray, *, size: float = 1.0) -> Any:
    order = np.random.default_rng(0).permutation(len(codes))  # no class drawn on top of all others
    return ax.scatter(
        codes[order, 0],
        codes[order, 1],
        c=labels[order],
        cmap="tab10",
        vmin=-0.5,
        vmax=9.5,
        s=size,
        alpha=0.6,
        linewidths=0,
        rasterized=True,
    )


def latent_maps(
    path: Path, codes: dict[str, np.ndarray], labels: np.ndarray, class_names: Sequence[str]
) -> Path:
    """Every training image's code, coloured by label, AE and VAE side by side."""
    fig, axes = plt.subplots(1, len(codes), figsize=(6.2 * len(codes), 5.6))
    for ax, (kind, z) in zip(np.atleast_1d(axes), codes.items(), strict=True):
        points = _scatter(ax, z, labels)
        ax.set_title(
            f"{NAMES[kind]}: {'z' if kind == 'ae' else 'posterior mean'} of {len(z):,} training images"
        )
        ax.set_xlabel("z[0]")
        ax.set_ylabel("z[1]")
    bar = fig.colorbar(points, ax=axes, ticks=range(10))
    bar.ax.set_yticklabels(class_names)
    bar.set_label("label (colour only; never used in training)")
    return _save(fig, path)


def grid_decodes(
    path: Path,
    kind: str,
    images: np.ndarray,
    grid: np.ndarray,
    codes: np.ndarray,
    labels: np.ndarray,
    title: str,
) -> Path:
    """Left: the latent map with the grid's points; right: the decoded grid."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 6.2))
    _scatter(left, codes, labels, size=0.6)
    left.scatter(
        grid[..., 0].ravel(), grid[..., 1].ravel(), marker="+", c="black", s=18, lw=0.8, label="grid points"
    )
    left.set_title(f"{NAMES[kind]}: latent map and the {grid.shape[0]}x{grid.shape[1]} grid")
    left.set_xlabel("z[0]")
    left.set_ylabel("z[1]")
    left.legend(loc="upper right")
    right.imshow(tile(images), cmap="gray_r", vmin=0, vmax=1)
    right.set_title(title)
    right.set_axis_off()
    return _save(fig, path)


def holes(
    path: Path, heats: dict[str, np.ndarray], boxes: dict[str, Any], codes: dict[str, np.ndarray]
) -> Path:
    """Heat map of the classifier's top probability of the decode at each latent point."""
    fig, axes = plt.subplots(1, len(heats), figsize=(6.2 * len(heats), 5.6))
    for ax, (kind, heat) in zip(np.atleast_1d(axes), heats.items(), strict=True):
        (x0, x1), (y0, y1) = boxes[kind]
        image = ax.imshow(
            heat, extent=(x0, x1, y0, y1), origin="upper", cmap="magma", vmin=0, vmax=1, aspect="auto"
        )
        z = codes[kind][:: max(1, len(codes[kind]) // 3000)]
        ax.scatter(z[:, 0], z[:, 1], s=0.5, c="cyan", alpha=0.5, label="training codes (subsample)")
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_title(f"{NAMES[kind]}: how digit-like is the decode at each z?")
        ax.set_xlabel("z[0]")
        ax.set_ylabel("z[1]")
        ax.legend(loc="upper right", markerscale=10)
    fig.colorbar(image, ax=axes, label="classifier top probability of the decoded image")
    return _save(fig, path)


def image_rows(path: Path, rows: dict[str, np.ndarray], title: str) -> Path:
    """One row of images per entry (e.g. originals, AE, VAE)."""
    fig, axes = plt.subplots(len(rows), 1, figsize=(12, 1.25 * len(rows) + 0.6))
    for ax, (name, images) in zip(np.atleast_1d(axes), rows.items(), strict=True):
        ax.imshow(tile(images[None]), cmap="gray_r", vmin=0, vmax=1)
        ax.set_ylabel(name, rotation=0, ha="right", va="center")
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title)
    return _save(fig, path)


def training_curves(path: Path, metrics: dict[str, list[dict[str, Any]]]) -> Path:
    """Train and test loss per epoch for each model."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for kind, rows in metrics.items():
        epochs = [r["epoch"] for r in rows]
        ax.plot(epochs, [r["train_total"] for r in rows], "--", label=f"{NAMES[kind]} train")
        ax.plot(epochs, [r["test_total"] for r in rows], "-o", ms=3, label=f"{NAMES[kind]} test")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (nats per image)")
    ax.set_title("Training curves (VAE: negative ELBO; AE: reconstruction only)")
    ax.legend()
    ax.grid(alpha=0.3)
    return _save(fig, path)


def prior_classes(path: Path, counts: dict[str, np.ndarray], class_names: Sequence[str]) -> Path:
    """Which classes each model generates from N(0, I): ``counts[kind]`` is [runs, 10] predicted-class
    counts of the prior samples; bars are the mean share over the runs, ticks span the runs."""
    fig, ax = plt.subplots(figsize=(9, 4.5))
    width = 0.8 / len(counts)
    x = np.arange(len(class_names))
    for i, (kind, c) in enumerate(counts.items()):
        share = c / c.sum(axis=1, keepdims=True)
        mean, low, high = share.mean(0), share.min(0), share.max(0)
        offset = x + (i - (len(counts) - 1) / 2) * width
        ax.bar(offset, mean, width, label=NAMES[kind], yerr=(mean - low, high - mean), capsize=3)
    ax.axhline(1 / len(class_names), color="gray", ls=":", label="all classes equally often")
    ax.set_xticks(x, class_names)
    ax.set_xlabel("class the judge predicts for the decoded sample")
    ax.set_ylabel("share of the prior samples")
    runs = len(next(iter(counts.values())))
    ax.set_title(f"What each model generates from z ~ N(0, I) (mean over {runs} run{'s' * (runs > 1)})")
    ax.legend()
    return _save(fig, path)
