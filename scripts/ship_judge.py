"""Build MNIST's judge from the recipe and make it the one jaxvae ships.

    python scripts/ship_judge.py [--dataset mnist] [--data-dir DIR]

Runs ``jaxvae judge build`` into a temporary folder with an empty cache of its own (so the judge is
built from scratch, its time is the build's), with the float32 matmul peak measured before and after
(``benchmarks/run.py --suites peak``'s measure) added to its provenance, and copies ``judge.npz`` and
``provenance.json`` into ``jaxvae/_bundled/judges/<dataset>/``. Run it whenever ``JUDGE_RECIPE``
changes (``tests/study/test_shipped.py`` says when), then commit both files. It refuses to ship a
judge that misses a validation target.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # benchmarks/ is a folder of the repository, not of the package

from benchmarks.suites.peak import float32_peak  # noqa: E402
from jaxvae.experiments.judge import JudgeConfig, run_judge_build  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="mnist", help="the data set whose judge ships (default: mnist)")
    parser.add_argument("--data-dir", default=None, help="directory of its IDX files")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        os.environ["JAXVAE_CACHE_DIR"] = str(Path(scratch) / "cache")
        before = float32_peak()
        out = Path(scratch) / "judge"
        provenance = run_judge_build(JudgeConfig(dataset=args.dataset, data_dir=args.data_dir, out=str(out)))
        provenance["peak_gflop_per_s"] = {"float32 before": before, "float32 after": float32_peak()}
        if not provenance["fit"]:
            print("the judge misses a validation target; not shipped", file=sys.stderr)
            return 1
        target = ROOT / "jaxvae" / "_bundled" / "judges" / provenance["dataset"]
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(out / "judge.npz", target / "judge.npz")
        (target / "provenance.json").write_text(json.dumps(provenance, indent=2) + "\n")
    print(f"shipped: {target} (SHA-256 {provenance['sha256'][:12]}, {provenance['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
