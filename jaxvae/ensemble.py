"""Many training runs in one compiled program: a runs axis, mapped with ``jax.vmap``.

An *ensemble state* is a ``TrainState`` whose every leaf has a leading axis of N runs: N models,
N optimizer states, N base keys. ``train_ensemble_epoch`` trains all of them for one epoch in a
single compiled call, each run with its own key stream (so its own shuffles and noise) and its own
KL weight ``beta``, on one copy of the data. On an accelerator each kernel then does N runs' work,
which is what a small-batch run there lacks (purejaxrl trains populations the same way). On a CPU,
where N runs' batched matrix products were measured slower than each run's own and there are no
launches to save, the runs take turns inside the same program instead (``group_size``).

Run ``i`` of an ensemble is the run trained alone with the same key and beta, up to float
rounding (batched matrix products may sum in another order). Everything else takes the runs axis
through a plain ``jax.vmap`` of the single-run function, with the models (and keys, betas) mapped
and the images shared::

    metrics = jax.vmap(partial(jaxvae.evaluate, chunk_size=500), in_axes=(0, None))(
        states.model, test_images, key=keys, beta=betas)              # each leaf [N]
    posterior = jax.vmap(jaxvae.encode, in_axes=(0, None))(states.model, images)  # [N, B, d]
    grids = jax.vmap(jaxvae.decode_grid, in_axes=(0, None))(states.model, grid)   # [N, r, c, 28, 28]

(``jax.vmap`` maps keyword arguments over their leading axis, so keys and betas are [N].)

Over several devices, ``mesh`` (``jaxvae.runs.parallel.runs_mesh``) spreads the runs axis: each
device of its ``"runs"`` axis trains its own runs, as above, on its own copy of the data
(``jax.shard_map``), and devices along its ``"data"`` axis split those runs' batches. No run
talks to another, so N runs on D devices take about one device's N / D runs' time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import optax
from jax.sharding import Mesh, PartitionSpec

from jaxvae.errors import ConfigError
from jaxvae.losses import LossTerms
from jaxvae.spec import ModelSpec
from jaxvae.train import TrainState, epoch_update, init_train_state


def create_train_states(
    spec: ModelSpec | str, keys: jax.Array, optimizer: optax.GradientTransformation
) -> TrainState:
    """Fresh states for ``len(keys)`` runs of ``spec``, stacked along a leading runs axis.

    Run ``i`` is ``init_train_state(spec, optimizer, key=keys[i])``, which is what
    ``jaxvae.initial_state`` builds from ``jax.random.key(seed)``: with
    ``keys = jax.vmap(jax.random.key)(seeds)`` run ``i`` starts exactly where the single run with
    seed ``seeds[i]`` starts.
    """
    return jax.vmap(lambda key: init_train_state(spec, optimizer, key=key))(keys)


def num_runs(states: TrainState) -> int:
    """The length of an ensemble state's runs axis."""
    return int(states.step.shape[0])


def member(states: TrainState, i: int) -> TrainState:
    """Run ``i`` of an ensemble state, as a single run's state."""
    return jax.tree.map(lambda leaf: leaf[i], states)


def stack(states: Sequence[TrainState]) -> TrainState:
    """Single runs' states (the same architecture and optimizer) as one ensemble state."""
    return jax.tree.map(lambda *leaves: jnp.stack(leaves), *states)


def default_group_size(runs: int, platform: str) -> int:
    """How many runs ``train_ensemble_epoch`` trains together, vmapped, on ``platform`` by default.

    On an accelerator all of them: each kernel then does all runs' work, which is the point. On a
    CPU one: its batched matrix products of many runs were measured slower than the runs' own
    (docs/ensembles.md, "Speed"), and a CPU has no kernel launches to save, so the runs take turns
    inside the one compiled program.
    """
    return runs if platform != "cpu" else 1


def _platform(images: jax.Array) -> str:
    """The platform holding ``images``, or JAX's default one inside a trace or for host arrays."""
    if isinstance(images, jax.Array) and not isinstance(images, jax.core.Tracer):
        return next(iter(images.devices())).platform
    return jax.default_backend()


