#!/usr/bin/env python3
"""Regenerate the README's pictures in docs/images/ from a default demo report.

    python scripts/readme_figures.py [--report report]

Runs `jaxvae demo --out REPORT` first when REPORT holds no finished report (the same command
resumes a stopped one), then copies its film, latent maps, empty-region decodes, samples, the judge's
validation examples, the decodes along rays far outside the codes and the by-distance curves, and
screenshots its explorer (scripts/screenshot_explorer.py: Debian's chromium and playwright).
"""

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIGURES = (
    "film.gif",
    "latent_maps.png",
    "empty_regions.png",
    "samples_ae.png",
    "samples_vae.png",
    "empty_ratios.png",
    "judge_examples.png",
    "rays.png",
    "by_distance.png",
)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--report", default="report", help="the demo's report folder (default: report)")
    args = parser.parse_args()
    report = Path(args.report)
    metrics = report / "metrics.json"
    done = json.loads(metrics.read_text()) if metrics.exists() else {}
    if not done or done["seeds"] != done["planned_seeds"]:
        subprocess.run(
            [sys.executable, "-m", "jaxvae.commands.cli", "demo", "--out", str(report)], check=True
        )
    images = ROOT / "docs" / "images"
    images.mkdir(parents=True, exist_ok=True)
    for name in FIGURES:
        shutil.copyfile(report / name, images / name)
    screenshot = [sys.executable, str(ROOT / "scripts" / "screenshot_explorer.py")]
    subprocess.run([*screenshot, str(report / "explorer.html"), str(images / "explorer.png")], check=True)
    print(f"docs/images: {', '.join((*FIGURES, 'explorer.png'))} from {report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
