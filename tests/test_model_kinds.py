"""The RAE and the noisy autoencoder: each loss against a hand computation, the same engine as the
other kinds (ensembles, checkpoints, the --model flag), and one-line errors for flags of another kind."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from helpers import assert_trees_equal

import jaxvae
from jaxvae.commands.cli import main
from jaxvae.losses import loss_terms, noisy_ae_loss, rae_loss
from jaxvae.models import RAE, NoisyAE, make_model
from jaxvae.runs.config import EnsembleConfig
from jaxvae.runs.ensemble_run import train_ensemble
from jaxvae.spec import ModelSpec


def nll(logits, x):
    """-log Bernoulli(x; sigmoid(logits)) summed over pixels, by the textbook formula."""
    p = 1 / (1 + np.exp(-np.asarray(logits, np.float64)))
    return -np.sum(x * np.log(p) + (1 - x) * np.log1p(-p), axis=-1)


@pytest.fixture(scope="module")
def images():
    return jnp.asarray(jaxvae.load_bundled("test").images[:16])


def test_rae_loss_is_reconstruction_plus_beta_half_squared_code_plus_decoder_decay(images, arch):
    model = make_model(ModelSpec("rae", decoder_l2=0.01, arch=arch), key=jax.random.key(0))
    x = np.asarray(images, np.float64).reshape(16, 784) / 255
    z = np.asarray(model.encode(jnp.asarray(x, jnp.float32)).mean, np.float64)
    reconstruction = nll(model.decode(jnp.asarray(z, jnp.float32)), x)
    pull = 0.5 * np.sum(z**2, axis=-1)
    kernels = [
        p for path, p in nnx.to_flat_state(nnx.state(model.decoder, nnx.Param)) if path[-1] == "kernel"
    ]
    # MLP: 2 -> 256 -> 512 -> 784; conv: the dense layers 2 -> 256 -> 7x7x32 and two transposed
    assert len(kernels) == {"mlp": 3, "conv": 4}[arch]
    decay = 0.01 * sum(np.sum(np.asarray(k[...], np.float64) ** 2) for k in kernels)
    terms = rae_loss(model, images, beta=3.0)
    np.testing.assert_allclose(terms.reconstruction, reconstruction, rtol=1e-4)
    # the conv codes start near 0.01, so their pull (1e-4) is compared within float32 rounding too
    np.testing.assert_allclose(terms.kl, pull, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(terms.total, reconstruction + 3.0 * pull + decay, rtol=1e-4)
    # beta 1/2 ||z||^2 is the KL's pull part: the KL of N(z, 1) to N(0, 1)
    kl_of_unit_posterior = jaxvae.kl_standard_normal(jnp.asarray(z), jnp.zeros_like(jnp.asarray(z)))
    np.testing.assert_allclose(terms.kl, kl_of_unit_posterior, rtol=1e-4, atol=1e-7)


def test_noisy_ae_loss_reconstructs_from_the_code_plus_fixed_noise_with_no_kl(images):
    model = make_model(ModelSpec("noisy_ae", noise=0.5), key=jax.random.key(0))
    key = jax.random.key(7)
    x = np.asarray(images, np.float64).reshape(16, 784) / 255
    mean = np.asarray(model.encode(jnp.asarray(x, jnp.float32)).mean)
    z = mean + 0.5 * np.asarray(jax.random.normal(key, mean.shape))
    terms = noisy_ae_loss(model, images, key=key)
    np.testing.assert_allclose(terms.total, nll(model.decode(jnp.asarray(z)), x), rtol=1e-4)
    np.testing.assert_array_equal(terms.kl, 0.0)
    # its posterior has the fixed width, and loss_terms dispatches to it
    np.testing.assert_allclose(jaxvae.encode(model, images).logvar, 2 * np.log(0.5), rtol=1e-6)
    np.testing.assert_array_equal(loss_terms(model, images, key=key).total, terms.total)


def test_the_three_autoencoders_start_from_the_same_parameters():
    ae, rae, noisy = (make_model(k, key=jax.random.key(4)) for k in ("ae", "rae", "noisy_ae"))
    assert isinstance(rae, RAE) and isinstance(noisy, NoisyAE)
    assert_trees_equal(ae.encoder, rae.encoder, noisy.encoder)
    assert_trees_equal(ae.decoder, rae.decoder, noisy.decoder)


@pytest.mark.parametrize(("kind", "changes"), [("rae", {"decoder_l2": 0.01}), ("noisy_ae", {"noise": 0.5})])
def test_new_kinds_train_as_ensembles_and_load_back_with_their_settings(tmp_path, kind, changes):
    train_data, test_data = jaxvae.load_bundled("train"), jaxvae.load_bundled("test")
    data = (
        train_data._replace(images=train_data.images[:600]),
        test_data._replace(images=test_data.images[:100]),
    )
    config = jaxvae.TrainConfig(
        model=jaxvae.ModelSpec(kind), dataset="mnist_5k", epochs=2, batch_size=100, out=str(tmp_path)
    )
    config = dataclasses.replace(config, model=dataclasses.replace(config.model, **changes))
    result = train_ensemble(EnsembleConfig.of_seeds(config, 2), data=data, progress=False)
    for run in result.runs:
        assert run.metrics[-1]["test_total"] < run.metrics[0]["train_total"]  # it learns
        model, saved = jaxvae.load_model(run.run_dir)
        assert saved.model == config.model
        assert getattr(model, next(iter(changes))) == next(iter(changes.values()))


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--model", "rae", "--noise", "0.5"], "--noise is the noisy autoencoder's"),
        (["--model", "vae", "--decoder-l2", "0.1"], "--decoder-l2 is the RAE's"),
        (["--model", "noisy_ae", "--noise", "0"], "noise must be a positive number"),
        (["--model", "gan"], "choose one of ae, vae, rae, noisy_ae"),
    ],
)
def test_a_flag_of_another_kind_is_a_one_line_error(tmp_path, capsys, flags, message):
    assert main(["train", "--dataset", "mnist_5k", "--out", str(tmp_path / "r"), *flags]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
