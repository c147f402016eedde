"""Figures for the demo report (matplotlib, no display needed). Each function writes one PNG."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap

from jaxvae.latent import tile
from jaxvae.runs.files import write_bytes
from jaxvae.spec import MODEL_NAMES

NAMES = MODEL_NAMES


def save(fig: plt.Figure, path: Path) -> Path:
    """Write ``fig`` as a PNG, atomically (a reader of the report never sees half a figure)."""
    png = io.BytesIO()
    try:
        fig.savefig(png, format="png", dpi=110, bbox_inches="tight")
    finally:
        plt.close(fig)
    write_bytes(path, png.getvalue())
    return path


def class_colours(count: int) -> dict[str, Any]:
    """The colour map of ``count`` classes, one colour each, as ``scatter``'s keywords: matplotlib's
    tab10 for up to ten (MNIST's digits), tab20's for up to twenty, else a spectrum."""
    if count <= 10:
        return {"cmap": "tab10", "vmin": -0.5, "vmax": 9.5}
    if count <= 20:  # tab20's ten strong colours first, then their light pairs
        colours = [plt.get_cmap("tab20")(c) for c in [*range(0, 20, 2), *range(1, 20, 2)][:count]]
    else:
        colours = list(plt.get_cmap("nipy_spectral")(np.linspace(0.05, 0.95, count)))
    return {"cmap": ListedColormap(colours), "vmin": -0.5, "vmax": count - 0.5}


def class_count(labels: np.ndarray) -> int:
    """How many classes ``labels`` index (ten at least: MNIST's colours stay as they are)."""
    return max(10, int(np.max(labels, initial=0)) + 1)


def scatter(ax: plt.Axes, codes: np.ndarray, labels: np.ndarray, *, size: float = 1.0) -> Any:
    order = np.random.default_rng(0).permutation(len(codes))  # no class drawn on top of all others
    return ax.scatter(
        codes[order, 0],
        codes[order, 1],
        c=labels[order],
        **class_colours(class_count(labels)),
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
        points = scatter(ax, z, labels)
        ax.set_title(
            f"{NAMES[kind]}: {'z' if kind == 'ae' else 'posterior mean'} of {len(z):,} training images"
        )
        ax.set_xlabel("z[0]")
        ax.set_ylabel("z[1]")
    bar = fig.colorbar(points, ax=axes, ticks=range(len(class_names)))
    bar.ax.set_yticklabels(class_names)
    bar.set_label("label (colour only; never used in training)")
    return save(fig, path)


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
    scatter(left, codes, labels, size=0.6)
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
    return save(fig, path)


def holes(
    path: Path,
    heats: dict[str, np.ndarray],
    boxes: dict[str, Any],
    codes: dict[str, np.ndarray],
    threshold: float,
    noun: str = "digit",
) -> Path:
    """Heat map of the judge's p(``noun``) of the decode at each latent point, the threshold contoured."""
    fig, axes = plt.subplots(1, len(heats), figsize=(6.2 * len(heats), 5.6))
    for ax, (kind, heat) in zip(np.atleast_1d(axes), heats.items(), strict=True):
        (x0, x1), (y0, y1) = boxes[kind]
        image = ax.imshow(
            heat, extent=(x0, x1, y0, y1), origin="upper", cmap="magma", vmin=0, vmax=1, aspect="auto"
        )
        ax.contour(
            heat, levels=[threshold], extent=(x0, x1, y0, y1), colors="white", linewidths=0.8, origin="upper"
        )
        z = codes[kind][:: max(1, len(codes[kind]) // 3000)]
        ax.scatter(z[:, 0], z[:, 1], s=0.5, c="cyan", alpha=0.5, label="training codes (subsample)")
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_title(f"{NAMES[kind]}: judge's p({noun}) of the decode at each z")
        ax.set_xlabel("z[0]")
        ax.set_ylabel("z[1]")
        ax.legend(loc="upper right", markerscale=10)
    fig.colorbar(
        image, ax=axes, label=f"p({noun}) of the decoded image (white line: threshold {threshold:.2f})"
    )
    return save(fig, path)


def image_rows(path: Path, rows: dict[str, np.ndarray], title: str) -> Path:
    """One row of images per entry (e.g. originals, AE, VAE)."""
    fig, axes = plt.subplots(len(rows), 1, figsize=(12, 1.25 * len(rows) + 0.6))
    for ax, (name, images) in zip(np.atleast_1d(axes), rows.items(), strict=True):
        ax.imshow(tile(images[None]), cmap="gray_r", vmin=0, vmax=1)
        ax.set_ylabel(name, rotation=0, ha="right", va="center")
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title)
    return save(fig, path)


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
    return save(fig, path)


def prior_classes(path: Path, counts: dict[str, np.ndarray], class_names: Sequence[str]) -> Path:
    """Which classes each generator makes: ``counts[name]`` is [runs, 10] predicted-class counts of its
    samples; bars are the mean share over the runs, ticks span the runs."""
    fig, ax = plt.subplots(figsize=(11, 4.5))
    width = 0.8 / len(counts)
    x = np.arange(len(class_names))
    for i, (kind, c) in enumerate(counts.items()):
        share = c / c.sum(axis=1, keepdims=True)
        mean, low, high = share.mean(0), share.min(0), share.max(0)
        offset = x + (i - (len(counts) - 1) / 2) * width
        # the mean of equal shares can round past them by an ulp; matplotlib refuses negative errors
        spread = (np.maximum(mean - low, 0.0), np.maximum(high - mean, 0.0))
        ax.bar(offset, mean, width, label=kind, yerr=spread, capsize=3)
    ax.axhline(1 / len(class_names), color="gray", ls=":", label="all classes equally often")
    ax.set_xticks(x, class_names)
    ax.set_xlabel("class the judge predicts for the decoded sample")
    ax.set_ylabel("share of the samples")
    runs = len(next(iter(counts.values())))
    ax.set_title(f"Which classes each sampler generates (mean over {runs} run{'s' * (runs > 1)})")
    ax.legend()
    return save(fig, path)


def empty_ratios(path: Path, ratios: Mapping[str, float], each: Mapping[str, Sequence[float]]) -> Path:
    """How empty each set of codes leaves its code box, over a Gaussian cloud of the same spread:
    bars ``ratios[label]`` (from the means over the runs), dots each run's ratio ``each[label]``."""
    fig, ax = plt.subplots(figsize=(8, 0.7 * len(ratios) + 1.6))
    labels = list(ratios)
    y = np.arange(len(labels))[::-1]
    ax.barh(y, [ratios[k] for k in labels], color=[f"C{i}" for i in range(len(labels))], alpha=0.7)
    for yi, k in zip(y, labels, strict=True):
        ax.plot(each[k], [yi] * len(each[k]), "k.", ms=6)
        ax.text(max(ratios[k], *each[k]), yi, f"  {ratios[k]:.2f}x", va="center")
    ax.axvline(1.0, color="gray", ls=":")
    ax.set_title("Dotted line (1x): as empty as a Gaussian cloud of the same spread", fontsize=10)
    ax.set_yticks(y, labels)
    ax.set_xlabel("empty share of the code box (50x50 cells) over a Gaussian cloud's (dots: each run)")
    ax.set_xlim(0, max(2.0, 1.25 * max(max(v) for v in each.values())))
    return save(fig, path)


def acceptance_by_distance(path: Path, curves: dict[str, dict[str, Any]], far: dict[str, float]) -> Path:
    """The judge's accepted share of decodes against the distance to the nearest training code (in
    spacings), one solid line per model, and the realistic share (realism >= 1) dotted when the
    curves have it; each model's "far" threshold dashed."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for i, (kind, curve) in enumerate(curves.items()):
        edges = np.asarray(curve["edges"])
        upper = np.where(np.isinf(edges[1:]), edges[:-1] * 2, edges[1:])
        centres = np.sqrt(np.maximum(edges[:-1], 0.25) * upper)
        color = f"C{i}"
        for key, style, what in (("accepted", "-o", "accepted"), ("realistic", ":s", "realistic")):
            if key in curve:
                shares = np.array([np.nan if v is None else v for v in curve[key]], float)
                ax.plot(centres, shares, style, color=color, label=f"{NAMES[kind]}: {what}")
        ax.axvline(
            far[kind], color=color, ls="--", lw=1, label=f"{NAMES[kind]}: 'far' beyond {far[kind]:.1f}"
        )
    ax.set_xscale("log")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("distance to the nearest training code (spacings: median nearest-neighbour distance)")
    ax.set_ylabel("share of decodes")
    ax.set_title("Decodes on a grid over twice each code box, by distance from the data")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return save(fig, path)


def empty_regions(
    path: Path,
    codes: dict[str, np.ndarray],
    labels: np.ndarray,
    regions: dict[str, list[dict[str, Any]]],
    images: dict[str, np.ndarray],
    boxes: dict[str, Any],
    hulls: dict[str, np.ndarray],
) -> Path:
    """Per model: the map with the hull of its codes (dashed) and its largest empty discs numbered,
    and the decode at each centre below, marked with the judge's verdict."""
    count = max(len(r) for r in regions.values())
    fig = plt.figure(figsize=(6.2 * len(codes), 7.4))
    grid = fig.add_gridspec(2, len(codes) * count, height_ratios=[5, 1.2])
    for m, (kind, z) in enumerate(codes.items()):
        ax = fig.add_subplot(grid[0, m * count : (m + 1) * count])
        scatter(ax, z, labels, size=0.6)
        for i, r in enumerate(regions[kind]):
            ax.add_patch(plt.Circle((r["x"], r["y"]), r["radius"], fill=False, color="black", lw=1))
            ax.text(r["x"], r["y"], str(i + 1), ha="center", va="center", fontsize=10, weight="bold")
        (x0, x1), (y0, y1) = boxes[kind]
        ax.add_patch(plt.Polygon(hulls[kind], closed=True, fill=False, ls="--", color="gray", lw=1))
        pad_x, pad_y = 0.05 * (x1 - x0), 0.05 * (y1 - y0)
        ax.set_xlim(x0 - pad_x, x1 + pad_x)
        ax.set_ylim(y0 - pad_y, y1 + pad_y)
        ax.set_title(f"{NAMES[kind]}: the {len(regions[kind])} largest empty discs between its clusters")
        ax.set_xlabel("z[0]")
        ax.set_ylabel("z[1]")
        for i, r in enumerate(regions[kind]):
            cell = fig.add_subplot(grid[1, m * count + i])
            cell.imshow(images[kind][i] / 255.0, cmap="gray_r", vmin=0, vmax=1)
            verdict = "accepted" if r["accepted"] else "rejected"
            cell.set_title(f"{i + 1}: {verdict}", fontsize=8, color="black" if r["accepted"] else "red")
            cell.set_axis_off()
    return save(fig, path)


def example_grid(
    path: Path, rows: dict[str, np.ndarray], accepted: dict[str, np.ndarray], title: str
) -> Path:
    """One row of uint8 images per entry, each image titled with the judge's verdict."""
    cols = max(len(v) for v in rows.values())
    fig, axes = plt.subplots(
        len(rows), cols, figsize=(1.0 * cols + 2.2, 1.15 * len(rows) + 0.6), squeeze=False
    )
    for r, (name, images) in enumerate(rows.items()):
        for c in range(cols):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            if c >= len(images):
                continue
            ax.imshow(images[c] / 255.0, cmap="gray_r", vmin=0, vmax=1)
            ok = bool(accepted[name][c])
            ax.set_title("yes" if ok else "no", fontsize=7, color="black" if ok else "red", pad=2)
        axes[r, 0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=8)
    fig.suptitle(title)
    return save(fig, path)


def far_rays(
    path: Path,
    images: dict[str, np.ndarray],
    accepted: dict[str, np.ndarray],
    realism: dict[str, np.ndarray],
    factors: Sequence[int],
) -> Path:
    """Per model, its decodes along rays from the centre of its code box (rows) at ``factors`` times
    the box (columns), each titled with the judge's verdict and its realism score, in red when the
    judge rejects it or its realism is below 1."""
    kinds = list(images)
    rays, steps = images[kinds[0]].shape[:2]
    fig, axes = plt.subplots(
        rays, len(kinds) * steps, figsize=(0.72 * len(kinds) * steps + 0.6, 0.86 * rays + 0.9), squeeze=False
    )
    for m, kind in enumerate(kinds):
        for r in range(rays):
            for c in range(steps):
                ax = axes[r, m * steps + c]
                ax.imshow(images[kind][r, c] / 255.0, cmap="gray_r", vmin=0, vmax=1)
                ax.set_xticks([])
                ax.set_yticks([])
                ok, score = bool(accepted[kind][r, c]), float(realism[kind][r, c])
                good = ok and score >= 1.0
                ax.set_title(
                    f"{'yes' if ok else 'no'} {score:.2f}",
                    fontsize=6,
                    pad=1,
                    color="black" if good else "red",
                )
                if r == rays - 1:
                    ax.set_xlabel(f"{factors[c]}x", fontsize=7)
        axes[0, m * steps].annotate(
            NAMES[kind],
            (0, 1),
            xycoords="axes fraction",
            xytext=(0, 16),
            textcoords="offset points",
            fontsize=10,
            weight="bold",
        )
    fig.suptitle(
        "Decodes along rays from each code box's centre out to 8 times the box (columns); above each: "
        "does the judge accept it, and its realism (at least 1: realistic; red: rejected or not realistic)",
        fontsize=8,
    )
    return save(fig, path)


def latent_maps_2x2(
    path: Path, codes: dict[str, np.ndarray], labels: np.ndarray, class_names: Sequence[str]
) -> Path:
    """The training codes of the four kinds of ``jaxvae why``, as pull (columns) against noise (rows):
    the autoencoder and the RAE above, the noisy autoencoder and the VAE below."""
    layout = [["ae", "rae"], ["noisy_ae", "vae"]]
    fig, axes = plt.subplots(2, 2, figsize=(11.5, 10.4))
    points = None
    for r, row in enumerate(layout):
        for c, kind in enumerate(row):
            ax = axes[r, c]
            if kind not in codes:
                ax.set_axis_off()
                continue
            points = scatter(ax, codes[kind], labels)
            pull, noise = ("pull" if c else "no pull"), ("noise" if r else "no noise")
            ax.set_title(f"{NAMES[kind]} ({pull}, {noise}): {len(codes[kind]):,} codes")
            ax.set_xlabel("z[0]")
            ax.set_ylabel("z[1]")
    if points is not None:
        bar = fig.colorbar(points, ax=axes, ticks=range(len(class_names)), shrink=0.6)
        bar.ax.set_yticklabels(class_names)
        bar.set_label("label (colour only; never used in training)")
    return save(fig, path)


def race(path: Path, races: Mapping[str, Mapping[str, Any]]) -> Path:
    """Per epoch, the codes' RMS spread over the posterior's RMS sigma, each run of each kind with
    noise (log scale): does the encoder scale its codes up until the noise stops mattering?"""
    fig, ax = plt.subplots(figsize=(7.5, 4.6))
    for colour, (kind, curves) in zip(("tab:orange", "tab:blue"), races.items(), strict=False):
        for i, values in enumerate(curves["runs"]):
            ax.plot(curves["epochs"], values, color=colour, alpha=0.85, label=NAMES[kind] if i == 0 else None)
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("RMS spread of the codes / RMS posterior sigma")
    ax.set_title("The codes' race against the noise (one line per run)")
    ax.axhline(1.0, color="grey", lw=0.8, ls=":")
    ax.legend()
    return save(fig, path)


def seed_stability(path: Path, rows: Sequence[Mapping[str, Any]], stable: float, chosen: int | None) -> Path:
    """Per claim, the share of the ways to pick n seeds from the pool that give its most common
    verdict, against n; the dotted line is the share at which a verdict counts as stable and the
    grey band marks the chosen seed count (claims at 100% everywhere lie on one line)."""
    fig, ax = plt.subplots(figsize=(8, 4.8))
    markers = "osD^vP*X"
    pool = sum(rows[0]["counts"].values())
    for i, row in enumerate(rows):
        ns = sorted(row["by_n"])
        ax.plot(
            ns,
            [float(row["by_n"][n][1]) for n in ns],
            marker=markers[i % len(markers)],
            label=f"{row['claim']}: {row['by_n'][ns[-1]][0]} at n={ns[-1]}",
        )
    ax.axhline(stable, color="grey", ls=":", lw=1, label=f"stable: {stable:.0%} of picks agree")
    if chosen is not None:
        ax.axvspan(chosen - 0.3, chosen + 0.3, color="grey", alpha=0.2, lw=0, label=f"seed count: {chosen}")
    ax.set_title(f"How often n of the pool's {pool} seeds give the same verdict", fontsize=10)
    ax.set_xlabel("seeds n per verdict (a grade only when all n runs have it, else undecided)")
    ax.set_ylabel("share of n-seed picks giving the most common verdict")
    ax.set_ylim(0, 1.04)
    ax.legend(fontsize=8, loc="lower left")
    return save(fig, path)
