#!/usr/bin/env python3
"""One JSON row for a finished demo: its wall time and phases, tagged with the device (as every
benchmark row is). ``python benchmarks/demo_row.py REPORT_DIR --out ROWS.jsonl``"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jax

from benchmarks.harness import environment


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("report", type=Path, help="the demo's --out folder")
    parser.add_argument("--label", default="demo", help="what ran (default: demo)")
    parser.add_argument("--out", type=Path, help="append the row to this JSON-lines file")
    args = parser.parse_args(argv)
    try:
        metrics = json.loads((args.report / "metrics.json").read_text())
    except (OSError, json.JSONDecodeError) as e:
        print(f"demo_row: error: {args.report / 'metrics.json'}: {e}", file=sys.stderr)
        return 2
    row = {
        **environment(jax.default_backend()),
        "suite": args.label,
        "dataset": metrics["dataset"],
        "seeds": len(metrics["seeds"]),
        "epochs": metrics["config"]["epochs"],
        "wall_seconds": metrics["wall_seconds"],
        "phases": metrics["phases"],
    }
    print(json.dumps(row))
    if args.out:
        with open(args.out, "a") as f:
            f.write(json.dumps(row) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
