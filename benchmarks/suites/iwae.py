"""iwae: importance-weighted bound evaluation, k = 100 and 1000, 100 images."""

from __future__ import annotations

import statistics
import time
from typing import Any

import jax

from benchmarks.harness import (
    Bench,
    timed,
)
from jaxvae.likelihood import iwae_bounds
from jaxvae.runs.config import TrainConfig
from jaxvae.runs.parallel import peak_memory_bytes
from jaxvae.runs.single import initial_state
from jaxvae.spec import ModelSpec


def bench_iwae(images: jax.Array, k: int, repeats: int, device: jax.Device) -> dict[str, Any]:
    model = initial_state(TrainConfig(model=ModelSpec("vae"))).model
    batch = images[:100]
    key = jax.random.key(0)
    began = time.perf_counter()
    iwae_bounds.lower(model, batch, key=key, ks=(k,)).compile()
    compile_seconds = time.perf_counter() - began
    times = timed(lambda: jax.block_until_ready(iwae_bounds(model, batch, key=key, ks=(k,))), repeats)
    return {
        "suite": "iwae",
        "k": k,
        "images": 100,
        "compile_s": compile_seconds,
        "median_ms": 1e3 * statistics.median(times),
        "samples_per_s": 100 * k / statistics.median(times),
        "peak_memory_bytes": peak_memory_bytes(device),
    }


def run(bench: Bench) -> None:
    print()
    for k in (100, 1000):
        row = bench_iwae(bench.images, k, bench.args.repeats, bench.device)
        bench.emit(row)
        print(
            f"IWAE k={k:<5} 100 images: {row['median_ms']:9.1f} ms median, "
            f"{row['samples_per_s']:,.0f} importance samples/s"
        )
