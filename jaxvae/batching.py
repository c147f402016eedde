"""Work over many images in fixed-size chunks, so that memory stays bounded.

Inside a compiled function, ``pad_to_chunks`` reshapes a whole array into equal chunks for a
``lax.map``; on the host, ``chunk_bounds`` and ``pad_rows`` feed a compiled function one chunk of
one fixed shape at a time, and ``map_chunks`` concatenates a function's results over chunks.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np


def pad_to_chunks(images: jax.Array, chunk_size: int) -> tuple[jax.Array, jax.Array]:
    """Pad [N, ...] with zeros to [num_chunks, chunk_size, ...]; weights [num_chunks, chunk_size]
    are 1 for real rows and 0 for padding."""
    num_images = images.shape[0]
    num_chunks = -(-num_images // chunk_size)
    padding = num_chunks * chunk_size - num_images
    padded = jnp.pad(images, [(0, padding)] + [(0, 0)] * (images.ndim - 1))
    weights = (jnp.arange(num_chunks * chunk_size) < num_images).astype(jnp.float32)
    chunks = padded.reshape(num_chunks, chunk_size, *images.shape[1:])
    return chunks, weights.reshape(num_chunks, chunk_size)


def chunk_bounds(count: int, size: int) -> list[tuple[int, int]]:
    """``(start, stop)`` of each chunk of at most ``size`` rows of ``count`` rows."""
    return [(start, min(start + size, count)) for start in range(0, count, size)]


def pad_rows(rows: np.ndarray, size: int) -> np.ndarray:
    """``rows`` [n, ...] grown to [size, ...] by repeating its last row (a compiled function then
    sees one shape); the caller keeps the first n results."""
    if len(rows) >= size:
        return rows
    return np.concatenate([rows, np.repeat(rows[-1:], size - len(rows), axis=0)])


def map_chunks(fn: Callable[[jax.Array], jax.Array], rows: jax.Array | np.ndarray, chunk: int) -> np.ndarray:
    """``fn`` applied to ``rows`` ``chunk`` rows at a time, results concatenated on the host."""
    parts = [np.asarray(fn(jnp.asarray(rows[a:b]))) for a, b in chunk_bounds(len(rows), chunk)]
    return np.concatenate(parts) if parts else np.zeros((0,), np.float32)
