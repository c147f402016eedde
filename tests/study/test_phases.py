"""Phase timings: each block's wall time added to its phase, the rest of the total as "other"."""

import time

import pytest

from jaxvae.study.phases import Phases, phase_rows


def _clock(*ticks: float):
    """A clock that reads ``ticks`` in turn."""
    return iter(ticks).__next__


def test_phases_add_up_in_first_entered_order():
    phases = Phases(clock=_clock(0.0, 2.0, 5.0, 6.0, 10.0, 13.0))  # b: 2 s, a: 1 s, b: 3 s
    for name in ("b", "a", "b"):
        with phases(name):
            pass
    assert list(phases.seconds) == ["b", "a"]
    assert phases.seconds == {"b": 5.0, "a": 1.0}


def test_a_failing_block_still_counts():
    phases = Phases(clock=_clock(1.0, 1.5))
    with pytest.raises(ValueError), phases("x"):
        raise ValueError
    assert phases.seconds == {"x": 0.5}


def test_the_default_clock_is_wall_time():
    phases = Phases()
    with phases("sleep"):
        time.sleep(0.01)
    assert phases.seconds["sleep"] >= 0.01


def test_rows_end_with_other_and_total():
    rows = phase_rows({"judge": 6.0, "training": 3.0}, total=10.0)
    assert rows == [
        ("judge", "6.0", "60%"),
        ("training", "3.0", "30%"),
        ("other", "1.0", "10%"),
        ("total", "10.0", "100%"),
    ]
