"""Every number the demo reports for one trained model with a 2-D latent.

The per-image measure is the validated judge (``jaxvae.study.judge``): an image is *accepted* as a digit
when its ``digit_probability`` is at least the judge's calibrated threshold. The generation
measures (``jaxvae.study.generative``) compare decoded images with the real test images in the judge's
feature space. Distances in the latent plane are in spacings (``jaxvae.study.holes``).

For each model:

- ``reconstructions``: the model's reconstructions of the test images, scored like a generator:
  the reference row, the best a decoder with this bottleneck does on real digits.
- ``samplers``: decodes of ``num_samples`` latent draws from each sampler (``SAMPLERS``): the
  accepted share, precision, coverage, Fréchet distance, class coverage, and the share of draws
  landing where no training code is near (``jaxvae.study.samplers``).
- ``other_samplers``: the same for the samplers beside the claims (``OTHER_SAMPLERS``): a 10-Gaussian
  mixture fitted to the training codes after training (an ex-post density), and the midpoints of
  pairs of test codes (interpolation).
- ``empty_fraction``: the share of the 50 x 50 cells of the codes' 0.5-99.5 percentile box that
  hold no training code; ``posterior_empty_fraction``: the same for one draw from each training
  image's posterior (a VAE's distributions rather than their means);
  ``gaussian_empty_fraction``: the same for as many draws from a Gaussian
  fitted to the codes (what an unstructured cloud of the same spread leaves empty).
- ``between_empty_fraction``: the empty share of the cells whose centre lies between the clusters
  (inside the convex hull of the codes in the box), not beyond all of them.
- ``empty_accepted`` / ``occupied_accepted``: accepted shares of the decodes at the centres of
  the empty and of the occupied cells; ``between_empty_accepted``: of the empty cells between the
  clusters; ``grid_accepted``: of a dense grid over the box.
- ``by_distance``: the accepted and the realistic shares against the distance to the nearest
  training code, over a grid spanning twice the box; ``empty_regions``: the largest empty discs
  centred between the clusters, with whether the decode at each centre is accepted.
- ``far_field``: the accepted, realistic and both shares of the decodes on rings at 1, 2, 4 and 8
  times the box, and of the reconstructions (``jaxvae.study.far_field``).
- ``knn_label_accuracy``: how well the codes cluster by class: the share of test codes whose 5
  nearest training codes vote for the right label (labels are used for this measure only).

What to decode is planned here, on the host (the samplers' draws, the cells, grids, rings and rays);
every decode, the judge's pass over them and the scores against the real images run as one compiled
program (``jaxvae.study.decodes``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, NamedTuple

import jax
import numpy as np
from scipy.spatial import cKDTree

from jaxvae.latent import grid_points
from jaxvae.models import Model, encode, reparameterize
from jaxvae.study.decodes import PR_K, RECONSTRUCTIONS, JudgedSets, Reference, judge_sets
from jaxvae.study.far_field import REALISTIC, Rays, far_field, ray_points, rays, ring_points, typical
from jaxvae.study.generative import class_coverage, frechet_distance, knn_radii, manifold_scores
from jaxvae.study.holes import (
    DISTANCE_EDGES,
    acceptance_by_distance,
    between_clusters,
    code_map,
    distance_in_spacings,
    far_share,
    inside,
    largest_empty_regions,
    outline,
)
from jaxvae.study.judge import Judge, negatives
from jaxvae.study.records import Measures, Scores
from jaxvae.study.samplers import GAUSSIAN, GMM, MIDPOINTS, PRIOR, UNIFORM, sample_latents

EMPTY_CELLS = 50
NEIGHBOURS = 5  # the vote of knn_label_accuracy
REGIONS = 6  # the largest empty regions found and decoded
# the samplers the claims are about (arbitrary points, the prior), per kind; and the ones beside them
SAMPLERS = {kind: (PRIOR, UNIFORM, GAUSSIAN) for kind in ("ae", "rae", "noisy_ae")} | {"vae": (PRIOR,)}
OTHER_SAMPLERS = (GMM, MIDPOINTS)  # the ex-post density and Ghosh et al.'s interpolation, for every kind
Box = tuple[tuple[float, float], tuple[float, float]]


class Pictures(NamedTuple):
    """The arrays the figures draw of one model: the judge's score on a grid over the box
    (``heat``), the outline of the region between the clusters (``hull``), a few decodes of each
    sampler (``samples``), the decodes at the centres of the largest empty regions
    (``region_images``), its reconstructions of the test images (``reconstruction_images``) and its
    decodes along rays far outside its codes (``rays``)."""

    heat: np.ndarray
    hull: np.ndarray
    samples: dict[str, np.ndarray]
    region_images: np.ndarray
    reconstruction_images: np.ndarray
    rays: Rays


class Measured(NamedTuple):
    """What ``measure_model`` finds: the ``numbers`` metrics.json keeps and the arrays the figures draw."""

    numbers: Measures
    pictures: Pictures


def reference(judge: Judge, images: np.ndarray, labels: np.ndarray, *, key: jax.Array) -> Reference:
    """Features and k-NN radii of the real test ``images`` [N, 28, 28], and the half of them (a
    random half drawn with ``key``, with their ``labels``) that realism is scored against."""
    features, radii = _features_and_radii(judge, images)
    return Reference(features, radii, typical(features, labels, key=key, k=PR_K))


def bounding_box(z: np.ndarray, low: float = 0.5, high: float = 99.5) -> Box:
    """The percentile box of 2-D codes z [N, 2]: ((x_min, x_max), (y_min, y_max))."""
    lo, hi = np.percentile(z, [low, high], axis=0)
    return (float(lo[0]), float(hi[0])), (float(lo[1]), float(hi[1]))


def occupancy(z: np.ndarray, box: Box, size: int) -> np.ndarray:
    """Codes per cell on a ``size`` x ``size`` grid over ``box``, rows top (max y) to bottom."""
    counts, _, _ = np.histogram2d(z[:, 0], z[:, 1], bins=size, range=box)
    return counts.T[::-1]


def empty_fraction(z: np.ndarray, box: Box, cells: int = EMPTY_CELLS) -> float:
    """Fraction of the ``cells`` x ``cells`` cells of ``box`` that contain no code of z [N, 2]."""
    return float(np.mean(occupancy(z, box, cells) == 0))


def cell_centres(box: Box, cells: int) -> np.ndarray:
    """The centres of the ``cells`` x ``cells`` cells of ``box``, [cells, cells, 2], rows top to bottom
    (the layout of ``occupancy``)."""
    (x0, x1), (y0, y1) = box
    xs = x0 + (np.arange(cells) + 0.5) * (x1 - x0) / cells
    ys = y1 - (np.arange(cells) + 0.5) * (y1 - y0) / cells
    return np.stack(np.meshgrid(xs, ys), axis=-1).astype(np.float32)


def doubled(box: Box) -> Box:
    """``box`` scaled by 2 about its centre."""
    return tuple((1.5 * lo - 0.5 * hi, 1.5 * hi - 0.5 * lo) for lo, hi in box)  # type: ignore[return-value]


def knn_label_accuracy(
    train_codes: np.ndarray, train_labels: np.ndarray, test_codes: np.ndarray, test_labels: np.ndarray
) -> float:
    """The share of test codes whose ``NEIGHBOURS`` nearest training codes' majority label is right."""
    neighbours = cKDTree(train_codes).query(test_codes, k=NEIGHBOURS)[1]
    classes = int(max(np.max(train_labels), np.max(test_labels))) + 1
    votes = np.apply_along_axis(np.bincount, 1, train_labels[neighbours], minlength=classes)
    return float(np.mean(np.argmax(votes, axis=1) == test_labels))


