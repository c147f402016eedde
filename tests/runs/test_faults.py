"""Faults a long run must survive: SIGKILL and resume, a non-finite loss, malformed input."""

import contextlib
import gzip
import json
import os
import subprocess
import sys

import jax
import numpy as np
import pytest
from helpers import assert_trees_equal, kill_then_finish
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import jaxvae
from jaxvae.commands.cli import main
from jaxvae.idx import parse_idx

TRAIN = ["train", "--model", "vae", "--dataset", "mnist_5k", "--batch-size", "100", "--no-progress"]


@pytest.mark.slow
def test_sigkill_mid_run_then_resume_equals_uninterrupted_run(tmp_path):
    killed_dir, straight_dir = tmp_path / "killed", tmp_path / "straight"
    args = [*TRAIN, "--epochs", "40", "--keep-checkpoints", "3"]
    interrupted_at = kill_then_finish(args, killed_dir, straight_dir, after_checkpoint=3)
    assert interrupted_at < 40
    resumed, straight = jaxvae.load_model(killed_dir)[0], jaxvae.load_model(straight_dir)[0]
    assert_trees_equal(resumed, straight)  # bitwise, not approximately
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


@pytest.mark.slow
def test_corrupt_checkpoint_is_one_line_in_a_fresh_process(tmp_path):
    config = jaxvae.TrainConfig(model=jaxvae.ModelSpec("vae"), dataset="mnist_5k")
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


def test_idx_parser_fuzz():
    """Any bytes give a uint8 array of the header's rank or a DataError; the cases are counted here,
    so the count holds whichever tests run beside it."""
    cases = []

    @settings(max_examples=400, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
    @example(header=(0, 0x08, 3), dims=[0, 2**32 - 1, 2**32 - 1], body=b"", noise=b"")  # found by CI
    @given(
        header=st.tuples(
            st.integers(0, 3), st.sampled_from([0x08, 0x09, 0x0D, 0x00, 0xFF]), st.integers(0, 5)
        ),
        dims=st.lists(st.integers(0, 2**32 - 1) | st.integers(0, 40), max_size=5),
        body=st.binary(max_size=2000),
        noise=st.binary(max_size=64),
    )
    def fuzz(header, dims, body, noise):
        cases.append(1)
        zero, code, ndim = header
        raw = bytes([0, zero, code, ndim]) + b"".join(d.to_bytes(4, "big") for d in dims[:ndim]) + body
        for payload in (raw, noise, raw[: len(raw) // 2]):
            try:
                array = parse_idx(payload)
            except jaxvae.DataError:
                continue
            assert array.dtype == np.uint8 and array.ndim == payload[3]

    fuzz()
    print(f"\nIDX parser fuzzing ran {len(cases)} hypothesis cases")
    assert len(cases) >= 400


def test_gzip_idx_file_fuzz(tmp_path):
    """Any file content, gzipped or not, reads or is a DataError."""
    cases = []
    path = tmp_path / "x-idx3-ubyte.gz"

    @settings(max_examples=100, deadline=2000)
    @given(st.binary(max_size=500))
    def fuzz(payload):
        cases.append(1)
        for content in (payload, gzip.compress(payload)):
            path.write_bytes(content)
            with contextlib.suppress(jaxvae.DataError):
                jaxvae.read_idx(path)

    fuzz()
    assert len(cases) >= 100
