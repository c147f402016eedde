import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import assert_trees_close, assert_trees_equal

import jaxvae
from jaxvae.runs.parallel import batch_sharding, data_mesh, replicate
from jaxvae.runs.single import initial_state

OPT = optax.adam(1e-3)


@pytest.fixture(scope="module")
def subset():
    return jaxvae.load_bundled("train"), jaxvae.load_bundled("test")


def fresh_state(kind="vae", seed=0, arch="mlp"):
    return initial_state(jaxvae.TrainConfig(model=jaxvae.ModelSpec(kind, arch=arch), seed=seed))


def leaves(state):
    return jax.tree.leaves(state.model)


def test_epoch_scan_equals_python_loop_of_steps(subset, arch):
    images = jnp.asarray(subset[0].images[:640])
    scanned, scanned_terms = jaxvae.train_epoch(fresh_state(arch=arch), images, optimizer=OPT, batch_size=128)
    # the same permutation and step keys, driven from Python one jitted step at a time
    state = fresh_state(arch=arch)
    shuffle_key = jax.random.fold_in(jax.random.split(state.key)[1], 0)
    order = np.asarray(jax.random.permutation(shuffle_key, 640)).reshape(5, 128)
    totals = []
    for indices in order:
        state, terms = jaxvae.train_step(state, images[indices], optimizer=OPT)
        totals.append(float(terms.total))
    assert int(scanned.step) == int(state.step) == 5 and int(scanned.epoch) == 1
    assert scanned_terms.total.shape == (5,)
    np.testing.assert_allclose(scanned_terms.total, totals, rtol=1e-4)
    assert_trees_close(scanned.model, state.model, rtol=1e-4, atol=1e-5)


def test_unrolled_epoch_equals_rolled_epoch(subset):
    images = jnp.asarray(subset[0].images[:640])
    rolled, rolled_terms = jaxvae.train_epoch(fresh_state(), images, optimizer=OPT, batch_size=128)
    unrolled, unrolled_terms = jaxvae.train_epoch(
        fresh_state(), images, optimizer=OPT, batch_size=128, unroll=2
    )
    np.testing.assert_allclose(unrolled_terms.total, rolled_terms.total, rtol=1e-4)
    assert_trees_close(unrolled.model, rolled.model, rtol=1e-4, atol=1e-5)
    with pytest.raises(jaxvae.ConfigError, match="unroll must be >= 1"):
        jaxvae.train_epoch(fresh_state(), images, optimizer=OPT, batch_size=128, unroll=0)


def test_epochs_are_deterministic_and_keys_differ_per_epoch(subset):
    images = jnp.asarray(subset[0].images[:512])
    a, _ = jaxvae.train_epoch(fresh_state(), images, optimizer=OPT, batch_size=128)
    b, _ = jaxvae.train_epoch(fresh_state(), images, optimizer=OPT, batch_size=128)
    assert_trees_equal(a.model, b.model)
    # a different seed gives a different run
    c, _ = jaxvae.train_epoch(fresh_state(seed=1), images, optimizer=OPT, batch_size=128)
    assert not np.array_equal(leaves(a)[0], leaves(c)[0])


def test_batch_larger_than_dataset_is_rejected(subset):
    with pytest.raises(jaxvae.ConfigError, match="batch_size must be in 1..10"):
        jaxvae.train_epoch(fresh_state(), jnp.asarray(subset[0].images[:10]), optimizer=OPT, batch_size=11)


def test_data_parallel_epoch_matches_single_device(subset, distance, arch):
    assert len(jax.devices()) >= 2, "conftest asks for fake CPU devices"
    images = jnp.asarray(subset[0].images[:1024])
    single, single_terms = jaxvae.train_epoch(fresh_state(arch=arch), images, optimizer=OPT, batch_size=128)
    mesh = data_mesh(2)
    sharded, sharded_terms = jaxvae.train_epoch(
        replicate(fresh_state(arch=arch), mesh),
        replicate(images, mesh),
        optimizer=OPT,
        batch_size=128,
        data_sharding=batch_sharding(mesh),
    )
    assert len(leaves(sharded)[0].sharding.device_set) == 2
    np.testing.assert_allclose(sharded_terms.total, single_terms.total, rtol=1e-4)
    # two devices sum each batch's gradient in another order; Adam turns the rounding into steps on
    # near-zero gradients, so compare how far apart the runs ended with how far they moved (a device
    # computing a wrong share of the batch puts them a distance of the order of the distance moved apart)
    apart = distance(sharded.model, single.model)
    moved = distance(fresh_state(arch=arch).model, single.model)
    assert apart < 1e-3 * moved, (apart, moved)


