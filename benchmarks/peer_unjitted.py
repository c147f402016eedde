#!/usr/bin/env python3
"""Lower anchor for benchmarks/run.py: jaxvae's own VAE step run op by op with ``jax.disable_jit()``,
the way an un-jitted ``train_step`` (as in Flax's example code before ``jit`` is added) runs.

An un-jitted epoch takes minutes, so ``--steps`` steps are timed and the epoch time is extrapolated
from them (the JSON says so). Prints one JSON line.
"""

import argparse
import json
import statistics
import sys
import time

import jax
import numpy as np

from jaxvae.runs.config import TrainConfig
from jaxvae.runs.single import initial_state
from jaxvae.train import train_step


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=20, help="timed steps per repeat")
    parser.add_argument("--backend", default=None, help="cpu, gpu or tpu (default: JAX's default)")
    parser.add_argument("--matmul-precision", default="float32")
    args = parser.parse_args()
    jax.config.update("jax_default_matmul_precision", args.matmul_precision)
    with jax.default_device(jax.devices(args.backend)[0]):
        return run(args)


def run(args: argparse.Namespace) -> int:
    images = np.load(args.data)
    config = TrainConfig(batch_size=args.batch_size)
    optimizer, state = config.optimizer(), initial_state(config)
    steps = min(args.steps, len(images) // args.batch_size)
    batches = images[: steps * args.batch_size].reshape(steps, args.batch_size, 28, 28)
    times = []
    with jax.disable_jit():
        for repeat in range(args.repeats + 1):
            began = time.perf_counter()
            for batch in batches:
                state, terms = train_step(state, batch, optimizer=optimizer)
            jax.block_until_ready(terms)
            if repeat:  # the first pass is a warm-up
                times.append((time.perf_counter() - began) / steps)
    step = statistics.median(times)
    steps_per_epoch = len(images) // args.batch_size
    print(
        json.dumps(
            {
                "epoch_median_ms": 1e3 * step * steps_per_epoch,
                "epoch_min_ms": 1e3 * min(times) * steps_per_epoch,
                "images_per_s": args.batch_size / step,
                "final_train_loss": float(terms.total),
                "extrapolated_from_steps": steps,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
