"""The sweep's figures: its measures against beta, each beta's codes and prior grid, its film."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from jaxvae.latent import tile
from jaxvae.report import plots
from jaxvae.report.film import panels_of, write_film
from jaxvae.runs.film import Film
from jaxvae.study.records import BetaRun
from jaxvae.study.samplers import PRIOR


def draw_sweep_figures(
    out: Path,
    runs: Sequence[BetaRun],
    maps: list[tuple[float, np.ndarray]],
    grids: list[tuple[float, np.ndarray]],
    film: Film | None,
    training: list[list[dict[str, Any]]],
    betas: Sequence[float],
    labels: np.ndarray,
    classes: list[str],
) -> dict[str, str]:
    """The sweep's figures: the measures against beta (``runs``), each beta's
    first run's codes and prior grid (``maps``, ``grids``), and the training film of those runs
    (``film``, with every run's ``training`` rows and ``betas`` for the titles). Returns each
    figure's file name by its key in the report."""
    figures = {
        "curves": sweep_curves(out / "sweep_curves.png", runs).name,
        "maps": sweep_maps(out / "sweep_maps.png", maps, grids, labels, classes).name,
    }
    if film is not None:
        titles = [f"beta {betas[i]:g}" for i in film.runs]
        panels = panels_of(film, titles, [training[i] for i in film.runs])
        epochs = [int(e) for e in film.epochs]
        figures["film"] = write_film(
            out / "sweep_film.gif", panels, labels[film.indices], epochs, classes
        ).name
    return figures


def _by_beta(runs: Sequence[BetaRun], value: Any) -> tuple[list[float], np.ndarray, list[np.ndarray]]:
    """The sorted betas, the mean of ``value(measures)`` at each, and each beta's runs' values."""
    betas = sorted({r.beta for r in runs})
    each = [np.array([value(r.measures) for r in runs if r.beta == b], float) for b in betas]
    return betas, np.array([v.mean() for v in each]), each


def _beta_line(ax: plt.Axes, runs: Sequence[BetaRun], value: Any, label: str, **style: Any) -> None:
    betas, means, each = _by_beta(runs, value)
    line = ax.plot(range(len(betas)), means, marker="o", label=label, **style)[0]
    for x, values in enumerate(each):
        if len(values) > 1:
            ax.scatter([x] * len(values), values, s=10, color=line.get_color(), alpha=0.6)


def sweep_curves(path: Path, runs: Sequence[BetaRun]) -> Path:
    """Three panels against beta: the holes, the prior samples, and the held-out loss terms."""
    betas = sorted({r.beta for r in runs})
    ticks = [
        f"{b:g}" + ("\nfills" if all(r.measures.fills_space for r in runs if r.beta == b) else "")
        for b in betas
    ]
    fig, axes = plt.subplots(1, 3, figsize=(17, 4.6))
    holes, samples, terms = axes
    _beta_line(holes, runs, lambda m: m.posterior_empty_fraction, "empty cells, one posterior draw per image")
    _beta_line(holes, runs, lambda m: m.empty_fraction, "empty cells, posterior means")
    _beta_line(holes, runs, lambda m: m.gaussian_empty_fraction, "empty cells, Gaussian cloud", ls="--")
    _beta_line(holes, runs, lambda m: m.samplers[PRIOR].far, "N(0, I) draws far from every code")
    holes.set_title("Holes in the code box")
    holes.set_ylabel("share")
    _beta_line(samples, runs, lambda m: m.samplers[PRIOR].accepted, "N(0, I) decodes accepted")
    _beta_line(samples, runs, lambda m: m.reconstructions.accepted, "reconstructions accepted", ls="--")
    _beta_line(samples, runs, lambda m: m.samplers[PRIOR].coverage, "N(0, I) coverage")
    _beta_line(samples, runs, lambda m: m.reconstructions.coverage, "reconstructions coverage", ls="--")
    samples.set_title("Prior samples against reconstructions (judge)")
    samples.set_ylabel("share")
    _beta_line(terms, runs, lambda m: m.test_reconstruction, "reconstruction term")
    _beta_line(terms, runs, lambda m: m.test_total, "-ELBO (beta = 1)")
    terms.set_ylabel("nats per test image")
    kl = terms.twinx()
    _beta_line(kl, runs, lambda m: m.test_kl, "KL (right axis)", color="tab:green")
    kl.set_ylabel("KL, nats")
    terms.set_title("Held-out loss terms")
    for ax in axes:
        ax.set_xticks(range(len(betas)), ticks)
        ax.set_xlabel("beta (the KL weight in training)")
        ax.grid(alpha=0.3)
    holes.legend(fontsize=8)
    samples.legend(fontsize=8)
    fig.text(0.01, -0.04, "'fills' under a beta: every run at that beta passes claim (v)'s rule", fontsize=9)
    lines = terms.get_legend_handles_labels()
    more = kl.get_legend_handles_labels()
    terms.legend(lines[0] + more[0], lines[1] + more[1], fontsize=8)
    return plots.save(fig, path)


def sweep_maps(
    path: Path,
    maps: list[tuple[float, np.ndarray]],
    grids: list[tuple[float, np.ndarray]],
    labels: np.ndarray,
    class_names: Sequence[str],
) -> Path:
    """For each beta, a column: the training images' posterior means over the decoded prior grid."""
    fig, axes = plt.subplots(2, len(maps), figsize=(3.3 * len(maps), 6.8), squeeze=False)
    points: Any = None
    for column, ((beta, codes), (_, images)) in enumerate(zip(maps, grids, strict=True)):
        top, bottom = axes[0, column], axes[1, column]
        points = plots.scatter(top, codes, labels, size=0.5)
        top.set_title(f"beta {beta:g}: posterior means")
        top.set_aspect("equal", adjustable="datalim")
        bottom.imshow(tile(images), cmap="gray_r", vmin=0, vmax=1)
        bottom.set_title("decoded N(0, 1) quantiles 5%..95%", fontsize=9)
        bottom.axis("off")
    bar = fig.colorbar(points, ax=axes[0].tolist(), ticks=range(len(class_names)), fraction=0.02)
    bar.ax.set_yticklabels(class_names)
    return plots.save(fig, path)
