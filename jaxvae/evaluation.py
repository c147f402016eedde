"""Held-out evaluation: mean loss terms over a whole split, in fixed-size compiled chunks."""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp

from jaxvae.batching import pad_to_chunks
from jaxvae.losses import LossTerms, loss_terms
from jaxvae.models import Model


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
