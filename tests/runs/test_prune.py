"""A finished ensemble pruned to its final models: read back unchanged, refused as a start to train on."""

import dataclasses
import shutil

import pytest
from helpers import assert_trees_equal, flip_bytes

import jaxvae
from jaxvae.runs.config import EnsembleConfig
from jaxvae.runs.ensemble_run import member_dir, train_ensemble, train_owned
from jaxvae.runs.prune import MODEL_FILE, finished_runs, is_pruned, prune_ensemble
from jaxvae.runs.single import read_config, train


@pytest.fixture(scope="module")
def subset():
    train_data, test_data = jaxvae.load_bundled("train"), jaxvae.load_bundled("test")
    return train_data._replace(images=train_data.images[:600]), test_data._replace(
        images=test_data.images[:100]
    )


@pytest.fixture(scope="module")
def trained(subset, tmp_path_factory):
    """A two-run ensemble trained for two epochs, and its result (the folder is copied by each test)."""
    out = tmp_path_factory.mktemp("trained") / "ensemble"
    train = jaxvae.TrainConfig(model=jaxvae.ModelSpec("ae"), dataset="mnist_5k", epochs=2, batch_size=100)
    config = EnsembleConfig.of_seeds(dataclasses.replace(train, out=str(out)), 2)
    return config, train_ensemble(config, data=subset, progress=False)


def pruned_copy(trained, tmp_path):
    config, result = trained
    out = tmp_path / "ensemble"
    shutil.copytree(result.run_dir, out)
    config = dataclasses.replace(config, train=dataclasses.replace(config.train, out=str(out)))
    prune_ensemble(out, config, result.runs)
    return config, out


def size(folder):
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def test_pruning_keeps_each_final_model_and_a_fraction_of_the_bytes(trained, tmp_path):
    config, result = trained
    before = size(result.run_dir)
    config, out = pruned_copy(trained, tmp_path)
    assert not list(out.rglob("checkpoints")) and is_pruned(out)
    assert size(out) < before / 4  # the stacked state and every optimizer moment are gone
    for i, run in enumerate(result.runs):
        folder = member_dir(out, config, i)
        assert (folder / MODEL_FILE).is_file() and (folder / "metrics.json").is_file()
        model, single = jaxvae.load_model(folder)
        assert single.seed == config.seeds[i]
        assert_trees_equal(model, run.state.model)
        with pytest.raises(jaxvae.CheckpointError, match="only the final model"):
            jaxvae.load_model(folder, epoch=1)


def test_a_pruned_ensemble_is_read_back_without_training(trained, subset, tmp_path):
    config, out = pruned_copy(trained, tmp_path)
    runs = finished_runs(out, config)
    assert runs is not None and [int(r.state.epoch) for r in runs] == [2, 2]
    again = train_owned(config, subset, progress=False)  # what an experiment run again does
    for i, run in enumerate(trained[1].runs):
        assert_trees_equal(again[i].state.model, run.state.model)
        assert again[i].metrics == run.metrics
        assert int(again[i].state.step) == int(run.state.step)
    assert is_pruned(out)  # read, not rewritten


def test_training_on_in_a_pruned_folder_is_refused_and_starting_over_forgets_the_models(
    trained, subset, tmp_path
):
    config, out = pruned_copy(trained, tmp_path)
    longer = dataclasses.replace(config, train=dataclasses.replace(config.train, epochs=3))
    with pytest.raises(jaxvae.ConfigError, match="training state was pruned.*--keep-training-state"):
        train_ensemble(longer, data=subset, progress=False)
    run_dir = member_dir(out, config, 0)
    with pytest.raises(jaxvae.ConfigError, match="training state was pruned"):
        train(dataclasses.replace(read_config(run_dir), out=str(run_dir)), data=subset, progress=False)
    # starting over is allowed: the old final models go with the old run
    train_ensemble(longer, data=subset, progress=False, resume=False)
    assert not list(out.rglob(MODEL_FILE)) and not is_pruned(out)


def test_a_damaged_final_model_is_one_error_naming_the_file(trained, tmp_path):
    config, out = pruned_copy(trained, tmp_path)
    path = member_dir(out, config, 1) / MODEL_FILE
    flip_bytes(path, seed=3)
    with pytest.raises(jaxvae.CheckpointError, match=f"{path}: the run's final model is missing, damaged"):
        jaxvae.load_model(path.parent)
