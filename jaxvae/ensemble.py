"""Many training runs in one compiled program: a runs axis, mapped with ``jax.vmap``.

An *ensemble state* is a ``TrainState`` whose every leaf has a leading axis of N runs: N models,
N optimizer states, N base keys. ``train_ensemble_epoch`` trains all of them for one epoch in a
single compiled call, each run with its own key stream (so its own shuffles and noise) and its own
KL weight ``beta``, on one copy of the data. Each kernel then does N runs' work, which is what a
small-batch run on an accelerator lacks (purejaxrl trains populations the same way).

Run ``i`` of an ensemble is the run trained alone with the same key and beta, up to float
rounding (batched matrix products may sum in another order). Everything else takes the runs axis
through a plain ``jax.vmap`` of the single-run function, with the models (and keys, betas) mapped
and the images shared::

    metrics = jax.vmap(partial(jaxvae.evaluate, chunk_size=500), in_axes=(0, None))(
        states.model, test_images, key=keys, beta=betas)              # each leaf [N]
    posterior = jax.vmap(jaxvae.encode, in_axes=(0, None))(states.model, images)  # [N, B, d]
    grids = jax.vmap(jaxvae.decode_grid, in_axes=(0, None))(states.model, grid)   # [N, r, c, 28, 28]

(``jax.vmap`` maps keyword arguments over their leading axis, so keys and betas are [N].)
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import jax
import jax.numpy as jnp
import optax

from jaxvae.losses import LossTerms
from jaxvae.train import TrainState, epoch_update, init_train_state


def create_train_states(
    kind: str,
    keys: jax.Array,
    optimizer: optax.GradientTransformation,
    *,
    latent_dim: int = 2,
    hidden_dims: Sequence[int] = (512, 256),
    dtype: str | None = None,
) -> TrainState:
    """Fresh states for ``len(keys)`` runs, stacked along a leading runs axis.

    Run ``i`` is ``init_train_state(kind, optimizer, key=keys[i], ...)``, which is what
    ``jaxvae.initial_state`` builds from ``jax.random.key(seed)``: with
    ``keys = jax.vmap(jax.random.key)(seeds)`` run ``i`` starts exactly where the single run with
    seed ``seeds[i]`` starts.
    """
    fresh = partial(
        init_train_state, kind, optimizer, latent_dim=latent_dim, hidden_dims=hidden_dims, dtype=dtype
    )
    return jax.vmap(lambda key: fresh(key=key))(keys)


def num_runs(states: TrainState) -> int:
    """The length of an ensemble state's runs axis."""
    return int(states.step.shape[0])


def member(states: TrainState, i: int) -> TrainState:
    """Run ``i`` of an ensemble state, as a single run's state."""
    return jax.tree.map(lambda leaf: leaf[i], states)


def stack(states: Sequence[TrainState]) -> TrainState:
    """Single runs' states (the same architecture and optimizer) as one ensemble state."""
    return jax.tree.map(lambda *leaves: jnp.stack(leaves), *states)


@partial(
    jax.jit,
    static_argnames=("optimizer", "batch_size", "binarize", "unroll"),
    donate_argnames=("states",),
)
def train_ensemble_epoch(
    states: TrainState,
    images: jax.Array,
    *,
    optimizer: optax.GradientTransformation,
    batch_size: int,
    betas: float | jax.Array = 1.0,
    binarize: bool = False,
    unroll: int = 1,
) -> tuple[TrainState, LossTerms]:
    """One epoch of every run of ``states`` over the shared ``images`` [M, 28, 28], one compiled call.

    ``betas`` is one KL weight for all runs or one per run, [N]. Each run shuffles and draws noise
    from its own key exactly as ``train_epoch`` does. Returns the new states (``states`` is donated)
    and the loss terms of every step of every run, [N, num_batches] each.
    """
    betas = jnp.broadcast_to(jnp.asarray(betas, jnp.float32), states.step.shape)

    def one_run(state: TrainState, beta: jax.Array) -> tuple[TrainState, LossTerms]:
        return epoch_update(state, images, optimizer, batch_size, beta, None, binarize, unroll)

    if num_runs(states) == 1:  # the single run's own program: a vmap of one is slower on a CPU
        state, terms = one_run(member(states, 0), betas[0])
        return stack([state]), jax.tree.map(lambda t: t[None], terms)
    return jax.vmap(one_run)(states, betas)
