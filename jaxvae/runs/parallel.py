"""Devices: the meshes training runs on, and the peak memory a run used.

A single run is data-parallel: a 1-D ``"data"`` mesh, each batch split across it, the state
replicated. An ensemble puts its runs axis over a ``"runs"`` mesh axis instead: each device holds
whole runs and trains them on its own copy of the data, with no communication; a second ``"data"``
axis (runs x data) lets a few big runs also split their batches.
"""

from __future__ import annotations

import math
import resource
from typing import TypeVar

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from jaxvae.errors import ConfigError

T = TypeVar("T")
DATA_AXIS = "data"
RUNS_AXIS = "runs"


def data_mesh(num_devices: int | None = None) -> Mesh:
    """A 1-D mesh named ``"data"`` over the first ``num_devices`` devices (default: all)."""
    devices = jax.devices()  # every process's devices when jax.distributed is initialized
    count = len(devices) if num_devices is None else num_devices
    if not 1 <= count <= len(devices):
        raise ConfigError(f"asked for {count} devices but only {len(devices)} visible")
    processes = jax.process_count()
    if processes > 1 and count < len(devices):
        # take the same number of devices from every process, so that each one keeps working
        if count % processes:
            raise ConfigError(f"{count} devices do not split evenly across {processes} processes")
        per_process = count // processes
        devices = [d for p in range(processes) for d in jax.local_devices(process_index=p)[:per_process]]
    return Mesh(np.asarray(devices[:count]), (DATA_AXIS,))


def batch_sharding(mesh: Mesh) -> NamedSharding:
    """Split a batch's first axis across the mesh."""
    return NamedSharding(mesh, PartitionSpec(DATA_AXIS))


def replicate(tree: T, mesh: Mesh) -> T:
    """Put a copy of every array of ``tree`` on every device of ``mesh``.

    When the mesh spans several processes, every process must call this with the same values
    (as they do: the state is a function of the seed, the data are read from the same files);
    each one places its copy on its own devices.
    """
    return place(tree, NamedSharding(mesh, PartitionSpec()))


def split_runs(tree: T, mesh: Mesh) -> T:
    """Split the leading runs axis of every array of ``tree`` across ``mesh``'s ``"runs"`` axis (each
    device then holds whole runs; along a ``"data"`` axis they are copied). Across processes, as
    ``replicate``: every process passes the whole tree and keeps its own runs."""
    return place(tree, NamedSharding(mesh, PartitionSpec(RUNS_AXIS)))


def place(tree: T, sharding: NamedSharding) -> T:
    """Every array of ``tree`` placed with ``sharding``, also on a mesh that spans processes."""
    if sharding.is_fully_addressable:
        return jax.device_put(tree, sharding)
    return jax.tree.map(lambda leaf: _to_global(leaf, sharding), tree)


def to_host(tree: T) -> T:
    """Every array of ``tree`` as a whole host (numpy) array, in every process.

    Within one process this is ``jax.device_get``. An array split across processes (an ensemble's
    runs) is gathered first: a collective, so every process must call it at the same point.
    """
    leaves = jax.tree.leaves(tree)
    if all(not isinstance(x, jax.Array) or x.is_fully_addressable for x in leaves):
        return jax.device_get(tree)
    from jax.experimental import multihost_utils

    def gather(leaf: object) -> object:
        if isinstance(leaf, jax.Array) and jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key):
            data = multihost_utils.process_allgather(jax.random.key_data(leaf), tiled=True)
            return jax.random.wrap_key_data(data, impl=jax.random.key_impl(leaf))
        return multihost_utils.process_allgather(leaf, tiled=True)

    return jax.tree.map(gather, tree)


def gather(tree: T) -> T:
    """Every array of ``tree`` whole on one device (the first): an ensemble's runs back together, to
    index them without the cross-device collectives that indexing a split axis compiles to. Across
    processes, ``to_host``."""
    if jax.process_count() > 1:
        return to_host(tree)
    return jax.device_put(tree, jax.devices()[0])