def generator_scores(judge: Judge, real: Reference, images: np.ndarray, *, recall: bool = False) -> Scores:
    """Accepted share, improved precision, density and coverage, Fréchet distance and class
    coverage of ``images`` [N, 28, 28] uint8 against the real test images; improved recall only when
    ``recall`` (the sets of known answers): it is about 0 for every decoder's images here, its
    reconstructions of real digits included (``jaxvae.study.generative``), so it tells a model's
    samplers nothing, and it would be half the distance work (the generated set's own k-NN radii)."""
    feats, accepted, classes = judge.read(images)  # one pass of the classifier
    precision, recalled, density, coverage = manifold_scores(
        real.features, feats, k=PR_K, real_radii=real.radii, recall=recall
    )
    return Scores(
        accepted=float(np.mean(accepted)),
        precision=float(precision),
        recall=float(recalled) if recall else None,
        density=float(density),
        coverage=float(coverage),
        frechet=float(frechet_distance(real.features, feats)),
        **class_coverage(classes, judge.classifier.num_classes),
    )


def validate_generative(
    judge: Judge, real: Reference, images: np.ndarray, labels: np.ndarray, *, key: jax.Array
) -> list[dict[str, Any]]:
    """The generation measures on sets whose answer is known, each against the half of the test
    ``images`` that ``real.typical`` holds: the other half (realistic and varied: all high), the
    other half's images of one class (realistic, a tenth of the variety: low recall and coverage),
    and each negative kind of the judge's validation made from the other half (``negatives``: not
    realistic, precision near 0)."""
    half = real.features[real.typical.indices]
    first = Reference(half, knn_radii(half, k=PR_K), real.typical)
    rest_index = real.typical.held_out
    rest, rest_labels = images[rest_index], labels[rest_index]
    one_class = int(np.bincount(rest_labels).argmax())
    cases = {
        "real test images (the other half)": rest,
        f"real test images of one class (class {one_class})": rest[rest_labels == one_class],
        **negatives(key, rest, rest_labels, len(rest)),
    }
    return [
        {"set": name, **generator_scores(judge, first, x, recall=True).to_json()} for name, x in cases.items()
    ]


