"""Training as pure functions: ``TrainState`` in, new ``TrainState`` out.

``train_step`` takes one optimizer step; ``train_epoch`` runs a whole shuffled epoch as one
compiled call (``lax.scan`` over batches of the device-resident uint8 data), with no host
synchronisation inside. Randomness is a function of (seed, epoch, step) only: the shuffle key is
``fold_in(shuffle_stream, epoch)`` and each step's key ``fold_in(step_stream, step)``, so an
interrupted and resumed run sees exactly the same batches and noise.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from jaxvae.errors import ConfigError
from jaxvae.losses import LossTerms, loss_terms, mean_terms
from jaxvae.models import Model, make_model, to_pixels
from jaxvae.spec import ModelSpec


class TrainState(NamedTuple):
    """Everything training carries from step to step."""

    model: Model
    opt_state: optax.OptState
    key: jax.Array  # the run's base key; never consumed directly, only split and folded
    step: jax.Array  # int32 scalar: optimizer steps taken so far
    epoch: jax.Array  # int32 scalar: epochs completed so far


def create_train_state(
    model: Model, optimizer: optax.GradientTransformation, *, key: jax.Array
) -> TrainState:
    """A fresh state at step 0 and epoch 0."""
    return TrainState(
        model=model,
        opt_state=optimizer.init(model),
        key=key,
        step=jnp.zeros((), jnp.int32),
        epoch=jnp.zeros((), jnp.int32),
    )


def init_train_state(
    spec: ModelSpec | str,
    optimizer: optax.GradientTransformation,
    *,
    key: jax.Array,
    form: str | None = None,
) -> TrainState:
    """A fresh model of ``spec`` (``make_model``, its convolutions in ``form``) and its state, all
    from one key: split into (parameters, state)."""
    model_key, state_key = jax.random.split(key)
    return create_train_state(make_model(spec, key=model_key, form=form), optimizer, key=state_key)


def _streams(key: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Two independent key streams: (per-step noise, per-epoch shuffling)."""
    step_stream, shuffle_stream = jax.random.split(key)
    return step_stream, shuffle_stream


def _update(
    state: TrainState,
    images: jax.Array,
    optimizer: optax.GradientTransformation,
    beta: jax.Array,
    binarize: bool,
) -> tuple[TrainState, LossTerms]:
    step_key = jax.random.fold_in(_streams(state.key)[0], state.step)
    if binarize:  # dynamic binarization: a fresh Bernoulli sample of the pixels at every step
        step_key, binarize_key = jax.random.split(step_key)
        images = (
            jax.random.bernoulli(binarize_key, to_pixels(images)).astype(jnp.float32).reshape(images.shape)
        )

    def objective(model: Model) -> tuple[jax.Array, LossTerms]:
        terms = mean_terms(loss_terms(model, images, key=step_key, beta=beta))
        return terms.total, terms

    grads, terms = jax.grad(objective, has_aux=True)(state.model)
    updates, opt_state = optimizer.update(grads, state.opt_state, state.model)
    model = optax.apply_updates(state.model, updates)
    return state._replace(model=model, opt_state=opt_state, step=state.step + 1), terms


@partial(jax.jit, static_argnames=("optimizer", "binarize"), donate_argnames=("state",))
def train_step(
    state: TrainState,
    images: jax.Array,
    *,
    optimizer: optax.GradientTransformation,
    beta: float | jax.Array = 1.0,
    binarize: bool = False,
) -> tuple[TrainState, LossTerms]:
    """One optimizer step on a batch of images [batch, 28, 28] (uint8 or [0, 1] floats).

    With ``binarize`` the pixels are resampled as Bernoulli(intensity) first (dynamic
    binarization). Returns the new state (``state`` is donated: do not reuse it) and the
    batch-mean loss terms.
    """
    return _update(state, images, optimizer, jnp.asarray(beta, jnp.float32), binarize)


@partial(
    jax.jit,
    static_argnames=("optimizer", "batch_size", "data_sharding", "binarize", "unroll"),
    donate_argnames=("state",),
)
def train_epoch(
    state: TrainState,
    images: jax.Array,
    *,
    optimizer: optax.GradientTransformation,
    batch_size: int,
    beta: float | jax.Array = 1.0,
    data_sharding: jax.sharding.Sharding | None = None,
    binarize: bool = False,
    unroll: int = 1,
) -> tuple[TrainState, LossTerms]:
    """One epoch over ``images`` [N, 28, 28] in a single compiled call.

    The data are shuffled on device with ``fold_in(shuffle_stream, epoch)``; the last
    ``N % batch_size`` images of each permutation are dropped. With ``data_sharding`` each batch is
    split across devices along its first axis (data parallelism; parameters stay replicated).
    With ``binarize`` every batch is dynamically binarized, as in ``train_step``. ``unroll`` copies
    that many steps into each iteration of the compiled loop (``lax.scan(unroll=...)``): fewer loop
    iterations for a larger program; the result is the same up to float rounding.

    Returns the new state (``state`` is donated) and each step's batch-mean loss terms, arrays of
    shape [num_batches] (``jax.tree.map(jnp.mean, terms)`` gives the epoch means).
    """
    return epoch_update(state, images, optimizer, batch_size, beta, data_sharding, binarize, unroll)


def epoch_update(
    state: TrainState,
    images: jax.Array,
    optimizer: optax.GradientTransformation,
    batch_size: int,
    beta: float | jax.Array,
    data_sharding: jax.sharding.Sharding | jax.sharding.PartitionSpec | None = None,
    binarize: bool = False,
    unroll: int = 1,
) -> tuple[TrainState, LossTerms]:
    """The body of ``train_epoch``, not compiled: what ``jax.vmap`` maps over a runs axis
    (``jaxvae.ensemble``). ``data_sharding`` may be a ``PartitionSpec`` of the mesh in context
    (inside ``jax.shard_map``)."""
    num_images = images.shape[0]
    if not 0 < batch_size <= num_images:
        raise ConfigError(f"batch_size must be in 1..{num_images} (the dataset size), got {batch_size}")
    num_batches = num_images // batch_size
    shuffle_key = jax.random.fold_in(_streams(state.key)[1], state.epoch)
    order = jax.random.permutation(shuffle_key, num_images)[: num_batches * batch_size]
    beta = jnp.asarray(beta, jnp.float32)

    def body(state: TrainState, indices: jax.Array) -> tuple[TrainState, LossTerms]:
        batch = jnp.take(images, indices, axis=0)
        if data_sharding is not None:
            batch = jax.lax.with_sharding_constraint(batch, data_sharding)
        return _update(state, batch, optimizer, beta, binarize)

    if unroll < 1:
        raise ConfigError(f"unroll must be >= 1, got {unroll}")
    state, terms = jax.lax.scan(body, state, order.reshape(num_batches, batch_size), unroll=unroll)
    return state._replace(epoch=state.epoch + 1), terms
