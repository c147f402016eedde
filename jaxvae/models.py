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
import numpy as np
from flax import nnx

from jaxvae.conv import FORMS, Conv, ConvTranspose, default_form
from jaxvae.errors import ConfigError
from jaxvae.spec import ModelSpec

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

    def kernels(self) -> list[jax.Array]:
        """The weight matrices (not the biases): what the RAE's weight decay acts on."""
        return [layer.kernel[...] for layer in self.layers]


class ConvEncoder(nnx.Module):
    """Pixels [..., 784] -> two 4x4 stride-2 convolutions with ReLU (28 -> 14 -> 7, ``channels``)
    -> dense layers through ``hidden`` to ``out`` (ReLU between them; with ``out`` None, the last of
    ``hidden`` is the output, or with no ``hidden`` the flattened 7x7 maps after their ReLU)."""

    def __init__(
        self,
        channels: Sequence[int],
        hidden: Sequence[int],
        out: int | None,
        *,
        form: str,
        rngs: nnx.Rngs,
        dtype: jnp.dtype | None = None,
    ) -> None:
        first, second = channels
        self.convs = nnx.List(
            [
                Conv(1, first, form=form, rngs=rngs, dtype=dtype),
                Conv(first, second, form=form, rngs=rngs, dtype=dtype),
            ]
        )
        sizes = [7 * 7 * second, *hidden, *([] if out is None else [out])]
        self.dense = MLP(sizes, rngs=rngs, dtype=dtype) if len(sizes) > 1 else None

    def __call__(self, x: jax.Array) -> jax.Array:
        h = x.reshape(-1, 28, 28, 1)
        for conv in self.convs:
            h = jax.nn.relu(conv(h))
        h = h.reshape(*x.shape[:-1], -1)
        return h if self.dense is None else self.dense(h)


class ConvDecoder(nnx.Module):
    """The mirror of ``ConvEncoder``: codes [..., latent] -> dense layers through ``hidden`` (reversed)
    to 7x7 maps of the last of ``channels`` (ReLU after each) -> two 4x4 stride-2 transposed
    convolutions (7 -> 14 -> 28) -> 784 logits."""

    def __init__(
        self,
        latent_dim: int,
        channels: Sequence[int],
        hidden: Sequence[int],
        *,
        form: str,
        rngs: nnx.Rngs,
        dtype: jnp.dtype | None = None,
    ) -> None:
        first, second = channels
        self.dense = MLP([latent_dim, *reversed(hidden), 7 * 7 * second], rngs=rngs, dtype=dtype)
        self.convs = nnx.List(
            [
                ConvTranspose(second, first, form=form, rngs=rngs, dtype=dtype),
                ConvTranspose(first, 1, form=form, rngs=rngs, dtype=dtype),
            ]
        )
        self.maps = second

    def __call__(self, z: jax.Array) -> jax.Array:
        h = jax.nn.relu(self.dense(z)).reshape(-1, 7, 7, self.maps)
        h = self.convs[1](jax.nn.relu(self.convs[0](h)))
        return h.reshape(*z.shape[:-1], NUM_PIXELS)

    def kernels(self) -> list[jax.Array]:
        """The weights (not the biases): what the RAE's weight decay acts on."""
        return [*self.dense.kernels(), *(conv.kernel[...] for conv in self.convs)]


def _compute(spec: ModelSpec) -> jnp.dtype | None:
    return None if spec.dtype == "float32" else jnp.dtype(spec.dtype)


def encoder_network(
    spec: ModelSpec, out: int | None, *, form: str | None, rngs: nnx.Rngs
) -> MLP | ConvEncoder:
    """The spec's encoder network from pixels to ``out`` numbers (None: to its last hidden layer)."""
    if spec.arch == "conv":
        return ConvEncoder(
            spec.channels, spec.dense_dims, out, form=form or default_form(), rngs=rngs, dtype=_compute(spec)
        )
    sizes = [NUM_PIXELS, *spec.hidden_dims, *([] if out is None else [out])]
    return MLP(sizes, rngs=rngs, dtype=_compute(spec))


