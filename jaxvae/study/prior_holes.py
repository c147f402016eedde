"""Prior holes: where N(0, I) puts mass that no training image's code distribution covers.

A VAE's prior samples decode badly where the aggregate posterior q(z) = (1/N) sum_n q(z | x_n) is
thin though the prior p(z) is not (Rosca et al. 2018; Dai & Wipf 2019; Aneja et al. 2021). Here a
*hole* is a point where q(z) < p(z) / 10, and ``prior_holes`` measures, for a 2-D latent, by the
Riemann sum on a uniform grid over the prior's region:

- ``hole_mass``: the share of the prior's mass in holes;
- ``accepted_in_holes`` / ``accepted_elsewhere``: the judge's acceptance of the decodes there and
  elsewhere, each point weighted by its prior mass (what prior samples in each region would get).

The aggregate posterior is exact for models with posteriors (the VAE, the noisy autoencoder: a
mixture of every training image's Gaussian); for deterministic ones (the autoencoder, the RAE),
whose posteriors are points, it is a Gaussian kernel density of the codes, bandwidth by Scott's
rule (sigma_j N^(-1/6) per axis in 2-D). Both are a mixture of N Gaussians, evaluated on the
grid with ``jaxvae.likelihood.log_normal``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxvae.latent import grid_points
from jaxvae.likelihood import log_normal, log_standard_normal

HOLE_RATIO = 0.1  # a hole: the aggregate posterior below a tenth of the prior
RADIUS = 4.5  # the grid spans [-RADIUS, RADIUS]^2: all but 2e-5 of N(0, I)'s mass
RESOLUTION = 120


def kernel_logvar(codes: np.ndarray) -> np.ndarray:
    """Scott's bandwidth for a Gaussian kernel density of codes [N, d], as a log-variance per axis:
    (sigma_j N^(-1/(d + 4)))^2."""
    n, d = codes.shape
    return 2.0 * np.log(np.std(codes, axis=0) * n ** (-1.0 / (d + 4)))


@jax.jit
def aggregate_log_density(z: jax.Array, means: jax.Array, logvars: jax.Array) -> jax.Array:
    """log (1/N) sum_n N(z; means_n, diag(exp(logvars_n))) at points z [P, d], [P]; ``logvars`` is
    [N, d] or one [d] for all. One point's mixture at a time (``lax.map``), so memory stays [N]."""
    logvars = jnp.broadcast_to(logvars, means.shape)

    def at(point: jax.Array) -> jax.Array:
        return jax.nn.logsumexp(log_normal(point[None], means, logvars))

    return jax.lax.map(at, z, batch_size=64) - math.log(means.shape[0])


def prior_holes(
    means: np.ndarray,
    logvars: np.ndarray | None,
    accepts: Callable[[np.ndarray], np.ndarray],
    *,
    resolution: int = RESOLUTION,
    radius: float = RADIUS,
) -> dict[str, Any]:
    """The prior-hole measures of a 2-D model whose training codes are ``means`` [N, 2] with
    posterior log-variances ``logvars`` [N, 2] (None: a deterministic model, kernel density).
    ``accepts(z)`` says whether the judge accepts the decode at each point z [P, 2]."""
    if logvars is None:
        logvars = kernel_logvar(means)
    z = grid_points((-radius, radius), (-radius, radius), resolution).reshape(-1, 2).astype(np.float32)
    log_q = np.asarray(aggregate_log_density(jnp.asarray(z), jnp.asarray(means), jnp.asarray(logvars)))
    log_p = np.asarray(log_standard_normal(jnp.asarray(z)))
    weight = np.exp(log_p)  # each cell's prior mass, up to the common cell area
    hole = log_q < log_p + math.log(HOLE_RATIO)
    accepted = np.asarray(accepts(z), bool)

    def share(mask: np.ndarray) -> float | None:
        total = float(np.sum(weight[mask]))
        return float(np.sum(weight[mask & accepted]) / total) if total > 0 else None

    return {
        "hole_mass": float(np.sum(weight[hole]) / np.sum(weight)),
        "accepted_in_holes": share(hole),
        "accepted_elsewhere": share(~hole),
        "resolution": resolution,
        "radius": radius,
    }
