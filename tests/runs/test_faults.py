"""Faults a long run must survive: SIGKILL and resume, a non-finite loss, malformed input."""

import contextlib
import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from killing import kill_then_finish

import jaxvae
from jaxvae.commands.cli import main
from jaxvae.data import parse_idx

TRAIN = ["train", "--model", "vae", "--dataset", "mnist_5k", "--batch-size", "100", "--no-progress"]


def test_sigkill_mid_run_then_resume_equals_uninterrupted_run(tmp_path):
    killed_dir, straight_dir = tmp_path / "killed", tmp_path / "straight"
    args = [*TRAIN, "--epochs", "40", "--keep-checkpoints", "3"]
    interrupted_at = kill_then_finish(args, killed_dir, straight_dir, after_checkpoint=3)
    assert interrupted_at < 40
    resumed, straight = jaxvae.load_model(killed_dir)[0], jaxvae.load_model(straight_dir)[0]
    for a, b in zip(jax.tree.leaves(resumed), jax.tree.leaves(straight), strict=True):
        np.testing.assert_array_equal(a, b)  # bitwise, not approximately
    epochs = [m["epoch"] for m in json.loads((killed_dir / "metrics.json").read_text())]
    assert epochs == list(range(1, 41))
    kept = sorted(int(p.name) for p in (killed_dir / "checkpoints").iterdir() if p.name.isdigit())
    assert kept == [38, 39, 40]


def test_non_finite_loss_stops_with_epoch_and_step_and_keeps_last_checkpoint(tmp_path, capsys):
    code = main([*TRAIN, "--epochs", "4", "--lr", "1e12", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert "at epoch " in err and ", step " in err and "Traceback" not in err
    saved = jaxvae.runs.checkpoint.latest_checkpoint(tmp_path)
    bad_epoch = int(err.split("at epoch ")[1].split(",")[0])
    assert saved == (bad_epoch - 1 if bad_epoch > 1 else None)
    if saved is not None:
        model, _ = jaxvae.load_model(tmp_path)
        assert all(np.isfinite(leaf).all() for leaf in jax.tree.leaves(model))


def test_corrupt_checkpoint_is_one_line_in_a_fresh_process(tmp_path):
    config = jaxvae.TrainConfig(model="vae", dataset="mnist_5k")
    jaxvae.runs.checkpoint.save_checkpoint(tmp_path, jaxvae.runs.single.initial_state(config), config)
    (tmp_path / "config.json").write_text(config.to_json())
    for path in (tmp_path / "checkpoints" / "0" / "arrays").rglob("*"):
        if path.is_file() and path.parent.name == "d":  # the array data files
            path.write_bytes(os.urandom(100))
    # a fresh interpreter, because orbax's failed reads print their noise while it shuts down
    command = [sys.executable, "-m", "jaxvae.commands.cli", "eval", str(tmp_path), "--no-progress"]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 2
    warning, error = result.stderr.splitlines()  # the checkpoint set aside, and that none is left
    assert warning.startswith("jaxvae: warning: ") and "cannot read checkpoint" in warning, result.stderr
    assert error.startswith(f"jaxvae: error: {tmp_path}: none of its checkpoints is intact"), result.stderr


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--model", "gan"], "unknown model 'gan'"),
        (["--dataset", "cifar10"], "unknown dataset 'cifar10'"),
        (["--epochs", "many"], "invalid int value: 'many'"),
    ],
)
def test_bad_flags_are_one_line(tmp_path, capsys, flags, message):
    with pytest.raises(SystemExit) as exit_info:
        code = main(["train", "--out", str(tmp_path), *flags])
        raise SystemExit(code)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and message in err and err.count("\n") == 1


FUZZ_CASES: list[int] = []


@settings(max_examples=400, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@example(header=(0, 0x08, 3), dims=[0, 2**32 - 1, 2**32 - 1], body=b"", noise=b"")  # found by CI
@given(
    header=st.tuples(st.integers(0, 3), st.sampled_from([0x08, 0x09, 0x0D, 0x00, 0xFF]), st.integers(0, 5)),
    dims=st.lists(st.integers(0, 2**32 - 1) | st.integers(0, 40), max_size=5),
    body=st.binary(max_size=2000),
    noise=st.binary(max_size=64),
)
def test_idx_parser_fuzz(header, dims, body, noise):
    FUZZ_CASES.append(1)
    zero, code, ndim = header
    raw = bytes([0, zero, code, ndim]) + b"".join(d.to_bytes(4, "big") for d in dims[:ndim]) + body
    for payload in (raw, noise, raw[: len(raw) // 2]):
        try:
            array = parse_idx(payload)
        except jaxvae.DataError:
            continue
        assert array.dtype == np.uint8 and array.ndim == payload[3]


@settings(max_examples=100, deadline=2000)
@given(st.binary(max_size=500))
def test_gzip_idx_file_fuzz(tmp_path_factory, payload):
    FUZZ_CASES.append(1)
    path = Path(tmp_path_factory.mktemp("fuzz")) / "x-idx3-ubyte.gz"
    for content in (payload, gzip.compress(payload)):
        path.write_bytes(content)
        with contextlib.suppress(jaxvae.DataError):
            jaxvae.read_idx(path)


def test_fuzz_case_count_recorded():
    """Runs after the fuzz tests (file order): prints how many cases ran."""
    print(f"\nIDX fuzzing ran {len(FUZZ_CASES)} hypothesis cases")
    assert len(FUZZ_CASES) >= 500
