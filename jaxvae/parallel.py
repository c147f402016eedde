"""Data parallelism with ``jax.sharding``: a 1-D mesh over devices, batches split, state replicated."""

from __future__ import annotations

from typing import TypeVar

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from jaxvae.errors import ConfigError

T = TypeVar("T")
DATA_AXIS = "data"


def data_mesh(num_devices: int | None = None) -> Mesh:
    """A 1-D mesh named ``"data"`` over the first ``num_devices`` devices (default: all)."""
    devices = jax.devices()
    count = len(devices) if num_devices is None else num_devices
    if not 1 <= count <= len(devices):
        raise ConfigError(f"asked for {count} devices but {len(devices)} are visible")
    return Mesh(np.asarray(devices[:count]), (DATA_AXIS,))


def batch_sharding(mesh: Mesh) -> NamedSharding:
    """Split a batch's first axis across the mesh."""
    return NamedSharding(mesh, PartitionSpec(DATA_AXIS))


def replicate(tree: T, mesh: Mesh) -> T:
    """Put a copy of every array of ``tree`` on every device of ``mesh``."""
    return jax.device_put(tree, NamedSharding(mesh, PartitionSpec()))


def check_divisible(batch_size: int, mesh: Mesh) -> None:
    """A global batch must split evenly across the mesh's devices."""
    if batch_size % mesh.size:
        raise ConfigError(f"batch size {batch_size} does not split evenly across {mesh.size} devices")
