#!/usr/bin/env python3
"""jaxvae benchmarks: training and decoding throughput on any JAX backend, beside peers.

    python benchmarks/run.py                       # every suite on JAX's default backend
    python benchmarks/run.py --backend gpu --suites train grid
    python benchmarks/run.py --suites peers --batch-sizes 128

Suites
  peak   the device's measured matmul peak (float32 and bfloat16), for the compute floor
  train  AE and VAE, each batch size, a whole epoch as one compiled scan versus a jitted step
         driven from a Python loop, float32 versus bfloat16 compute
  grid   decode_grid over 100x100 and 1000x1000 latent grids
  iwae   importance-weighted bound evaluation, k = 100 and 1000, 100 images
  scaling  VAE data-parallel training on 1, 2, 4 and 8 devices where they exist: weak scaling
         (128 images per device) and strong scaling (a global batch of 1024 split across them),
         images/s and efficiency against one device. Fake CPU devices
         (JAX_NUM_CPU_DEVICES=4) share the same cores: they check that it runs, not its speed
  ensemble  N VAE runs (N = --runs: 1, 2, 4, 8, 16, and 64 on an accelerator) trained as one program,
         jax.vmap over a runs axis in groups of --groups runs, at each batch size: epoch time,
         images/s over all runs, and the ratio to N epochs of one run alone, the two timed in
         alternation in the same process (below 1: the runs axis pays)
  peers  the same VAE, data, optimizer and batch size in PyTorch eager and torch.compile (if torch
         is installed) and in the Flax-example style with an un-jitted step, each in its own
         subprocess; reports images/s, ratios and each one's loss after the timed epochs

Timing: steady state is the median (and min) over --repeats epochs after a warm-up epoch,
``block_until_ready`` after each; compile time is measured alone with ``lower().compile()``.
Every case is one JSON line in --out, tagged with the device, versions, XLA flags and threads;
a summary table is printed. Nothing here passes or fails: speed is reported, never asserted.
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import importlib.metadata
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxvae.config import TrainConfig
from jaxvae.data import load_dataset
from jaxvae.ensemble import create_train_states, default_group_size, train_ensemble_epoch
from jaxvae.errors import DataUnavailableError
from jaxvae.latent import decode_grid, grid_points
from jaxvae.likelihood import iwae_bounds
from jaxvae.parallel import DATA_AXIS, batch_sharding, place_training_set, replicate
from jaxvae.run import initial_state
from jaxvae.train import train_epoch, train_step

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


def peak_memory_bytes(device: jax.Device) -> int:
    """Peak device memory where the backend reports it, else this process's max RSS."""
    stats = device.memory_stats() if hasattr(device, "memory_stats") else None
    if stats and "peak_bytes_in_use" in stats:
        return int(stats["peak_bytes_in_use"])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


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
XLA_CPU_THREADS = "tf_XLAEigen"
XLA_CPU_RUNTIME_EVENTS = ("ThunkExecutor", "ThreadpoolListener", "SlinkyThreadPool", "end: ")


