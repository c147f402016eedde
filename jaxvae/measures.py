"""Numbers that make the AE-versus-VAE story measurable.

For a model with a 2-D latent and a trained digit classifier:

- ``reconstruction_plausible``: the fraction of the model's reconstructions of real test digits
  that are plausible: the ceiling for the fractions below.
- ``grid_plausible``: the fraction of a dense grid over the data's bounding box whose decoded
  images are plausible digits (classifier top probability >= threshold).
- ``prior_plausible``: the same for decodes of samples z ~ N(0, I).
- ``prior_class_entropy_bits``: entropy of the predicted classes of those samples; log2(10) = 3.32
  bits when all ten digits are generated equally often.
- ``empty_fraction``: the fraction of the bounding box farther than a radius from every encoded
  training point. The box is the 0.5-99.5 percentile range of the codes in each axis (robust to a
  few outliers), split into ``EMPTY_CELLS`` x ``EMPTY_CELLS`` cells; a cell is empty when no code
  falls inside it, i.e. the radius is half a cell side in the max-norm (1% of the box side). At
  that scale a 60,000-point cloud averages 24 points a cell, so an empty cell is a real hole, not
  sampling noise; and because the radius is relative to the box it is comparable across models
  whose latent scales differ.
- ``empty_plausible`` and ``occupied_plausible``: the plausible fractions of decodes at the centres of
  the empty cells and of the occupied ones. The story says the first is low for an autoencoder.
- ``prior_in_empty``: the fraction of the samples z ~ N(0, I) that land in an empty cell or outside
  the box: how often the prior lands where no training code lies.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxvae.classifier import THRESHOLDS, Classifier, blend_images, class_probabilities
from jaxvae.latent import decode_grid, grid_points
from jaxvae.models import NUM_PIXELS, Model, decode, encode, to_pixels

EMPTY_CELLS = 50
Box = tuple[tuple[float, float], tuple[float, float]]


def bounding_box(z: np.ndarray, low: float = 0.5, high: float = 99.5) -> Box:
    """The percentile box of 2-D codes z [N, 2]: ((x_min, x_max), (y_min, y_max))."""
    lo, hi = np.percentile(z, [low, high], axis=0)
    return (float(lo[0]), float(hi[0])), (float(lo[1]), float(hi[1]))


def empty_fraction(z: np.ndarray, box: Box, cells: int = EMPTY_CELLS) -> float:
    """Fraction of the ``cells`` x ``cells`` cells of ``box`` that contain no code of z [N, 2]."""
    return float(np.mean(occupancy(z, box, cells) == 0))


def occupancy(z: np.ndarray, box: Box, size: int) -> np.ndarray:
    """Codes per cell on a ``size`` x ``size`` grid over ``box``, rows top (max y) to bottom."""
    counts, _, _ = np.histogram2d(z[:, 0], z[:, 1], bins=size, range=box)
    return counts.T[::-1]


def cell_centres(box: Box, cells: int) -> np.ndarray:
    """The centres of the ``cells`` x ``cells`` cells of ``box``, [cells, cells, 2], rows top to bottom
    (the layout of ``occupancy``)."""
    (x0, x1), (y0, y1) = box
    xs = x0 + (np.arange(cells) + 0.5) * (x1 - x0) / cells
    ys = y1 - (np.arange(cells) + 0.5) * (y1 - y0) / cells
    return np.stack(np.meshgrid(xs, ys), axis=-1).astype(np.float32)


def in_empty_cell(z: np.ndarray, counts: np.ndarray, box: Box) -> np.ndarray:
    """For points z [N, 2]: whether each lies outside ``box`` or in a cell of ``counts`` (from
    ``occupancy``) that holds no code."""
    cells = counts.shape[0]
    (x0, x1), (y0, y1) = box
    col = np.floor((z[:, 0] - x0) / (x1 - x0) * cells).astype(int)
    row = cells - 1 - np.floor((z[:, 1] - y0) / (y1 - y0) * cells).astype(int)
    inside = (col >= 0) & (col < cells) & (row >= 0) & (row < cells)
    empty = np.ones(len(z), bool)
    empty[inside] = counts[row[inside], col[inside]] == 0
    return empty


def top_probability(classifier: Classifier, images: jax.Array) -> tuple[np.ndarray, np.ndarray]:
    """The classifier's top probability and predicted class for each image [..., 28, 28]."""
    probabilities = class_probabilities(classifier, images)
    return np.asarray(jnp.max(probabilities, -1)), np.asarray(jnp.argmax(probabilities, -1))