def decoder_network(spec: ModelSpec, *, form: str | None, rngs: nnx.Rngs) -> MLP | ConvDecoder:
    """The spec's decoder network from codes to 784 logits."""
    if spec.arch == "conv":
        return ConvDecoder(
            spec.latent_dim,
            spec.channels,
            spec.dense_dims,
            form=form or default_form(),
            rngs=rngs,
            dtype=_compute(spec),
        )
    return MLP([spec.latent_dim, *reversed(spec.hidden_dims), NUM_PIXELS], rngs=rngs, dtype=_compute(spec))


def feature_width(spec: ModelSpec) -> int:
    """How many numbers the VAE's encoder trunk gives its two heads."""
    if spec.arch == "conv":
        return spec.dense_dims[-1] if spec.dense_dims else 7 * 7 * spec.channels[-1]
    return spec.hidden_dims[-1]


class AutoEncoder(nnx.Module):
    """Encoder to a code, decoder to 784 logits (``spec.arch``: dense layers, 784 -> hidden -> latent
    and back, or convolutions), trained only to reconstruct."""

    def __init__(self, spec: ModelSpec, *, rngs: nnx.Rngs, form: str | None = None) -> None:
        self.encoder = encoder_network(spec, spec.latent_dim, form=form, rngs=rngs)
        self.decoder = decoder_network(spec, form=form, rngs=rngs)

    def encode(self, x: jax.Array) -> Posterior:
        return Posterior(self.encoder(x).astype(jnp.float32), None)

    def decode(self, z: jax.Array) -> jax.Array:
        return self.decoder(z).astype(jnp.float32)


class VAE(nnx.Module):
    """Like the autoencoder, but the encoder gives a Gaussian posterior: mean and log-variance heads."""

    def __init__(self, spec: ModelSpec, *, rngs: nnx.Rngs, form: str | None = None) -> None:
        self.trunk = encoder_network(spec, None, form=form, rngs=rngs)
        width, dtype = feature_width(spec), _compute(spec)
        self.mean_head = nnx.Linear(width, spec.latent_dim, rngs=rngs, dtype=dtype)
        self.logvar_head = nnx.Linear(width, spec.latent_dim, rngs=rngs, dtype=dtype)
        self.decoder = decoder_network(spec, form=form, rngs=rngs)

    def encode(self, x: jax.Array) -> Posterior:
        h = jax.nn.relu(self.trunk(x))
        return Posterior(self.mean_head(h).astype(jnp.float32), self.logvar_head(h).astype(jnp.float32))

    def decode(self, z: jax.Array) -> jax.Array:
        return self.decoder(z).astype(jnp.float32)


class RAE(AutoEncoder):
    """A regularised deterministic autoencoder (Ghosh et al. 2020, RAE-L2): the autoencoder's
    network, trained with a pull of the codes towards the origin and weight decay on the decoder
    (``jaxvae.losses.rae_loss``); ``decoder_l2`` is the weight of that decay."""

    def __init__(self, spec: ModelSpec, *, rngs: nnx.Rngs, form: str | None = None) -> None:
        super().__init__(spec, rngs=rngs, form=form)
        self.decoder_l2 = spec.decoder_l2


class NoisyAE(AutoEncoder):
    """The autoencoder's network with fixed Gaussian noise on its codes: q(z | x) = N(encoder(x),
    noise^2 I), trained to reconstruct from a draw of it, with no KL term (``jaxvae.losses``)."""

    def __init__(self, spec: ModelSpec, *, rngs: nnx.Rngs, form: str | None = None) -> None:
        super().__init__(spec, rngs=rngs, form=form)
        self.noise = spec.noise

    def encode(self, x: jax.Array) -> Posterior:
        mean = self.encoder(x).astype(jnp.float32)
        return Posterior(mean, jnp.full_like(mean, 2.0 * math.log(self.noise)))


