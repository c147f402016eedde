#!/usr/bin/env python3
"""One JSON row for a demo: its wall time and phases against its training floor, tagged with the
device (as every benchmark row is).

    python benchmarks/demo_row.py REPORT_DIR [--out ROWS.jsonl]
    python benchmarks/demo_row.py REPORT_DIR --run [--out ROWS.jsonl] [-- DEMO FLAGS...]

The training floor is the FLOPs of the demo's training (XLA's cost analysis of one training step of
each model, times the steps of every epoch of every seed) over the float32 matmul peak: the time
the story's training would take if every FLOP ran at the peak. With ``--run``, the demo itself runs
here first (``jaxvae demo --out REPORT_DIR`` and the flags after ``--``, in a fresh, empty cache),
between two measurements of the peak; without it, the peak is measured now, for a demo that has
just finished on this machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jax

from benchmarks.harness import environment
from benchmarks.suites.peak import float32_peak
from jaxvae.experiments.demo import KINDS, DemoConfig
from jaxvae.runs.config import TrainConfig
from jaxvae.sources import load_dataset
from jaxvae.train import init_train_state, train_step


def training_flops(config: dict[str, Any], train_images: int) -> float:
    """The FLOPs of a demo's training: for each model, one step's (XLA's cost analysis) times the
    steps of an epoch, the epochs and the seeds."""
    fields = DemoConfig.__dataclass_fields__  # JSON gave lists where the config holds tuples
    demo = DemoConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in config.items() if k in fields})
    total = 0.0
    for kind in KINDS:
        train = TrainConfig(model=demo.spec(kind), batch_size=demo.batch_size)
        optimizer = train.optimizer()
        state = init_train_state(train.model, optimizer, key=jax.random.key(0))
        batch = jax.ShapeDtypeStruct((demo.batch_size, 28, 28), "uint8")
        cost = train_step.lower(state, batch, optimizer=optimizer).compile().cost_analysis()
        cost = cost[0] if isinstance(cost, list) else cost
        steps = train_images // demo.batch_size
        total += float(cost["flops"]) * steps * demo.epochs * demo.seeds
    return total


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    demo_flags = argv[argv.index("--") + 1 :] if "--" in argv else []
    argv = argv[: argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("report", type=Path, help="the demo's --out folder")
    parser.add_argument("--run", action="store_true", help="run the demo here first, in an empty cache")
    parser.add_argument("--label", default="demo", help="what ran (default: demo)")
    parser.add_argument("--out", type=Path, help="append the row to this JSON-lines file")
    args = parser.parse_args(argv)
    peaks = [float32_peak()]
    if args.run:
        with tempfile.TemporaryDirectory() as cache:
            env = {**os.environ, "JAXVAE_CACHE_DIR": cache}
            cli = [sys.executable, "-m", "jaxvae.commands.cli"]  # this Python's jaxvae, on PATH or not
            command = [*cli, "demo", "--out", str(args.report), *demo_flags]
            if subprocess.run(command, env=env, check=False).returncode != 0:
                print(f"demo_row: error: {' '.join(command)} failed", file=sys.stderr)
                return 2
        peaks.append(float32_peak())
    try:
        metrics = json.loads((args.report / "metrics.json").read_text())
    except (OSError, json.JSONDecodeError) as e:
        print(f"demo_row: error: {args.report / 'metrics.json'}: {e}", file=sys.stderr)
        return 2
    train_images = len(load_dataset(metrics["dataset"], "train", metrics["config"].get("data_dir")).images)
    flops = training_flops(metrics["config"], train_images)
    floor = flops / (max(peaks) * 1e9)
    training = sum(s for name, s in metrics["phases"].items() if name.startswith("training"))
    row = {
        **environment(jax.default_backend()),
        "suite": args.label,
        "dataset": metrics["dataset"],
        "arch": metrics["config"].get("arch", "mlp"),
        "seeds": len(metrics["seeds"]),
        "epochs": metrics["config"]["epochs"],
        "fresh_cache": args.run,
        "wall_seconds": metrics["wall_seconds"],
        "phases": metrics["phases"],
        "peak_gflop_per_s": peaks,
        "training_gflop": flops / 1e9,
        "training_floor_seconds": floor,
        "training_over_floor": training / floor,
        "wall_over_floor": metrics["wall_seconds"] / floor,
    }
    print(json.dumps(row))
    print(
        f"wall {row['wall_seconds']:.0f} s, training {training:.0f} s, training floor {floor:.0f} s "
        f"({flops / 1e12:.2f} TFLOP at {max(peaks):.0f} GFLOP/s): wall {row['wall_over_floor']:.2f}x the "
        f"floor, training {row['training_over_floor']:.2f}x",
        file=sys.stderr,
    )
    if args.out:
        with open(args.out, "a") as f:
            f.write(json.dumps(row) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
