"""Ensembles: many runs as one program, each equal to the run trained alone; resume; vmapped helpers."""

import dataclasses
import json
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import assert_trees_equal, kill_then_finish

import jaxvae
from jaxvae.commands.cli import main
from jaxvae.ensemble import (
    create_train_states,
    default_group_size,
    member,
    num_runs,
    stack,
    train_ensemble_epoch,
)
from jaxvae.likelihood import exact_log_marginal, iwae_bounds
from jaxvae.runs.config import EnsembleConfig
from jaxvae.runs.ensemble_run import initial_states, member_dir, train_ensemble
from jaxvae.runs.single import initial_state, train

SEEDS, BETAS = (0, 1, 0), (1.0, 1.0, 0.1)  # two seeds, and one seed at another KL weight


@pytest.fixture(scope="module")
def subset():
    train_data, test_data = jaxvae.load_bundled("train"), jaxvae.load_bundled("test")
    return train_data._replace(images=train_data.images[:1000]), test_data._replace(
        images=test_data.images[:200]
    )


def base(tmp_path, **changes):
    config = jaxvae.TrainConfig(
        model=jaxvae.ModelSpec("vae"), dataset="mnist_5k", epochs=2, batch_size=100, out=str(tmp_path)
    )
    return dataclasses.replace(config, **changes)


def test_ensemble_starts_exactly_where_each_single_run_starts():
    config = EnsembleConfig(jaxvae.TrainConfig(model=jaxvae.ModelSpec("vae")), SEEDS, BETAS)
    states = initial_states(config)
    assert num_runs(states) == 3 and states.step.shape == (3,)
    for i, seed in enumerate(SEEDS):
        single = initial_state(dataclasses.replace(config.train, seed=seed))
        ours = member(states, i)
        assert_trees_equal(ours.model, single.model)
        np.testing.assert_array_equal(jax.random.key_data(ours.key), jax.random.key_data(single.key))
    restacked = stack([member(states, i) for i in range(3)])
    assert_trees_equal(restacked.model, states.model)


# 3: all three runs vmapped; 1: one run after another in the same program (the default on a CPU);
# 2: a group of two, then the one left over
@pytest.mark.parametrize("group_size", [None, 3, 2])
def test_each_run_of_an_ensemble_epoch_equals_that_run_alone(subset, distance, group_size, arch):
    images = jnp.asarray(subset[0].images)
    optimizer = jaxvae.TrainConfig().optimizer()
    keys = jax.vmap(jax.random.key)(jnp.asarray(SEEDS))
    states = create_train_states(jaxvae.ModelSpec("vae", arch=arch), keys, optimizer)
    start = [member(states, i) for i in range(3)]  # donated below: keep host copies of the parameters
    initial = [jax.tree.map(np.asarray, state.model) for state in start]
    trained, terms = train_ensemble_epoch(
        states, images, optimizer=optimizer, batch_size=100, betas=jnp.asarray(BETAS), group_size=group_size
    )
    assert terms.total.shape == (3, 10) and np.all(np.asarray(trained.epoch) == 1)
    for i, beta in enumerate(BETAS):
        alone, alone_terms = jaxvae.train_epoch(
            start[i], images, optimizer=optimizer, batch_size=100, beta=beta
        )
        np.testing.assert_allclose(terms.total[i], alone_terms.total, rtol=1e-4)
        moved = distance(alone.model, initial[i])
        assert distance(member(trained, i).model, alone.model) < 1e-3 * moved
    # the runs differ: another seed shuffles and initialises differently, another beta trains differently
    assert not np.allclose(terms.total[0], terms.total[1]) and not np.allclose(terms.total[0], terms.total[2])


def test_default_groups_vmap_all_runs_on_accelerators_and_one_on_a_cpu():
    assert default_group_size(64, "gpu") == 64 and default_group_size(8, "tpu") == 8
    assert default_group_size(3, "cpu") == 1


