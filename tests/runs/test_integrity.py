"""Checkpoints that cannot lie: content digests, fallback to the newest intact checkpoint, a full
disk, and one writer per run folder. Each test first makes the failure as a user met it."""

import errno
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import jax
import numpy as np
import orbax.checkpoint as ocp
import pytest
from helpers import assert_trees_equal, checkpoint_data_files, flip_bytes

import jaxvae
from jaxvae.commands.cli import main
from jaxvae.runs import checkpoint
from jaxvae.runs.checkpoint import CorruptCheckpointError, restore_checkpoint
from jaxvae.runs.folder import LOCK_FILE
from jaxvae.runs.single import initial_state, train

TRAIN = ["train", "--model", "vae", "--dataset", "mnist_5k", "--batch-size", "100", "--no-progress"]


def _config(out, epochs=3, **settings):
    settings = {
        "model": jaxvae.ModelSpec("vae"),
        "dataset": "mnist_5k",
        "batch_size": 100,
        "keep_checkpoints": 5,
    } | settings
    return jaxvae.TrainConfig(epochs=epochs, out=str(out), **settings)


def _rewrite_leaf(run_dir, epoch, which, change):
    """Rewrite checkpoint ``epoch`` with the first leaf whose tree path contains ``which`` changed by
    ``change``, keeping the JSON (and the digests) it was written with: files whose content is no
    longer what was written, in one chosen array."""
    manager = ocp.CheckpointManager(Path(run_dir).absolute() / "checkpoints")
    meta = manager.restore(epoch, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))["meta"]
    arrays = manager.restore(epoch, args=ocp.args.Composite(arrays=ocp.args.StandardRestore()))["arrays"]
    index = next(i for i, (path, _, _) in enumerate(meta["manifest"]) if which in path)
    name = f"{index:04d}"
    arrays[name] = change(np.array(arrays[name]))
    manager.close()
    shutil.rmtree(Path(run_dir) / "checkpoints" / str(epoch))
    with ocp.CheckpointManager(Path(run_dir).absolute() / "checkpoints") as manager:
        args = ocp.args.Composite(arrays=ocp.args.StandardSave(arrays), meta=ocp.args.JsonSave(meta))
        manager.save(epoch, args=args)
        manager.wait_until_finished()
    return meta["manifest"][index][0]


def _flip_one_bit(array):
    bits = array.view(np.uint32)
    bits.flat[0] ^= 1 << 30  # an exponent bit: the value becomes huge, as the issue saw (1e38)
    return array


