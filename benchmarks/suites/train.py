"""train: AE and VAE, MLP and conv networks (the conv ones with their convolutions in XLA's form and
as patches times a dense layer), each batch size, a whole epoch as one compiled scan versus a jitted
step driven from a Python loop, float32 versus bfloat16 compute."""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import jax
import numpy as np
from flax import nnx

from benchmarks.harness import (
    Bench,
    timed,
)
from benchmarks.profile import matmul_names, profiled
from jaxvae.runs.config import TrainConfig
from jaxvae.runs.parallel import peak_memory_bytes
from jaxvae.spec import ModelSpec
from jaxvae.train import init_train_state, train_epoch, train_step


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
    arch: str = "mlp",
    form: str | None = None,
    channels: tuple[int, int] = (16, 32),
    dense: tuple[int, ...] = (256,),
) -> dict[str, Any]:
    conv = {"channels": channels, "dense_dims": dense} if arch == "conv" else {}
    spec = ModelSpec(kind, dtype=dtype, arch=arch, **conv)
    config = TrainConfig(model=spec, batch_size=batch_size)
    optimizer = config.optimizer()
    state = init_train_state(config.model, optimizer, key=jax.random.key(config.seed), form=form)
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
        name = f"{kind}-{spec.network().replace(' ', '')}{form or ''}-b{batch_size}-{dtype}-{loop}"
        name += f"-unroll{unroll}" if unroll > 1 else ""
        profile = profiled(epoch, profile_dir / name, matmul_names(program.as_text()))
    return {
        "suite": "train",
        "model": kind,
        "arch": arch,
        "network": spec.network(),
        "conv_form": form if arch == "conv" else None,
        "flop_per_image": flops / (steps * batch_size),
        "parameters": sum(int(np.size(leaf)) for leaf in jax.tree.leaves(nnx.state(state.model, nnx.Param))),
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


HEADER = (
    f"\n{'model':<20} {'batch':>6} {'dtype':>8} {'loop':>8} {'compile s':>9} {'epoch ms':>9} "
    f"{'min ms':>8} {'images/s':>10} {'GFLOP/s':>8} {'floor x':>7} {'loss':>7}"
)


def run(bench: Bench) -> None:
    args, peak = bench.args, bench.peak()
    print(HEADER)
    conv = [(f, c, d) for c in args.conv_channels for d in args.conv_dense for f in args.conv_forms]
    cases = {"mlp": [(None, (16, 32), (256,))], "conv": conv}
    networks = [(arch, *case) for arch in args.archs for case in cases[arch]]
    for kind in args.models:
        for arch, form, channels, dense in networks:
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
                            bench.images,
                            args.repeats,
                            bench.device,
                            unroll,
                            args.profile,
                            arch,
                            form,
                            channels,
                            dense,
                        )
                        if dtype in peak:
                            add_floor(row, peak[dtype])
                        bench.emit(row)
                        widths = ",".join(map(str, (*channels, *dense)))
                        label = kind if arch == "mlp" else f"{kind} conv{widths}/{form}"
                        print_row(row, label, batch_size, dtype, loop if unroll == 1 else f"{loop}x{unroll}")


def add_floor(row: dict[str, Any], peak_gflop_per_s: float) -> None:
    """The epoch's time against the compute floor: its FLOPs at the measured peak."""
    row["compute_floor_ms"] = 1e3 * row["flop_per_epoch"] / (peak_gflop_per_s * 1e9)
    row["times_floor"] = row["epoch_median_ms"] / row["compute_floor_ms"]
    if row.get("profile_matmul_ops"):
        row["profile_matmul_times_floor"] = row["profile_matmul_busy_ms"] / row["compute_floor_ms"]


def print_row(row: dict[str, Any], kind: str, batch_size: int, dtype: str, label: str) -> None:
    print(
        f"{kind:<20} {batch_size:>6} {dtype:>8} {label:>8} {row['compile_s']:>9.2f} "
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
