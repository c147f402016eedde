"""checkpoint: saving and restoring a checkpoint of the default VAE (its Adam state included), with
the SHA-256 digest of every array that restoring checks, beside one training epoch at batch 128."""

from __future__ import annotations

import statistics
import tempfile
from itertools import count
from typing import Any

import jax
import numpy as np

from benchmarks.harness import Bench, timed
from jaxvae.runs.checkpoint import restore_checkpoint, save_checkpoint
from jaxvae.runs.config import TrainConfig
from jaxvae.runs.files import digest
from jaxvae.runs.single import initial_state
from jaxvae.spec import ModelSpec
from jaxvae.train import train_epoch


def bench_checkpoint(images: jax.Array, repeats: int) -> dict[str, Any]:
    config = TrainConfig(model=ModelSpec("vae"))
    optimizer = config.optimizer()
    holder = {"state": initial_state(config)}

    def epoch() -> None:  # train_epoch donates its state: keep the new one
        holder["state"], terms = train_epoch(holder["state"], images, optimizer=optimizer, batch_size=128)
        jax.block_until_ready(terms)

    epoch_times = timed(epoch, repeats)
    trained = holder["state"]
    leaves = [np.asarray(x) for x in jax.tree.leaves(trained._replace(key=jax.random.key_data(trained.key)))]
    numbers = count(1)

    def save(folder: str) -> None:
        save_checkpoint(folder, trained._replace(epoch=np.int32(next(numbers))), config)

    with tempfile.TemporaryDirectory() as folder:
        save_times = timed(lambda: save(folder), repeats)
        restore_times = timed(lambda: restore_checkpoint(folder, initial_state(config)), repeats)
    digest_times = timed(lambda: [digest(x) for x in leaves], repeats)
    return {
        "suite": "checkpoint",
        "model": "vae",
        "checkpoint_bytes": sum(x.nbytes for x in leaves),
        "save_median_ms": 1e3 * statistics.median(save_times),
        "restore_median_ms": 1e3 * statistics.median(restore_times),
        "digests_median_ms": 1e3 * statistics.median(digest_times),
        "epoch_median_ms": 1e3 * statistics.median(epoch_times),
    }


def run(bench: Bench) -> None:
    row = bench_checkpoint(bench.images, bench.args.repeats)
    bench.emit(row)
    print(
        f"\ncheckpoint of the default VAE ({row['checkpoint_bytes'] / 2**20:.1f} MiB of arrays): save "
        f"{row['save_median_ms']:.0f} ms, restore {row['restore_median_ms']:.0f} ms, the digests of its "
        f"arrays {row['digests_median_ms']:.1f} ms (computed once in each); one epoch at batch 128: "
        f"{row['epoch_median_ms']:.0f} ms"
    )
