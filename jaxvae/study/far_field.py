"""How a decoder extrapolates: its decodes on rings and rays reaching far outside its codes.

The story's seed says the AE's decoder "was only trained to reconstruct images from points within
the clusters, and it extrapolates poorly outside this domain". Here that is measured for any model
with a 2-D latent. Distances are in units of the code box (the 0.5-99.5 percentile box of the
training codes): the point at factor f and angle t is ``centre + f * half * (cos t, sin t)``, with
``half`` the box's half-widths, so the ring at 1x touches the box's sides from inside and every ring
from 2x on lies wholly outside the box (its corners are at sqrt(2)).

Each decode gets two scores: the judge's accept (is it a digit?) and its realism
(``jaxvae.study.generative.realism``: how deep inside the real digits' manifold its features lie, in
the judge's feature space, against the real images of the class the judge sees in it among the
fixed half of the test images that ``Typical`` holds; at least 1 inside). A decode is *like a
reconstruction* when it is both accepted and realistic (realism >= 1), and the model's own
reconstructions of the other half of the test images are the yardstick (a decoder with a 2-D
bottleneck never does better than on real digits).

- ``far_field``: per ring (``ring_points``: ``RING_FACTORS``, ``RING_POINTS`` points each), the
  accepted, the realistic and the both shares, and the median distance of its points to the nearest
  training code in spacings; the same shares for the reconstructions.
- ``rays``: the decodes along ``RAYS`` straight rays (``ray_points``) at 0, 1, ..., 8 times the box,
  with both scores, for the report's figure.

The measures (``jaxvae.study.measures``) decode and judge these points with all their others in one
compiled program (``jaxvae.study.decodes``); ``judged`` scores any images one set at a time.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxvae.study.generative import knn_radii, realism
from jaxvae.study.holes import Box, CodeMap, distance_in_spacings
from jaxvae.study.judge import Judge, negatives, row

RING_FACTORS = (1, 2, 4, 8)
RING_POINTS = 256
RAYS = 8
RAY_FACTORS = tuple(range(9))  # 0 (the box's centre), 1, ..., 8 times the box
REALISTIC = 1.0  # a realism of at least this: inside the ball of some real digit


class Typical(NamedTuple):
    """The real images that realism is scored against: the judge's features of a fixed half of
    the test split (the test images at ``indices``), their classes, their k-NN radii within their
    class, and the indices of the other half (whose reconstructions are the yardstick, so that no
    image is scored against itself)."""

    features: jax.Array
    classes: jax.Array
    radii: jax.Array
    indices: np.ndarray
    held_out: np.ndarray


def halves(count: int, key: jax.Array) -> tuple[np.ndarray, np.ndarray]:
    """A random half of ``range(count)`` and the rest (a split may be sorted by class)."""
    order = np.asarray(jax.random.permutation(jax.random.fold_in(key, 1), count))
    return order[: count // 2], order[count // 2 :]


def typical(features: jax.Array, labels: np.ndarray, *, key: jax.Array, k: int = 3) -> Typical:
    """The ``Typical`` set of the test images whose judge ``features`` [N, 256] and ``labels`` [N]
    are given."""
    first, rest = halves(features.shape[0], key)
    kept, classes = features[first], np.asarray(labels)[first]
    radii = np.zeros(len(first), np.float32)
    for c in np.unique(classes):  # each class's own k-NN radii
        members = np.flatnonzero(classes == c)
        radii[members] = np.asarray(knn_radii(kept[members], k=min(k, len(members) - 1)))
    return Typical(kept, jnp.asarray(classes, jnp.int32), jnp.asarray(radii), first, rest)


def judged(judge: Judge, reference: Typical, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Whether the judge accepts each of ``images`` [N, 28, 28] uint8, and its realism score
    against the real images of the class the judge sees in it."""
    feats, accepted, classes = judge.read(images)
    scores = realism(
        feats,
        reference.features,
        reference.radii,
        query_classes=jnp.asarray(classes, jnp.int32),
        point_classes=reference.classes,
        num_classes=judge.classifier.num_classes,
    )
    return accepted, np.asarray(scores)


