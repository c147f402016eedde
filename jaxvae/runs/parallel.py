"""Devices: data parallelism with ``jax.sharding`` (a 1-D mesh over devices, batches split, state
replicated) and the peak memory a run used."""

from __future__ import annotations

import resource
from typing import TypeVar

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from jaxvae.errors import ConfigError

T = TypeVar("T")
DATA_AXIS = "data"


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
    sharding = NamedSharding(mesh, PartitionSpec())
    if sharding.is_fully_addressable:
        return jax.device_put(tree, sharding)
    return jax.tree.map(lambda leaf: _to_global(leaf, sharding), tree)


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
