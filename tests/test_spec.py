"""The model spec: one value that describes a model, read back from new and old saved configs."""

import dataclasses
import json
import shutil
from pathlib import Path

import jax
import pytest

import jaxvae
from jaxvae.commands.cli import main
from jaxvae.runs.config import EnsembleConfig, TrainConfig
from jaxvae.runs.ensemble_run import read_ensemble, train_ensemble
from jaxvae.runs.single import train
from jaxvae.spec import ModelSpec

LEGACY = Path(__file__).parent / "data" / "legacy_runs"


def test_a_spec_round_trips_through_json_and_a_train_config_stores_it_nested():
    spec = ModelSpec("noisy_ae", latent_dim=3, hidden_dims=(64, 32), noise=0.5)
    assert ModelSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
    config = TrainConfig(model=spec, epochs=3)
    saved = json.loads(config.to_json())
    assert saved["model"] == {**spec.to_dict(), "hidden_dims": [64, 32]}
    assert TrainConfig.from_dict(saved) == config


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (ModelSpec("gan"), "unknown model 'gan'"),
        (ModelSpec(latent_dim=0), "latent_dim must be a positive integer"),
        (ModelSpec(hidden_dims=(512, 0)), "hidden_dims must be positive integers"),
        (ModelSpec(dtype="float16"), "dtype must be float32 or bfloat16"),
        (ModelSpec("vae", noise=0.5), "--noise is the noisy autoencoder's"),
        (ModelSpec("ae", decoder_l2=0.1), "--decoder-l2 is the RAE's"),
    ],
)
def test_a_bad_spec_is_one_line_before_any_model_is_built(spec, message):
    with pytest.raises(jaxvae.ConfigError, match=message):
        TrainConfig(model=spec).validate()
    with pytest.raises(jaxvae.ConfigError, match=message):
        jaxvae.make_model(spec, key=jax.random.key(0))


def test_wrong_keys_and_types_in_a_saved_spec_are_one_line():
    with pytest.raises(jaxvae.ConfigError, match="unknown configuration keys: width"):
        ModelSpec.from_dict({"kind": "ae", "width": 3})
    with pytest.raises(jaxvae.ConfigError, match="latent_dim must be of type integer"):
        ModelSpec.from_dict({"latent_dim": "2"})
    with pytest.raises(jaxvae.ConfigError, match="hidden_dims must be of type list of integers"):
        TrainConfig.from_dict({"model": {"hidden_dims": [1.5]}})


def test_a_config_json_written_before_specs_reads_as_the_same_settings():
    saved = json.loads((LEGACY / "single" / "config.json").read_text())
    assert saved["model"] == "vae" and saved["hidden_dims"] == [16]  # the old, flat form
    config = TrainConfig.from_dict(saved)
    assert config.model == ModelSpec("vae", hidden_dims=(16,))
    # the same settings under the same names, and the settings added since (the architecture) at
    # their defaults, which is what the run was trained with
    assert config.flat() == {**saved, "arch": "mlp", "channels": [16, 32], "dense_dims": [256]}
    ensemble = read_ensemble(LEGACY / "ensemble")
    assert ensemble is not None
    assert ensemble.train.model == ModelSpec("rae", hidden_dims=(16,), decoder_l2=0.01)


def test_the_flags_of_a_spec_are_the_train_commands_flags(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = capsys.readouterr().out
    for flag in ("--model", "--latent-dim", "--hidden-dims", "--dtype", "--noise", "--decoder-l2"):
        assert flag in text
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "train one model (ae, vae, rae or noisy_ae)" in capsys.readouterr().out


def test_a_single_run_written_before_specs_loads_resumes_and_evaluates(tmp_path, capsys):
    run_dir = tmp_path / "single"
    shutil.copytree(LEGACY / "single", run_dir)
    model, config = jaxvae.load_model(run_dir)
    assert isinstance(model, jaxvae.VAE) and config.model.hidden_dims == (16,)
    before = json.loads((run_dir / "metrics.json").read_text())
    resumed = train(dataclasses.replace(config, epochs=2, out=str(run_dir)), progress=False)
    assert [m["epoch"] for m in resumed.metrics] == [1, 2]
    assert resumed.metrics[0] == before[0]  # epoch 1 was read back, not trained again
    flags = ["--ks", "1", "10", "--num-images", "50", "--quadrature-images", "5"]
    assert main(["eval", str(run_dir), *flags]) == 0
    assert (run_dir / "likelihood.json").exists()


def test_an_ensemble_written_before_specs_resumes(tmp_path):
    run_dir = tmp_path / "ensemble"
    shutil.copytree(LEGACY / "ensemble", run_dir)
    saved = read_ensemble(run_dir)
    assert saved is not None
    config = EnsembleConfig(
        dataclasses.replace(saved.train, epochs=2, out=str(run_dir)), saved.seeds, saved.betas
    )
    result = train_ensemble(config, progress=False)
    assert int(result.states.epoch[0]) == 2
    for run in result.runs:
        assert [m["epoch"] for m in run.metrics] == [1, 2]
        model, loaded = jaxvae.load_model(run.run_dir)
        assert loaded.model.decoder_l2 == 0.01 and model.decoder_l2 == 0.01