def realism_rows(
    judge: Judge, reference: Typical, images: np.ndarray, labels: np.ndarray, *, key: jax.Array
) -> list[dict[str, Any]]:
    """The realism score's rows of the judge's validation table (``jaxvae.study.judge.row``), on the
    test ``images`` held out from ``reference``: the share of those real digits it finds realistic
    in the class where that share is smallest (target ``TARGETS["realistic"]``), and of each
    negative kind made from them (``negatives``) the share it finds not realistic (target
    ``TARGETS["not realistic"]``)."""
    rest, rest_labels = images[reference.held_out], labels[reference.held_out]
    real = judged(judge, reference, rest)[1] >= REALISTIC
    least = min(float(np.mean(real[rest_labels == c])) for c in np.unique(rest_labels))
    rows = [row("realism: real test images (the other half), its least realistic class", "realistic", least)]
    for kind, made in negatives(key, rest, rest_labels, len(rest)).items():
        realistic = judged(judge, reference, made)[1] >= REALISTIC
        rows.append(row(f"realism: {kind}", "not realistic", float(np.mean(~realistic))))
    return rows


def shares(accepted: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """The accepted, the realistic and the both (accepted and realistic) shares of a set of decodes."""
    real = scores >= REALISTIC
    return {
        "accepted": float(np.mean(accepted)),
        "realistic": float(np.mean(real)),
        "both": float(np.mean(accepted & real)),
    }


def ellipse(box: Box, factors: tuple[float, ...], angles: np.ndarray) -> np.ndarray:
    """The points at each of ``factors`` times the box and each of ``angles``: [F, A, 2]."""
    (x0, x1), (y0, y1) = box
    centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
    half = np.array([(x1 - x0) / 2, (y1 - y0) / 2])
    direction = np.stack([np.cos(angles), np.sin(angles)], axis=-1)  # [A, 2]
    points = centre + np.asarray(factors, np.float64)[:, None, None] * half * direction[None]
    return points.astype(np.float32)


def ring_points(box: Box) -> np.ndarray:
    """The points of the far-field rings: ``RING_POINTS`` at each of ``RING_FACTORS`` times the box,
    [len(RING_FACTORS), RING_POINTS, 2]."""
    return ellipse(box, RING_FACTORS, np.linspace(0.0, 2 * np.pi, RING_POINTS, endpoint=False))


def far_field(
    reconstructions: tuple[np.ndarray, np.ndarray],
    rings: tuple[np.ndarray, np.ndarray],
    codes: CodeMap,
    points: np.ndarray,
) -> dict[str, dict[str, float]]:
    """``"reconstructions"``: the shares (``shares``) of the judged (accepted, realism) model's
    reconstructions of the test images held out from ``Typical``; ``"<f>x"`` for each of
    ``RING_FACTORS``: the shares of the judged decodes of that ring's ``points`` (``ring_points``),
    and ``"spacings"``, its points' median distance to the nearest code."""
    out = {"reconstructions": shares(*reconstructions)}
    accepted, scores = rings
    distance = distance_in_spacings(codes, points)
    for i, factor in enumerate(RING_FACTORS):
        ring = slice(i * RING_POINTS, (i + 1) * RING_POINTS)
        out[f"{factor}x"] = shares(accepted[ring], scores[ring]) | {"spacings": float(np.median(distance[i]))}
    return out


class Rays(NamedTuple):
    """Decodes along ``RAYS`` rays from the box's centre: ``images`` [RAYS, steps, 28, 28] uint8 at
    ``factors`` times the box, whether the judge accepts each and its realism score."""

    factors: tuple[int, ...]
    images: np.ndarray
    accepted: np.ndarray
    realism: np.ndarray


def ray_points(box: Box) -> np.ndarray:
    """The points of ``RAYS`` rays at ``RAY_FACTORS`` times the box, [RAYS, len(RAY_FACTORS), 2]."""
    angles = np.linspace(0.0, 2 * np.pi, RAYS, endpoint=False) + np.pi / RAYS  # off the axes
    return ellipse(box, RAY_FACTORS, angles).transpose(1, 0, 2)


def rays(images: np.ndarray, accepted: np.ndarray, realism: np.ndarray) -> Rays:
    """The ``Rays`` of the decodes of ``ray_points`` (flat, in its order) with their two scores."""
    shape = (RAYS, len(RAY_FACTORS))
    return Rays(RAY_FACTORS, images.reshape(*shape, 28, 28), accepted.reshape(shape), realism.reshape(shape))