Model = AutoEncoder | VAE  # RAE and NoisyAE are autoencoders
_CLASSES: dict[str, type[AutoEncoder] | type[VAE]] = {
    "ae": AutoEncoder,
    "vae": VAE,
    "rae": RAE,
    "noisy_ae": NoisyAE,
}


def make_model(spec: ModelSpec | str, *, key: jax.Array, form: str | None = None) -> Model:
    """The model ``spec`` describes, with float32 parameters initialised from ``key`` (the three
    autoencoders start from the same parameters for the same key). A kind's name stands for its
    default spec: ``make_model("vae", key=key)`` is ``make_model(ModelSpec("vae"), key=key)``.

    ``spec.dtype`` is the compute type of the layers (``"bfloat16"`` for mixed precision); the
    model's outputs (codes, logits) and so the losses are float32 either way. ``form`` is how a
    convolutional model runs its convolutions (``jaxvae.conv``: ``"xla"`` or ``"patches"``, the same
    function; default: the faster on this backend); it is not part of the spec or of a checkpoint.

    >>> model = make_model(ModelSpec("vae", latent_dim=3), key=jax.random.key(0))
    >>> decode(model, jnp.zeros((5, 3))).shape
    (5, 28, 28)
    >>> decode(make_model(ModelSpec("ae", arch="conv"), key=jax.random.key(0)), jnp.zeros((5, 2))).shape
    (5, 28, 28)
    """
    spec = (ModelSpec(spec) if isinstance(spec, str) else spec).validate()
    if form is not None and form not in FORMS:
        raise ConfigError(f"unknown convolution form {form!r}; choose one of {', '.join(FORMS)}")
    return _CLASSES[spec.kind](spec, rngs=nnx.Rngs(params=key), form=form)


def to_pixels(images: jax.Array) -> jax.Array:
    """Images [..., 28, 28] (uint8 0..255, or floats in [0, 1]) to float32 pixels [..., 784] in [0, 1].

    This is where uint8 data becomes floating point: inside the compiled computation, on device.
    """
    x = images.reshape(*images.shape[:-2], NUM_PIXELS)
    if images.dtype == jnp.uint8:
        return x.astype(jnp.float32) / 255.0
    return x.astype(jnp.float32)


def to_uint8(pixels: jax.Array | np.ndarray) -> np.ndarray:
    """Pixel means in [0, 1] to uint8 images, the inverse of ``to_pixels`` up to rounding (on the
    host: as eager device ops, each new batch size would compile three small programs)."""
    x = np.asarray(pixels, np.float32)
    return np.round(np.clip(x, 0.0, 1.0) * np.float32(255.0)).astype(np.uint8)


@jax.jit
def encode(model: Model, images: jax.Array) -> Posterior:
    """Encode images [..., 28, 28] to the posterior ``(mean, logvar)`` over z, each [..., latent].

    For the autoencoder (and the RAE) ``mean`` is the code z and ``logvar`` is None; for the noisy
    autoencoder ``logvar`` is its fixed ``2 log noise``.

    >>> images = jnp.zeros((8, 28, 28), jnp.uint8)
    >>> posterior = encode(make_model("vae", key=jax.random.key(0)), images)
    >>> posterior.mean.shape, posterior.logvar.shape
    ((8, 2), (8, 2))
    >>> encode(make_model("ae", key=jax.random.key(0)), images).logvar is None
    True
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

    >>> mean, logvar = jnp.zeros((5, 2)), jnp.zeros((5, 2))
    >>> reparameterize(mean, logvar, key=jax.random.key(0)).shape
    (5, 2)
    >>> grad = jax.grad(lambda m: reparameterize(m, logvar, key=jax.random.key(0)).sum())(mean)
    >>> grad.tolist() == [[1.0, 1.0]] * 5  # dz/dmean = 1: the noise is not in the way
    True
    """
    eps = jax.random.normal(key, mean.shape, mean.dtype)
    return mean + jnp.exp(0.5 * logvar) * eps