def train_ensemble_epoch(
    states: TrainState,
    images: jax.Array,
    *,
    optimizer: optax.GradientTransformation,
    batch_size: int,
    betas: float | jax.Array = 1.0,
    binarize: bool = False,
    unroll: int = 1,
    group_size: int | None = None,
    mesh: Mesh | None = None,
) -> tuple[TrainState, LossTerms]:
    """One epoch of every run of ``states`` over the shared ``images`` [M, 28, 28], one compiled call.

    ``betas`` is one KL weight for all runs or one per run, [N]. Each run shuffles and draws noise
    from its own key exactly as ``train_epoch`` does. ``group_size`` runs are trained together by
    each kernel (``jax.vmap``); with fewer than N the groups take turns inside the same program (a
    ``lax.map`` over groups). The default, ``default_group_size``, is all runs on an accelerator and
    one on a CPU. The grouping changes nothing but float rounding.

    With a ``("runs", "data")`` ``mesh``, ``states`` split along ``"runs"`` and ``images``
    replicated on it (``split_runs``, ``replicate``), each device group trains its own runs
    (grouped as above among themselves) and splits their batches along ``"data"``. Returns the new
    states (``states`` is donated) and the loss terms of every step of every run, [N, num_batches]
    each.
    """
    runs = num_runs(states)
    local_runs = runs if mesh is None else runs // mesh.shape["runs"]
    if mesh is not None and runs % mesh.shape["runs"]:
        raise ConfigError(f"{runs} runs do not split evenly across {mesh.shape['runs']} device groups")
    if group_size is None:
        group_size = default_group_size(local_runs, _platform(images))
    if group_size < 1:
        raise ConfigError(f"group_size must be >= 1, got {group_size}")
    return _train_ensemble_epoch(
        states,
        images,
        optimizer=optimizer,
        batch_size=batch_size,
        betas=betas,
        binarize=binarize,
        unroll=unroll,
        group_size=min(group_size, local_runs),
        mesh=mesh,
    )


@partial(
    jax.jit,
    static_argnames=("optimizer", "batch_size", "binarize", "unroll", "group_size", "mesh"),
    donate_argnames=("states",),
)
def _train_ensemble_epoch(
    states: TrainState,
    images: jax.Array,
    *,
    optimizer: optax.GradientTransformation,
    batch_size: int,
    betas: float | jax.Array,
    binarize: bool,
    unroll: int,
    group_size: int,
    mesh: Mesh | None,
) -> tuple[TrainState, LossTerms]:
    betas = jnp.broadcast_to(jnp.asarray(betas, jnp.float32), states.step.shape)
    split_batches = mesh is not None and mesh.shape["data"] > 1
    batch_spec = PartitionSpec("data") if split_batches else None

    def local(states: TrainState, images: jax.Array, betas: jax.Array) -> tuple[TrainState, LossTerms]:
        def one_run(state: TrainState, beta: jax.Array) -> tuple[TrainState, LossTerms]:
            return epoch_update(state, images, optimizer, batch_size, beta, batch_spec, binarize, unroll)

        return map_runs(one_run, (states, betas), group_size)

    if mesh is None:
        return local(states, images, betas)
    runs, shared = PartitionSpec("runs"), PartitionSpec()
    # manual over "runs" (each device group its own runs), automatic over "data" (the batch split)
    spread = jax.shard_map(
        local, mesh=mesh, in_specs=(runs, shared, runs), out_specs=runs, axis_names={"runs"}
    )
    return spread(states, images, betas)


def map_runs(fn: Callable[..., Any], runs: Any, group_size: int) -> Any:
    """``fn`` applied to each run of ``runs`` (a tuple of pytrees with a leading runs axis), stacked.

    ``group_size`` runs at a time go through one ``jax.vmap`` of ``fn`` and the groups follow each
    other (``lax.map`` with ``batch_size``; runs left over form one smaller group). Groups of one
    map ``fn`` itself, unbatched: a vmap of one run is slower on a CPU than the run's own program.
    """
    count = jax.tree.leaves(runs)[0].shape[0]
    if 1 < count <= group_size:
        return jax.vmap(fn)(*runs)
    return jax.lax.map(lambda run: fn(*run), runs, batch_size=None if group_size == 1 else group_size)
