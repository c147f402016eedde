"""Losses: Bernoulli reconstruction, the analytic KL to N(0, I), and the per-model objectives.

The VAE's KL to N(0, I) does two things at once, which the other kinds take apart:

    KL = 1/2 sum_j ( mean_j^2 )  +  1/2 sum_j ( sigma_j^2 - 1 - log sigma_j^2 )
         the pull to the origin      what keeps each posterior wide (noise on the code)

    ae        -log p(x | z = f(x))                                      neither
    rae       -log p(x | z = f(x)) + beta 1/2 ||f(x)||^2 + l2 ||decoder||^2   the pull, no noise
    noisy_ae  -log p(x | z = f(x) + noise eps), eps ~ N(0, I)           the noise, no pull
    vae       E_q[-log p(x | z)] + beta KL(q(z | x) || N(0, I))          both

All values are in nats per image. Every loss function returns per-image terms
(``LossTerms`` of arrays shaped [batch]) so callers can average, mask or report them.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.custom_derivatives import SymbolicZero

from jaxvae.models import RAE, VAE, Model, NoisyAE, reparameterize, to_pixels


class LossTerms(NamedTuple):
    """``total`` is what is minimised: ``reconstruction + beta * kl``, where ``kl`` is the model's
    regulariser: the KL for a VAE, ``1/2 ||z||^2`` for an RAE (whose ``total`` also has the decoder's
    weight decay), 0 for the autoencoder and the noisy autoencoder. With ``beta = 1`` a VAE's
    ``total`` is the negative ELBO."""

    total: jax.Array
    reconstruction: jax.Array
    kl: jax.Array


@jax.jit
def bernoulli_nll(logits: jax.Array, x: jax.Array) -> jax.Array:
    """-log p(x | z) for independent Bernoulli pixels, summed over the last axis.

    -log p(x | z) = sum_i softplus(l_i) - x_i l_i, which for x in [0, 1] is the sigmoid
    cross-entropy. With continuous x this is not a normalised likelihood, but it is the usual
    MNIST VAE reconstruction term. Differentiable in both arguments (forward and reverse mode).

    >>> round(float(bernoulli_nll(jnp.zeros(784), jnp.ones(784))), 2)  # p = 1/2 for every pixel
    543.43
    """
    return _sigmoid_cross_entropy_sum(logits, x)


@jax.custom_jvp
def _sigmoid_cross_entropy_sum(logits: jax.Array, x: jax.Array) -> jax.Array:
    return _sigmoid_cross_entropy_sum_and_grad(logits, x)[0]


def _sigmoid_cross_entropy_sum_and_grad(logits: jax.Array, x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """The summed cross-entropy and its derivative in the logits, sigmoid(l) - x, from one shared
    exp(-|l|): autodiff of softplus would evaluate the exponential again in the backward pass."""
    e = jnp.exp(-jnp.abs(logits))
    value = jnp.sum(jnp.maximum(logits, 0.0) + jnp.log1p(e) - x * logits, axis=-1)
    sigmoid = jnp.where(logits >= 0, 1.0, e) / (1.0 + e)
    return value, sigmoid - x


@partial(_sigmoid_cross_entropy_sum.defjvp, symbolic_zeros=True)
def _sigmoid_cross_entropy_sum_jvp(
    primals: tuple[jax.Array, jax.Array], tangents: tuple[jax.Array, jax.Array]
) -> tuple[jax.Array, jax.Array]:
    logits, x = primals
    logits_dot, x_dot = tangents
    value, d_logits = _sigmoid_cross_entropy_sum_and_grad(logits, x)
    terms = []  # only the inputs being differentiated contribute (the other tangent is a symbolic zero)
    if not isinstance(logits_dot, SymbolicZero):
        terms.append(d_logits * logits_dot)  # d/dl = sigmoid(l) - x
    if not isinstance(x_dot, SymbolicZero):
        terms.append(-logits * x_dot)  # d/dx = -l
    return value, jnp.sum(sum(terms), axis=-1)


@jax.jit
def kl_standard_normal(mean: jax.Array, logvar: jax.Array) -> jax.Array:
    """KL( N(mean, exp(logvar)) || N(0, I) ) summed over the last axis.

    KL = 1/2 sum_j ( exp(logvar_j) + mean_j^2 - 1 - logvar_j ).

    >>> float(kl_standard_normal(jnp.zeros(2), jnp.zeros(2)))  # the prior itself
    0.0
    >>> float(kl_standard_normal(jnp.array([3.0, 4.0]), jnp.zeros(2)))  # a shifted unit Gaussian
    12.5
    """
    return 0.5 * jnp.sum(jnp.exp(logvar) + jnp.square(mean) - 1.0 - logvar, axis=-1)


@jax.jit
def ae_loss(model: Model, images: jax.Array) -> LossTerms:
    """Autoencoder: the reconstruction term alone, -log p(x | z = encoder(x)), per image."""
    x = to_pixels(images)
    nll = bernoulli_nll(model.decode(model.encode(x).mean), x)
    return LossTerms(nll, nll, jnp.zeros_like(nll))


@jax.jit
def vae_loss(model: VAE, images: jax.Array, *, key: jax.Array, beta: float = 1.0) -> LossTerms:
    """VAE: E_q[-log p(x | z)] + beta * KL(q(z | x) || p(z)), one reparameterised sample, per image.

    With ``beta = 1`` ``total`` is the negative evidence lower bound,
    -ELBO(x) = -E_q[log p(x | z)] + KL(q(z | x) || N(0, I)) >= -log p(x).
    """
    x = to_pixels(images)
    mean, logvar = model.encode(x)
    z = reparameterize(mean, logvar, key=key)
    reconstruction = bernoulli_nll(model.decode(z), x)
    kl = kl_standard_normal(mean, logvar)
    return LossTerms(reconstruction + beta * kl, reconstruction, kl)


@jax.jit
def rae_loss(model: RAE, images: jax.Array, *, beta: float = 1.0) -> LossTerms:
    """RAE-L2 (Ghosh et al. 2020): -log p(x | z = f(x)) + beta 1/2 ||z||^2 + l2 ||decoder weights||^2
    per image, with ``l2 = model.decoder_l2``. ``beta 1/2 ||z||^2`` is exactly the pull part of the
    VAE's KL at the same beta; the decay (on the decoder's kernels, not its biases) is the same for
    every image of a batch, so a batch mean adds it once."""
    x = to_pixels(images)
    z = model.encode(x).mean
    reconstruction = bernoulli_nll(model.decode(z), x)
    pull = 0.5 * jnp.sum(jnp.square(z), axis=-1)
    decay = model.decoder_l2 * sum(jnp.sum(jnp.square(k)) for k in model.decoder.kernels())
    return LossTerms(reconstruction + beta * pull + decay, reconstruction, pull)


@jax.jit
def noisy_ae_loss(model: NoisyAE, images: jax.Array, *, key: jax.Array) -> LossTerms:
    """Noisy autoencoder: -log p(x | z), z = f(x) + noise eps with eps ~ N(0, I) (one draw), per
    image: the VAE's sampling at a fixed width, and no KL."""
    x = to_pixels(images)
    mean, logvar = model.encode(x)
    assert logvar is not None  # a noisy autoencoder's posterior has its fixed width
    nll = bernoulli_nll(model.decode(reparameterize(mean, logvar, key=key)), x)
    return LossTerms(nll, nll, jnp.zeros_like(nll))


@jax.jit
def loss_terms(model: Model, images: jax.Array, *, key: jax.Array, beta: float = 1.0) -> LossTerms:
    """The model's own objective per image: ``vae_loss``, ``rae_loss``, ``noisy_ae_loss`` or ``ae_loss``."""
    if isinstance(model, VAE):
        return vae_loss(model, images, key=key, beta=beta)
    if isinstance(model, RAE):
        return rae_loss(model, images, beta=beta)
    if isinstance(model, NoisyAE):
        return noisy_ae_loss(model, images, key=key)
    return ae_loss(model, images)


@jax.jit
def negative_elbo(model: VAE, images: jax.Array, *, key: jax.Array) -> jax.Array:
    """-ELBO(x) per image in nats (one reparameterised sample): an upper bound on -log p(x)."""
    return vae_loss(model, images, key=key, beta=1.0).total


def mean_terms(terms: LossTerms, weights: jax.Array | None = None) -> LossTerms:
    """Average per-image terms, optionally weighted (weights of 0 mask padding)."""
    if weights is None:
        return jax.tree.map(jnp.mean, terms)
    total_weight = jnp.sum(weights)
    return jax.tree.map(lambda t: jnp.sum(t * weights) / total_weight, terms)
