"""The autoencoder and the VAE as Flax NNX modules, and the pure functions that apply them.

Two more kinds take the autoencoder's network apart from the VAE's KL term: the RAE (the KL's pull
of the codes towards the origin, without noise) and the noisy autoencoder (noise on the codes,
without the pull). NNX modules are pytrees, so a model passes straight through ``jax.jit``,
``jax.grad``, ``jax.vmap`` and optax. The modules hold parameters and, for those two, one fixed
number (static, not trained); everything stochastic takes an explicit ``key``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
from flax import nnx

from jaxvae.errors import ConfigError

NUM_PIXELS = 28 * 28


class Posterior(NamedTuple):
    """The encoder's output: q(z | x) = N(mean, exp(logvar)). An autoencoder's ``logvar`` is None
    (its posterior is a point mass at ``mean``)."""

    mean: jax.Array
    logvar: jax.Array | None


class MLP(nnx.Module):
    """Dense layers with ReLU between them and no activation after the last."""

    def __init__(self, sizes: Sequence[int], *, rngs: nnx.Rngs, dtype: jnp.dtype | None = None) -> None:
        # parameters stay float32; ``dtype`` (e.g. bfloat16) is the compute type of the matmuls
        layers = [nnx.Linear(a, b, rngs=rngs, dtype=dtype) for a, b in itertools.pairwise(sizes)]
        self.layers = nnx.List(layers)

    def __call__(self, x: jax.Array) -> jax.Array:
        for layer in self.layers[:-1]:
            x = jax.nn.relu(layer(x))
        return self.layers[-1](x)


class AutoEncoder(nnx.Module):
    """784 -> hidden -> latent -> reversed hidden -> 784 logits, trained only to reconstruct."""

    def __init__(
        self,
        latent_dim: int = 2,
        hidden_dims: Sequence[int] = (512, 256),
        *,
        rngs: nnx.Rngs,
        dtype: jnp.dtype | None = None,
    ) -> None:
        self.encoder = MLP([NUM_PIXELS, *hidden_dims, latent_dim], rngs=rngs, dtype=dtype)
        self.decoder = MLP([latent_dim, *reversed(hidden_dims), NUM_PIXELS], rngs=rngs, dtype=dtype)

    def encode(self, x: jax.Array) -> Posterior:
        return Posterior(self.encoder(x).astype(jnp.float32), None)

    def decode(self, z: jax.Array) -> jax.Array:
        return self.decoder(z).astype(jnp.float32)


class VAE(nnx.Module):
    """Like the autoencoder, but the encoder gives a Gaussian posterior: mean and log-variance heads."""

    def __init__(
        self,
        latent_dim: int = 2,
        hidden_dims: Sequence[int] = (512, 256),
        *,
        rngs: nnx.Rngs,
        dtype: jnp.dtype | None = None,
    ) -> None:
        self.trunk = MLP([NUM_PIXELS, *hidden_dims], rngs=rngs, dtype=dtype)
        self.mean_head = nnx.Linear(hidden_dims[-1], latent_dim, rngs=rngs, dtype=dtype)
        self.logvar_head = nnx.Linear(hidden_dims[-1], latent_dim, rngs=rngs, dtype=dtype)
        self.decoder = MLP([latent_dim, *reversed(hidden_dims), NUM_PIXELS], rngs=rngs, dtype=dtype)

    def encode(self, x: jax.Array) -> Posterior:
        h = jax.nn.relu(self.trunk(x))
        return Posterior(self.mean_head(h).astype(jnp.float32), self.logvar_head(h).astype(jnp.float32))

    def decode(self, z: jax.Array) -> jax.Array:
        return self.decoder(z).astype(jnp.float32)


class RAE(AutoEncoder):
    """A regularised deterministic autoencoder (Ghosh et al. 2020, RAE-L2): the autoencoder's
    network, trained with a pull of the codes towards the origin and weight decay on the decoder
    (``jaxvae.losses.rae_loss``); ``decoder_l2`` is the weight of that decay."""

    def __init__(
        self,
        latent_dim: int = 2,
        hidden_dims: Sequence[int] = (512, 256),
        *,
        rngs: nnx.Rngs,
        dtype: jnp.dtype | None = None,
        decoder_l2: float = 1e-3,
    ) -> None:
        super().__init__(latent_dim, hidden_dims, rngs=rngs, dtype=dtype)
        self.decoder_l2 = decoder_l2


class NoisyAE(AutoEncoder):
    """The autoencoder's network with fixed Gaussian noise on its codes: q(z | x) = N(encoder(x),
    noise^2 I), trained to reconstruct from a draw of it, with no KL term (``jaxvae.losses``)."""

    def __init__(
        self,
        latent_dim: int = 2,
        hidden_dims: Sequence[int] = (512, 256),
        *,
        rngs: nnx.Rngs,
        dtype: jnp.dtype | None = None,
        noise: float = 1.0,
    ) -> None:
        super().__init__(latent_dim, hidden_dims, rngs=rngs, dtype=dtype)
        self.noise = noise

    def encode(self, x: jax.Array) -> Posterior:
        mean = self.encoder(x).astype(jnp.float32)
        return Posterior(mean, jnp.full_like(mean, 2.0 * math.log(self.noise)))


Model = AutoEncoder | VAE  # RAE and NoisyAE are autoencoders
MODEL_KINDS = ("ae", "vae", "rae", "noisy_ae")
# how figures and pages name each kind
MODEL_NAMES = {"ae": "Autoencoder", "vae": "VAE", "rae": "RAE", "noisy_ae": "Noisy AE"}


def make_model(
    kind: str,
    *,
    key: jax.Array,
    latent_dim: int = 2,
    hidden_dims: Sequence[int] = (512, 256),
    dtype: str | jnp.dtype | None = None,
    noise: float = 1.0,
    decoder_l2: float = 1e-3,
) -> Model:
    """Build an ``"ae"``, ``"vae"``, ``"rae"`` or ``"noisy_ae"`` with float32 parameters initialised
    from ``key`` (the three autoencoders start from the same parameters for the same key).

    ``dtype`` is the compute type of the dense layers (``"bfloat16"`` for mixed precision); the
    model's outputs (codes, logits) and so the losses are float32 either way. ``noise`` is the
    noisy autoencoder's code noise (its sigma), ``decoder_l2`` the RAE's decoder weight decay.
    """
    if kind not in MODEL_KINDS:
        raise ConfigError(f"unknown model {kind!r}; choose one of {', '.join(MODEL_KINDS)}")
    if latent_dim < 1 or not hidden_dims or min(hidden_dims) < 1:
        raise ConfigError(f"latent_dim and hidden sizes must be >= 1 (got {latent_dim}, {hidden_dims})")
    if not (math.isfinite(noise) and noise > 0):
        raise ConfigError(f"noise must be a positive number, got {noise}")
    if not (math.isfinite(decoder_l2) and decoder_l2 >= 0):
        raise ConfigError(f"decoder_l2 must be a non-negative number, got {decoder_l2}")
    compute = None if dtype in (None, "float32") else jnp.dtype(dtype)
    rngs, sizes = nnx.Rngs(params=key), (latent_dim, tuple(hidden_dims))
    if kind == "vae":
        return VAE(*sizes, rngs=rngs, dtype=compute)
    if kind == "rae":
        return RAE(*sizes, rngs=rngs, dtype=compute, decoder_l2=decoder_l2)
    if kind == "noisy_ae":
        return NoisyAE(*sizes, rngs=rngs, dtype=compute, noise=noise)
    return AutoEncoder(*sizes, rngs=rngs, dtype=compute)


def to_pixels(images: jax.Array) -> jax.Array:
    """Images [..., 28, 28] (uint8 0..255, or floats in [0, 1]) to float32 pixels [..., 784] in [0, 1].

    This is where uint8 data becomes floating point: inside the compiled computation, on device.
    """
    x = images.reshape(*images.shape[:-2], NUM_PIXELS)
    if images.dtype == jnp.uint8:
        return x.astype(jnp.float32) / 255.0
    return x.astype(jnp.float32)


@jax.jit
def encode(model: Model, images: jax.Array) -> Posterior:
    """Encode images [..., 28, 28] to the posterior ``(mean, logvar)`` over z, each [..., latent].

    For the autoencoder (and the RAE) ``mean`` is the code z and ``logvar`` is None; for the noisy
    autoencoder ``logvar`` is its fixed ``2 log noise``.
    """
    return model.encode(to_pixels(images))


@jax.jit
def decode(model: Model, z: jax.Array) -> jax.Array:
    """Decode latents [..., latent] to Bernoulli logits [..., 28, 28]; ``jax.nn.sigmoid`` gives pixels."""
    return model.decode(z).reshape(*z.shape[:-1], *(28, 28))


@jax.jit
def reparameterize(mean: jax.Array, logvar: jax.Array, *, key: jax.Array) -> jax.Array:
    """Sample z ~ N(mean, exp(logvar)) as z = mean + exp(logvar / 2) * eps, eps ~ N(0, I).

    Writing the sample as a deterministic function of (mean, logvar) and independent noise is the
    reparameterization trick: gradients flow to ``mean`` and ``logvar``.
    """
    eps = jax.random.normal(key, mean.shape, mean.dtype)
    return mean + jnp.exp(0.5 * logvar) * eps
