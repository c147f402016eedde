"""peak: the device's measured matmul peak (float32 and bfloat16), for the compute floor."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from benchmarks.harness import (
    Bench,
    timed,
)


def bench_peak(device: jax.Device, repeats: int) -> list[dict[str, Any]]:
    rows = []
    for dtype in ("float32", "bfloat16"):
        n = 2048
        a = jax.device_put(jnp.ones((n, n), dtype), device)
        matmul = jax.jit(lambda x: x @ x)
        times = timed(lambda m=matmul, a=a: m(a).block_until_ready(), repeats)
        rows.append({"suite": "peak", "dtype": dtype, "gflop_per_s": 2 * n**3 / min(times) / 1e9})
    return rows


def float32_peak(device: jax.Device | None = None, repeats: int = 10) -> float:
    """The float32 matmul peak of ``device`` (default: the first), GFLOP/s (best of ``repeats``)."""
    rows = bench_peak(device or jax.devices()[0], repeats)
    return next(r["gflop_per_s"] for r in rows if r["dtype"] == "float32")


def run(bench: Bench) -> None:
    for row in bench_peak(bench.device, bench.args.repeats):
        bench.emit(row)
        print(f"peak {row['dtype']:>8}: {row['gflop_per_s']:,.0f} GFLOP/s (2048^3 matmul)")
