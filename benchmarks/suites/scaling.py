"""scaling: VAE data-parallel training on 1, 2, 4 and 8 devices where they exist: weak scaling
(128 images per device) and strong scaling (a global batch of 1024 split across them)."""

from __future__ import annotations

import statistics
from typing import Any

import jax
import numpy as np

from benchmarks.harness import (
    Bench,
    first_and_steady,
)
from jaxvae.runs.config import TrainConfig
from jaxvae.runs.parallel import DATA_AXIS, batch_sharding, place_training_set, replicate
from jaxvae.runs.single import initial_state
from jaxvae.spec import ModelSpec
from jaxvae.train import train_epoch


def bench_scaling(
    host_images: np.ndarray, devices: list[jax.Device], global_batch: int, mode: str, repeats: int
) -> dict[str, Any]:
    """Data-parallel VAE training over ``devices``: the batch split, the state replicated."""
    mesh = jax.sharding.Mesh(np.asarray(devices), (DATA_AXIS,))
    config = TrainConfig(model=ModelSpec("vae"), batch_size=global_batch)
    optimizer = config.optimizer()
    holder = {"state": replicate(initial_state(config), mesh)}
    images = place_training_set(host_images, mesh)
    sharding = batch_sharding(mesh) if len(devices) > 1 else None

    def epoch() -> None:
        holder["state"], terms = train_epoch(
            holder["state"], images, optimizer=optimizer, batch_size=global_batch, data_sharding=sharding
        )
        jax.block_until_ready(terms)

    first_epoch, times = first_and_steady(epoch, repeats)
    median = statistics.median(times)
    steps = images.shape[0] // global_batch
    return {
        "suite": "scaling",
        "mode": mode,
        "devices": len(devices),
        "global_batch": global_batch,
        "first_epoch_s": first_epoch,
        "epoch_median_ms": 1e3 * median,
        "images_per_s": steps * global_batch / median,
    }


def run(bench: Bench) -> None:
    visible = jax.devices(bench.backend)
    counts = [n for n in (1, 2, 4, 8) if n <= len(visible)]
    print(f"\nscaling over {counts} of {len(visible)} {bench.backend} devices (VAE, float32, scan)")
    for mode, batch_for in (("weak", lambda n: 128 * n), ("strong", lambda n: 1024)):
        base = None
        for n in counts:
            row = bench_scaling(bench.host_images, visible[:n], batch_for(n), mode, bench.args.repeats)
            base = base or row["images_per_s"]
            row["efficiency"] = row["images_per_s"] / (n * base)
            bench.emit(row)
            print(
                f"  {mode:<6} {n} devices, global batch {row['global_batch']:>5}: "
                f"{row['images_per_s']:>10,.0f} images/s, efficiency {row['efficiency']:.2f}"
            )
