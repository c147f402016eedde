"""The judge's network: a small convolutional classifier with one more class, "not a digit".

It is trained by jaxvae on the training split (labels are used here, in the judge, and nowhere in
the autoencoders) and cached as a plain ``.npz`` of arrays. ``jaxvae.study.judge`` builds, calibrates
and validates the measure from it; this module holds the network and its training step.

A plain softmax classifier is overconfident far from its data, so the last class is trained on
junk drawn fresh every step: uniform noise of random brightness, blank images of a random grey
level, and superpositions of two images of different classes, plus, when given, a pool of decoys
(the decodes of untrained decoders). Decoded images given as ``decoded`` are taught as the class
they reconstruct, and every training image, real or junk, is blurred by a random amount, so that
the smoothness of decoded Bernoulli means is not held against them.
"""

from __future__ import annotations

import hashlib
import logging
from functools import partial
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from tqdm.auto import tqdm

from jaxvae.models import NUM_PIXELS, to_pixels
from jaxvae.runs.files import load_checked, save_checked

logger = logging.getLogger(__name__)
NUM_CLASSES = 10  # MNIST's; a data set of other classes gets a classifier over its own


def patches(x: jax.Array, size: int = 5, stride: int = 2) -> jax.Array:
    """The ``size`` x ``size`` patches of ``x`` [B, H, W, C] at every ``stride``-th position (zero
    padding ``size // 2``), as [B, H / stride, W / stride, size * size * C]."""
    pad = size // 2
    padded = jnp.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    rows, cols = x.shape[1] // stride, x.shape[2] // stride
    shifted = [
        padded[:, i : i + stride * rows : stride, j : j + stride * cols : stride, :]
        for i in range(size)
        for j in range(size)
    ]
    return jnp.concatenate(shifted, axis=-1)


class PatchConv(nnx.Module):
    """A strided 5x5 convolution whose weights are a dense layer over patches. In training it runs
    as patches times that layer, a matrix product, whose gradient XLA's CPU backend runs many times
    faster than a convolution's; otherwise as the convolution itself, the same function (up to
    float rounding), whose forward pass ran 2.4x faster than the patches on this project's 2-core
    CPU (10,000 images: 0.32 s against 0.78 s)."""

    def __init__(self, in_channels: int, out_channels: int, *, rngs: nnx.Rngs) -> None:
        self.dense = nnx.Linear(25 * in_channels, out_channels, rngs=rngs)

    def __call__(self, x: jax.Array, *, training: bool = False) -> jax.Array:
        if training:
            return self.dense(patches(x))
        kernel = self.dense.kernel[...].reshape(5, 5, x.shape[-1], -1)  # patches' (row, column, channel)
        y = jax.lax.conv_general_dilated(
            x, kernel, (2, 2), ((2, 2), (2, 2)), dimension_numbers=("NHWC", "HWIO", "NHWC")
        )
        assert self.dense.bias is not None  # nnx.Linear's default
        return y + self.dense.bias[...].reshape(1, 1, 1, -1)


class Classifier(nnx.Module):
    """A small convolutional network: two 5x5 stride-2 convolutions (16 and 32 channels), a
    256-unit hidden layer (the feature space of ``features``), ``num_classes`` + 1 logits (the
    classes, then "not a digit", the last). Convolutions see strokes wherever they are, which carries
    over from real digits to the smoother images decoders make far better than a dense layer over
    pixels does."""

    def __init__(self, num_classes: int = NUM_CLASSES, *, rngs: nnx.Rngs) -> None:
        self.conv1 = PatchConv(1, 16, rngs=rngs)
        self.conv2 = PatchConv(16, 32, rngs=rngs)
        self.hidden = nnx.Linear(7 * 7 * 32, 256, rngs=rngs)
        self.out = nnx.Linear(256, num_classes + 1, rngs=rngs)

    @property
    def num_classes(self) -> int:
        """How many classes it tells apart (its last logit is "not a digit")."""
        return self.out.out_features - 1

    def features(self, x: jax.Array, *, training: bool = False) -> jax.Array:
        """Pixels [..., 784] in [0, 1] to the hidden layer [..., 256] (``training``: the form whose
        gradient is fast, ``PatchConv``)."""
        h = x.reshape(-1, 28, 28, 1)
        h = jax.nn.relu(self.conv2(jax.nn.relu(self.conv1(h, training=training)), training=training))
        return jax.nn.relu(self.hidden(h.reshape(h.shape[0], -1))).reshape(*x.shape[:-1], 256)

    def logits(self, x: jax.Array, *, training: bool = False) -> jax.Array:
        """Pixels [..., 784] in [0, 1] to the classes' logits, then "not a digit"'s."""
        return self.out(self.features(x, training=training))

    def __call__(self, images: jax.Array) -> jax.Array:
        return self.logits(to_pixels(images))


