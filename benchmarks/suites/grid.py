"""grid: decode_grid over 100x100 and 1000x1000 latent grids."""

from __future__ import annotations

import statistics
import time
from typing import Any

import jax
import jax.numpy as jnp

from benchmarks.harness import (
    Bench,
    timed,
)
from jaxvae.latent import decode_grid, grid_points
from jaxvae.runs.config import TrainConfig
from jaxvae.runs.parallel import peak_memory_bytes
from jaxvae.runs.single import initial_state
from jaxvae.spec import ModelSpec


def bench_grid(size: int, repeats: int, device: jax.Device) -> dict[str, Any]:
    model = initial_state(TrainConfig(model=ModelSpec("vae"))).model
    grid = jax.device_put(jnp.asarray(grid_points((-3, 3), (-3, 3), size)), device)
    began = time.perf_counter()
    decode_grid.lower(model, grid).compile()
    compile_seconds = time.perf_counter() - began
    times = timed(lambda: decode_grid(model, grid).block_until_ready(), repeats)
    return {
        "suite": "grid",
        "grid": f"{size}x{size}",
        "compile_s": compile_seconds,
        "median_ms": 1e3 * statistics.median(times),
        "min_ms": 1e3 * min(times),
        "points_per_s": size * size / statistics.median(times),
        "peak_memory_bytes": peak_memory_bytes(device),
    }


def run(bench: Bench) -> None:
    print()
    for size in bench.args.grid_sizes:
        row = bench_grid(size, bench.args.repeats, bench.device)
        bench.emit(row)
        print(
            f"decode_grid {row['grid']:>9}: {row['median_ms']:9.1f} ms median, "
            f"{row['points_per_s']:,.0f} points/s, compile {row['compile_s']:.2f} s"
        )