def runs_mesh(runs: int, devices: int = 0, *, per_run: int = 1) -> Mesh:
    """A ``("runs", "data")`` mesh for an ensemble of ``runs`` runs: ``per_run`` devices split each
    run's batches, and the runs are spread over ``devices // per_run`` groups of them.

    ``devices`` 0 means as many as help: the largest number of groups that divides ``runs`` and fits
    the visible devices (one group when nothing else divides). An explicit ``devices`` must split
    into whole runs; ``ConfigError`` in one line otherwise. Across processes the mesh spans every
    device, so that each process trains its share of the runs.
    """
    visible = jax.devices()  # every process's devices when jax.distributed is initialized
    if per_run < 1 or per_run > len(visible):
        raise ConfigError(
            f"devices per run must be in 1..{len(visible)} (the visible devices), got {per_run}"
        )
    if devices == 0:
        if jax.process_count() > 1:
            devices = len(visible)
        else:
            groups = max(g for g in range(1, len(visible) // per_run + 1) if runs % g == 0)
            devices = groups * per_run
    if not 1 <= devices <= len(visible):
        raise ConfigError(f"asked for {devices} devices but only {len(visible)} visible")
    if devices % per_run:
        raise ConfigError(f"{devices} devices do not split into groups of {per_run} devices per run")
    groups = devices // per_run
    if runs % groups:
        raise ConfigError(
            f"{runs} runs do not split evenly across {groups} device groups: choose a device count "
            f"whose groups divide the runs (e.g. --devices {per_run * math.gcd(runs, groups)})"
        )
    if jax.process_count() > 1 and devices < len(visible):
        raise ConfigError(
            f"an ensemble across {jax.process_count()} processes uses all {len(visible)} devices, "
            f"got {devices}"
        )
    return Mesh(np.asarray(visible[:devices]).reshape(groups, per_run), (RUNS_AXIS, DATA_AXIS))


def _to_global(leaf: object, sharding: NamedSharding) -> jax.Array:
    """A host-side copy of ``leaf`` placed on a mesh that has devices in other processes."""
    if isinstance(leaf, jax.Array) and jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key):
        data = jax.device_put(np.asarray(jax.random.key_data(leaf)), sharding)
        return jax.random.wrap_key_data(data, impl=jax.random.key_impl(leaf))
    return jax.device_put(np.asarray(leaf), sharding)


def check_divisible(batch_size: int, mesh: Mesh) -> None:
    """A global batch must split evenly across the mesh's devices."""
    if batch_size % mesh.size:
        raise ConfigError(f"batch size {batch_size} does not split evenly across {mesh.size} devices")


def place_training_set(images: np.ndarray, mesh: Mesh) -> jax.Array:
    """Put the training images on the mesh for ``train_epoch``.

    Within one process every device holds the whole set, so gathering a batch needs no
    communication. When the mesh spans processes the rows are split across its devices instead,
    and each process places only the rows of its own devices: its share of the data. The last
    ``len(images) % mesh.size`` rows are then left out so that the split is even.
    """
    if NamedSharding(mesh, PartitionSpec()).is_fully_addressable:
        return jax.device_put(images, NamedSharding(mesh, PartitionSpec()))
    usable = len(images) - len(images) % mesh.size
    shape = (usable, *images.shape[1:])
    return jax.make_array_from_callback(shape, batch_sharding(mesh), lambda index: images[index])


def peak_memory_bytes(device: jax.Device | None = None) -> int:
    """Peak memory of ``device`` (default: the first) where its backend reports it, else this
    process's max RSS."""
    device = device or jax.devices()[0]
    stats = device.memory_stats() if hasattr(device, "memory_stats") else None
    if stats and "peak_bytes_in_use" in stats:
        return int(stats["peak_bytes_in_use"])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
