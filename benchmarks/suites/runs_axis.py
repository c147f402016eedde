"""runs_axis: an ensemble's runs spread over the visible devices (a ``"runs"`` mesh axis, each device
holding whole runs), against the same runs on one device, and each run checked against its run alone."""

from __future__ import annotations

import statistics
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks.harness import Bench, first_and_steady
from jaxvae.ensemble import create_train_states, member, train_ensemble_epoch
from jaxvae.runs.config import TrainConfig
from jaxvae.runs.parallel import gather, replicate, runs_mesh, split_runs
from jaxvae.spec import ModelSpec
from jaxvae.train import train_epoch


def _fresh(runs: int) -> Any:
    optimizer = TrainConfig(model=ModelSpec("vae")).optimizer()
    return create_train_states("vae", jax.vmap(jax.random.key)(jnp.arange(runs)), optimizer), optimizer


def bench_runs_axis(
    host_images: np.ndarray, runs: int, devices: int, batch_size: int, repeats: int
) -> dict[str, Any]:
    """Epoch time of ``runs`` VAE runs spread over ``devices`` devices (``runs_mesh``)."""
    mesh = runs_mesh(runs, devices)
    states, optimizer = _fresh(runs)
    holder = {"states": split_runs(states, mesh)}
    images = replicate(host_images, mesh)

    def epoch() -> None:
        holder["states"], terms = train_ensemble_epoch(
            holder["states"], images, optimizer=optimizer, batch_size=batch_size, mesh=mesh
        )
        jax.block_until_ready(terms)

    first_epoch, times = first_and_steady(epoch, repeats)
    median = statistics.median(times)
    steps = len(host_images) // batch_size
    return {
        "suite": "runs_axis",
        "model": "vae",
        "runs": runs,
        "devices": mesh.size,
        "batch_size": batch_size,
        "first_epoch_s": first_epoch,
        "epoch_median_ms": 1e3 * median,
        "epoch_min_ms": 1e3 * min(times),
        "images_per_s": runs * steps * batch_size / median,
    }


def distance_to_alone(host_images: np.ndarray, runs: int, devices: int, batch_size: int) -> float:
    """After one epoch from the same start, the largest over runs of (distance between the run spread
    over ``devices`` and the run trained alone) / (distance training moved the run alone): 0 is bitwise
    equal, float rounding gives ~1e-6..1e-4, a wrong key or run order gives ~1."""
    mesh = runs_mesh(runs, devices)
    states, optimizer = _fresh(runs)
    starts = [jax.device_get(member(states, i)) for i in range(runs)]
    spread, _ = train_ensemble_epoch(
        split_runs(states, mesh),
        replicate(host_images, mesh),
        optimizer=optimizer,
        batch_size=batch_size,
        mesh=mesh,
    )
    spread = gather(spread)
    images = jnp.asarray(host_images)
    worst = 0.0
    for i, start in enumerate(starts):
        alone, _ = train_epoch(jax.device_put(start), images, optimizer=optimizer, batch_size=batch_size)
        worst = max(
            worst, _distance(member(spread, i).model, alone.model) / _distance(alone.model, start.model)
        )
    return worst


def _distance(xs: Any, ys: Any) -> float:
    pairs = zip(jax.tree.leaves(xs), jax.tree.leaves(ys), strict=True)
    return float(np.sqrt(sum(np.sum((np.asarray(x) - np.asarray(y)) ** 2) for x, y in pairs)))


def run(bench: Bench) -> None:
    args = bench.args
    visible = len(jax.devices(bench.backend))
    counts = args.runs or [8, *([64] if bench.backend != "cpu" else [])]
    batch_size = args.batch_sizes[0]
    print(f"\nruns axis over 1..{visible} {bench.backend} devices (VAE, batch {batch_size}, float32)")
    for runs in counts:
        device_counts = sorted({d for d in (1, 2, 4, 8, visible) if d <= visible and runs % d == 0})
        base = None
        for devices in device_counts:
            row = bench_runs_axis(bench.host_images, runs, devices, batch_size, args.repeats)
            base = base or row["epoch_median_ms"]
            row["speedup_over_one_device"] = base / row["epoch_median_ms"]
            if devices == device_counts[-1] and devices > 1:
                row["max_relative_distance_to_alone"] = distance_to_alone(
                    bench.host_images, runs, devices, batch_size
                )
            bench.emit(row)
            check = row.get("max_relative_distance_to_alone")
            note = "" if check is None else f"; each run vs its run alone: relative distance <= {check:.1e}"
            print(
                f"  {runs:>3} runs on {devices} devices: epoch {row['epoch_median_ms']:>9.1f} ms, "
                f"{row['images_per_s']:>11,.0f} images/s, "
                f"{row['speedup_over_one_device']:.2f}x one device{note}"
            )
