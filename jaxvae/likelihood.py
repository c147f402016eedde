"""Held-out log-likelihood: the ELBO, the importance-weighted bound, and 2-D quadrature.

Every estimator here is written against a *log-likelihood function* ``log_lik(z) -> log p(x | z)``
for a batch of images (z [..., B, d] -> [..., B]) and the encoder's Gaussian posterior
q(z | x) = N(mean, exp(logvar)), so the same code serves jaxvae's Bernoulli decoders and, in the
tests, a linear-Gaussian model whose marginal log p(x) is known in closed form.

With log weights  log w = log p(x | z) + log p(z) - log q(z | x),  z ~ q(z | x):

- ELBO_k   = (1/k) sum_i log w_i                      (the mean of k single-sample ELBOs)
- IWAE_k   = log (1/k) sum_i w_i                      (Burda et al. 2015; IWAE_1 = ELBO,
                                                       non-decreasing in k, -> log p(x) as k grows)
- exact    = log integral p(x | z) p(z) dz            (2-D latents only, by quadrature)

All in nats per image; chunked with ``lax.map`` / ``lax.scan`` so memory stays bounded.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial

import jax
import jax.numpy as jnp

from jaxvae.errors import ConfigError
from jaxvae.losses import bernoulli_nll
from jaxvae.models import VAE, to_pixels

LogLik = Callable[[jax.Array], jax.Array]
LOG_2PI = math.log(2 * math.pi)


def log_normal(z: jax.Array, mean: jax.Array, logvar: jax.Array) -> jax.Array:
    """log N(z; mean, diag(exp(logvar))), summed over the last axis."""
    return -0.5 * jnp.sum(LOG_2PI + logvar + jnp.square(z - mean) * jnp.exp(-logvar), axis=-1)


def log_standard_normal(z: jax.Array) -> jax.Array:
    """log N(z; 0, I), summed over the last axis."""
    return -0.5 * jnp.sum(LOG_2PI + jnp.square(z), axis=-1)


def log_weights(log_lik: LogLik, mean: jax.Array, logvar: jax.Array, *, key: jax.Array, k: int) -> jax.Array:
    """k importance log weights per image, [k, B], with z drawn from q(z | x) by reparameterisation."""
    eps = jax.random.normal(key, (k, *mean.shape), mean.dtype)
    z = mean[None] + jnp.exp(0.5 * logvar)[None] * eps
    return log_lik(z) + log_standard_normal(z) - log_normal(z, mean[None], logvar[None])


def iwae_and_elbo(
    log_lik: LogLik, mean: jax.Array, logvar: jax.Array, *, key: jax.Array, k: int, k_chunk: int = 100
) -> tuple[jax.Array, jax.Array]:
    """(IWAE_k, ELBO_k) per image, [B] each, drawing the k samples ``k_chunk`` at a time.

    A running log-sum-exp keeps memory at one chunk of samples whatever k is. Chunk ``c`` uses
    ``fold_in(key, c)``; the last chunk is masked where k is not a multiple of ``k_chunk``.
    """
    chunk = min(k_chunk, k)
    num_chunks = -(-k // chunk)

    def body(carry: tuple[jax.Array, jax.Array, jax.Array], c: jax.Array):
        running_max, running_sum, weight_total = carry
        lw = log_weights(log_lik, mean, logvar, key=jax.random.fold_in(key, c), k=chunk)
        valid = (c * chunk + jnp.arange(chunk)) < k
        lw_masked = jnp.where(valid[:, None], lw, -jnp.inf)
        new_max = jnp.maximum(running_max, jnp.max(lw_masked, axis=0))
        running_sum = running_sum * jnp.exp(running_max - new_max) + jnp.sum(
            jnp.exp(lw_masked - new_max[None]), axis=0
        )
        weight_total = weight_total + jnp.sum(jnp.where(valid[:, None], lw, 0.0), axis=0)
        return (new_max, running_sum, weight_total), None

    batch = mean.shape[:-1]
    init = (jnp.full(batch, -jnp.inf), jnp.zeros(batch), jnp.zeros(batch))
    (running_max, running_sum, weight_total), _ = jax.lax.scan(body, init, jnp.arange(num_chunks))
    return running_max + jnp.log(running_sum) - math.log(k), weight_total / k


def quadrature_log_marginal(
    log_lik: LogLik,
    mean: jax.Array,
    logvar: jax.Array,
    *,
    resolution: int = 64,
    width: float = 8.0,
    outer_resolution: int = 64,
    outer_radius: float = 6.0,
) -> tuple[jax.Array, jax.Array]:
    """log p(x) = log integral p(x | z) p(z) dz for a 2-D latent, per image, by the midpoint rule.

    1. A shared coarse ``outer_resolution``^2 grid on ``[-outer_radius, outer_radius]^2`` (the
       prior's region) locates the true posterior's mass, wherever it is.
    2. Each image gets a fine ``resolution``^2 box covering both q's ``mean +- width * std`` and every
       coarse cell holding more than 1e-8 of the coarse maximum (plus one cell of margin), so a
       posterior that q misses or underestimates is still integrated finely.
    3. The coarse cells whose centres lie outside an image's box add the remainder; the two parts
       are combined by log-sum-exp.

    Returns (log p(x) [B], the share of p(x) found outside the fine box [B]). Halving both cell
    sizes until the mean moves by less than a tolerance is the caller's convergence check.
    """
    v = ((jnp.arange(outer_resolution) + 0.5) / outer_resolution * 2.0 - 1.0) * outer_radius
    cell = 2.0 * outer_radius / outer_resolution
    outer_grid = jnp.stack(jnp.meshgrid(v, v, indexing="ij"), axis=-1).reshape(-1, 1, 2)  # [M, 1, 2]
    z_outer = jnp.broadcast_to(outer_grid, (outer_grid.shape[0], *mean.shape))  # [M, B, 2]
    outer = log_lik(z_outer) + log_standard_normal(z_outer)  # [M, B]

    significant = (outer - jnp.max(outer, axis=0, keepdims=True) > math.log(1e-8))[..., None]  # [M, B, 1]
    half = width * jnp.exp(0.5 * logvar)
    low = jnp.minimum(mean - half, jnp.min(jnp.where(significant, z_outer, jnp.inf), axis=0) - cell)
    high = jnp.maximum(mean + half, jnp.max(jnp.where(significant, z_outer, -jnp.inf), axis=0) + cell)

    u = (jnp.arange(resolution) + 0.5) / resolution
    grid = jnp.stack(jnp.meshgrid(u, u, indexing="ij"), axis=-1).reshape(-1, 1, 2)  # [G*G, 1, 2]
    z_inner = low[None] + grid * (high - low)[None]  # [G*G, B, 2]
    log_area_inner = jnp.sum(jnp.log((high - low) / resolution), axis=-1)  # [B]
    log_inner = jax.nn.logsumexp(log_lik(z_inner) + log_standard_normal(z_inner), axis=0) + log_area_inner

    inside = jnp.all((z_outer >= low[None]) & (z_outer <= high[None]), axis=-1)  # [M, B]
    log_outer = jax.nn.logsumexp(jnp.where(inside, -jnp.inf, outer), axis=0) + 2 * math.log(cell)
    total = jnp.logaddexp(log_inner, log_outer)
    return total, jnp.exp(log_outer - total)


# --------------------------------------------------------------------------- jaxvae's models


def bernoulli_log_lik(model: VAE, images: jax.Array) -> LogLik:
    """log p(x | z) of ``model``'s Bernoulli decoder for a batch of images [B, 28, 28]."""
    x = to_pixels(images)

    def log_lik(z: jax.Array) -> jax.Array:
        logits = model.decode(z)
        return -bernoulli_nll(logits, jnp.broadcast_to(x, logits.shape))

    return log_lik


def _posterior(model: VAE, images: jax.Array) -> tuple[jax.Array, jax.Array]:
    mean, logvar = model.encode(to_pixels(images))
    if logvar is None:
        raise ConfigError("likelihood bounds need a VAE; an autoencoder has no posterior distribution")
    return mean, logvar


@partial(jax.jit, static_argnames=("ks", "k_chunk"))
def iwae_bounds(
    model: VAE, images: jax.Array, *, key: jax.Array, ks: tuple[int, ...], k_chunk: int = 100
) -> tuple[jax.Array, jax.Array]:
    """IWAE_k for each k in ``ks`` ([len(ks), B]) and the ELBO averaged over the largest k ([B]).

    Each k draws its own samples (key ``fold_in(key, k)``), so the bounds are independent estimates.
    """
    mean, logvar = _posterior(model, images)
    log_lik = bernoulli_log_lik(model, images)
    bounds, elbos = [], []
    for k in ks:
        iwae, elbo_k = iwae_and_elbo(
            log_lik, mean, logvar, key=jax.random.fold_in(key, k), k=k, k_chunk=k_chunk
        )
        bounds.append(iwae)
        elbos.append(elbo_k)
    return jnp.stack(bounds), elbos[ks.index(max(ks))]


@partial(jax.jit, static_argnames=("resolution",))
def exact_log_marginal(model: VAE, images: jax.Array, *, resolution: int) -> tuple[jax.Array, jax.Array]:
    """log p(x) per image for a 2-D latent by quadrature at ``resolution`` (fine and outer grids)."""
    mean, logvar = _posterior(model, images)
    return quadrature_log_marginal(
        bernoulli_log_lik(model, images), mean, logvar, resolution=resolution, outer_resolution=resolution
    )
