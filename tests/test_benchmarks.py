"""The benchmark harness's own logic (its timings are reported, never tested)."""

import gzip
import importlib.util
import json
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "benchmarks_run", Path(__file__).resolve().parents[1] / "benchmarks" / "run.py"
)
harness = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(harness)


@pytest.mark.parametrize(
    ("intervals", "length"),
    [([], 0.0), ([(0, 2), (1, 3)], 3.0), ([(5, 6), (0, 1)], 2.0), ([(0, 10), (2, 3)], 10.0)],
)
def test_merged_length_counts_overlaps_once(intervals, length):
    assert harness.merged_length(intervals) == length


def test_failure_reason_is_the_last_exception_line():
    stderr = "Traceback (most recent call last):\n  File 'x'\nValueError: out of memory\n\nFor simplicity."
    assert harness.failure_reason(stderr) == "ValueError: out of memory"
    assert harness.failure_reason("torch is not installed\n") == "torch is not installed"
    assert harness.failure_reason("") == "no output"


def test_profile_summary_reads_device_activity_from_the_trace(tmp_path, monkeypatch):
    trace = {
        "traceEvents": [
            {"ph": "M", "name": "process_name", "pid": 1, "args": {"name": "/device:GPU:0"}},
            {"ph": "M", "name": "process_name", "pid": 2, "args": {"name": "/host:CPU"}},
            {"ph": "X", "name": "gemm", "pid": 1, "ts": 0, "dur": 4},
            {"ph": "X", "name": "gemm", "pid": 1, "ts": 2, "dur": 4},
            {"ph": "X", "name": "add", "pid": 1, "ts": 10, "dur": 1},
            {"ph": "X", "name": "python", "pid": 2, "ts": 0, "dur": 100},
        ]
    }

    class FakeTrace:  # stands in for jax.profiler.trace: writes a known Perfetto trace
        def __init__(self, log_dir, create_perfetto_trace):
            self.path = Path(log_dir) / "plugins" / "profile" / "run" / "perfetto_trace.json.gz"

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.path.parent.mkdir(parents=True)
            with gzip.open(self.path, "wt") as f:
                json.dump(trace, f)

    monkeypatch.setattr(harness.jax.profiler, "trace", FakeTrace)
    summary = harness.profiled(lambda: None, tmp_path / "case")
    assert summary["profile_device_ops"] == 3  # host events are not device work
    assert summary["profile_device_busy_ms"] == pytest.approx(7e-3)  # [0, 6] and [10, 11] microseconds
    assert summary["profile_top_ops_ms"] == {"gemm": 8e-3, "add": 1e-3}
