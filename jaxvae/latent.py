"""Latent-grid decoding: a whole grid of latent points decoded in one ``jax.vmap``-batched call."""

from __future__ import annotations

import jax
import numpy as np

from jaxvae.batching import map_chunks
from jaxvae.models import Model, decode, to_uint8


def grid_points(x_range: tuple[float, float], y_range: tuple[float, float], size: int) -> np.ndarray:
    """A [size, size, 2] grid of latent points; row 0 is the top (largest y) so it plots as an image.

    >>> grid = grid_points((-1.0, 1.0), (-2.0, 2.0), 3)
    >>> grid.shape, grid[0, 0].tolist(), grid[2, 2].tolist()
    ((3, 3, 2), [-1.0, 2.0], [1.0, -2.0])
    """
    xs = np.linspace(*x_range, size)
    ys = np.linspace(*y_range, size)[::-1]
    return np.stack(np.meshgrid(xs, ys), axis=-1).astype(np.float32)


def prior_quantile_grid(size: int, *, tail: float = 0.05) -> np.ndarray:
    """A [size, size, 2] grid at the N(0, 1) quantiles ``tail .. 1 - tail`` in each axis."""
    values = np.asarray(jax.scipy.stats.norm.ppf(np.linspace(tail, 1.0 - tail, size)), np.float32)
    return np.stack(np.meshgrid(values, values[::-1]), axis=-1)


def decode_images(model: Model, z: np.ndarray) -> np.ndarray:
    """Decode latent points [N, d] to uint8 images [N, 28, 28] (the Bernoulli means), 10,000 at a
    time."""
    return to_uint8(map_chunks(lambda b: jax.nn.sigmoid(decode(model, b)), z.astype(np.float32), 10_000))


@jax.jit
def decode_grid(model: Model, grid: jax.Array) -> jax.Array:
    """Decode every point of a latent grid [rows, cols, latent] to pixel means [rows, cols, 28, 28].

    One compiled call: ``decode`` is mapped over columns, then over rows, with ``jax.vmap``.

    >>> from jaxvae.models import make_model
    >>> model = make_model("vae", key=jax.random.key(0))
    >>> decode_grid(model, prior_quantile_grid(4)).shape
    (4, 4, 28, 28)
    """
    decode_point = lambda z: jax.nn.sigmoid(decode(model, z))  # noqa: E731
    return jax.vmap(jax.vmap(decode_point))(grid)


def tile(images: jax.Array | np.ndarray) -> np.ndarray:
    """[rows, cols, h, w] images to one [rows * h, cols * w] mosaic."""
    images = np.asarray(images)
    rows, cols, h, w = images.shape
    return images.transpose(0, 2, 1, 3).reshape(rows * h, cols * w)
