"""A small MLP digit classifier: the judge of whether a decoded image looks like a digit.

It is trained by jaxvae on the same training split as the autoencoders (labels are used here and
only here) and cached as a plain ``.npz`` of arrays. An image is *plausible* when the classifier's
top digit probability is at least a threshold (0.9 by default; 0.5 and 0.99 are reported too).

A plain softmax classifier is overconfident far from its data (uniform noise scored >= 0.9 for a
quarter of noise images here, and half of all two-digit superpositions did), so the classifier has
an eleventh "not a digit" class, trained on junk drawn fresh every step: uniform noise of random
brightness, blank images of a random grey level, and superpositions of two digits of different
classes (the blends a decoder produces between clusters). Every training image, digit or junk, is
blurred by a random amount, so that the smoothness of decoded Bernoulli means is not held against
them. The digit probabilities come from the 11-way softmax, so mass on "not a digit" lowers them.
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

from jaxvae.models import MLP, NUM_PIXELS, to_pixels

logger = logging.getLogger(__name__)
NUM_CLASSES = 10
REJECT = NUM_CLASSES  # the index of the "not a digit" class
THRESHOLDS = (0.5, 0.9, 0.99)


class Classifier(nnx.Module):
    """784 -> 512 -> 256 -> 11 logits (ten digits, then "not a digit")."""

    def __init__(self, *, rngs: nnx.Rngs) -> None:
        self.mlp = MLP([NUM_PIXELS, 512, 256, NUM_CLASSES + 1], rngs=rngs)

    def __call__(self, images: jax.Array) -> jax.Array:
        return self.mlp(to_pixels(images))


@jax.jit
def class_probabilities(classifier: Classifier, images: jax.Array) -> jax.Array:
    """Digit probabilities [..., 10] for images [..., 28, 28] (uint8 or [0, 1] floats).

    They come from the 11-way softmax and sum to 1 - p("not a digit").
    """
    return jax.nn.softmax(classifier(images), axis=-1)[..., :NUM_CLASSES]


def junk_images(key: jax.Array, count: int) -> jax.Array:
    """``count`` non-digit images [count, 784] in [0, 1]: half uniform noise of random brightness,
    half blank images of a random grey level."""
    noise_key, scale_key, level_key = jax.random.split(key, 3)
    scale = jax.random.uniform(scale_key, (count, 1))
    noise = jax.random.uniform(noise_key, (count, NUM_PIXELS)) * scale
    blank = jnp.broadcast_to(jax.random.uniform(level_key, (count, 1)) * 0.3, (count, NUM_PIXELS))
    return jnp.where(jnp.arange(count)[:, None] % 2 == 0, noise, blank)


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
    key: jax.Array,
    *,
    optimizer: optax.GradientTransformation,
    batch_size: int,
    reject_blends: bool,
) -> tuple[Classifier, optax.OptState]:
    num_batches = images.shape[0] // batch_size
    order = jax.random.permutation(jax.random.fold_in(key, 0), images.shape[0])[: num_batches * batch_size]

    num_junk = max(1, batch_size // 4)

    def step(carry: tuple[Classifier, optax.OptState], inputs: tuple[jax.Array, jax.Array]):
        model, opt_state = carry
        indices, step_key = inputs
        junk_key, blend_key, blur_key = jax.random.split(step_key, 3)
        x, y = to_pixels(images[indices]), labels[indices]
        blends, differs = blend_images(blend_key, x[:num_junk], y[:num_junk])
        batch = jnp.concatenate([x, junk_images(junk_key, num_junk), blends])
        batch = random_blur(blur_key, batch)
        reject = jnp.full((num_junk,), REJECT, labels.dtype)
        targets = jnp.concatenate([y, reject, reject])
        # a blend of two digits of one class is still that digit: leave those rows out
        weights = jnp.concatenate([jnp.ones(batch_size + num_junk), differs * float(reject_blends)])

        def loss(model: Classifier) -> jax.Array:
            losses = optax.softmax_cross_entropy_with_integer_labels(model.mlp(batch), targets)
            return jnp.sum(losses * weights) / jnp.sum(weights)

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
) -> Classifier:
    """Train (or load from ``cache_dir``) a classifier on ``images`` [N, 28, 28] and ``labels`` [N].

    The cache key is a hash of the training data, the seed and the number of epochs.
    """
    classifier = Classifier(rngs=nnx.Rngs(params=key))
    tag = f"seed{seed}-epochs{epochs}-blends{int(reject_blends)}"
    cached = _cache_path(cache_dir, images, labels, tag) if cache_dir else None
    if cached is not None and cached.exists():
        try:
            with np.load(cached, allow_pickle=False) as archive:
                leaves, treedef = jax.tree.flatten(classifier)
                loaded = [archive[f"arr_{i}"] for i in range(len(leaves))]
                if all(a.shape == b.shape for a, b in zip(loaded, leaves, strict=True)):
                    logger.info("loaded cached classifier %s", cached)
                    return jax.tree.unflatten(treedef, [jnp.asarray(x) for x in loaded])
        except (OSError, KeyError, ValueError) as e:
            logger.warning("ignoring unreadable classifier cache %s (%s)", cached, e)
    optimizer = optax.adam(1e-3)
    opt_state = optimizer.init(classifier)
    device_images, device_labels = jnp.asarray(images), jnp.asarray(labels)
    batch_size = min(batch_size, len(images))
    for epoch in tqdm(range(epochs), desc="train classifier", unit="epoch", disable=not progress):
        classifier, opt_state = _train_epoch(
            classifier,
            opt_state,
            device_images,
            device_labels,
            jax.random.fold_in(key, epoch),
            optimizer=optimizer,
            batch_size=batch_size,
            reject_blends=reject_blends,
        )
        jax.block_until_ready(classifier)  # so the progress bar shows real time
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(".tmp.npz")
        np.savez(tmp, *(np.asarray(x) for x in jax.tree.leaves(classifier)))
        tmp.replace(cached)
    return classifier
