"""Where a model's new codes come from: the latent samplers the study compares.

- ``N(0, I)``: the VAE's prior, the popular claim's sampler for both models.
- ``uniform over the code box``: any point of the region the training codes span.
- ``Gaussian fitted to the codes``: one Gaussian, their mean and covariance.
- ``GMM fitted to the codes (K = 10)``: an ex-post density (Ghosh et al. 2020): a mixture of ten
  full-covariance Gaussians fitted after training to the training codes (the posterior means, for
  a VAE) by scikit-learn's ``GaussianMixture``, then sampled with a JAX key.
- ``midpoints of test-code pairs``: Ghosh et al.'s "Interp.": the decodes halfway between the codes
  of two random test images.

Every sampler is a function of its codes and a key: the same key gives the same points.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxvae.errors import ConfigError

PRIOR = "N(0, I)"
UNIFORM = "uniform over the code box"
GAUSSIAN = "Gaussian fitted to the codes"
GMM = "GMM fitted to the codes (K = 10)"
MIDPOINTS = "midpoints of test-code pairs"
GMM_COMPONENTS = 10


class Mixture(NamedTuple):
    """A fitted Gaussian mixture: ``weights`` [K], ``means`` [K, d], ``covariances`` [K, d, d]."""

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray


def code_box(codes: np.ndarray, low: float = 0.5, high: float = 99.5) -> tuple[np.ndarray, np.ndarray]:
    """The percentile box of codes [N, d]: its lower and upper corners, [d] each."""
    lo, hi = np.percentile(codes, [low, high], axis=0)
    return lo, hi


def fit_mixture(codes: np.ndarray, *, components: int = GMM_COMPONENTS, seed: int = 0) -> Mixture:
    """A ``components``-Gaussian mixture (full covariances) fitted to codes [N, d] by EM
    (``sklearn.mixture.GaussianMixture``, k-means initialisation with ``seed``). ``ConfigError``
    when there are fewer codes than components."""
    from sklearn.mixture import GaussianMixture

    if not 1 <= components <= len(codes):
        raise ConfigError(
            f"a {components}-component mixture needs at least {components} codes, got {len(codes)}"
        )
    fitted = GaussianMixture(components, covariance_type="full", random_state=seed).fit(
        np.asarray(codes, np.float64)
    )
    return Mixture(fitted.weights_, fitted.means_, fitted.covariances_)


def sample_mixture(mixture: Mixture, count: int, *, key: jax.Array) -> np.ndarray:
    """``count`` draws [count, d] from ``mixture``: a component by its weight, then its Gaussian."""
    pick_key, normal_key = jax.random.split(key)
    which = np.asarray(
        jax.random.choice(pick_key, len(mixture.weights), (count,), p=jnp.asarray(mixture.weights))
    )
    chol = np.linalg.cholesky(mixture.covariances)  # [K, d, d]
    eps = np.asarray(jax.random.normal(normal_key, (count, mixture.means.shape[1])), np.float64)
    return (mixture.means[which] + np.einsum("nij,nj->ni", chol[which], eps)).astype(np.float32)


def midpoints(codes: np.ndarray, count: int, *, key: jax.Array) -> np.ndarray:
    """``count`` midpoints [count, d] between the codes of two different random images of ``codes``."""
    if len(codes) < 2:
        raise ConfigError(f"midpoints need at least 2 codes, got {len(codes)}")
    first_key, offset_key = jax.random.split(key)
    first = np.asarray(jax.random.randint(first_key, (count,), 0, len(codes)))
    second = (first + np.asarray(jax.random.randint(offset_key, (count,), 1, len(codes)))) % len(codes)
    return (0.5 * (codes[first] + codes[second])).astype(np.float32)


def sample_latents(
    sampler: str, codes: np.ndarray, count: int, *, key: jax.Array, test_codes: np.ndarray | None = None
) -> np.ndarray:
    """``count`` latent points [count, d] from ``sampler`` (one of this module's names), fitted to the
    training ``codes`` [N, d]; the midpoints take the ``test_codes``."""
    d = codes.shape[1]
    if sampler == PRIOR:
        return np.asarray(jax.random.normal(key, (count, d)))
    if sampler == UNIFORM:
        lo, hi = code_box(codes)
        return lo + np.asarray(jax.random.uniform(key, (count, d))) * (hi - lo)
    if sampler == GAUSSIAN:
        mean, cov = np.mean(codes, axis=0), np.cov(codes, rowvar=False).reshape(d, d)
        return np.asarray(jax.random.multivariate_normal(key, jnp.asarray(mean), jnp.asarray(cov), (count,)))
    if sampler == GMM:
        fit_key, draw_key = jax.random.split(key)
        seed = int(jax.random.randint(fit_key, (), 0, 2**31 - 1))
        return sample_mixture(fit_mixture(codes, seed=seed), count, key=draw_key)
    if sampler == MIDPOINTS:
        if test_codes is None:
            raise ValueError("the midpoints sampler needs test_codes")
        return midpoints(test_codes, count, key=key)
    raise ValueError(f"unknown sampler {sampler!r}")
