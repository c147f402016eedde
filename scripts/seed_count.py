#!/usr/bin/env python3
"""How many seeds the verdicts need before they stop flipping between sets of seeds.

    jaxvae demo --seeds 16 --out runs/seeds16
    jaxvae why --seeds 8 --out runs/why8
    python scripts/seed_count.py runs/seeds16 runs/why8 --figure docs/images/seed_count.png why.png

Reads the per-run grades of ``jaxvae demo`` and ``jaxvae why`` reports and prints, for each claim
and each n up to half the runs, the verdict that most ways to pick n of the runs give and its share
of them; then the smallest n from which on every claim keeps the stable share, per report and for
all of them (rules and reasoning: ``jaxvae/study/seed_count.py``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from jaxvae.report import plots
from jaxvae.study.seed_count import STABLE, passes_as_grades, seed_count, stability_table

NUMERALS = ("i", "ii", "iii", "iv", "v", "vi", "vii", "viii")


def claims_of(metrics: dict) -> dict[str, list[str]]:
    """Claim label -> each run's grade, from a demo's verdicts or an ablation's answers."""
    if "verdicts" in metrics:
        return {f"({NUMERALS[i]})": list(v["runs"]) for i, v in enumerate(metrics["verdicts"])}
    return {f"Q{i + 1}": passes_as_grades(a["runs"]) for i, a in enumerate(metrics["answers"])}


def report(folder: str, figure: str | None) -> int | None:
    """Print one report's table and seed count (and draw its figure); returns the count, or raises
    ``ValueError`` when the folder holds no per-run grades of 2 or more runs."""
    path = Path(folder) / "metrics.json"
    try:
        claims = claims_of(json.loads(path.read_text()))
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"cannot read per-run grades from {path} ({e})") from None
    pool = len(next(iter(claims.values())))
    if pool < 2:
        raise ValueError(f"{path} has {pool} run; the pool needs 2 or more")
    rows = stability_table(claims)
    chosen = seed_count(claims)
    ns = sorted(rows[0]["by_n"])
    stable = f"{float(STABLE):.0%}"
    print(f"{folder}: {pool} runs; a verdict is stable at n when at least {stable} of n-run picks give it\n")
    print("| claim | grades over the pool | " + " | ".join(f"n={n}" for n in ns) + " |")
    print("|---|---|" + "---|" * len(ns))
    for row in rows:
        counts = ", ".join(f"{k} {g}" for g, k in sorted(row["counts"].items(), key=lambda c: -c[1]))
        cells = [f"{v} {float(share):.1%}" for v, share in (row["by_n"][n] for n in ns)]
        print(f"| {row['claim']} | {counts} | " + " | ".join(cells) + " |")
    print()
    if chosen is None:
        unstable = [r["claim"] for r in rows if r["by_n"][ns[-1]][1] < STABLE]
        print(f"no n up to {ns[-1]} keeps every verdict stable; at n={ns[-1]}: {', '.join(unstable)}")
    else:
        print(f"seed count: {chosen} (from here to n={ns[-1]}, every verdict is stable)")
    if figure:
        print(f"figure: {plots.seed_stability(Path(figure), rows, float(STABLE), chosen)}")
    print()
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "reports", nargs="+", help="folders written by jaxvae demo or jaxvae why, with 2 or more seeds"
    )
    parser.add_argument("--figure", nargs="+", default=[], help="a PNG of the shares against n per report")
    args = parser.parse_args(argv)
    if args.figure and len(args.figure) != len(args.reports):
        print("seed_count: give one --figure per report, or none", file=sys.stderr)
        return 2
    counts = []
    for i, folder in enumerate(args.reports):
        try:
            counts.append(report(folder, args.figure[i] if args.figure else None))
        except ValueError as e:
            print(f"seed_count: {e}", file=sys.stderr)
            return 2
    if len(counts) > 1:
        known = [c for c in counts if c is not None]
        if len(known) < len(counts):
            print("no seed count keeps every report's verdicts stable")
        else:
            print(f"seed count for all the reports: {max(known)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
