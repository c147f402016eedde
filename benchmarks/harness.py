"""The benchmarks' harness: the environment a row is tagged with, timing, the training data, the
context every suite writes its rows through, and the command line's argument types."""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import re
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jax
import numpy as np

from jaxvae.sources import load_dataset

HERE = Path(__file__).resolve().parent
EPOCH_IMAGES = 60_000
ALL_RUNS = 1 << 30  # a --groups count that no ensemble reaches: one group of all its runs


def environment(backend: str) -> dict[str, Any]:
    devices = jax.devices(backend)
    return {
        "backend": backend,
        "device_kind": devices[0].device_kind,
        "device_count": len(devices),
        "jax": jax.__version__,
        "jaxlib": importlib.metadata.version("jaxlib"),
        "flax": importlib.metadata.version("flax"),
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
        "threads": os.cpu_count(),
        "matmul_precision": str(jax.config.jax_default_matmul_precision),
        "compilation_cache_dir": os.environ.get("JAX_COMPILATION_CACHE_DIR", ""),
        "python": platform.python_version(),
        "jaxvae_commit": source_commit(),
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d"),
    }


def source_commit() -> str:
    """The git commit of the jaxvae source being measured ("+dirty" with local edits), or ""."""
    root = Path(__file__).resolve().parents[1]

    def git(*args: str) -> str:
        run = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=False)
        return run.stdout.strip() if run.returncode == 0 else ""

    commit = git("rev-parse", "--short=12", "HEAD")
    return commit + ("+dirty" if commit and git("status", "--porcelain", "--untracked-files=no") else "")


def seconds(fn: Callable[[], Any]) -> float:
    """Seconds of one call of ``fn`` (which must block)."""
    began = time.perf_counter()
    fn()
    return time.perf_counter() - began


def timed(fn: Callable[[], Any], repeats: int) -> list[float]:
    """Seconds per call of ``fn`` (which must block), after one warm-up call."""
    fn()
    return [seconds(fn) for _ in range(repeats)]


def first_and_steady(epoch: Callable[[], Any], repeats: int) -> tuple[float, list[float]]:
    """Seconds of the first call of ``epoch`` (compile included), then of ``repeats`` more after it."""
    first = seconds(epoch)
    return first, timed(epoch, repeats)


# XLA's CPU runtime runs a program's operations on these host threads; the other events there are
# the runtime's own bookkeeping


def training_images(data_dir: str | None) -> tuple[np.ndarray, str]:
    """MNIST's training images: from ``data_dir`` when given (it must hold MNIST: a mistyped path is
    an error), else from the usual places, which end at the package's own copy."""
    return load_dataset("mnist", "train", data_dir, download_if_missing=False).images, "mnist"


def failure_reason(stderr: str) -> str:
    """The line of a failed subprocess's stderr that says what went wrong: its last exception line."""
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    errors = [line for line in lines if re.match(r"^[\w.]+(Error|Exception|Interrupt)\b", line)]
    return (errors or lines or ["no output"])[-1]


def channel_pair(text: str) -> tuple[int, int]:
    """A conv network's two widths from the command line: "16,32"."""
    try:
        first, second = (int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected two widths as A,B (like 16,32), got {text!r}") from None
    if min(first, second) < 1:
        raise argparse.ArgumentTypeError(f"widths must be positive, got {text!r}")
    return first, second


def dense_widths(text: str) -> tuple[int, ...]:
    """A conv network's dense hidden layers from the command line: "256", "256,128", or "0" for none."""
    try:
        widths = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected widths as N or N,N (like 256), got {text!r}") from None
    if widths == (0,):
        return ()
    if min(widths) < 1:
        raise argparse.ArgumentTypeError(f"widths must be positive, or 0 for none, got {text!r}")
    return widths


def positive_int(text: str) -> int:
    """An argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def group_size(text: str) -> int | None:
    """An argparse type for --groups: 'default' (None), 'all' (every run, i.e. any count as large)
    or a positive integer."""
    if text == "default":
        return None
    return ALL_RUNS if text == "all" else positive_int(text)


@dataclass
class Bench:
    """What every suite reads (the options, the device, the data) and writes its rows through."""

    args: argparse.Namespace
    backend: str
    device: jax.Device
    env: dict[str, Any]
    host_images: np.ndarray  # the training set on the host [60000, 28, 28] uint8
    images: jax.Array  # the same on the device
    rows: list[dict[str, Any]] = field(default_factory=list)

    def emit(self, row: dict[str, Any]) -> None:
        """Keep ``row`` and append it, tagged with the environment, to ``--out`` as one JSON line."""
        self.rows.append(row)
        if self.args.out:
            with open(self.args.out, "a") as f:
                f.write(json.dumps({**self.env, **row}) + "\n")

    def peak(self) -> dict[str, float]:
        """The matmul peak of each dtype measured in this run (the peak suite), GFLOP/s."""
        return {r["dtype"]: r["gflop_per_s"] for r in self.rows if r["suite"] == "peak"}
