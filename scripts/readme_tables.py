#!/usr/bin/env python3
"""Print the README's tables (validation, verdicts, generators) from a demo report's metrics.json.

python scripts/readme_tables.py report
python scripts/readme_tables.py report --beside report_conv   # also: the two reports' verdicts side by side
"""

import argparse
import json
import sys
from pathlib import Path

from jaxvae.report.tables import GENERATOR_COLUMNS, text_table, validation_rows
from jaxvae.spec import ModelSpec

NUMERALS = ("i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x")


def markdown(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join([*lines, *("| " + " | ".join(map(str, r)) + " |" for r in rows)])


def side_by_side(first: dict, second: dict) -> str:
    """The verdicts of two demo reports (another network, say) claim by claim, with how many of the
    runs they share (the same seeds) got the same grade in both."""
    names = [ModelSpec.of_study(m["config"]).network() for m in (first, second)]
    shared = [s for s in first["seeds"] if s in second["seeds"]]
    rows = []
    for i, (a, b) in enumerate(zip(first["verdicts"], second["verdicts"], strict=True)):
        grades = [dict(zip(m["seeds"], v["runs"], strict=True)) for m, v in ((first, a), (second, b))]
        same = sum(grades[0][s] == grades[1][s] for s in shared)
        rows.append([f"({NUMERALS[i]}) {a['claim']}", a["verdict"], b["verdict"], f"{same} of {len(shared)}"])
    return markdown(["claim", names[0], names[1], "runs with the same grade"], rows)


def read_metrics(folder: str) -> dict:
    path = Path(folder) / "metrics.json"
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        print(f"readme_tables: cannot read {path} ({e})", file=sys.stderr)
        raise SystemExit(2) from None


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("report", help="a folder written by jaxvae demo")
    parser.add_argument(
        "--beside", help="another demo's folder: print the two reports' verdicts side by side"
    )
    args = parser.parse_args()
    metrics = read_metrics(args.report)
    if args.beside:
        print(side_by_side(metrics, read_metrics(args.beside)))
        return 0
    print(f"dataset {metrics['dataset']}, seeds {metrics['seeds']}, {metrics['wall_seconds']:.0f} s\n")
    print(text_table(["kind", "judge should", "rate", "target", "met"], validation_rows(metrics)))
    print()
    print(
        markdown(
            ["claim", "verdict", "the numbers"],
            [[v["claim"], f"**{v['verdict']}**", v["numbers"]] for v in metrics["verdicts"]],
        )
    )
    print()
    names = {"ae": "AE", "vae": "VAE"}
    rows = []
    for kind in ("ae", "vae"):
        means = metrics["means"][kind]
        sources = {"reconstructions": means["reconstructions"], **means["samplers"]}
        for source, values in sources.items():
            cells = [f"{names[kind]}: {source}"]
            for key, _, fmt in GENERATOR_COLUMNS:
                if key in ("missing", "far"):
                    continue
                cells.append(fmt.format(values[key]))
            rows.append(cells)
    header = ["source", *(c[1] for c in GENERATOR_COLUMNS if c[0] not in ("missing", "far"))]
    print(markdown(header, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
