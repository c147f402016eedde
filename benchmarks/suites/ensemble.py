"""ensemble: N VAE runs trained as one program, against N epochs of one run alone timed in
alternation in the same process (below 1: the runs axis pays)."""

from __future__ import annotations

import statistics
from functools import partial
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks.harness import (
    ALL_RUNS,
    Bench,
    seconds,
)
from benchmarks.profile import matmul_names, profiled
from jaxvae.ensemble import create_train_states, default_group_size, train_ensemble_epoch
from jaxvae.runs.config import TrainConfig
from jaxvae.runs.parallel import peak_memory_bytes
from jaxvae.spec import ModelSpec


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
    optimizer = TrainConfig(model=ModelSpec("vae")).optimizer()
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


HEADER = (
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
WIDTHS = (5, 6, 7, 10, 13, 9, 12, 10, 10)
LINE = "{:>5} {:>6} {:>7} {:>10.1f} {:>13.1f} {:>9.1f} {:>12,.0f} {:>10.2f} {:>10.2f}"


def run(bench: Bench) -> None:
    args = bench.args
    counts = args.runs or [1, 2, 4, 8, 16, *([64] if bench.backend != "cpu" else [])]
    print("\n" + " ".join(h.rjust(w) for h, w in zip(HEADER, WIDTHS, strict=True)))
    for batch_size in args.batch_sizes:
        for runs in counts:
            for group in args.groups:
                row = bench_ensemble(bench.images, runs, batch_size, args.repeats, group, args.profile)
                bench.emit(row)
                label = f"{row['group_size']}" + ("" if group is None else "!")
                cells = (row["epoch_median_ms"], row["ms_per_run_epoch"], row["single_run_epoch_ms"])
                ratios = (row["ratio_to_n_single_runs"], row["ratio_of_fastest_epochs"])
                print(LINE.format(runs, batch_size, label, *cells, row["images_per_s"], *ratios))
                if "profile_alone_matmul_ms_per_run" in row:
                    print(
                        "      profiled, per run: matmuls "
                        f"{row['profile_together_matmul_ms_per_run']:.1f} ms "
                        f"(alone {row['profile_alone_matmul_ms_per_run']:.1f}), any operation "
                        f"{row['profile_together_busy_ms_per_run']:.1f} ms "
                        f"(alone {row['profile_alone_busy_ms_per_run']:.1f})"
                    )
