"""The judge: a per-image measure of "is this a digit", built and validated before it is used.

The measure is ``digit_probability``: 1 - p("not a digit") of an 11-way classifier
(``jaxvae.study.classifier``). What it is taught, and why:

- real training digits, with their labels;
- the reconstructions of those digits by *auxiliary* decoders (the demo trains eight: three AEs
  and three VAEs with a 2-D latent and one of each with an 8-D latent, all with seeds no judged run
  uses; ``jaxvae.study.judge_cache.JUDGE_DECODERS``), labelled as the digit they reconstruct: a 2-D
  bottleneck blurs, and blur is not what the AE-versus-VAE question is about, so decoded-style
  digits must pass;
- "not a digit": uniform noise, blank images, superpositions of two different digits, and the
  decodes of untrained decoders (random initialisations, fresh each time).

The last ``CALIBRATION_SHARE`` of a fixed permutation of the training split is held out from the
classifier and fixes the threshold: the one that maximises the smallest of the accept rates of
the positive kinds and the reject rates of the negative kinds there. The threshold is fixed before
any judged model is scored. ``validate`` then scores the judge on the test split, against
``TARGETS``, with the judged models' own reconstructions of test digits (never seen by the judge).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxvae.batching import chunk_bounds, map_chunks
from jaxvae.models import NUM_PIXELS, Model, decode, encode, make_model, to_uint8
from jaxvae.spec import MODEL_KINDS, ModelSpec
from jaxvae.study.classifier import (
    Classifier,
    blank_images,
    blend_images,
    class_probabilities,
    digit_probability,
    features,
    noise_images,
    read_images,
    train_classifier,
)
from jaxvae.study.degenerate import degenerate_images

CALIBRATION_SHARE = 0.1
# what a fit measure must do on held-out data: accept at least this share of each positive kind,
# reject at least this share of each negative kind
TARGETS = {"accept": 0.90, "reject": 0.95}
# and what its realism score (jaxvae.study.far_field) must do: find at least this share of held-out
# real digits realistic (by construction about half: only the balls no wider than the median count),
# and at most 5% of each negative kind, like the judge's reject target
TARGETS |= {"realistic": 0.25, "not realistic": 0.95}
DECOYS = 20_000  # untrained decodes in the judge's decoy pool, and as many degenerate images
THRESHOLD_GRID = np.round(np.arange(0.02, 0.99, 0.01), 2)
# images per classifier call: on the 2-core CPU, 1,000 ran 1.3x faster than 10,000 (same results)
CHUNK = 1_000


@dataclass(frozen=True)
class Judge:
    """A trained digit classifier and the threshold fixed for it on calibration data."""

    classifier: Classifier
    threshold: float
    calibration: dict[str, float]  # the rate of each kind at ``threshold`` on the calibration split

    def scores(self, images: jax.Array | np.ndarray, chunk: int = CHUNK) -> np.ndarray:
        """``digit_probability`` of each image [N, 28, 28], ``chunk`` at a time."""
        return map_chunks(lambda x: digit_probability(self.classifier, x), images, chunk)

    def accepts(self, images: jax.Array | np.ndarray) -> np.ndarray:
        """Whether each image [N, 28, 28] is judged a digit (score >= threshold)."""
        return self.scores(images) >= self.threshold

    def features(self, images: jax.Array | np.ndarray, chunk: int = CHUNK) -> jax.Array:
        """The classifier's feature vector of each image [N, 28, 28]: [N, 256], the space in which
        generated images are compared with real ones (``jaxvae.study.generative``)."""
        return jnp.asarray(map_chunks(lambda x: features(self.classifier, x), images, chunk))

    def read(
        self, images: jax.Array | np.ndarray, chunk: int = CHUNK
    ) -> tuple[jax.Array, np.ndarray, np.ndarray]:
        """``features``, ``accepts`` and ``classes`` of the same images from one pass of the
        classifier, ``chunk`` at a time."""
        parts = [
            read_images(self.classifier, jnp.asarray(images[a:b]))
            for a, b in chunk_bounds(len(images), chunk)
        ]
        if not parts:
            return jnp.zeros((0, 256)), np.zeros((0,), bool), np.zeros((0,), np.int32)
        feats, scores, classes = (np.concatenate([np.asarray(p[i]) for p in parts]) for i in range(3))
        return jnp.asarray(feats), scores >= self.threshold, classes

    def classes(self, images: jax.Array | np.ndarray, chunk: int = CHUNK) -> np.ndarray:
        """The most probable of the classes for each image [N, 28, 28] (the "not a digit" class
        aside): which digit a generated image is."""
        return map_chunks(lambda x: jnp.argmax(class_probabilities(self.classifier, x), -1), images, chunk)


def reconstructions(model: Model, images: jax.Array | np.ndarray, chunk: int = 10_000) -> np.ndarray:
    """The model's reconstructions (decoded posterior means) of ``images`` [N, 28, 28] as uint8."""
    recon = lambda x: jax.nn.sigmoid(decode(model, encode(model, x).mean))  # noqa: E731
    return to_uint8(map_chunks(recon, images, chunk))


