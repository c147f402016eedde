"""Multi-process training on JAX's distributed runtime: two processes on localhost, CPU devices."""

import pytest
from helpers import TRAIN_FLAGS, launch

import jaxvae
from jaxvae.commands.cli import main
from jaxvae.runs.distributed import DistributedConfig, resolve
from jaxvae.runs.single import initial_state, load_model, train


@pytest.mark.slow
@pytest.mark.parametrize(("devices_per_process", "arch"), [(1, "mlp"), (2, "mlp"), (2, "conv")])
def test_two_processes_train_like_one_process_with_the_same_devices(
    tmp_path, devices_per_process, arch, distance
):
    devices = 2 * devices_per_process  # this process has 4 fake CPU devices (conftest)
    outputs = launch(tmp_path / "two", 2, devices_per_process, "--arch", arch)
    assert all("test loss" in out for out in outputs)

    flags = dict(zip(TRAIN_FLAGS[::2], TRAIN_FLAGS[1::2], strict=True))
    config = jaxvae.TrainConfig(
        model=jaxvae.ModelSpec("vae", arch=arch),
        dataset=flags["--dataset"],
        epochs=int(flags["--epochs"]),
        batch_size=int(flags["--batch-size"]),
        seed=int(flags["--seed"]),
        devices=devices,
        out=str(tmp_path / "one"),
    )
    single = train(config, progress=False)

    # process 0 alone wrote the checkpoint, and a single-process run reads it
    arrays = tmp_path / "two" / "checkpoints" / "2" / "arrays"
    assert (arrays / "ocdbt.process_0").is_dir()
    assert not (arrays / "ocdbt.process_1").exists()
    restored, saved_config = load_model(tmp_path / "two")
    assert saved_config.epochs == 2

    # gradients summed across processes add in another order than within one process
    apart = distance(restored, single.state.model)
    moved = distance(initial_state(config).model, single.state.model)
    assert apart < 1e-3 * moved, (apart, moved)
    loss_two = float(outputs[0].split("test loss ")[1].split()[0])
    assert abs(single.metrics[-1]["test_total"] - loss_two) < 0.01


def test_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("JAXVAE_COORDINATOR_ADDRESS", "10.0.0.1:1234")
    monkeypatch.setenv("JAXVAE_NUM_PROCESSES", "4")
    monkeypatch.setenv("JAXVAE_PROCESS_ID", "3")
    assert resolve(DistributedConfig()) == DistributedConfig("10.0.0.1:1234", 4, 3)
    # a flag wins over the environment
    assert resolve(DistributedConfig(process_id=0)).process_id == 0


def test_no_address_means_one_process(monkeypatch):
    for name in ("JAXVAE_COORDINATOR_ADDRESS", "JAX_COORDINATOR_ADDRESS"):
        monkeypatch.delenv(name, raising=False)
    assert resolve(DistributedConfig()).coordinator_address == ""


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--coordinator-address", "localhost"], "must be host:port"),
        (["--coordinator-address", "localhost:1"], "needs --num-processes"),
        (["--coordinator-address", "localhost:1", "--num-processes", "2", "--process-id", "2"], "0..1"),
    ],
)
def test_bad_distributed_flags_are_one_line_errors(tmp_path, capsys, flags, message):
    code = main(["train", "--dataset", "mnist_5k", "--out", str(tmp_path), *flags])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("jaxvae: error:") and message in err
    assert len(err.strip().splitlines()) == 1
