"""Prior holes on cases whose answer is known."""

import math

import jax.numpy as jnp
import numpy as np
from scipy.stats import norm

from jaxvae.study.prior_holes import aggregate_log_density, kernel_logvar, prior_holes


def test_an_aggregate_posterior_equal_to_the_prior_has_no_holes():
    means, logvars = np.zeros((50, 2), np.float32), np.zeros((50, 2), np.float32)
    result = prior_holes(means, logvars, lambda z: np.ones(len(z), bool))
    assert result["hole_mass"] == 0.0 and result["accepted_in_holes"] is None
    assert result["accepted_elsewhere"] == 1.0


def test_a_shifted_aggregate_posterior_leaves_the_hole_its_formula_gives():
    # q = N((3, 0), I): q < p / 10 where 3 z1 - 4.5 < log 0.1, i.e. z1 < (4.5 + log 0.1) / 3
    cut = (4.5 + math.log(0.1)) / 3
    means = np.tile(np.float32([3.0, 0.0]), (20, 1))
    result = prior_holes(means, np.zeros((20, 2), np.float32), lambda z: z[:, 0] > 0)
    assert abs(result["hole_mass"] - norm.cdf(cut)) < 0.01
    # prior-weighted acceptance of "z1 > 0": inside the hole P(0 < z1 < cut) / P(z1 < cut)
    expected = (norm.cdf(cut) - 0.5) / norm.cdf(cut)
    assert abs(result["accepted_in_holes"] - expected) < 0.01 and result["accepted_elsewhere"] == 1.0


def test_codes_far_from_the_prior_leave_it_all_a_hole():
    means = np.random.default_rng(0).normal(20.0, 0.5, (500, 2)).astype(np.float32)
    assert prior_holes(means, None, lambda z: np.ones(len(z), bool))["hole_mass"] > 0.999


def test_aggregate_density_and_kernel_bandwidth_match_their_formulas():
    rng = np.random.default_rng(1)
    means = rng.normal(size=(30, 2)).astype(np.float32)
    logvars = rng.normal(-1.0, 0.3, (30, 2)).astype(np.float32)
    z = rng.normal(size=(7, 2)).astype(np.float32)
    var = np.exp(logvars)
    dens = np.exp(-0.5 * np.sum((z[:, None] - means[None]) ** 2 / var[None], -1)) / (
        2 * np.pi * np.sqrt(var.prod(-1))
    )
    expected = np.log(dens.mean(axis=1))
    ours = aggregate_log_density(jnp.asarray(z), jnp.asarray(means), jnp.asarray(logvars))
    np.testing.assert_allclose(ours, expected, rtol=1e-5)
    codes = rng.normal(0, [2.0, 0.5], (1000, 2))
    np.testing.assert_allclose(np.exp(0.5 * kernel_logvar(codes)), codes.std(0) * 1000 ** (-1 / 6))