def _features_and_radii(judge: Judge, images: np.ndarray) -> tuple[jax.Array, jax.Array]:
    feats = judge.features(images)
    return feats, knn_radii(feats, k=PR_K)


def measure_model(
    model: Model,
    kind: str,
    judge: Judge,
    real: Reference,
    codes: Mapping[str, np.ndarray],
    labels: Mapping[str, np.ndarray],
    test_images: jax.Array | np.ndarray,
    *,
    key: jax.Array,
    num_samples: int = 10_000,
    grid_size: int = 100,
) -> Measured:
    """All measurements of one model; ``codes`` and ``labels`` map ``"train"`` and ``"test"`` to the
    model's 2-D codes of each split and their labels; ``codes["posterior"]`` is one draw from each
    training image's posterior (for an autoencoder, its code).

    The latent points to decode are planned here, on the host, and decoded and judged in one
    compiled program (``jaxvae.study.decodes.judge_sets``). Returns the ``numbers`` and, for the
    figures, the ``pictures`` (the heat map on a ``grid_size`` grid over the box).
    """
    train_codes, test_codes = codes["train"], codes["test"]
    index = code_map(train_codes, test_codes)
    box = bounding_box(train_codes)

    counts = occupancy(train_codes, box, EMPTY_CELLS)
    empty = counts == 0
    centres = cell_centres(box, EMPTY_CELLS)
    hull = between_clusters(train_codes, box)
    between = inside(hull, centres)
    empty_between = empty & between
    mean, cov = np.mean(train_codes, axis=0), np.cov(train_codes, rowvar=False)
    cloud = np.random.default_rng(0).multivariate_normal(mean, cov, len(train_codes))
    regions = largest_empty_regions(index, box, count=REGIONS, hull=hull)
    region_centres = np.zeros((REGIONS, 2), np.float32)  # always REGIONS rows: one program shape
    for row, region in zip(region_centres, regions, strict=False):
        row[:] = region["x"], region["y"]
    wide = grid_points(*doubled(box), 120).reshape(-1, 2)
    rings = ring_points(box)
    draws = sampler_draws(kind, train_codes, test_codes, key=key, num_samples=num_samples)
    sets = {
        "cells": centres.reshape(-1, 2),
        "grid": grid_points(box[0], box[1], grid_size).reshape(-1, 2),
        "regions": region_centres,
        "wide": wide,
        "rings": rings.reshape(-1, 2),
        "rays": ray_points(box).reshape(-1, 2),
    }
    judged = judge_sets(model, judge, real, test_images, draws, sets, realism=("wide", "rings", "rays"))

    cell_accepted = judged.accepted("cells").reshape(EMPTY_CELLS, EMPTY_CELLS)
    grid_scores = judged.scores("grid")
    wide_accepted, wide_realism = judged.judged("wide")
    region_images = judged.images("regions")[: len(regions)]
    for region, accepted in zip(regions, judged.accepted("regions"), strict=False):
        region["accepted"] = bool(accepted)
    samplers, others, shown = sampler_scores(kind, judged, draws, far=lambda z: far_share(index, z))
    numbers = Measures(
        knn_label_accuracy=knn_label_accuracy(train_codes, labels["train"], test_codes, labels["test"]),
        reconstructions=judged.generator(RECONSTRUCTIONS),
        samplers=samplers,
        other_samplers=others,
        num_samples=num_samples,
        box=[list(box[0]), list(box[1])],
        spacing=index.spacing,
        far_spacings=index.far,
        empty_fraction=float(np.mean(empty)),
        posterior_empty_fraction=empty_fraction(codes["posterior"], box),
        gaussian_empty_fraction=empty_fraction(cloud, bounding_box(cloud)),
        between_empty_fraction=float(np.sum(empty_between) / max(np.sum(between), 1)),
        empty_accepted=float(np.mean(cell_accepted[empty])) if empty.any() else None,
        between_empty_accepted=float(np.mean(cell_accepted[empty_between])) if empty_between.any() else None,
        occupied_accepted=float(np.mean(cell_accepted[~empty])),
        grid_accepted=float(np.mean(grid_scores >= judge.threshold)),
        by_distance=acceptance_by_distance(
            distance_in_spacings(index, wide),
            wide_accepted,
            DISTANCE_EDGES,
            realistic=wide_realism >= REALISTIC,
        ),
        empty_regions=regions,
        far_field=far_field(judged.judged(RECONSTRUCTIONS), judged.judged("rings"), index, rings),
    )
    pictures = Pictures(
        heat=grid_scores.reshape(grid_size, grid_size),
        hull=outline(hull),
        samples=shown,
        region_images=region_images,
        reconstruction_images=judged.images(RECONSTRUCTIONS),
        rays=rays(judged.images("rays"), *judged.judged("rays")),
    )
    return Measured(numbers, pictures)


