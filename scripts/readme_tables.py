#!/usr/bin/env python3
"""Print the README's tables (validation, verdicts, generators) from a demo report's metrics.json.

python scripts/readme_tables.py report
"""

import argparse
import json
import sys
from pathlib import Path

from jaxvae.report.tables import GENERATOR_COLUMNS, text_table, validation_rows


def markdown(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join([*lines, *("| " + " | ".join(map(str, r)) + " |" for r in rows)])


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("report", help="a folder written by jaxvae demo")
    args = parser.parse_args()
    path = Path(args.report) / "metrics.json"
    try:
        metrics = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        print(f"readme_tables: cannot read {path} ({e})", file=sys.stderr)
        return 2
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
