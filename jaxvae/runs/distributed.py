"""Several processes, one training run, on JAX's own distributed runtime (``jax.distributed``).

Every process runs the same ``jaxvae train`` command with its own process id. Together their
devices form one global mesh; each process puts the data on its own devices, and the devices
each compute their slice of every global batch. Process 0 alone writes files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import jax

from jaxvae.errors import ConfigError

AUTO = "auto"


@dataclass(frozen=True)
class DistributedConfig:
    """How this process joins a multi-process run. The defaults mean: one process, no runtime."""

    coordinator_address: str = field(
        default="",
        metadata={
            "help": "host:port of process 0, to train across processes with jax.distributed; 'auto' "
            "detects a Cloud TPU, SLURM or Open MPI cluster (default: $JAXVAE_COORDINATOR_ADDRESS "
            "or $JAX_COORDINATOR_ADDRESS, else one process)"
        },
    )
    num_processes: int = field(
        default=0, metadata={"help": "how many processes train together (default: $JAXVAE_NUM_PROCESSES)"}
    )
    process_id: int = field(
        default=-1,
        metadata={"help": "this process's id, 0 .. num-processes - 1 (default: $JAXVAE_PROCESS_ID)"},
    )


def _env_int(name: str, value: int, unset: int) -> int:
    if value != unset or name not in os.environ:
        return value
    try:
        return int(os.environ[name])
    except ValueError:
        raise ConfigError(f"${name} must be an integer, got {os.environ[name]!r}") from None


def resolve(config: DistributedConfig) -> DistributedConfig:
    """Fill unset fields from the environment and check them; raises ``ConfigError`` in one line."""
    address = (
        config.coordinator_address
        or os.environ.get("JAXVAE_COORDINATOR_ADDRESS", "")
        or os.environ.get("JAX_COORDINATOR_ADDRESS", "")
    )
    resolved = DistributedConfig(
        coordinator_address=address,
        num_processes=_env_int("JAXVAE_NUM_PROCESSES", config.num_processes, 0),
        process_id=_env_int("JAXVAE_PROCESS_ID", config.process_id, -1),
    )
    if resolved.coordinator_address in ("", AUTO):
        return resolved
    host, _, port = resolved.coordinator_address.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"coordinator address must be host:port, got {resolved.coordinator_address!r}")
    if resolved.num_processes < 1:
        raise ConfigError("a coordinator address needs --num-processes (or $JAXVAE_NUM_PROCESSES)")
    if not 0 <= resolved.process_id < resolved.num_processes:
        raise ConfigError(
            f"process id must be in 0..{resolved.num_processes - 1}, got {resolved.process_id} "
            "(set --process-id or $JAXVAE_PROCESS_ID)"
        )
    return resolved


def initialize(config: DistributedConfig, *, timeout_s: int = 300) -> bool:
    """Join the multi-process run ``config`` describes; returns whether one was joined.

    Call before any other JAX work in the process. With no coordinator address (flag or
    environment) this does nothing and training uses this process's devices only.
    """
    config = resolve(config)
    if not config.coordinator_address:
        return False
    if jax.distributed.is_initialized():
        return True
    try:
        if config.coordinator_address == AUTO:
            jax.distributed.initialize(initialization_timeout=timeout_s)
        else:
            jax.distributed.initialize(
                config.coordinator_address,
                num_processes=config.num_processes,
                process_id=config.process_id,
                initialization_timeout=timeout_s,
            )
    except (RuntimeError, ValueError) as e:
        first_line = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        address = config.coordinator_address
        raise ConfigError(f"could not join the distributed run at {address}: {first_line}") from None
    return True


def is_writer() -> bool:
    """Whether this process writes files and shows progress (process 0 of a run)."""
    return jax.process_index() == 0
