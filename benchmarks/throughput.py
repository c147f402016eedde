#!/usr/bin/env python3
"""Training throughput of jaxvae's whole-epoch compiled scan on any JAX backend.

For each model and batch size: compile time alone, the first epoch including compile, and the
steady-state epoch time (median and min over ``--repeats`` after a warm-up, ``block_until_ready``)
on a 60,000-image epoch of random uint8 digits (throughput does not depend on pixel values), with
images per second and the GFLOP/s that XLA's ``cost_analysis()`` implies. Prints a table and writes
one JSON line per case (``--out``), tagged with the device and library versions.

    python benchmarks/throughput.py --backend cpu --batch-sizes 128 1024
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import statistics
import sys
import time
from typing import Any

import flax
import jax
import jax.numpy as jnp
import numpy as np

from jaxvae.config import TrainConfig
from jaxvae.run import initial_state
from jaxvae.train import train_epoch


def environment(backend: str) -> dict[str, Any]:
    device = jax.devices(backend)[0]
    return {
        "backend": backend,
        "device_kind": device.device_kind,
        "device_count": len(jax.devices(backend)),
        "jax": jax.__version__,
        "jaxlib": importlib.metadata.version("jaxlib"),
        "flax": flax.__version__,
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
        "cpu_threads": os.cpu_count(),
        "python": platform.python_version(),
    }


def bench_case(kind: str, batch_size: int, images: jax.Array, repeats: int) -> dict[str, Any]:
    config = TrainConfig(model=kind, batch_size=batch_size)
    optimizer = config.optimizer()
    state = initial_state(config)
    began = time.perf_counter()
    compiled = train_epoch.lower(state, images, optimizer=optimizer, batch_size=batch_size).compile()
    compile_seconds = time.perf_counter() - began
    cost = compiled.cost_analysis()
    cost = cost[0] if isinstance(cost, list) else cost
    flops = float(cost.get("flops", float("nan"))) if cost else float("nan")

    began = time.perf_counter()
    state, terms = train_epoch(state, images, optimizer=optimizer, batch_size=batch_size)
    jax.block_until_ready(terms)
    first_epoch = time.perf_counter() - began  # includes the jit cache fill (compile again)
    times = []
    for _ in range(repeats + 1):  # the first of these is a warm-up
        began = time.perf_counter()
        state, terms = train_epoch(state, images, optimizer=optimizer, batch_size=batch_size)
        jax.block_until_ready(terms)
        times.append(time.perf_counter() - began)
    steady = times[1:]
    median = statistics.median(steady)
    trained = (images.shape[0] // batch_size) * batch_size
    return {
        "model": kind,
        "batch_size": batch_size,
        "compile_s": compile_seconds,
        "first_epoch_s": first_epoch,
        "epoch_median_ms": 1e3 * median,
        "epoch_min_ms": 1e3 * min(steady),
        "images_per_s": trained / median,
        "flop_per_epoch": flops,
        "gflop_per_s": flops / median / 1e9,
        "final_train_loss": float(terms.total[-1]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--backend", default=jax.default_backend(), help="cpu, gpu or tpu (default: JAX's default)"
    )
    parser.add_argument("--models", nargs="+", default=["ae", "vae"], choices=["ae", "vae"])
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=[128, 1024, 8192])
    parser.add_argument("--repeats", type=int, default=5, help="timed epochs after one warm-up")
    parser.add_argument("--out", help="append JSON lines here")
    args = parser.parse_args(argv)
    try:
        jax.devices(args.backend)
    except RuntimeError as e:
        print(f"throughput: error: backend {args.backend!r} is not available ({e})", file=sys.stderr)
        return 2
    env = environment(args.backend)
    device = jax.devices(args.backend)[0]
    images = jax.device_put(np.random.default_rng(0).integers(0, 256, (60_000, 28, 28), np.uint8), device)
    print(f"{env['device_kind']} ({args.backend}), jax {env['jax']}, flax {env['flax']}")
    print(
        f"{'model':<5} {'batch':>6} {'compile s':>9} {'epoch ms':>9} {'min ms':>8} "
        f"{'images/s':>10} {'GFLOP/s':>8}"
    )
    with jax.default_device(device):
        for kind in args.models:
            for batch_size in args.batch_sizes:
                row = {**env, **bench_case(kind, batch_size, jnp.asarray(images), args.repeats)}
                print(
                    f"{kind:<5} {batch_size:>6} {row['compile_s']:>9.2f} {row['epoch_median_ms']:>9.1f} "
                    f"{row['epoch_min_ms']:>8.1f} {row['images_per_s']:>10,.0f} {row['gflop_per_s']:>8.1f}"
                )
                if args.out:
                    with open(args.out, "a") as f:
                        f.write(json.dumps(row) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
