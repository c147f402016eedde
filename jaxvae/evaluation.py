"""Held-out evaluation: mean loss terms over a whole split, in fixed-size compiled chunks."""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp

from jaxvae.losses import LossTerms, loss_terms
from jaxvae.models import Model


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


@partial(jax.jit, static_argnames=("chunk_size",))
def evaluate(
    model: Model,
    images: jax.Array,
    *,
    key: jax.Array,
    beta: float | jax.Array = 1.0,
    chunk_size: int = 1000,
) -> LossTerms:
    """Mean loss terms of ``model`` over all ``images`` [N, 28, 28], ``chunk_size`` at a time.

    Chunk ``i`` draws its VAE noise from ``fold_in(key, i)``; memory is bounded by one chunk.
    """
    chunks, weights = pad_to_chunks(images, min(chunk_size, images.shape[0]))

    def per_chunk(args: tuple[jax.Array, jax.Array, jax.Array]) -> LossTerms:
        index, chunk, weight = args
        terms = loss_terms(model, chunk, key=jax.random.fold_in(key, index), beta=beta)
        return jax.tree.map(lambda t: jnp.sum(t * weight), terms)

    sums = jax.lax.map(per_chunk, (jnp.arange(chunks.shape[0]), chunks, weights))
    return jax.tree.map(lambda s: jnp.sum(s) / images.shape[0], sums)
