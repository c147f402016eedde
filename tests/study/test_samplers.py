"""The ex-post samplers: the Gaussian mixture against scikit-learn's own fit and the mixture's exact
moments, the midpoints of test-code pairs, and one-line errors for impossible requests."""

import jax
import numpy as np
import pytest
from sklearn.mixture import GaussianMixture

import jaxvae
from jaxvae.study.samplers import (
    GMM,
    MIDPOINTS,
    Mixture,
    fit_mixture,
    midpoints,
    sample_latents,
    sample_mixture,
)

CENTRES = np.array([[-4.0, 0.0], [3.0, 3.0], [2.0, -5.0]])
SCALES = np.array([[0.5, 1.0], [1.0, 0.3], [0.7, 0.7]])
WEIGHTS = np.array([0.5, 0.3, 0.2])


def three_clusters(count: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    which = rng.choice(3, count, p=WEIGHTS)
    return CENTRES[which] + SCALES[which] * rng.normal(size=(count, 2))


def test_the_fit_is_scikit_learns_and_finds_well_separated_clusters():
    codes = three_clusters(6000)
    ours = fit_mixture(codes, components=3, seed=1)
    theirs = GaussianMixture(3, covariance_type="full", random_state=1).fit(codes)
    np.testing.assert_array_equal(ours.means, theirs.means_)
    order = np.argsort(ours.means[:, 0])  # clusters sorted by x: the first, third, second centre
    np.testing.assert_allclose(ours.means[order], CENTRES[[0, 2, 1]], atol=0.1)
    np.testing.assert_allclose(ours.weights[order], WEIGHTS[[0, 2, 1]], atol=0.02)


def test_mixture_draws_have_the_mixtures_exact_mean_and_covariance():
    mixture = Mixture(WEIGHTS, CENTRES, np.stack([np.diag(s**2) for s in SCALES]))
    draws = sample_mixture(mixture, 200_000, key=jax.random.key(0))
    mean = WEIGHTS @ CENTRES
    second = sum(
        w * (c + np.outer(m, m)) for w, m, c in zip(WEIGHTS, CENTRES, mixture.covariances, strict=True)
    )
    np.testing.assert_allclose(draws.mean(0), mean, atol=0.03)
    np.testing.assert_allclose(np.cov(draws, rowvar=False), second - np.outer(mean, mean), atol=0.1)
    # a key gives its draws, always
    np.testing.assert_array_equal(
        sample_mixture(mixture, 10, key=jax.random.key(3)), sample_mixture(mixture, 10, key=jax.random.key(3))
    )


def test_the_gmm_sampler_generates_codes_like_its_clusters():
    codes = three_clusters(5000)
    z = sample_latents(GMM, codes, 20_000, key=jax.random.key(1))
    assert z.shape == (20_000, 2)
    # 10 components over 3 clusters: the draws still fall where the codes are
    nearest = np.min(np.linalg.norm(z[:, None, :] - CENTRES[None], axis=-1) / SCALES.max(), axis=1)
    assert np.mean(nearest < 4) > 0.99


def test_midpoints_are_halfway_between_two_different_codes():
    codes = np.arange(20, dtype=np.float32).reshape(10, 2) ** 2
    z = midpoints(codes, 500, key=jax.random.key(0))
    doubled = 2 * z
    # each 2z is the sum of two different rows of codes
    sums = {tuple(codes[i] + codes[j]) for i in range(10) for j in range(10) if i != j}
    assert all(tuple(row) in sums for row in doubled)
    assert np.array_equal(sample_latents(MIDPOINTS, codes, 500, key=jax.random.key(0), test_codes=codes), z)


def test_more_components_than_codes_is_a_one_line_error():
    with pytest.raises(jaxvae.ConfigError, match="a 10-component mixture needs at least 10 codes, got 4"):
        fit_mixture(np.zeros((4, 2)))
    with pytest.raises(jaxvae.ConfigError, match="at least 2 codes"):
        midpoints(np.zeros((1, 2)), 3, key=jax.random.key(0))
