"""peers: the same VAE, data, optimizer and batch size in PyTorch eager and torch.compile (if torch
is installed) and in the Flax-example style with an un-jitted step, each in its own subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.harness import (
    HERE,
    Bench,
    failure_reason,
)


def bench_peers(
    images: np.ndarray,
    batch_size: int,
    repeats: int,
    jax_row: dict[str, Any] | None,
    backend: str,
    precision: str,
) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "images.npy"
        np.save(data, images)
        torch_args = ["--device", "cuda" if backend == "gpu" else "cpu", "--matmul-precision", precision]
        peers = [
            ("torch-eager", "torch", ["--mode", "eager", *torch_args]),
            ("torch-compile", "torch", ["--mode", "compile", *torch_args]),
            ("flax-example-unjitted", "unjitted", ["--backend", backend, "--matmul-precision", precision]),
        ]
        for name, script, extra in peers:
            command = [
                sys.executable,
                str(HERE / f"peer_{script}.py"),
                "--data",
                str(data),
                "--batch-size",
                str(batch_size),
                "--repeats",
                str(repeats),
                *extra,
            ]
            # this process already holds most of an accelerator's memory (JAX preallocates 75%):
            # a JAX peer must allocate on demand from the rest
            env = {**os.environ, "XLA_PYTHON_CLIENT_PREALLOCATE": "false"}
            result = subprocess.run(command, capture_output=True, text=True, timeout=3600, env=env)
            if result.returncode != 0:
                reason = failure_reason(result.stderr)
                print(f"peer {name}: skipped ({reason})")
                rows.append({"suite": "peers", "peer": name, "skipped": reason})
                continue
            row = {"suite": "peers", "peer": name, **json.loads(result.stdout.strip().splitlines()[-1])}
            if jax_row:
                row["jaxvae_speedup"] = jax_row["images_per_s"] / row["images_per_s"]
            rows.append(row)
    return rows


def run(bench: Bench) -> None:
    from benchmarks.suites.train import bench_train

    args = bench.args
    batch_size = args.batch_sizes[0]
    ours = next(
        (
            r
            for r in bench.rows
            if r["suite"] == "train"
            and r["model"] == "vae"
            and r["batch_size"] == batch_size
            and r["dtype"] == "float32"
            and r["loop"] == "scan"
        ),
        None,
    ) or bench_train("vae", batch_size, "float32", "scan", bench.images, args.repeats, bench.device)
    bench.emit({**ours, "suite": "peers", "peer": "jaxvae-scan"})
    print(
        f"\npeers, VAE, batch {batch_size}: jaxvae scan {ours['images_per_s']:,.0f} images/s, "
        f"loss {ours['final_train_loss']:.2f}"
    )
    for row in bench_peers(
        bench.host_images, batch_size, args.repeats, ours, bench.backend, args.matmul_precision
    ):
        bench.emit(row)
        if "skipped" not in row:
            print(
                f"  {row['peer']:<22} {row['images_per_s']:>10,.0f} images/s  "
                f"epoch {row['epoch_median_ms']:>8.1f} ms  loss {row['final_train_loss']:.2f}  "
                f"jaxvae is {row['jaxvae_speedup']:.2f}x"
            )