def sampler_draws(
    kind: str, train_codes: np.ndarray, test_codes: np.ndarray, *, key: jax.Array, num_samples: int
) -> dict[str, np.ndarray]:
    """``num_samples`` latent draws of each of ``kind``'s samplers (``SAMPLERS``), then of
    ``OTHER_SAMPLERS``, by name. Any latent size: sampler ``i`` draws with ``fold_in(key, i)``, the
    others with ``fold_in(key, 100 + i)``."""
    streams = [(name, i) for i, name in enumerate(SAMPLERS[kind])]
    streams += [(name, 100 + i) for i, name in enumerate(OTHER_SAMPLERS)]
    return {
        name: sample_latents(
            name, train_codes, num_samples, key=jax.random.fold_in(key, stream), test_codes=test_codes
        )
        for name, stream in streams
    }


def sampler_scores(
    kind: str,
    judged: JudgedSets,
    draws: Mapping[str, np.ndarray],
    *,
    far: Callable[[np.ndarray], float | None] = lambda z: None,
) -> tuple[dict[str, Scores], dict[str, Scores], dict[str, np.ndarray]]:
    """The generator scores of ``kind``'s samplers (``SAMPLERS``) and of ``OTHER_SAMPLERS`` from
    ``judged`` (which judged their ``draws``), each with ``far(z)`` (2-D: the share of draws far
    from every code), and the first 12 decodes of each."""
    scores = {name: replace(judged.generator(name), far=far(z)) for name, z in draws.items()}
    samplers = {name: scores[name] for name in SAMPLERS[kind]}
    others = {name: scores[name] for name in OTHER_SAMPLERS}
    return samplers, others, {name: judged.images(name)[:12] for name in draws}


def generation(
    model: Model,
    kind: str,
    judge: Judge,
    real: Reference,
    codes: Mapping[str, np.ndarray],
    test_images: jax.Array | np.ndarray,
    *,
    key: jax.Array,
    num_samples: int,
) -> tuple[Scores, dict[str, Scores], dict[str, Scores]]:
    """The generator scores of a model at any latent size, from its ``"train"`` and ``"test"`` codes:
    its reconstructions of ``test_images``, its samplers' and the other samplers' (the draws and
    numbers of ``measure_model``), in one compiled program."""
    draws = sampler_draws(kind, codes["train"], codes["test"], key=key, num_samples=num_samples)
    judged = judge_sets(model, judge, real, test_images, draws)
    samplers, others, _ = sampler_scores(kind, judged, draws)
    return judged.generator(RECONSTRUCTIONS), samplers, others


def encode_codes(model: Model, images: jax.Array, *, key: jax.Array) -> dict[str, np.ndarray]:
    """The codes of ``images``, on the host: ``"mean"``, the posterior means (an autoencoder's
    codes), and ``"sample"``, one draw z ~ q(z | x) per image (for an autoencoder, the code)."""
    mean, logvar = encode(model, images)
    sample = mean if logvar is None else reparameterize(mean, logvar, key=key)
    return {"mean": np.asarray(mean), "sample": np.asarray(sample)}
