"""The seed count: exact shares of n-run picks, the stable n, and the script that prints them."""

import json
import subprocess
import sys
from itertools import combinations
from pathlib import Path

import pytest

from jaxvae.study.seed_count import UNDECIDED, most_common, seed_count, stability_table, verdict_shares

ROOT = Path(__file__).resolve().parents[2]


def brute_force(grades: list[str], n: int) -> dict[str, float]:
    picks = list(combinations(grades, n))
    outcomes = [pick[0] if len(set(pick)) == 1 else UNDECIDED for pick in picks]
    return {g: outcomes.count(g) / len(picks) for g in set(outcomes)}


@pytest.mark.parametrize(
    "grades",
    [
        ["holds"] * 5,
        ["holds", "partly", "partly", "holds", "partly", "holds", "partly"],
        ["partly"] * 7 + ["holds"],
        ["holds", "partly", "does not hold", "holds", "holds", "partly"],
    ],
)
def test_shares_equal_counting_every_pick(grades):
    for n in range(1, len(grades) + 1):
        assert verdict_shares(grades, n) == pytest.approx(brute_force(grades, n))


def test_shares_by_hand():
    # 2 of 4 runs hold, 2 are partly: of the 6 pairs, one is both holds, one both partly
    assert verdict_shares(["holds", "holds", "partly", "partly"], 2) == pytest.approx(
        {"holds": 1 / 6, "partly": 1 / 6, UNDECIDED: 4 / 6}
    )
    assert most_common(["holds", "holds", "partly", "partly"], 1) in {("holds", 0.5), ("partly", 0.5)}
    with pytest.raises(ValueError, match="cannot pick 5 of 4"):
        verdict_shares(["holds"] * 4, 5)


def test_seed_count_is_the_first_n_from_which_every_claim_stays_stable():
    agree = ["holds"] * 12
    # 6 of 12 partly: undecided takes 1 - 2 C(6,n)/C(12,n): 0.55 at n=2, 0.82 at n=3, 0.94 at n=4
    split = ["holds"] * 6 + ["partly"] * 6
    assert seed_count({"a": agree}) == 1
    assert seed_count({"a": agree, "b": split}) == 4
    assert most_common(split, 4) == (UNDECIDED, pytest.approx(1 - 2 * 15 / 495))
    # one odd run in 12: stable at n = 1 (11/12 of picks hold), but a pick of n misses the odd run
    # with share (12 - n) / 12, below 0.9 from n = 2 to 6: the verdict flips, so no count is stable
    odd = ["holds"] * 11 + ["partly"]
    assert most_common(odd, 1) == ("holds", pytest.approx(11 / 12))
    assert seed_count({"a": agree, "c": odd}) is None
    # two odd runs in 12: holds takes 10/12 at n = 1, and from n = 2 to 6 neither holds
    # (45/66 down to 210/924) nor undecided (21/66 up to 714/924) reaches 0.9: no count is stable
    assert seed_count({"c": ["holds"] * 10 + ["partly"] * 2}) is None
    with pytest.raises(ValueError, match="same runs"):
        seed_count({"a": agree, "b": agree[:4]})


def test_table_rows():
    rows = stability_table({"(ii)": ["holds", "partly", "partly", "partly"]})
    assert rows[0]["counts"] == {"holds": 1, "partly": 3}
    assert sorted(rows[0]["by_n"]) == [1, 2]
    assert rows[0]["by_n"][1] == ("partly", pytest.approx(0.75))


def run_script(folder: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "seed_count.py"), str(folder), *extra],
        capture_output=True,
        text=True,
        check=False,
    )


def test_script_reads_a_demo_and_an_ablation(tmp_path):
    demo = tmp_path / "demo"
    demo.mkdir()
    verdicts = [{"runs": ["holds"] * 8}, {"runs": ["holds"] * 4 + ["partly"] * 4}]
    (demo / "metrics.json").write_text(json.dumps({"verdicts": verdicts}))
    done = run_script(demo, "--figure", str(tmp_path / "s.png"))
    assert done.returncode == 0, done.stderr
    assert "| (ii) | 4 holds, 4 partly |" in done.stdout
    assert f"seed count: {seed_count({'a': verdicts[1]['runs']})} (from here to n=4" in done.stdout
    assert (tmp_path / "s.png").stat().st_size > 1000

    why = tmp_path / "why"
    why.mkdir()
    (why / "metrics.json").write_text(json.dumps({"answers": [{"runs": [True, False, True, False]}]}))
    done = run_script(why)
    assert done.returncode == 0, done.stderr
    assert "| Q1 | 2 holds, 2 does not hold |" in done.stdout
    assert "no n up to 2 keeps every verdict stable; at n=2: Q1" in done.stdout
    both = run_script(demo, why)
    assert "no seed count keeps every report's verdicts stable" in both.stdout


def test_script_refuses_a_folder_without_grades(tmp_path):
    done = run_script(tmp_path)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "cannot read per-run grades" in done.stderr