def profiled(fn: Callable[[], Any], log_dir: Path, matmuls: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Run ``fn`` once under ``jax.profiler`` and summarise the device activity in its trace.

    The Perfetto trace is left in ``log_dir`` (open it at ui.perfetto.dev). The summary counts the
    device-side operations (kernels, copies) and how much of the wall time they kept the device busy:
    a low busy fraction means the step is bound by launches and gaps, not by the work in them. On the
    CPU backend the operations are the events of XLA's compute threads (fusions, matmuls, copies);
    there an Eigen matmul may report less than its full time, as it finishes on a worker thread.
    It also gives how long matrix multiplications alone kept the device busy: operations named in
    ``matmuls`` (from ``matmul_names`` of the compiled program) and library GEMM kernels.
    """
    began = time.perf_counter()
    with jax.profiler.trace(str(log_dir), create_perfetto_trace=True):
        fn()
    wall = time.perf_counter() - began
    traces = sorted(log_dir.rglob("perfetto_trace.json.gz"))
    if not traces:
        return {"profile": str(log_dir)}
    with gzip.open(traces[-1], "rt") as f:
        events = json.load(f)
    events = events.get("traceEvents", events) if isinstance(events, dict) else events
    ops = operation_events(events)
    if not ops:
        processes = sorted(
            str(e.get("args", {}).get("name"))
            for e in events
            if e.get("ph") == "M" and e.get("name") == "process_name"
        )
        return {"profile": str(traces[-1]), "profile_device_ops": 0, "profile_processes": processes}
    busy = merged_length([(e["ts"], e["ts"] + e["dur"]) for e in ops]) / 1e6
    by_name: dict[str, float] = {}
    for e in ops:
        by_name[e["name"]] = by_name.get(e["name"], 0.0) + e["dur"] / 1e3
    top = sorted(by_name.items(), key=lambda item: -item[1])[:8]
    wanted = frozenset(m.replace(".", "_") for m in matmuls)
    matmul_ops = [e for e in ops if is_matmul(str(e["name"]), wanted)]
    return {
        "profile": str(traces[-1]),
        "profile_wall_ms": 1e3 * wall,
        "profile_device_ops": len(ops),
        "profile_device_busy_ms": 1e3 * busy,
        "profile_matmul_ops": len(matmul_ops),
        "profile_matmul_busy_ms": merged_length([(e["ts"], e["ts"] + e["dur"]) for e in matmul_ops]) / 1e3,
        "profile_top_ops_ms": {name[:80]: round(ms, 3) for name, ms in top},
    }


def operation_events(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The timed events of a trace that are the program's operations: those of the accelerator's
    processes, or on a CPU backend those of XLA's compute threads."""

    def named(kind: str, prefix: str) -> set[Any]:
        return {
            (e["pid"], e.get("tid")) if kind == "thread_name" else e["pid"]
            for e in events
            if e.get("ph") == "M"
            and e.get("name") == kind
            and str(e.get("args", {}).get("name", "")).startswith(prefix)
        }

    timed = [e for e in events if e.get("ph") == "X" and "dur" in e]
    device_pids = named("process_name", "/device:")
    if device_pids:
        return [e for e in timed if e.get("pid") in device_pids]
    threads = named("thread_name", XLA_CPU_THREADS)
    return [
        e
        for e in timed
        if (e.get("pid"), e.get("tid")) in threads and not str(e["name"]).startswith(XLA_CPU_RUNTIME_EVENTS)
    ]


# kernels of the GPU matmul libraries (cuBLAS, CUTLASS) are named by the library, not by XLA
GEMM_KERNEL = re.compile(r"gemm|xmma|cutlass", re.IGNORECASE)


def matmul_names(hlo_text: str) -> frozenset[str]:
    """Names of the instructions of a compiled program's HLO text that multiply matrices: dots,
    convolutions, and fusions or custom calls whose called computation holds one. Dots become
    fusions and custom calls after optimisation, so the called computations are read too."""
    computations: dict[str, str] = {}
    for block in re.split(r"\n(?=\S)", hlo_text):  # a computation starts at column 0
        header = re.match(r"(?:ENTRY\s+)?%?([\w.\-]+)", block)
        if header:
            computations[header.group(1)] = block
    multiplies = {name for name, body in computations.items() if re.search(r"\s(dot|convolution)\(", body)}
    names = set()
    for line in hlo_text.splitlines():
        instruction = re.match(r"\s*(?:ROOT\s+)?%?([\w.\-]+)\s*=\s*\S+\s+(\w[\w-]*)\(", line)
        if not instruction:
            continue
        name, opcode = instruction.groups()
        called = re.findall(r"(?:calls|to_apply)=%?([\w.\-]+)", line)
        if opcode in ("dot", "convolution") or any(c in multiplies for c in called):
            names.add(name)
    return frozenset(names)


def is_matmul(op: str, matmuls: frozenset[str]) -> bool:
    """Whether a trace's operation ``op`` multiplies matrices: an instruction of ``matmuls``, names
    compared with dots as underscores (GPU traces write them so), or a library GEMM kernel."""
    return op.replace(".", "_") in matmuls or bool(GEMM_KERNEL.search(op))


def merged_length(intervals: list[tuple[float, float]]) -> float:
    """Total length covered by a set of intervals (overlaps counted once)."""
    total, end = 0.0, float("-inf")
    for a, b in sorted(intervals):
        if b > end:
            total += b - max(a, end)
            end = b
    return total


def training_images(data_dir: str | None) -> tuple[np.ndarray, str]:
    """Real MNIST when it can be had; otherwise random uint8 digits (speed does not depend on values).
    A ``data_dir`` given explicitly must hold MNIST: a mistyped path is an error, not random data."""
    try:
        return load_dataset("mnist", "train", data_dir, download_if_missing=False).images, "mnist"
    except DataUnavailableError:
        if data_dir is not None:
            raise
        rng = np.random.default_rng(0)
        return rng.integers(0, 256, (EPOCH_IMAGES, 28, 28), np.uint8), "random-uint8"


# --------------------------------------------------------------------------- suites


def bench_peak(device: jax.Device, repeats: int) -> list[dict[str, Any]]:
    rows = []
    for dtype in ("float32", "bfloat16"):
        n = 2048
        a = jax.device_put(jnp.ones((n, n), dtype), device)
        matmul = jax.jit(lambda x: x @ x)
        times = timed(lambda m=matmul, a=a: m(a).block_until_ready(), repeats)
        rows.append({"suite": "peak", "dtype": dtype, "gflop_per_s": 2 * n**3 / min(times) / 1e9})
    return rows


def bench_train(
    kind: str,
    batch_size: int,
    dtype: str,
    loop: str,
    images: jax.Array,
    repeats: int,
    device: jax.Device,
    unroll: int = 1,
    profile_dir: Path | None = None,
) -> dict[str, Any]:
    config = TrainConfig(model=kind, batch_size=batch_size, dtype=dtype)
    optimizer = config.optimizer()
    state = initial_state(config)
    steps = images.shape[0] // batch_size

    def compile_step() -> Any:
        return train_step.lower(state, images[:batch_size], optimizer=optimizer).compile()

    began = time.perf_counter()
    if loop == "scan":
        program = train_epoch.lower(
            state, images, optimizer=optimizer, batch_size=batch_size, unroll=unroll
        ).compile()
        compile_seconds = time.perf_counter() - began
        step_compiled = compile_step()
    else:
        step_compiled = compile_step()  # timed, and reused for the cost analysis below
        compile_seconds = time.perf_counter() - began
        program = step_compiled
    # XLA's cost analysis counts a scan body once, so count one step and multiply
    cost = step_compiled.cost_analysis()
    cost = cost[0] if isinstance(cost, list) else cost
    flops = steps * float(cost.get("flops", float("nan"))) if cost else float("nan")
    order = np.arange(steps * batch_size).reshape(steps, batch_size)
    holder = {"state": state}

    def epoch() -> None:
        if loop == "scan":
            holder["state"], terms = train_epoch(
                holder["state"], images, optimizer=optimizer, batch_size=batch_size, unroll=unroll
            )
        else:
            for indices in order:  # what a user's hand-written loop does: one dispatch per step
                holder["state"], terms = train_step(holder["state"], images[indices], optimizer=optimizer)
        holder["terms"] = jax.block_until_ready(terms)

    began = time.perf_counter()
    epoch()
    first_epoch = time.perf_counter() - began
    times = timed(epoch, repeats)
    median = statistics.median(times)
    profile = {}
    if profile_dir is not None:  # one more steady-state epoch, under the profiler
        name = f"{kind}-b{batch_size}-{dtype}-{loop}" + (f"-unroll{unroll}" if unroll > 1 else "")
        profile = profiled(epoch, profile_dir / name, matmul_names(program.as_text()))
    return {
        "suite": "train",
        "model": kind,
        "batch_size": batch_size,
        "dtype": dtype,
        "loop": loop,
        "unroll": unroll,
        **profile,
        "compile_s": compile_seconds,
        "first_epoch_s": first_epoch,
        "epoch_median_ms": 1e3 * median,
        "epoch_min_ms": 1e3 * min(times),
        "images_per_s": steps * batch_size / median,
        "flop_per_epoch": flops,
        "gflop_per_s": flops / median / 1e9,
        "peak_memory_bytes": peak_memory_bytes(device),
        "final_train_loss": float(np.mean(holder["terms"].total)),
    }


def bench_grid(size: int, repeats: int, device: jax.Device) -> dict[str, Any]:
    model = initial_state(TrainConfig(model="vae")).model
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


def bench_iwae(images: jax.Array, k: int, repeats: int, device: jax.Device) -> dict[str, Any]:
    model = initial_state(TrainConfig(model="vae")).model
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


def bench_scaling(
    host_images: np.ndarray, devices: list[jax.Device], global_batch: int, mode: str, repeats: int
) -> dict[str, Any]:
    """Data-parallel VAE training over ``devices``: the batch split, the state replicated."""
    mesh = jax.sharding.Mesh(np.asarray(devices), (DATA_AXIS,))
    config = TrainConfig(model="vae", batch_size=global_batch)
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


def bench_ensemble(
    images: jax.Array,
    runs: int,
    batch_size: int,
    repeats: int,
    group_size: int | None = None,
    profile_dir: Path | None = None,
) -> dict[str, Any]:
    """``runs`` VAE runs (seeds 0..runs-1) trained by ``train_ensemble_epoch`` with ``group_size``
    runs per kernel (None: the library's default), against one run alone.

    The two alternate: each repeat times one epoch of one run alone, then one epoch of the ensemble,
    so both see the same machine; the ratio is the median over repeats of
    ensemble epoch / (runs x that repeat's single-run epoch). On a shared machine whose speed drifts
    by 10% over minutes, timing them one after the other moved the ratio by as much. The ratio of
    the fastest epochs of each (``ratio_of_fastest_epochs``) is a second estimate: on such a
    machine the fastest epoch is the one least slowed by others.
    With ``profile_dir``, one more epoch of each runs under the profiler, and the row gets, per run,
    the time during which matrix multiplications ran and the costliest operations of both.
    """
    optimizer = TrainConfig(model="vae").optimizer()
    label = {None: "default", ALL_RUNS: "all"}.get(group_size, str(group_size))

    def fresh(n: int) -> Any:
        return create_train_states("vae", jax.vmap(jax.random.key)(jnp.arange(n)), optimizer)

    holder = {"alone": fresh(1), "together": fresh(runs)}
    groups = {"alone": 1, "together": group_size}

    def epoch(which: str) -> None:
        holder[which], terms = train_ensemble_epoch(
            holder[which], images, optimizer=optimizer, batch_size=batch_size, group_size=groups[which]
        )
        holder[f"{which}_terms"] = jax.block_until_ready(terms)

    first_epoch = seconds(lambda: epoch("together"))
    epoch("alone")  # its warm-up (compiled once per batch size)
    alone_times, times = [], []
    for _ in range(repeats):
        alone_times.append(seconds(lambda: epoch("alone")))
        times.append(seconds(lambda: epoch("together")))
    median = statistics.median(times)
    steps = images.shape[0] // batch_size
    profile = {}
    if profile_dir is not None:
        for which, n in (("alone", 1), ("together", runs)):
            program = jax.jit(
                partial(
                    train_ensemble_epoch, optimizer=optimizer, batch_size=batch_size, group_size=groups[which]
                ),
                donate_argnums=0,
            )
            compiled = program.lower(holder[which], images).compile()

            def epoch_of(which: str = which, compiled: Any = compiled) -> None:
                holder[which], terms = compiled(holder[which], images)
                jax.block_until_ready(terms)

            epoch_of()
            name = f"ensemble-b{batch_size}-runs{runs}-{which}" + ("" if n == 1 else f"-group{label}")
            summary = profiled(epoch_of, profile_dir / name, matmul_names(compiled.as_text()))
            if summary.get("profile_matmul_ops"):
                profile[f"profile_{which}_matmul_ms_per_run"] = summary["profile_matmul_busy_ms"] / n
                profile[f"profile_{which}_busy_ms_per_run"] = summary["profile_device_busy_ms"] / n
                profile[f"profile_{which}_top_ops_ms_per_run"] = {
                    op: round(ms / n, 3) for op, ms in summary["profile_top_ops_ms"].items()
                }
    return {
        "suite": "ensemble",
        "model": "vae",
        "runs": runs,
        "batch_size": batch_size,
        "group_size": min(runs, group_size or default_group_size(runs, images.devices().pop().platform)),
        "group": label,
        "first_epoch_s": first_epoch,
        "epoch_median_ms": 1e3 * median,
        "epoch_min_ms": 1e3 * min(times),
        "ms_per_run_epoch": 1e3 * median / runs,
        "images_per_s": runs * steps * batch_size / median,
        "single_run_epoch_ms": 1e3 * statistics.median(alone_times),
        "single_run_epoch_min_ms": 1e3 * min(alone_times),
        "ratio_to_n_single_runs": statistics.median(
            t / (runs * alone) for t, alone in zip(times, alone_times, strict=True)
        ),
        "ratio_of_fastest_epochs": min(times) / (runs * min(alone_times)),
        "peak_memory_bytes": peak_memory_bytes(images.devices().pop()),
        "final_train_loss": float(np.mean(holder["together_terms"].total[:, -1])),
        **profile,
    }


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


def failure_reason(stderr: str) -> str:
    """The line of a failed subprocess's stderr that says what went wrong: its last exception line."""
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    errors = [line for line in lines if re.match(r"^[\w.]+(Error|Exception|Interrupt)\b", line)]
    return (errors or lines or ["no output"])[-1]


# --------------------------------------------------------------------------- main


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", default=None, help="cpu, gpu or tpu (default: JAX's default backend)")
    parser.add_argument(
        "--suites",
        nargs="+",
        default=["peak", "train", "grid", "iwae", "scaling", "ensemble", "peers"],
        choices=["peak", "train", "grid", "iwae", "scaling", "ensemble", "peers"],
    )
    parser.add_argument("--models", nargs="+", default=["ae", "vae"], choices=["ae", "vae"])
    parser.add_argument("--batch-sizes", nargs="+", type=positive_int, default=[128, 1024, 8192])
    parser.add_argument(
        "--dtypes", nargs="+", default=["float32", "bfloat16"], choices=["float32", "bfloat16"]
    )
    parser.add_argument("--loops", nargs="+", default=["scan", "step"], choices=["scan", "step"])
    parser.add_argument(
        "--unroll",
        nargs="+",
        type=positive_int,
        default=[1],
        help="steps per iteration of the scan loop (lax.scan unroll); several values compare them",
    )
    parser.add_argument(
        "--matmul-precision",
        default="float32",
        choices=["float32", "tensorfloat32", "bfloat16"],
        help="float32 matmul passes, for JAX and the torch peer alike (default: float32, i.e. no TF32 "
        "on GPUs; tensorfloat32 is JAX's GPU default)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="also run one epoch of each training case (and of each ensemble and its run alone) under "
        "jax.profiler, leave the Perfetto trace in DIR and report device busy time, the time matrix "
        "multiplications alone kept it busy (and that against the compute floor) and the costliest "
        "device operations",
    )
    parser.add_argument(
        "--runs",
        nargs="+",
        type=positive_int,
        default=None,
        help="runs per program of the ensemble suite (default: 1 2 4 8 16, and 64 on an accelerator)",
    )
    parser.add_argument(
        "--groups",
        nargs="+",
        type=group_size,
        default=[None],
        metavar="G",
        help="runs per kernel in the ensemble suite: 'default' (the library's choice: all runs on an "
        "accelerator, one on a CPU), 'all' or a number; several compare them (default: default). The "
        "table marks a group other than the default with '!'",
    )
    parser.add_argument("--grid-sizes", nargs="+", type=positive_int, default=[100, 1000])
    parser.add_argument(
        "--repeats", type=positive_int, default=5, help="timed repeats after one warm-up (default: 5)"
    )
    parser.add_argument("--data-dir", help="MNIST IDX folder (default: $JAXVAE_DATA_DIR; else random digits)")
    parser.add_argument("--out", help="append one JSON line per case to this file")
    args = parser.parse_args(argv)
    if max(args.batch_sizes) > EPOCH_IMAGES:
        parser.error(f"--batch-sizes: at most {EPOCH_IMAGES} (the images in an epoch)")
    backend = args.backend or jax.default_backend()
    try:
        device = jax.devices(backend)[0]
    except RuntimeError as e:
        print(f"benchmarks: error: backend {backend!r} is not available ({e})", file=sys.stderr)
        return 2
    # explicit, so that GPUs do not silently use TF32 (JAX's default there) unless asked to
    jax.config.update("jax_default_matmul_precision", args.matmul_precision)
    env = environment(backend)
    try:
        host_images, source = training_images(args.data_dir)
    except DataUnavailableError as e:
        print(f"benchmarks: error: {e}", file=sys.stderr)
        return 2
    env["data"] = source
    print(f"{env['device_kind']} x{env['device_count']} ({backend}); jax {env['jax']}, flax {env['flax']}")
    print(f"training data: {source}")
    rows: list[dict[str, Any]] = []

    def emit(row: dict[str, Any]) -> None:
        rows.append(row)
        if args.out:
            with open(args.out, "a") as f:
                f.write(json.dumps({**env, **row}) + "\n")

    with jax.default_device(device):
        images = jax.device_put(host_images, device)
        if "peak" in args.suites:
            for row in bench_peak(device, args.repeats):
                emit(row)
                print(f"peak {row['dtype']:>8}: {row['gflop_per_s']:,.0f} GFLOP/s (2048^3 matmul)")
        peak = {r["dtype"]: r["gflop_per_s"] for r in rows if r["suite"] == "peak"}
        if "train" in args.suites:
            print(
                f"\n{'model':<5} {'batch':>6} {'dtype':>8} {'loop':>8} {'compile s':>9} {'epoch ms':>9} "
                f"{'min ms':>8} {'images/s':>10} {'GFLOP/s':>8} {'floor x':>7} {'loss':>7}"
            )
            for kind in args.models:
                for batch_size in args.batch_sizes:
                    for dtype in args.dtypes:
                        unrolls = {loop: args.unroll if loop == "scan" else [1] for loop in args.loops}
                        cases = [(loop, u) for loop in args.loops for u in unrolls[loop]]
                        for loop, unroll in cases:
                            row = bench_train(
                                kind,
                                batch_size,
                                dtype,
                                loop,
                                images,
                                args.repeats,
                                device,
                                unroll,
                                args.profile,
                            )
                            if dtype in peak:
                                floor_s = row["flop_per_epoch"] / (peak[dtype] * 1e9)
                                row["compute_floor_ms"] = 1e3 * floor_s
                                row["times_floor"] = row["epoch_median_ms"] / row["compute_floor_ms"]
                                if row.get("profile_matmul_ops"):
                                    row["profile_matmul_times_floor"] = (
                                        row["profile_matmul_busy_ms"] / row["compute_floor_ms"]
                                    )
                            emit(row)
                            label = loop if unroll == 1 else f"{loop}x{unroll}"
                            print(
                                f"{kind:<5} {batch_size:>6} {dtype:>8} {label:>8} {row['compile_s']:>9.2f} "
                                f"{row['epoch_median_ms']:>9.1f} {row['epoch_min_ms']:>8.1f} "
                                f"{row['images_per_s']:>10,.0f} {row['gflop_per_s']:>8.1f} "
                                f"{row.get('times_floor', float('nan')):>7.2f} "
                                f"{row['final_train_loss']:>7.2f}"
                            )
                            if row.get("profile_device_ops"):
                                print(
                                    f"      profiled: {row['profile_device_ops']} device ops, busy "
                                    f"{row['profile_device_busy_ms']:.1f} of {row['profile_wall_ms']:.1f} ms"
                                )
                            if row.get("profile_matmul_ops"):
                                ratio = row.get("profile_matmul_times_floor", float("nan"))
                                print(
                                    f"      matmuls alone: {row['profile_matmul_ops']} ops, busy "
                                    f"{row['profile_matmul_busy_ms']:.1f} ms ({ratio:.2f}x the compute floor)"
                                )
        if "grid" in args.suites:
            print()
            for size in args.grid_sizes:
                row = bench_grid(size, args.repeats, device)
                emit(row)
                print(
                    f"decode_grid {row['grid']:>9}: {row['median_ms']:9.1f} ms median, "
                    f"{row['points_per_s']:,.0f} points/s, compile {row['compile_s']:.2f} s"
                )
        if "iwae" in args.suites:
            print()
            for k in (100, 1000):
                row = bench_iwae(images, k, args.repeats, device)
                emit(row)
                print(
                    f"IWAE k={k:<5} 100 images: {row['median_ms']:9.1f} ms median, "
                    f"{row['samples_per_s']:,.0f} importance samples/s"
                )
        if "scaling" in args.suites:
            visible = jax.devices(backend)
            counts = [n for n in (1, 2, 4, 8) if n <= len(visible)]
            print(f"\nscaling over {counts} of {len(visible)} {backend} devices (VAE, float32, scan)")
            for mode, batch_for in (("weak", lambda n: 128 * n), ("strong", lambda n: 1024)):
                base = None
                for n in counts:
                    row = bench_scaling(host_images, visible[:n], batch_for(n), mode, args.repeats)
                    base = base or row["images_per_s"]
                    row["efficiency"] = row["images_per_s"] / (n * base)
                    emit(row)
                    print(
                        f"  {mode:<6} {n} devices, global batch {row['global_batch']:>5}: "
                        f"{row['images_per_s']:>10,.0f} images/s, efficiency {row['efficiency']:.2f}"
                    )
        if "ensemble" in args.suites:
            counts = args.runs or [1, 2, 4, 8, 16, *([64] if backend != "cpu" else [])]
            line = "{:>5} {:>6} {:>7} {:>10.1f} {:>13.1f} {:>9.1f} {:>12,.0f} {:>10.2f} {:>10.2f}"
            header = (
                "runs",
                "batch",
                "group",
                "epoch ms",
                "ms/run-epoch",
                "alone ms",
                "images/s",
                "x N alone",
                "fastest x",
            )
            widths = (5, 6, 7, 10, 13, 9, 12, 10, 10)
            print("\n" + " ".join(h.rjust(w) for h, w in zip(header, widths, strict=True)))
            for batch_size in args.batch_sizes:
                for runs in counts:
                    for group in args.groups:
                        row = bench_ensemble(images, runs, batch_size, args.repeats, group, args.profile)
                        emit(row)
                        label = f"{row['group_size']}" + ("" if group is None else "!")
                        cells = (row["epoch_median_ms"], row["ms_per_run_epoch"], row["single_run_epoch_ms"])
                        print(
                            line.format(
                                runs,
                                batch_size,
                                label,
                                *cells,
                                row["images_per_s"],
                                row["ratio_to_n_single_runs"],
                                row["ratio_of_fastest_epochs"],
                            )
                        )
                        if "profile_alone_matmul_ms_per_run" in row:
                            print(
                                "      profiled, per run: matmuls "
                                f"{row['profile_together_matmul_ms_per_run']:.1f} ms "
                                f"(alone {row['profile_alone_matmul_ms_per_run']:.1f}), any operation "
                                f"{row['profile_together_busy_ms_per_run']:.1f} ms "
                                f"(alone {row['profile_alone_busy_ms_per_run']:.1f})"
                            )
        if "peers" in args.suites:
            batch_size = args.batch_sizes[0]
            ours = next(
                (
                    r
                    for r in rows
                    if r["suite"] == "train"
                    and r["model"] == "vae"
                    and r["batch_size"] == batch_size
                    and r["dtype"] == "float32"
                    and r["loop"] == "scan"
                ),
                None,
            ) or bench_train("vae", batch_size, "float32", "scan", images, args.repeats, device)
            emit({**ours, "suite": "peers", "peer": "jaxvae-scan"})
            print(
                f"\npeers, VAE, batch {batch_size}: jaxvae scan {ours['images_per_s']:,.0f} images/s, "
                f"loss {ours['final_train_loss']:.2f}"
            )
            for row in bench_peers(
                host_images, batch_size, args.repeats, ours, backend, args.matmul_precision
            ):
                emit(row)
                if "skipped" not in row:
                    print(
                        f"  {row['peer']:<22} {row['images_per_s']:>10,.0f} images/s  "
                        f"epoch {row['epoch_median_ms']:>8.1f} ms  loss {row['final_train_loss']:.2f}  "
                        f"jaxvae is {row['jaxvae_speedup']:.2f}x"
                    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
