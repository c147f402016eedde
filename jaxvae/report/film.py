"""Training as a film: the latent maps after every epoch as one animated GIF (Pillow's writer).

Each panel is one filmed run (``jaxvae.runs.film``), drawn on axes fixed for the whole film, so a
learner sees the clusters form and move and the empty regions open and fill. Each frame names its
epoch and, per panel, that epoch's test loss.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from PIL import Image

from jaxvae.report.plots import class_colours, class_count
from jaxvae.runs.files import write_bytes
from jaxvae.runs.film import Film

FRAME_MS = 500  # how long each epoch's frame shows
LAST_FRAME_MS = 2500  # the final map stays a while before the film loops


@dataclass(frozen=True)
class Panel:
    """One run's film: its ``title``, ``frames`` [epochs, images, 2] and the test loss after each
    epoch, ``losses`` [epochs] (the test loss's name in ``loss_name``)."""

    title: str
    frames: np.ndarray
    losses: Sequence[float]
    loss_name: str = "test loss"


def panels_of(
    film: Film, titles: Sequence[str], rows: Sequence[Sequence[dict[str, Any]]], loss_name: str = "test loss"
) -> list[Panel]:
    """A panel per filmed run of ``film``: its title, frames, and from its per-epoch metrics ``rows``
    the test loss after each filmed epoch."""
    panels = []
    for position, (title, run_rows) in enumerate(zip(titles, rows, strict=True)):
        loss = {row["epoch"]: row["test_total"] for row in run_rows}
        panels.append(Panel(title, film.run(position), [loss[int(e)] for e in film.epochs], loss_name))
    return panels


def fixed_limits(frames: np.ndarray, margin: float = 0.05) -> tuple[tuple[float, float], tuple[float, float]]:
    """Axis limits that hold the 0.5-99.5 percentiles of every frame's codes in each axis."""
    low = np.percentile(frames, 0.5, axis=1).min(axis=0)
    high = np.percentile(frames, 99.5, axis=1).max(axis=0)
    pad = margin * np.maximum(high - low, 1e-6)
    x = (float(low[0] - pad[0]), float(high[0] + pad[0]))
    return x, (float(low[1] - pad[1]), float(high[1] + pad[1]))


def render_frames(
    panels: Sequence[Panel], labels: np.ndarray, epochs: Sequence[int], class_names: Sequence[str]
) -> list[Image.Image]:
    """One RGB image per epoch: every panel's codes after that epoch, coloured by ``labels``."""
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 4.9), squeeze=False)
    order = np.random.default_rng(0).permutation(len(labels))  # no class drawn on top of all others
    colours = class_colours(class_count(labels))
    scatters = []
    for ax, panel in zip(axes[0], panels, strict=True):
        xlim, ylim = fixed_limits(panel.frames)
        ax.set_xlim(*xlim)
        ax.set_ylim(*ylim)
        ax.set_xlabel("z[0]")
        ax.set_ylabel("z[1]")
        scatters.append(
            ax.scatter(
                *panel.frames[0][order].T,
                c=labels[order],
                **colours,
                s=1.2,
                alpha=0.6,
                linewidths=0,
            )
        )
    heading = fig.suptitle("")
    cmap = plt.get_cmap(colours["cmap"])  # a name or the colour map itself
    norm = plt.Normalize(colours["vmin"], colours["vmax"])
    handles = [
        plt.Line2D([], [], ls="", marker="o", ms=5, color=cmap(norm(c)), label=name)
        for c, name in enumerate(class_names)
    ]
    fig.legend(handles=handles, loc="lower center", ncol=10, fontsize=8, frameon=False, handletextpad=0.1)
    fig.tight_layout(rect=(0, 0.06, 1, 0.9))
    images = []
    try:
        for f, epoch in enumerate(epochs):
            heading.set_text(f"epoch {epoch} of {epochs[-1]}: codes of {len(labels):,} training images")
            for ax, points, panel in zip(axes[0], scatters, panels, strict=True):
                points.set_offsets(panel.frames[f][order])
                ax.set_title(f"{panel.title}\n{panel.loss_name} {panel.losses[f]:.1f}", fontsize=10)
            canvas = cast(FigureCanvasAgg, fig.canvas)
            canvas.draw()
            images.append(Image.fromarray(np.asarray(canvas.buffer_rgba())[..., :3].copy()))
    finally:
        plt.close(fig)
    return images


def write_film(
    path: Path, panels: Sequence[Panel], labels: np.ndarray, epochs: Sequence[int], class_names: Sequence[str]
) -> Path:
    """Write the film of ``panels`` as an animated GIF at ``path`` (atomically); one frame per epoch."""
    frames = render_frames(panels, labels, epochs, class_names)
    durations = [FRAME_MS] * (len(frames) - 1) + [LAST_FRAME_MS]
    buffer = io.BytesIO()
    frames[0].save(
        buffer,
        format="GIF",
        save_all=True,
        append_images=frames[1:],
        duration=durations,
        loop=0,
        optimize=False,
    )
    write_bytes(path, buffer.getvalue())
    return path