def test_train_ensemble_epoch_composes_under_jit_and_rejects_empty_groups(subset):
    images = jnp.asarray(subset[0].images[:400])
    optimizer = jaxvae.TrainConfig().optimizer()
    keys = jax.vmap(jax.random.key)(jnp.arange(2))
    epoch = partial(train_ensemble_epoch, optimizer=optimizer, batch_size=100)
    _, direct = epoch(create_train_states("vae", keys, optimizer), images)
    _, jitted = jax.jit(epoch)(create_train_states("vae", keys, optimizer), images)
    np.testing.assert_allclose(jitted.total, direct.total, rtol=1e-5)
    with pytest.raises(jaxvae.ConfigError, match="group_size must be >= 1"):
        epoch(create_train_states("vae", keys, optimizer), images, group_size=0)


def test_train_ensemble_equals_single_runs_and_writes_each_run(subset, tmp_path, distance):
    config = EnsembleConfig(base(tmp_path / "ensemble"), SEEDS, BETAS)
    result = train_ensemble(config, data=subset, progress=False)
    saved = json.loads((tmp_path / "ensemble" / "metrics.json").read_text())
    assert [(run["seed"], run["beta"], len(run["metrics"])) for run in saved] == [
        (0, 1.0, 2),
        (1, 1.0, 2),
        (0, 0.1, 2),
    ]
    for i, run in enumerate(result.runs):
        # alone on one device, as each run of the ensemble is here: split over the 4 fake devices its
        # batches would be summed in another order, which Adam grew to 4% of the distance trained in
        # 2 epochs on one 2-core AMD EPYC (test_train.py's four-devices test covers that path)
        member = dataclasses.replace(config.member(i, str(tmp_path / f"alone{i}")), devices=1)
        alone = train(member, data=subset, progress=False)
        moved = distance(alone.state.model, initial_state(config.member(i, "")).model)
        # rounding differences grow ~10x an epoch through Adam (see the distance fixture); a wrong
        # seed or beta would put the two runs as far apart as training moved them
        assert distance(run.state.model, alone.state.model) < 1e-2 * moved
        for ours, theirs in zip(run.metrics, alone.metrics, strict=True):
            assert ours["runs_in_program"] == 3
            for name in ("train_total", "test_total", "test_reconstruction", "test_kl"):
                assert ours[name] == pytest.approx(theirs[name], rel=1e-3), name  # rounding drift
        # each run is an ordinary run directory that the rest of jaxvae reads
        assert run.run_dir == member_dir(tmp_path / "ensemble", config, i)
        model, single = jaxvae.load_model(run.run_dir)
        assert (single.seed, single.beta) == (SEEDS[i], BETAS[i])
        assert_trees_equal(model, run.state.model)
    with pytest.raises(jaxvae.CheckpointError, match="ensemble of runs trained together"):
        jaxvae.load_model(tmp_path / "ensemble")
    # the same directory with other runs is refused rather than mixed up
    other = EnsembleConfig(config.train, (5, 6), (1.0, 1.0))
    with pytest.raises(jaxvae.ConfigError, match="checkpoints of other runs"):
        train_ensemble(other, data=subset, progress=False)


@pytest.mark.parametrize(
    ("seeds", "betas", "changes", "message"),
    [
        ((0, 1), (1.0,), {}, "one beta per seed"),
        ((), (), {}, "at least one run"),
        ((0, 0), (1.0, 1.0), {}, "same seed and beta"),
        ((0, 1), (1.0, -1.0), {}, "non-negative"),
        ((0, 1), (1.0, 1.0), {"likelihood": "static"}, "binarizes the data with the run's seed"),
    ],
)
def test_bad_ensembles_are_one_line_errors(tmp_path, seeds, betas, changes, message):
    with pytest.raises(jaxvae.ConfigError, match=message):
        EnsembleConfig(base(tmp_path, **changes), seeds, betas).validate()


def test_ensemble_config_round_trips_and_rejects_garbage(tmp_path):
    config = EnsembleConfig(base(tmp_path), SEEDS, BETAS)
    assert EnsembleConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    for bad in ({"train": {}, "seeds": [0]}, {**config.to_dict(), "seeds": ["a"]}, [1, 2]):
        with pytest.raises(jaxvae.ConfigError):
            EnsembleConfig.from_dict(bad)