@jax.jit
def class_probabilities(classifier: Classifier, images: jax.Array) -> jax.Array:
    """Class probabilities [..., classes] for images [..., 28, 28] (uint8 or [0, 1] floats).

    They come from the softmax over the classes and "not a digit", and sum to 1 - p("not a digit").
    """
    return jax.nn.softmax(classifier(images), axis=-1)[..., :-1]


@jax.jit
def digit_probability(classifier: Classifier, images: jax.Array) -> jax.Array:
    """p(a digit) = 1 - p("not a digit") for images [..., 28, 28]: whether an image is a digit at all,
    whichever digit it is (an image between a 4 and a 9 is still a digit)."""
    return 1.0 - jax.nn.softmax(classifier(images), axis=-1)[..., -1]


@jax.jit
def features(classifier: Classifier, images: jax.Array) -> jax.Array:
    """The classifier's last hidden layer [..., 256] for images [..., 28, 28]: the feature space in
    which generated images are compared with real ones (``jaxvae.study.generative``)."""
    return classifier.features(to_pixels(images))


@jax.jit
def read_images(classifier: Classifier, images: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """One forward pass, three answers for images [..., 28, 28]: the features [..., 256]
    (``features``), p(a digit) (``digit_probability``) and the most probable class (of
    ``class_probabilities``)."""
    hidden = classifier.features(to_pixels(images))
    probabilities = jax.nn.softmax(classifier.out(hidden), axis=-1)
    return hidden, 1.0 - probabilities[..., -1], jnp.argmax(probabilities[..., :-1], axis=-1)


def noise_images(key: jax.Array, count: int, *, brightness_key: jax.Array) -> jax.Array:
    """``count`` images [count, 784] of uniform noise in [0, 1], each scaled by its own brightness."""
    brightness = jax.random.uniform(brightness_key, (count, 1))
    return jax.random.uniform(key, (count, NUM_PIXELS)) * brightness


def blank_images(key: jax.Array, count: int) -> jax.Array:
    """``count`` blank images [count, 784], each of one random grey level in [0, 0.3]."""
    return jnp.broadcast_to(jax.random.uniform(key, (count, 1)) * 0.3, (count, NUM_PIXELS))


def junk_images(key: jax.Array, count: int) -> jax.Array:
    """``count`` non-digit images [count, 784] in [0, 1]: half uniform noise of random brightness,
    half blank images of a random grey level."""
    noise_key, scale_key, level_key = jax.random.split(key, 3)
    noise = noise_images(noise_key, count, brightness_key=scale_key)
    return jnp.where(jnp.arange(count)[:, None] % 2 == 0, noise, blank_images(level_key, count))


def random_blur(key: jax.Array, x: jax.Array, max_sigma: float = 1.5) -> jax.Array:
    """Gaussian-blur half the images of ``x`` [B, 784], each with its own sigma in [0, max_sigma] px.

    Decoded images are Bernoulli means, smoother than real digits; training the judge on blurred
    digits (and blurred junk) keeps blur itself from counting against plausibility.
    """
    sigma_key, apply_key = jax.random.split(key)
    sigma = jax.random.uniform(sigma_key, (x.shape[0], 1), maxval=max_sigma) + 1e-3
    # half the images stay sharp, so clean digits are learnt as well as blurred ones
    sigma = jnp.where(jax.random.bernoulli(apply_key, 0.5, sigma.shape), sigma, 1e-3)
    offsets = jnp.arange(-3, 4, dtype=jnp.float32)[None, :]
    kernels = jnp.exp(-0.5 * jnp.square(offsets / sigma))
    kernels = kernels / jnp.sum(kernels, axis=1, keepdims=True)  # [B, 7]

    def blur_one(image: jax.Array, kernel: jax.Array) -> jax.Array:
        image = image.reshape(28, 28)
        image = jax.scipy.signal.convolve2d(image, kernel[None, :], mode="same")
        return jax.scipy.signal.convolve2d(image, kernel[:, None], mode="same").reshape(NUM_PIXELS)

    return jax.vmap(blur_one)(x, kernels)


def blend_images(key: jax.Array, x: jax.Array, labels: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Superpositions of two digits of different classes, ``w * a + (1 - w) * b`` with w in
    [0.3, 0.7], from a batch ``x`` [B, 784]; also returns a mask of the rows whose pair differs."""
    partner = jnp.roll(x, 1, axis=0)
    weight = jax.random.uniform(key, (x.shape[0], 1), minval=0.3, maxval=0.7)
    return weight * x + (1 - weight) * partner, labels != jnp.roll(labels, 1)


@partial(
    jax.jit,
    static_argnames=("optimizer", "batch_size", "reject_blends"),
    donate_argnames=("classifier", "opt_state"),
)
def _train_epoch(
    classifier: Classifier,
    opt_state: optax.OptState,
    images: jax.Array,
    labels: jax.Array,
    decoded: jax.Array,
    decoys: jax.Array,
    key: jax.Array,
    *,
    optimizer: optax.GradientTransformation,
    batch_size: int,
    reject_blends: bool,
) -> tuple[Classifier, optax.OptState]:
    """One epoch. Each batch holds ``batch_size`` real digits, ``batch_size // 4`` each of junk
    (noise and blanks) and two-digit blends, and, when the pools are not empty, ``batch_size // 4``
    each of decoded digits (``decoded`` [K, N, 28, 28] uint8: K decoders' reconstructions of
    ``images``, taught as the digit they reconstruct, a random decoder per row), blends of decoded
    digits, and decoys (``decoys`` [M, 28, 28] uint8, "not a digit")."""
    num_batches = images.shape[0] // batch_size
    order = jax.random.permutation(jax.random.fold_in(key, 0), images.shape[0])[: num_batches * batch_size]
    num_junk = max(1, batch_size // 4)
    use_decoded, use_decoys = decoded.shape[0] > 0, decoys.shape[0] > 0

    def step(carry: tuple[Classifier, optax.OptState], inputs: tuple[jax.Array, jax.Array]):
        model, opt_state = carry
        indices, step_key = inputs
        junk_key, blend_key, blur_key, decoy_key, decoder_key = jax.random.split(step_key, 5)
        x, y = to_pixels(images[indices]), labels[indices]
        blends, differs = blend_images(blend_key, x[:num_junk], y[:num_junk])
        reject = jnp.full((num_junk,), classifier.num_classes, labels.dtype)  # the last logit
        parts = [x, junk_images(junk_key, num_junk), blends]
        targets = [y, reject, reject]
        # a blend of two digits of one class is still that digit: leave those rows out
        blend_weight = differs * float(reject_blends)
        weights = [jnp.ones(batch_size + num_junk), blend_weight]
        if use_decoded:  # a decoder's rendering of the same digits, labelled as the digit
            tail = indices[-num_junk:]
            which = jax.random.randint(decoder_key, (num_junk,), 0, decoded.shape[0])
            rendered = to_pixels(decoded[which, tail])
            decoded_blends, decoded_differs = blend_images(
                jax.random.fold_in(blend_key, 1), rendered, y[-num_junk:]
            )
            parts += [rendered, decoded_blends]
            targets += [y[-num_junk:], reject]
            weights += [jnp.ones(num_junk), decoded_differs * float(reject_blends)]
        if use_decoys:
            picks = jax.random.randint(decoy_key, (num_junk,), 0, decoys.shape[0])
            parts.append(to_pixels(decoys[picks]))
            targets.append(reject)
            weights.append(jnp.ones(num_junk))
        batch = random_blur(blur_key, jnp.concatenate(parts))
        target, weight = jnp.concatenate(targets), jnp.concatenate(weights)

        def loss(model: Classifier) -> jax.Array:
            losses = optax.softmax_cross_entropy_with_integer_labels(
                model.logits(batch, training=True), target
            )
            return jnp.sum(losses * weight) / jnp.sum(weight)

        grads = jax.grad(loss)(model)
        updates, opt_state = optimizer.update(grads, opt_state, model)
        return (optax.apply_updates(model, updates), opt_state), None

    step_keys = jax.random.split(jax.random.fold_in(key, 1), num_batches)
    (classifier, opt_state), _ = jax.lax.scan(
        step, (classifier, opt_state), (order.reshape(num_batches, batch_size), step_keys)
    )
    return classifier, opt_state


def accuracy(classifier: Classifier, images: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of ``images`` whose most probable class is the label."""
    predictions = jnp.argmax(class_probabilities(classifier, jnp.asarray(images)), axis=-1)
    return float(jnp.mean(predictions == jnp.asarray(labels)))


def _cache_path(cache_dir: Path, images: np.ndarray, labels: np.ndarray, tag: str) -> Path:
    digest = hashlib.sha256(images.tobytes() + labels.tobytes()).hexdigest()[:16]
    return cache_dir / f"classifier-{digest}-{tag}.npz"


def train_classifier(
    images: np.ndarray,
    labels: np.ndarray,
    *,
    key: jax.Array,
    seed: int = 0,
    epochs: int = 5,
    batch_size: int = 128,
    cache_dir: Path | None = None,
    progress: bool = True,
    reject_blends: bool = True,
    decoded: np.ndarray | None = None,
    decoys: np.ndarray | None = None,
    num_classes: int | None = None,
) -> Classifier:
    """Train (or load from ``cache_dir``) a classifier on ``images`` [N, 28, 28] and ``labels`` [N]
    (``num_classes``, default: the largest label + 1).

    ``decoded`` (uint8 [K, N, 28, 28], optional) are K decoders' reconstructions of ``images``,
    taught as the same digits; ``decoys`` (uint8 [M, 28, 28], optional) are further "not a digit" images.
    The cache key is a hash of all training images, the seed and the number of epochs.
    """
    num_classes = int(np.max(labels)) + 1 if num_classes is None else num_classes
    classifier = Classifier(num_classes, rngs=nnx.Rngs(params=key))
    decoded = np.zeros((0, *images.shape), np.uint8) if decoded is None else decoded
    decoys = np.zeros((0, 28, 28), np.uint8) if decoys is None else decoys
    tag = f"seed{seed}-epochs{epochs}-blends{int(reject_blends)}"
    tag += "" if num_classes == NUM_CLASSES else f"-classes{num_classes}"
    cached = (
        _cache_path(cache_dir, np.concatenate([images, *decoded, decoys]), labels, tag) if cache_dir else None
    )
    if cached is not None:
        loaded = _load_cached(cached, classifier)
        if loaded is not None:
            return loaded
    optimizer = optax.adam(1e-3)
    opt_state = optimizer.init(classifier)
    device_images, device_labels = jnp.asarray(images), jnp.asarray(labels)
    device_decoded, device_decoys = jnp.asarray(decoded), jnp.asarray(decoys)
    batch_size = min(batch_size, len(images))
    for epoch in tqdm(range(epochs), desc="train classifier", unit="epoch", disable=not progress):
        classifier, opt_state = _train_epoch(
            classifier,
            opt_state,
            device_images,
            device_labels,
            device_decoded,
            device_decoys,
            jax.random.fold_in(key, epoch),
            optimizer=optimizer,
            batch_size=batch_size,
            reject_blends=reject_blends,
        )
        jax.block_until_ready(classifier)  # so the progress bar shows real time
    if cached is not None:
        _save_cached(cached, classifier)
    return classifier


def _load_cached(path: Path, template: Classifier) -> Classifier | None:
    """The classifier cached in ``path`` if it is intact (``load_checked``), else None."""
    leaves, treedef = jax.tree.flatten(template)
    loaded = load_checked(path, [np.shape(x) for x in leaves], "classifier cache")
    return None if loaded is None else jax.tree.unflatten(treedef, [jnp.asarray(x) for x in loaded[0]])


def _save_cached(path: Path, classifier: Classifier) -> None:
    """Write the cache atomically, with the digests of its arrays (``save_checked``)."""
    save_checked(path, [np.asarray(x) for x in jax.tree.leaves(classifier)], {}, "classifier cache")
