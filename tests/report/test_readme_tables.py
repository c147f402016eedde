"""scripts/readme_tables.py --beside: two demos' verdicts side by side, run by run."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _report(folder: Path, arch: str, seeds: list[int], runs: list[list[str]], verdicts: list[str]) -> Path:
    folder.mkdir()
    metrics = {
        "config": {"arch": arch},
        "seeds": seeds,
        "verdicts": [
            {"claim": f"claim {i}", "verdict": v, "runs": r}
            for i, (v, r) in enumerate(zip(verdicts, runs, strict=True))
        ],
    }
    (folder / "metrics.json").write_text(json.dumps(metrics))
    return folder


def test_beside_counts_the_runs_of_the_same_seed_that_got_the_same_grade(tmp_path):
    mlp = _report(
        tmp_path / "mlp", "mlp", [0, 1, 2], [["holds"] * 3, ["partly", "holds", "holds"]], ["holds", "x"]
    )
    conv = _report(
        tmp_path / "conv", "conv", [1, 2], [["holds", "partly"], ["holds", "holds"]], ["y", "holds"]
    )
    script = [sys.executable, str(ROOT / "scripts" / "readme_tables.py")]
    out = subprocess.run(
        [*script, str(mlp), "--beside", str(conv)], capture_output=True, text=True, check=True
    )
    lines = out.stdout.splitlines()
    assert (
        lines[0]
        == "| claim | MLP 784-512-256-2 | conv 28x28x1-14x14x16-7x7x32-256-2 | runs with the same grade |"
    )
    assert lines[2] == "| (i) claim 0 | holds | y | 1 of 2 |"  # seeds 1 and 2: holds/holds, holds/partly
    assert lines[3] == "| (ii) claim 1 | x | holds | 2 of 2 |"
    missing = subprocess.run([*script, str(tmp_path / "none")], capture_output=True, text=True)
    assert missing.returncode == 2 and "cannot read" in missing.stderr
