"""The estimators against a model whose marginal likelihood is known in closed form."""

import importlib.util
import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxvae
from jaxvae.likelihood import exact_log_marginal, iwae_and_elbo, iwae_bounds, quadrature_log_marginal

SIGMA2 = 0.3


def linear_gaussian(w: np.ndarray, b: np.ndarray, x: np.ndarray):
    """p(z) = N(0, I), p(x | z) = N(W z + b, SIGMA2 I): log p(x), its log-likelihood, and the
    diagonal part of the exact posterior (exact when W's columns are orthogonal)."""
    d_obs = w.shape[0]
    cov = w @ w.T + SIGMA2 * np.eye(d_obs)
    diff = x - b
    log_px = -0.5 * (
        d_obs * np.log(2 * np.pi)
        + np.linalg.slogdet(cov)[1]
        + np.einsum("bi,ij,bj->b", diff, np.linalg.inv(cov), diff)
    )
    post_cov = np.linalg.inv(np.eye(2) + w.T @ w / SIGMA2)
    mean = diff @ w @ post_cov.T / SIGMA2
    logvar = np.broadcast_to(np.log(np.diag(post_cov)), mean.shape)

    def log_lik(z):
        mean_x = jnp.einsum("...d,od->...o", z, jnp.asarray(w)) + jnp.asarray(b).reshape(
            (1,) * (z.ndim - 1) + (-1,)
        )
        residual = jnp.broadcast_to(jnp.asarray(x), mean_x.shape) - mean_x
        return -0.5 * jnp.sum(np.log(2 * np.pi * SIGMA2) + residual**2 / SIGMA2, axis=-1)

    return log_px, log_lik, jnp.asarray(mean, jnp.float32), jnp.asarray(logvar, jnp.float32)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(64, 2))
    return rng, z


def sample_x(rng, w, b, z):
    return z @ w.T + b + np.sqrt(SIGMA2) * rng.normal(size=(len(z), w.shape[0]))


def test_exact_posterior_makes_every_estimator_exact(data):
    rng, z = data
    q, _ = np.linalg.qr(rng.normal(size=(5, 2)))
    w = q * np.array([1.5, 0.7])  # orthogonal columns: the exact posterior is diagonal
    b = rng.normal(size=5)
    x = sample_x(rng, w, b, z)
    log_px, log_lik, mean, logvar = linear_gaussian(w, b, x)
    for k in (1, 10, 1000):
        iwae, elbo = iwae_and_elbo(log_lik, mean, logvar, key=jax.random.key(k), k=k, k_chunk=64)
        np.testing.assert_allclose(iwae, log_px, atol=2e-3)
        np.testing.assert_allclose(elbo, log_px, atol=2e-3)
    exact, outside = quadrature_log_marginal(log_lik, mean, logvar, resolution=64, outer_resolution=64)
    np.testing.assert_allclose(exact, log_px, atol=2e-3)
    assert float(outside.max()) < 1e-3


def test_iwae_closes_the_gap_of_a_wrong_posterior(data):
    rng, z = data
    w = np.array([[1.0, 0.9], [0.8, 1.0], [0.5, -0.2], [1.2, 1.1], [0.0, 0.3]])  # correlated posterior
    b = rng.normal(size=5)
    x = sample_x(rng, w, b, z)
    log_px, log_lik, mean, logvar = linear_gaussian(w, b, x)
    results = {
        k: iwae_and_elbo(log_lik, mean, logvar, key=jax.random.key(1), k=k, k_chunk=128)
        for k in (1, 10, 100, 5000)
    }
    elbo_gap = float(np.mean(log_px - results[5000][1]))
    gaps = [float(np.mean(log_px - results[k][0])) for k in (1, 10, 100, 5000)]
    assert elbo_gap > 0.1  # the diagonal posterior misses the correlation
    # IWAE_1 is a one-sample ELBO: equal in expectation, within its Monte Carlo standard error
    one_sample = np.asarray(results[1][0])
    standard_error = float(np.std(one_sample - np.asarray(results[5000][1])) / np.sqrt(len(one_sample)))
    assert abs(gaps[0] - elbo_gap) < 4 * standard_error
    assert gaps[0] > gaps[1] > gaps[2] > gaps[3] >= -0.01  # non-decreasing bound in k
    assert gaps[3] < 0.02
    exact, _ = quadrature_log_marginal(log_lik, mean, logvar, resolution=96, outer_resolution=96)
    np.testing.assert_allclose(exact, log_px, atol=5e-3)


def test_quadrature_converges_as_the_grid_refines(data):
    rng, z = data
    w = np.array([[2.0, 0.3], [0.1, 1.5], [0.7, 0.7], [1.0, -1.0], [0.2, 0.1]])
    b = rng.normal(size=5)
    log_px, log_lik, mean, logvar = linear_gaussian(w, b, sample_x(rng, w, b, z))
    errors = [
        float(
            np.mean(
                np.abs(
                    quadrature_log_marginal(log_lik, mean, logvar, resolution=r, outer_resolution=r)[0]
                    - log_px
                )
            )
        )
        for r in (8, 16, 64)
    ]
    assert errors[0] > errors[1] > errors[2] and errors[2] < 2e-3