def _same_state(a, b):
    def host(x):
        return np.asarray(
            jax.random.key_data(x) if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key) else x
        )

    assert_trees_equal(a, b)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A finished 3-epoch run with its checkpoints 1, 2 and 3 (copy it before changing it)."""
    out = tmp_path_factory.mktemp("run") / "run"
    train(_config(out), progress=False)
    return out


@pytest.fixture
def run_copy(finished_run, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(finished_run, out)
    return out


def test_flipped_bytes_in_the_array_files_are_caught_and_the_checkpoint_before_is_used(run_copy, caplog):
    template = initial_state(jaxvae.TrainConfig.from_dict(json.loads((run_copy / "config.json").read_text())))
    epoch_2, _ = restore_checkpoint(run_copy, template, epoch=2)
    flip_bytes(checkpoint_data_files(run_copy, 3)[0])
    with pytest.raises(CorruptCheckpointError, match="checkpoints/3"):
        restore_checkpoint(run_copy, template, epoch=3)  # asked for by number: an error, nothing moved
    with caplog.at_level(logging.WARNING, logger="jaxvae"):
        model, _ = jaxvae.load_model(run_copy)
    _same_state(model, epoch_2.model)
    assert all(np.isfinite(np.asarray(leaf)).all() for leaf in jax.tree.leaves(model))
    assert "checkpoints/3" in caplog.text and "moved it to" in caplog.text
    assert checkpoint.checkpoint_epochs(run_copy) == [1, 2]
    assert (run_copy / "checkpoints_corrupt" / "3" / "arrays").is_dir()  # set aside, never deleted


@pytest.mark.parametrize("which", [".model.trunk", ".opt_state[0].nu."])
def test_one_changed_array_is_caught_in_the_parameters_and_in_the_optimizer_state(run_copy, caplog, which):
    path = _rewrite_leaf(run_copy, 3, which, _flip_one_bit)
    with caplog.at_level(logging.WARNING, logger="jaxvae"):
        jaxvae.load_model(run_copy)
    assert f"the content of {path} does not match its digest" in caplog.text
    assert checkpoint.checkpoint_epochs(run_copy) == [1, 2]


@pytest.mark.slow
def test_resuming_past_a_corrupt_checkpoint_ends_bitwise_equal_to_a_run_never_corrupted(run_copy, tmp_path):
    straight = tmp_path / "straight"
    shutil.copytree(run_copy, straight)
    _rewrite_leaf(run_copy, 3, ".opt_state[0].nu.", _flip_one_bit)  # the issue: resume stopped with "nan"
    resumed = train(_config(run_copy, epochs=4), progress=False)
    uninterrupted = train(_config(straight, epochs=4), progress=False)
    _same_state(resumed.state, uninterrupted.state)
    assert [row["epoch"] for row in resumed.metrics] == [1, 2, 3, 4]
    untimed = [[{**row, "seconds": 0} for row in run.metrics] for run in (resumed, uninterrupted)]
    assert untimed[0] == untimed[1]


@pytest.mark.slow
def test_a_truncated_newest_checkpoint_falls_back_to_the_one_before(run_copy, capsys):
    data = checkpoint_data_files(run_copy, 3)[0]
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    args = ["eval", str(run_copy), "--num-images", "20", "--quadrature-images", "0", "--no-progress"]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert (
        "jaxvae: warning:" in err
        and "checkpoints/3: cannot read checkpoint" in err
        and "Traceback" not in err
    )
    assert checkpoint.checkpoint_epochs(run_copy) == [1, 2]


@pytest.mark.parametrize("command", ["eval", "train"])
def test_no_intact_checkpoint_is_one_error_naming_the_run_folder(run_copy, capsys, command):
    for epoch in (1, 2, 3):
        flip_bytes(checkpoint_data_files(run_copy, epoch)[0])
    args = {
        "eval": ["eval", str(run_copy), "--num-images", "20", "--no-progress"],
        "train": [*TRAIN, "--epochs", "4", "--keep-checkpoints", "5", "--out", str(run_copy)],  # resume
    }[command]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(
        f"jaxvae: error: {run_copy}: none of its checkpoints is intact (epochs 1, 2, 3,"
    )
    assert "--restart" in err[-1]
    assert len(err) == 4 and all(
        line.startswith("jaxvae: warning: ") for line in err[:3]
    )  # one per checkpoint
    assert sorted(p.name for p in (run_copy / "checkpoints_corrupt").iterdir()) == ["1", "2", "3"]


def test_old_checkpoints_without_digests_still_load(run_copy):
    manager = ocp.CheckpointManager(Path(run_copy).absolute() / "checkpoints")
    meta = manager.restore(3, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))["meta"]
    manager.close()
    del meta["digests"]
    (run_copy / "checkpoints" / "3" / "meta" / "metadata").write_text(json.dumps(meta))
    jaxvae.load_model(run_copy)
    assert checkpoint.checkpoint_epochs(run_copy) == [1, 2, 3]


def _enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.slow
def test_a_full_disk_while_saving_a_checkpoint_is_one_line_saying_what_is_intact(
    tmp_path, capsys, monkeypatch
):
    saves = []
    real_save = ocp.CheckpointManager.save

    def save_until_full(self, step, *args, **kwargs):
        saves.append(step)
        if step == 3:  # what orbax raises on a full disk (seen on a 25 MiB tmpfs)
            raise ValueError(
                'RESOURCE_EXHAUSTED: Error writing "0007/0.0" in OCDBT database: Failed to write 5935104 '
                "bytes to file 4: No space left on device [os_error_code='28']"
            )
        return real_save(self, step, *args, **kwargs)

    monkeypatch.setattr(ocp.CheckpointManager, "save", save_until_full)
    assert main([*TRAIN, "--epochs", "4", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    folder = tmp_path / "checkpoints"
    assert err == (
        f"jaxvae: error: cannot write checkpoint 3 in {folder} (No space left on device); "
        f"the checkpoints of epochs 1, 2 in {folder} are intact\n"
    )
    assert checkpoint.checkpoint_epochs(tmp_path) == [1, 2]
    assert not [p for p in tmp_path.rglob("*") if "tmp" in p.name]


def test_a_full_disk_while_writing_metrics_removes_the_partial_file(tmp_path, capsys, monkeypatch):
    from jaxvae.runs import files

    real_fsync, calls = os.fsync, []

    def fsync_until_full(fd):
        calls.append(fd)
        if len(calls) == 4:  # config.json, metrics.json after epochs 1 and 2, then after epoch 3
            _enospc()
        return real_fsync(fd)

    monkeypatch.setattr(files.os, "fsync", fsync_until_full)
    assert main([*TRAIN, "--epochs", "3", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"jaxvae: error: cannot write {tmp_path}/") and "(No space left on device); " in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not list(tmp_path.glob("*.tmp"))
    json.loads((tmp_path / "config.json").read_text())  # every small file whole
    json.loads((tmp_path / "metrics.json").read_text())


def test_a_full_disk_before_any_checkpoint_does_not_claim_one_is_intact(tmp_path, capsys, monkeypatch):
    from jaxvae.runs import files

    real_fsync, calls = os.fsync, []

    def fsync_until_full(fd):
        calls.append(fd)
        if len(calls) == 2:  # the first metrics.json, before checkpoint 1
            _enospc()
        return real_fsync(fd)

    monkeypatch.setattr(files.os, "fsync", fsync_until_full)
    assert main([*TRAIN, "--epochs", "3", "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.endswith("(No space left on device); no checkpoint had been saved yet\n"), err
    assert "intact" not in err


def _tiny_tmpfs(path):
    """A 25 MiB tmpfs at ``path``, or the reason there cannot be one here."""
    if os.geteuid() != 0 or not shutil.which("mount"):
        return "needs root and mount(8) for a tmpfs (the monkeypatched full-disk tests still ran)"
    path.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=25m", "tmpfs", str(path)], capture_output=True
    )
    return None if result.returncode == 0 else f"mount -t tmpfs failed: {result.stderr.decode().strip()}"


@pytest.mark.slow
def test_a_real_full_disk_is_one_line_and_leaves_no_partial_files(tmp_path):
    disk = tmp_path / "disk"
    reason = _tiny_tmpfs(disk)
    if reason:
        pytest.skip(reason)
    try:
        out = disk / "run"
        command = [
            sys.executable,
            "-m",
            "jaxvae.commands.cli",
            *TRAIN,
            "--epochs",
            "8",
            "--keep-checkpoints",
            "8",
        ]
        result = subprocess.run([*command, "--out", str(out)], capture_output=True, text=True)
        assert result.returncode == 2, result.stderr
        assert result.stderr.count("\n") == 1 and "No space left on device" in result.stderr, result.stderr
        intact = checkpoint.checkpoint_epochs(out)
        assert (
            intact and f"{', '.join(map(str, intact))} in {out / 'checkpoints'} are intact" in result.stderr
        )
        assert not [p for p in out.rglob("*") if "tmp" in p.name]
        assert json.loads((out / "config.json").read_text())["epochs"] == 8
    finally:
        subprocess.run(["umount", str(disk)], check=False)


@pytest.mark.slow
def test_a_second_writer_is_refused_and_the_first_ends_as_a_run_alone(tmp_path):
    first_dir, alone_dir = tmp_path / "shared", tmp_path / "alone"
    args = [*TRAIN, "--epochs", "30"]
    cli = [sys.executable, "-m", "jaxvae.commands.cli"]
    first = subprocess.Popen([*cli, *args, "--out", str(first_dir)], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    lock = first_dir / LOCK_FILE
    while not (lock.exists() and lock.read_text().startswith(f"{first.pid}\n")):  # it holds the lock
        assert first.poll() is None, first.stderr.read()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    second = subprocess.run([*cli, *args, "--out", str(first_dir)], capture_output=True, text=True)
    assert first.poll() is None, "the first run ended before the second was refused: make it longer"
    assert second.returncode == 2
    assert second.stderr == (
        f"jaxvae: error: {first_dir} is in use by another jaxvae process (PID {first.pid}: "
        f"{' '.join([*cli, *args, '--out', str(first_dir)])}); wait for it to finish, or write to another "
        "folder\n"
    )
    assert first.wait() == 0, first.stderr.read()
    subprocess.run([*cli, *args, "--out", str(alone_dir)], check=True, capture_output=True)
    _same_state(jaxvae.load_model(first_dir)[0], jaxvae.load_model(alone_dir)[0])
    rows = [json.loads((d / "metrics.json").read_text()) for d in (first_dir, alone_dir)]
    assert [{**r, "seconds": 0} for r in rows[0]] == [{**r, "seconds": 0} for r in rows[1]]


def test_the_lock_of_a_killed_process_does_not_block_the_next(tmp_path):
    # flock locks die with their process: a lock file left by SIGKILL is only a file
    out = tmp_path / "run"
    script = (
        f"import time\nfrom jaxvae.runs.folder import claim\nwith claim({str(out)!r}):\n"
        "    print('held', flush=True)\n    time.sleep(60)\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(jaxvae.FolderInUseError, match=f"PID {holder.pid}"):
        train(_config(out, epochs=1), progress=False)
    holder.kill()
    holder.wait()
    assert (out / LOCK_FILE).exists()
    assert train(_config(out, epochs=1), progress=False).metrics[0]["epoch"] == 1


def test_a_diverging_fresh_run_does_not_claim_a_checkpoint_is_intact(tmp_path, capsys):
    code = main([*TRAIN, "--epochs", "4", "--lr", "1e6", "--checkpoint-every", "100", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "loss became" in err
    assert "no checkpoint had been saved yet" in err and "intact" not in err


def test_a_failed_command_leaves_no_empty_output_folder(tmp_path, capsys):
    out = tmp_path / "new" / "deeper"
    empty = tmp_path / "no_data"
    empty.mkdir()
    assert main([*TRAIN, "--dataset", "mnist", "--data-dir", str(empty), "--out", str(out)]) == 2
    assert "jaxvae: error:" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()


def test_dot_dot_in_the_output_folder_creates_no_stray_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main([*TRAIN, "--epochs", "1", "--out", "a/../dd"]) == 0
    assert (tmp_path / "dd" / "config.json").exists() and not (tmp_path / "a").exists()


def test_an_idx_file_with_a_wrong_magic_number_says_so(tmp_path):
    images = np.zeros((2, 28, 28), np.uint8)
    images[:, 5:20, 5:20] = 255
    header = bytes([0, 0, 8, 4]) + b"".join(int(n).to_bytes(4, "big") for n in images.shape)  # 4 dims
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(header + images.tobytes())
    labels = np.zeros(2, np.uint8)
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 2]) + labels.tobytes())
    with pytest.raises(jaxvae.DataError, match=r"wrong magic number 0x00000804: it announces 4 dimensions"):
        jaxvae.load_dataset("mnist", "test", tmp_path)


@pytest.mark.slow
def test_a_corrupt_classifier_cache_is_set_aside_and_trained_again(tmp_path, caplog):
    from jaxvae.study.classifier import train_classifier

    data = jaxvae.load_bundled("test")
    images, labels = data.images[:200], data.labels[:200]

    def fit():
        key = jax.random.key(0)
        return train_classifier(images, labels, key=key, epochs=1, cache_dir=tmp_path, progress=False)

    first = fit()
    (cached,) = tmp_path.glob("classifier-*.npz")
    flip_bytes(cached, count=64)
    with caplog.at_level(logging.WARNING, logger="jaxvae"):
        again = fit()
    assert "is corrupt" in caplog.text and "making it anew" in caplog.text
    assert len(list((tmp_path / "corrupt").iterdir())) == 1
    _same_state(again, first)
    assert cached.exists()  # written again, whole
    _same_state(fit(), first)


@pytest.mark.slow
def test_no_intact_checkpoint_in_a_demo_helper_run_trains_it_again(tmp_path, caplog):
    from jaxvae.runs.config import EnsembleConfig
    from jaxvae.runs.ensemble_run import train_owned

    data = (jaxvae.load_dataset("mnist_5k", "train"), jaxvae.load_dataset("mnist_5k", "test"))
    out = tmp_path / "decoders"
    spec, settings = jaxvae.ModelSpec("ae"), {"dataset": "mnist_5k", "epochs": 1, "batch_size": 100}
    config = jaxvae.TrainConfig(model=spec, seed=10, out=str(out), **settings)

    def run():
        return train_owned(EnsembleConfig.of_seeds(config, 2), data, progress=False)

    first = [r.state for r in run()]
    flip_bytes(checkpoint_data_files(out, 1)[0])
    with caplog.at_level(logging.WARNING, logger="jaxvae"):
        again = [r.state for r in run()]
    assert "none of its checkpoints is intact; training it again from the start" in caplog.text
    for a, b in zip(first, again, strict=True):
        _same_state(a, b)
