"""Phase timings: each block's wall time added to its phase, the rest of the total as "other"."""

import time

import pytest

from jaxvae.study.phases import Phases, phase_rows


def test_phases_add_up_in_first_entered_order():
    phases = Phases()
    for name in ("b", "a", "b"):
        with phases(name):
            time.sleep(0.02)
    assert list(phases.seconds) == ["b", "a"]
    assert phases.seconds["b"] == pytest.approx(0.04, abs=0.03) and phases.seconds["b"] > phases.seconds["a"]


def test_a_failing_block_still_counts():
    phases = Phases()
    with pytest.raises(ValueError), phases("x"):
        raise ValueError
    assert "x" in phases.seconds


def test_rows_end_with_other_and_total():
    rows = phase_rows({"judge": 6.0, "training": 3.0}, total=10.0)
    assert rows == [
        ("judge", "6.0", "60%"),
        ("training", "3.0", "30%"),
        ("other", "1.0", "10%"),
        ("total", "10.0", "100%"),
    ]