@pytest.mark.slow
def test_vae_bounds_are_ordered_on_real_digits():
    train, test = jaxvae.load_bundled("train"), jaxvae.load_bundled("test")
    opt = optax.adam(1e-3)
    state = jaxvae.initial_state(jaxvae.TrainConfig())
    for _ in range(3):
        state, _ = jaxvae.train_epoch(state, jnp.asarray(train.images), optimizer=opt, batch_size=100)
    images = jnp.asarray(test.images[:200])
    bounds, elbo = iwae_bounds(state.model, images, key=jax.random.key(0), ks=(1, 10, 100))
    means = np.asarray(bounds).mean(axis=1)
    assert means[0] < means[1] < means[2]
    assert float(elbo.mean()) == pytest.approx(float(means[0]), abs=1.0)
    # the ELBO estimate agrees with the training loss's negative ELBO
    neg_elbo = jaxvae.negative_elbo(state.model, images, key=jax.random.key(1)).mean()
    assert float(-elbo.mean()) == pytest.approx(float(neg_elbo), rel=0.02)
    exact, outside = exact_log_marginal(state.model, images[:50], resolution=64)
    assert float(np.mean(exact)) > float(np.asarray(bounds)[2][:50].mean()) - 0.2
    assert float(outside.max()) < 0.5


def test_pixel_modes():
    from jaxvae.data import prepare_pixels

    images = np.array([[[0, 100, 128, 255]]], np.uint8).repeat(2000, axis=0)
    np.testing.assert_array_equal(
        prepare_pixels(images, "threshold", seed=0, split="test")[0], [[0, 0, 255, 255]]
    )
    static = prepare_pixels(images, "static", seed=0, split="test")
    assert set(np.unique(static)) <= {0, 255}
    np.testing.assert_allclose((static == 255).mean(axis=0)[0], [0, 100 / 255, 128 / 255, 1], atol=0.04)
    np.testing.assert_array_equal(static, prepare_pixels(images, "static", seed=0, split="test"))
    assert prepare_pixels(images, "dynamic", seed=0, split="train") is images
    assert prepare_pixels(images, "continuous", seed=0, split="test") is images
    with pytest.raises(jaxvae.DataError, match="unknown likelihood mode"):
        prepare_pixels(images, "gaussian", seed=0, split="test")


def _likelihood_table_script():
    path = Path(__file__).resolve().parents[1] / "scripts" / "likelihood_table.py"
    spec = importlib.util.spec_from_file_location("likelihood_table", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_likelihood_table_script_writes_its_table(tmp_path, arch):
    script = _likelihood_table_script()
    flags = ["--latent-dims", "2", "--epochs", "1", "--ks", "1", "10", "--num-images", "20"]
    flags += ["--quadrature-images", "4", "--no-progress", "--arch", arch]
    assert script.main([*flags, "--out", str(tmp_path)]) == 0
    table = (tmp_path / "table.md").read_text()
    row = next(line for line in table.splitlines() if line.startswith("| 2 | 1 |"))
    elbo, iwae, k = (cell.strip() for cell in row.split("|")[3:6])
    assert float(iwae) <= float(elbo) and k == "10"  # the k=10 bound is the tighter one
    folder = "latent2" if arch == "mlp" else "latent2_conv"  # each architecture's runs kept apart
    assert json.loads((tmp_path / folder / "likelihood.json").read_text())["exact"]["num_images"] == 4
    assert f"--arch {arch}" in table


@pytest.mark.slow
def test_likelihood_table_script_resumes_and_reports_the_slope(tmp_path):
    script = _likelihood_table_script()
    flags = ["--latent-dims", "3", "--ks", "1", "--num-images", "20"]
    flags += ["--lr-schedule", "exponential", "--lr-decay", "0.9", "--no-progress", "--out", str(tmp_path)]
    assert script.main([*flags, "--epochs", "2"]) == 0
    first = json.loads((tmp_path / "latent3" / "metrics.json").read_text())
    assert script.main([*flags, "--epochs", "5"]) == 0  # goes on from epoch 2
    metrics = json.loads((tmp_path / "latent3" / "metrics.json").read_text())
    assert [m["epoch"] for m in metrics] == [1, 2, 3, 4, 5] and metrics[:2] == first
    row = next(
        line for line in (tmp_path / "table.md").read_text().splitlines() if line.startswith("| 3 | 5 |")
    )
    slope = row.split("|")[7].strip()
    assert slope == script.elbo_slope(metrics) and float(slope) < 0  # still improving
    assert script.elbo_slope(metrics[:4]) == ""  # too short a run for a slope


def test_likelihood_table_script_rejects_bad_flags_before_training(tmp_path, capsys):
    script = _likelihood_table_script()
    assert script.main(["--num-images", "-1", "--out", str(tmp_path / "t")]) == 2
    assert "num_images must be 0 (all) or a positive count" in capsys.readouterr().err
    assert not (tmp_path / "t").exists()  # no model was trained first