def test_vae_on_bundled_subset_beats_untrained(subset):
    train, test = subset
    state = fresh_state()
    key = jax.random.key(7)
    test_images = jnp.asarray(test.images)
    untrained = jaxvae.evaluate(state.model, test_images, key=key)
    images = jnp.asarray(train.images)
    for _ in range(3):
        state, _ = jaxvae.train_epoch(state, images, optimizer=OPT, batch_size=128)
    trained = jaxvae.evaluate(state.model, test_images, key=key)
    assert float(trained.total) < 0.5 * float(untrained.total), (trained, untrained)
    assert float(trained.kl) > 0.5  # the posterior moved away from the prior


def test_evaluate_handles_a_partial_last_chunk(subset):
    model = fresh_state().model
    images = jnp.asarray(subset[1].images[:250])
    key = jax.random.key(0)
    chunked = jaxvae.evaluate(jaxvae.make_model("ae", key=key), images, key=key, chunk_size=100)
    whole = jaxvae.ae_loss(jaxvae.make_model("ae", key=key), images).total.mean()
    np.testing.assert_allclose(chunked.total, whole, rtol=1e-5)
    assert np.isfinite(float(jaxvae.evaluate(model, images, key=key, chunk_size=64).total))


@pytest.mark.slow
def test_three_epochs_on_full_mnist_reach_158_nats():
    train = jaxvae.load_dataset("mnist", "train")
    test = jaxvae.load_dataset("mnist", "test")
    state = fresh_state()
    images = jnp.asarray(train.images)
    for _ in range(3):
        state, _ = jaxvae.train_epoch(state, images, optimizer=OPT, batch_size=128)
    neg_elbo = jaxvae.evaluate(state.model, jnp.asarray(test.images), key=jax.random.key(0))
    assert float(neg_elbo.total) <= 158.0, neg_elbo


@pytest.mark.slow
def test_training_run_on_four_devices_matches_one(tmp_path, subset, distance):
    from jaxvae.runs.single import train

    assert len(jax.devices()) == 4, "conftest asks for 4 fake CPU devices"
    runs = {}
    for devices in (1, 4):
        config = jaxvae.TrainConfig(
            epochs=2, batch_size=200, devices=devices, out=str(tmp_path / str(devices))
        )
        runs[devices] = train(config, data=subset, progress=False)
    assert len(leaves(runs[4].state)[0].sharding.device_set) == 4
    # four devices sum each batch's gradient in another order than one, and Adam grows the rounding
    # gap about tenfold an epoch (on a 2-core AMD EPYC: 1.2e-4, 1.6e-3, 1.3e-2 of the distance trained
    # after epochs 1, 2, 3; how large depends on the CPU's kernels); a device computing a wrong share
    # of the batch puts the runs a distance of the order of the distance trained apart
    apart = distance(runs[4].state.model, runs[1].state.model)
    moved = distance(fresh_state().model, runs[1].state.model)
    assert apart < 1e-2 * moved, (apart, moved)
    # the test losses of parameters that far apart (measured 2.5e-5 apart on a 2-core AMD EPYC whose
    # kernels differ from the one above); a wrong share of the batch moves them by whole nats
    np.testing.assert_allclose(
        runs[4].metrics[-1]["test_total"], runs[1].metrics[-1]["test_total"], rtol=1e-4
    )


def test_uneven_batch_split_is_a_clear_error(tmp_path, subset):
    from jaxvae.runs.single import train

    if len(jax.devices()) < 4:
        pytest.skip("needs 4 devices (conftest gives 4 fake CPU devices; an accelerator may have fewer)")
    config = jaxvae.TrainConfig(epochs=1, batch_size=130, devices=4, out=str(tmp_path))
    with pytest.raises(jaxvae.ConfigError, match="does not split evenly across 4 devices"):
        train(config, data=subset, progress=False)


@pytest.mark.slow
def test_learning_rate_schedules_resume_where_they_were(tmp_path, subset):
    from jaxvae.runs.single import train

    small = (subset[0]._replace(images=subset[0].images[:1000], labels=subset[0].labels[:1000]), subset[1])

    def run(out, epochs, **schedule):
        config = jaxvae.TrainConfig(
            epochs=epochs, batch_size=100, devices=1, out=str(tmp_path / out), **schedule
        )
        return train(config, data=small, progress=False).state

    decay = {"lr_schedule": "exponential", "lr_decay": 0.5}
    straight = run("straight", 2, **decay)
    run("resumed", 1, **decay)  # stopped after one epoch, then the longer run goes on from it
    resumed = run("resumed", 2, **decay)
    assert int(resumed.step) == 20 and int(resumed.opt_state[1].count) == 20  # the schedule's step count
    assert_trees_equal(straight.model, resumed.model)
    constant, cosine = run("constant", 2), run("cosine", 2, lr_schedule="cosine")
    assert not np.array_equal(leaves(constant)[0], leaves(straight)[0])
    assert not np.array_equal(leaves(constant)[0], leaves(cosine)[0])
    with pytest.raises(jaxvae.ConfigError, match="lr_schedule"):
        jaxvae.TrainConfig(lr_schedule="linear").validate()
