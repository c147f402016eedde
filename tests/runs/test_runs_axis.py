"""The runs axis over devices: an ensemble's runs spread over a mesh (4 fake CPU devices, conftest),
each run equal to its run alone; a runs x data mesh; resume after SIGKILL; two processes."""

import dataclasses
import json
import os
import subprocess
import sys

import jax
import pytest
from helpers import TRAIN_FLAGS, assert_trees_equal, kill_then_finish, launch

import jaxvae
from jaxvae.commands.cli import main
from jaxvae.runs.config import EnsembleConfig
from jaxvae.runs.ensemble_run import initial_states, member_dir, read_ensemble, train_ensemble
from jaxvae.runs.parallel import runs_mesh
from jaxvae.runs.single import initial_state, train


@pytest.fixture(scope="module")
def subset():
    train_data, test_data = jaxvae.load_bundled("train"), jaxvae.load_bundled("test")
    return train_data._replace(images=train_data.images[:800]), test_data._replace(
        images=test_data.images[:200]
    )


def config_of(out, runs, arch="mlp", **changes):
    train = jaxvae.TrainConfig(
        model=jaxvae.ModelSpec("vae", arch=arch), dataset="mnist_5k", epochs=2, batch_size=100, out=str(out)
    )
    return EnsembleConfig.of_seeds(dataclasses.replace(train, **changes), runs)


def test_the_runs_mesh_takes_as_many_device_groups_as_divide_the_runs():
    assert jax.device_count() == 4
    assert dict(runs_mesh(8).shape) == {"runs": 4, "data": 1}
    assert dict(runs_mesh(3).shape) == {"runs": 3, "data": 1}
    assert dict(runs_mesh(6).shape) == {"runs": 3, "data": 1}
    assert dict(runs_mesh(5).shape) == {"runs": 1, "data": 1}  # nothing else divides 5
    assert dict(runs_mesh(4, 2).shape) == {"runs": 2, "data": 1}
    assert dict(runs_mesh(6, 4, per_run=2).shape) == {"runs": 2, "data": 2}
    assert dict(runs_mesh(3, per_run=2).shape) == {"runs": 1, "data": 2}


@pytest.mark.parametrize(
    ("runs", "devices", "per_run", "message"),
    [
        (3, 2, 1, "3 runs do not split evenly across 2 device groups"),
        (4, 8, 1, "only 4 visible"),
        (4, 3, 2, "do not split into groups of 2"),
        (4, 0, 5, "devices per run must be in 1..4"),
    ],
)
def test_a_runs_count_that_does_not_split_is_refused_in_one_line(runs, devices, per_run, message):
    with pytest.raises(jaxvae.ConfigError, match=message):
        runs_mesh(runs, devices, per_run=per_run)


@pytest.mark.slow
@pytest.mark.parametrize(("devices", "per_run", "arch"), [(4, 1, "mlp"), (4, 2, "mlp"), (4, 2, "conv")])
def test_every_run_spread_over_devices_equals_its_run_alone(
    subset, tmp_path, distance, devices, per_run, arch
):
    config = config_of(tmp_path / "ensemble", 4, arch, devices=devices)
    result = train_ensemble(config, data=subset, progress=False, devices_per_run=per_run)
    assert all(row["devices"] == devices for run in result.runs for row in run.metrics)
    for i, run in enumerate(result.runs):
        # alone on as many devices as it has in the ensemble: split over all 4 instead, its batches
        # are summed in another order, which Adam grew to 3% of the distance trained in 2 epochs on
        # one 2-core AMD EPYC (test_train.py's four-devices test covers that path)
        member = dataclasses.replace(config.member(i, str(tmp_path / f"alone{i}")), devices=per_run)
        alone = train(member, data=subset, progress=False)
        moved = distance(alone.state.model, initial_state(config.member(i, "")).model)
        assert distance(run.state.model, alone.state.model) < 1e-2 * moved
        for ours, theirs in zip(run.metrics, alone.metrics, strict=True):
            assert ours["test_total"] == pytest.approx(theirs["test_total"], rel=1e-3)
    assert initial_states(config).step.shape == (4,)


def test_train_devices_that_do_not_split_the_runs_is_one_line_error(tmp_path, capsys):
    flags = ["train", "--runs", "3", "--devices", "2", "--dataset", "mnist_5k", "--out", str(tmp_path / "r")]
    assert main(flags) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "3 runs do not split evenly across 2 device groups" in err
    assert main(["train", "--devices-per-run", "2", "--out", str(tmp_path / "s")]) == 2
    assert "--devices-per-run is for --runs N" in capsys.readouterr().err


@pytest.mark.slow
def test_sigkill_mid_ensemble_over_four_devices_then_resume_is_bitwise(tmp_path, monkeypatch):
    monkeypatch.setenv("JAX_NUM_CPU_DEVICES", "4")  # the subprocesses see 4 devices, as this one
    args = ["train", "--runs", "4", "--model", "vae", "--dataset", "mnist_5k", "--batch-size", "100"]
    args += ["--epochs", "8", "--keep-checkpoints", "3", "--no-progress"]
    killed, straight = tmp_path / "killed", tmp_path / "straight"
    assert kill_then_finish(args, killed, straight, after_checkpoint=2) < 8
    config = EnsembleConfig.of_seeds(jaxvae.TrainConfig(model=jaxvae.ModelSpec("vae"), epochs=8), 4)
    for i in range(4):
        resumed = jaxvae.load_model(member_dir(killed, config, i))[0]
        uninterrupted = jaxvae.load_model(member_dir(straight, config, i))[0]
        assert_trees_equal(resumed, uninterrupted)


@pytest.mark.slow
def test_two_processes_each_train_their_share_of_an_ensemble(tmp_path):
    outputs = launch(tmp_path / "two", 2, 2, "--runs", "4")
    assert outputs[0].count("test loss") == 4 and "test loss" not in outputs[1]  # process 0 reports
    # the same ensemble in one process with the devices each of the two had: XLA's CPU threads, and so
    # its sums, depend on the devices of a process (one with 4 moved a run by 0.6% of the distance
    # trained on one 2-core AMD EPYC), while each process trains whole runs of its own
    env = {**os.environ, "JAX_NUM_CPU_DEVICES": "2", "JAX_PLATFORMS": "cpu"}
    command = [sys.executable, "-m", "jaxvae.commands.cli", "train", *TRAIN_FLAGS, "--runs", "4"]
    subprocess.run([*command, "--no-progress", "--out", str(tmp_path / "one")], env=env, check=True)
    saved, alone = (json.loads((tmp_path / d / "metrics.json").read_text()) for d in ("two", "one"))
    assert [run["seed"] for run in saved] == [3, 4, 5, 6]
    config = read_ensemble(tmp_path / "one")
    assert config is not None
    for i in range(4):
        two = jaxvae.load_model(member_dir(tmp_path / "two", config, i))[0]
        one = jaxvae.load_model(member_dir(tmp_path / "one", config, i))[0]
        assert_trees_equal(two, one)
        assert saved[i]["metrics"][-1]["test_total"] == alone[i]["metrics"][-1]["test_total"]