@pytest.mark.slow
def test_vmap_over_the_runs_axis_of_evaluate_encode_decode_grid_and_likelihoods(subset):
    images = jnp.asarray(subset[1].images[:64])
    states = create_train_states(
        "vae", jax.vmap(jax.random.key)(jnp.arange(3)), jaxvae.TrainConfig().optimizer()
    )
    models = states.model
    keys = jax.vmap(jax.random.key)(jnp.arange(10, 13))
    betas = jnp.asarray(BETAS)
    grid = jnp.asarray(jaxvae.grid_points((-2, 2), (-2, 2), 5))
    evaluated = jax.vmap(partial(jaxvae.evaluate, chunk_size=32), in_axes=(0, None))(
        models, images, key=keys, beta=betas
    )
    posterior = jax.vmap(jaxvae.encode, in_axes=(0, None))(models, images)
    grids = jax.vmap(jaxvae.decode_grid, in_axes=(0, None))(models, grid)
    bounds, elbo = jax.vmap(partial(iwae_bounds, ks=(1, 10)), in_axes=(0, None))(models, images[:8], key=keys)
    exact, _ = jax.vmap(partial(exact_log_marginal, resolution=32), in_axes=(0, None))(models, images[:4])
    assert posterior.mean.shape == (3, 64, 2) and grids.shape == (3, 5, 5, 28, 28)
    assert bounds.shape == (3, 2, 8) and exact.shape == (3, 4)
    for i in range(3):
        model = member(states, i).model
        alone = jaxvae.evaluate(model, images, key=keys[i], beta=betas[i], chunk_size=32)
        for ours, theirs in zip(evaluated, alone, strict=True):
            np.testing.assert_allclose(ours[i], theirs, rtol=1e-5)
        np.testing.assert_allclose(posterior.mean[i], jaxvae.encode(model, images).mean, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(grids[i], jaxvae.decode_grid(model, grid), rtol=1e-5, atol=1e-6)
        alone_bounds, alone_elbo = iwae_bounds(model, images[:8], key=keys[i], ks=(1, 10))
        np.testing.assert_allclose(bounds[i], alone_bounds, rtol=1e-5)
        np.testing.assert_allclose(elbo[i], alone_elbo, rtol=1e-5)
        np.testing.assert_allclose(
            exact[i], exact_log_marginal(model, images[:4], resolution=32)[0], rtol=1e-5
        )


ENSEMBLE = ["train", "--runs", "3", "--model", "vae", "--dataset", "mnist_5k", "--batch-size", "100"]


@pytest.mark.slow
def test_sigkill_mid_ensemble_then_resume_equals_uninterrupted_ensemble(tmp_path, arch):
    killed_dir, straight_dir = tmp_path / "killed", tmp_path / "straight"
    # small conv networks: what is resumed is the same code at any width, and 12 epochs of the
    # default conv networks cost minutes here
    small = {
        "mlp": jaxvae.ModelSpec("vae"),
        "conv": jaxvae.ModelSpec("vae", arch="conv", channels=(8, 16), dense_dims=(32,)),
    }
    flags = ["--channels", "8", "16", "--dense-dims", "32"] if arch == "conv" else []
    args = [*ENSEMBLE, "--arch", arch, *flags, "--epochs", "8", "--keep-checkpoints", "3", "--no-progress"]
    interrupted_at = kill_then_finish(args, killed_dir, straight_dir, after_checkpoint=3)
    assert interrupted_at < 8
    config = EnsembleConfig.of_seeds(base(killed_dir, epochs=8, model=small[arch]), 3)
    for i in range(3):
        resumed = jaxvae.load_model(member_dir(killed_dir, config, i))[0]
        straight = jaxvae.load_model(member_dir(straight_dir, config, i))[0]
        assert_trees_equal(resumed, straight)  # bitwise, not approximately
    saved = json.loads((killed_dir / "metrics.json").read_text())
    assert [[row["epoch"] for row in run["metrics"]] for run in saved] == [list(range(1, 9))] * 3


@pytest.mark.slow
def test_train_runs_flag_prints_each_run_and_rejects_bad_counts(tmp_path, capsys):
    assert main([*ENSEMBLE, "--epochs", "1", "--no-progress", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.count("test loss") == 3 and "3 runs in one program" in out
    assert main([*ENSEMBLE[:1], "--runs", "0", "--out", str(tmp_path)]) == 2
    assert "--runs must be a positive integer" in capsys.readouterr().err