def class_entropy_bits(predicted: np.ndarray, num_classes: int = 10) -> float:
    """Entropy in bits of the histogram of predicted classes."""
    p = np.bincount(predicted.ravel(), minlength=num_classes) / predicted.size
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


def fractions(top: np.ndarray) -> dict[str, float]:
    """Fraction of ``top`` at or above each threshold, keyed ``"0.5"``, ``"0.9"``, ``"0.99"``."""
    return {str(t): float(np.mean(top >= t)) for t in THRESHOLDS}


def validate_judge(
    classifier: Classifier, images: np.ndarray, labels: np.ndarray, *, key: jax.Array
) -> dict[str, dict[str, float]]:
    """How the plausibility judge scores held-out digits and things that are not digits."""
    x = to_pixels(jnp.asarray(images))
    blends, differs = blend_images(key, x, jnp.asarray(labels))
    cases = {
        "real_digits": x,
        "two_digit_blends": blends[np.asarray(differs)],
        "uniform_noise": jax.random.uniform(jax.random.fold_in(key, 1), (2000, NUM_PIXELS)),
        "blank": jnp.zeros((1, NUM_PIXELS)),
    }
    return {
        name: fractions(top_probability(classifier, v.reshape(-1, 28, 28))[0]) for name, v in cases.items()
    }


def measure_latent_space(
    model: Model,
    classifier: Classifier,
    codes: np.ndarray,
    *,
    key: jax.Array,
    test_images: jax.Array,
    grid_size: int = 100,
    num_samples: int = 10_000,
) -> dict[str, Any]:
    """All measurements for one model; ``codes`` are its 2-D codes of the training images.

    ``reconstruction_plausible`` (the model's reconstructions of ``test_images``) is the ceiling
    the other fractions should be read against: decodes of real digits through a 2-D bottleneck.

    Returns plain floats and lists (JSON-ready) plus ``heat``: the top probability on the grid.
    """
    box = bounding_box(codes)
    grid = jnp.asarray(grid_points(box[0], box[1], grid_size))
    grid_top, _ = top_probability(classifier, decode_grid(model, grid))
    z = jax.random.normal(key, (num_samples, codes.shape[1]))
    samples = jax.nn.sigmoid(decode(model, z))
    prior_top, prior_class = top_probability(classifier, samples)
    reconstructions = jax.nn.sigmoid(decode(model, encode(model, test_images).mean))
    reconstruction_top, _ = top_probability(classifier, reconstructions)
    counts = occupancy(codes, box, EMPTY_CELLS)
    cell_top, _ = top_probability(classifier, decode_grid(model, jnp.asarray(cell_centres(box, EMPTY_CELLS))))
    empty = counts == 0
    return {
        "reconstruction_plausible": fractions(reconstruction_top),
        "box": [list(box[0]), list(box[1])],
        "grid_size": grid_size,
        "grid_plausible": fractions(grid_top),
        "num_prior_samples": num_samples,
        "prior_plausible": fractions(prior_top),
        "prior_class_entropy_bits": class_entropy_bits(prior_class),
        "prior_class_counts": np.bincount(prior_class, minlength=10).tolist(),
        "empty_fraction": float(np.mean(empty)),  # what empty_fraction(codes, box) computes
        "empty_plausible": fractions(cell_top[empty]) if empty.any() else None,
        "occupied_plausible": fractions(cell_top[~empty]),
        "prior_in_empty": float(np.mean(in_empty_cell(np.asarray(z), counts, box))),
        "heat": grid_top.reshape(grid_size, grid_size),
    }