def untrained_decodes(key: jax.Array, count: int, *, decoders: int = 16, latent_dim: int = 2) -> np.ndarray:
    """``count`` uint8 decodes of ``decoders`` freshly initialised (untrained) AE and VAE decoders,
    at z ~ N(0, s^2 I) with s uniform in [0.5, 5]: what a decoder makes before it learns anything."""
    per = -(-count // decoders)
    out = []
    for i in range(decoders):
        model_key, z_key, scale_key = jax.random.split(jax.random.fold_in(key, i), 3)
        model = make_model(ModelSpec(MODEL_KINDS[i % 2], latent_dim=latent_dim), key=model_key)
        scale = jax.random.uniform(scale_key, (per, 1), minval=0.5, maxval=5.0)
        out.append(
            to_uint8(jax.nn.sigmoid(decode(model, scale * jax.random.normal(z_key, (per, latent_dim)))))
        )
    return np.concatenate(out)[:count]


def decoys(key: jax.Array, images: np.ndarray, count: int = DECOYS) -> np.ndarray:
    """The judge's pool of "not a digit" images to learn from beside the junk drawn fresh each step:
    ``count`` decodes of untrained decoders and ``count // 4`` of each degenerate kind made from the
    training digits ``images`` (uint8, [2 * count, 28, 28])."""
    untrained_key, degenerate_key = jax.random.split(key)
    made = degenerate_images(degenerate_key, images, count // 4)
    return np.concatenate([untrained_decodes(untrained_key, count), *made.values()])


def negatives(key: jax.Array, images: np.ndarray, labels: np.ndarray, count: int) -> dict[str, np.ndarray]:
    """``count`` held-out images of each negative kind (uint8): noise, blanks, blends, untrained
    decodes and the degenerate kinds (``jaxvae.study.degenerate``) made from ``images``. The blends
    superpose pairs of a random permutation of ``images``, so that a split sorted by class still
    yields different-class pairs."""
    noise_key, blank_key, blend_key, decoder_key, order_key, degenerate_key = jax.random.split(key, 6)
    noise = noise_images(noise_key, count, brightness_key=jax.random.fold_in(noise_key, 1))
    blank = blank_images(blank_key, count)
    order = np.asarray(jax.random.permutation(order_key, len(images)))[: 2 * count]
    x = jnp.asarray(images[order].reshape(-1, NUM_PIXELS) / 255.0, jnp.float32)
    blends, differs = blend_images(blend_key, x, jnp.asarray(labels[order]))
    return {
        "uniform noise": to_uint8(noise.reshape(-1, 28, 28)),
        "blank images": to_uint8(blank.reshape(-1, 28, 28)),
        "two-class blends": to_uint8(blends[np.asarray(differs)][:count].reshape(-1, 28, 28)),
        "untrained decoders": untrained_decodes(decoder_key, count),
        **degenerate_images(degenerate_key, images, count),
    }


def rates(scores: Mapping[str, np.ndarray], threshold: float, positive: set[str]) -> dict[str, float]:
    """Per kind: the accept rate (positive kinds) or the reject rate (negative kinds) at ``threshold``."""
    return {
        kind: float(np.mean(s >= threshold) if kind in positive else np.mean(s < threshold))
        for kind, s in scores.items()
    }


def choose_threshold(scores: Mapping[str, np.ndarray], positive: set[str]) -> float:
    """The threshold of ``THRESHOLD_GRID`` that maximises the smallest per-kind rate (ties: the
    lowest such threshold)."""
    worst = [min(rates(scores, float(t), positive).values()) for t in THRESHOLD_GRID]
    return float(THRESHOLD_GRID[int(np.argmax(worst))])


def calibration_split(count: int, key: jax.Array) -> tuple[np.ndarray, np.ndarray]:
    """(classifier indices, calibration indices) of a fixed permutation of ``count`` images."""
    order = np.asarray(jax.random.permutation(key, count))
    held = max(1, round(count * CALIBRATION_SHARE))
    return np.sort(order[:-held]), np.sort(order[-held:])


def build_judge(
    images: np.ndarray,
    labels: np.ndarray,
    decoders: Mapping[str, Model],
    *,
    key: jax.Array,
    seed: int,
    epochs: int,
    cache_dir: Any = None,
    progress: bool = True,
) -> Judge:
    """Train the judge on the training split ``images`` [N, 28, 28] uint8 with ``labels`` [N], using
    the auxiliary ``decoders`` (name -> trained model, none a judged one) for decoded-style digits,
    and fix its threshold on the held-out calibration share."""
    split_key, decoy_key, calibration_key, classifier_key = jax.random.split(key, 4)
    fit, held = calibration_split(len(images), split_key)
    recon = {name: reconstructions(model, images) for name, model in decoders.items()}
    decoded = np.stack([r[fit] for r in recon.values()]) if recon else None
    classifier = train_classifier(
        images[fit],
        labels[fit],
        key=classifier_key,
        seed=seed,
        epochs=epochs,
        cache_dir=cache_dir,
        progress=progress,
        decoded=decoded,
        decoys=decoys(decoy_key, images[fit]),
    )
    score = lambda x: map_chunks(lambda b: digit_probability(classifier, b), x, 10_000)  # noqa: E731
    scores = {"real images": score(images[held])}
    scores |= {f"{name} reconstructions": score(r[held]) for name, r in recon.items()}
    positive = set(scores)
    count = len(held)
    scores |= {k: score(v) for k, v in negatives(calibration_key, images[held], labels[held], count).items()}
    threshold = choose_threshold(scores, positive)
    return Judge(classifier, threshold, rates(scores, threshold, positive))


def validate(
    judge: Judge,
    test_images: np.ndarray,
    test_labels: np.ndarray,
    reconstructed: Mapping[str, np.ndarray],
    *,
    key: jax.Array,
) -> list[dict[str, Any]]:
    """The validation table on the test split: one row per kind (``reconstructed`` maps a row name,
    such as ``"AE reconstructions"``, to a judged model's reconstructions of ``test_images``), each
    with its rate at the judge's threshold, the target and whether it is met."""
    rows = []
    positives = {"real test images": test_images, **reconstructed}
    for kind, images in positives.items():
        rate = float(np.mean(judge.accepts(images)))
        rows.append(row(kind, "accept", rate))
    for kind, images in negatives(key, test_images, test_labels, min(len(test_images), 5000)).items():
        rows.append(row(kind, "reject", float(np.mean(~judge.accepts(images)))))
    return rows


def row(kind: str, action: str, rate: float) -> dict[str, Any]:
    """One row of the validation table: ``kind``'s ``rate`` of doing ``action`` against its target."""
    target = TARGETS[action]
    return {"kind": kind, "action": action, "rate": rate, "target": target, "met": rate >= target}


def with_reconstructions(
    base: list[dict[str, Any]], accepted: dict[str, list[float]]
) -> list[dict[str, Any]]:
    """The judge's validation rows (``validate``) with one row per judged model inserted after the
    real images: ``accepted`` maps a row's name to every run's accepted share of its reconstructions
    of the test images, and the row is met when each run's share meets the accept target."""
    target = TARGETS["accept"]
    rows = [
        {"kind": kind, "action": "accept", "rate": rates, "target": target, "met": min(rates) >= target}
        for kind, rates in accepted.items()
    ]
    return [base[0], *rows, *base[1:]]


def fit_for_use(rows: list[dict[str, Any]]) -> bool:
    """Whether every row of a validation table meets its target."""
    return all(row["met"] for row in rows)
