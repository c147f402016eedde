"""Everything a model's measures decode, judged in one compiled program.

The measures of a model (``jaxvae.study.measures``) plan on the host which latent points to decode:
each sampler's draws, the cells, grids, rings and rays of the latent plane. ``judge_decodes`` then does
all of the array work in one call on the device: the model's reconstructions of the test images and
the decodes of every point (as uint8 images, the form a user's images come in), one pass of the
judge's classifier over all of them (features, digit probability, class), and the scores that compare
them with the real test images: improved precision, density and coverage and the Fréchet distance of
the reconstructions and of each sampler's draws (``jaxvae.study.generative``), and the realism of the
points named for it and of the reconstructions of the test images held out from ``Typical``
(``jaxvae.study.far_field``). Nothing loops in Python over samplers or sets around small device
calls, which is what a fast accelerator needs. The numbers equal those of the same functions called
one set at a time (``tests/study/test_decodes.py``) but for float32 rounding in two places: the
Fréchet distance, whose covariance sums XLA may order otherwise inside the larger program and whose
traces cancel (in the default demo the reconstructions' moved by at most 2.5e-4 of themselves: on
one run 264.2031 here, 264.2056 alone, 264.2031 in float64 from the same features), and the last bit
of the digit probability.

``JudgedSets`` reads the program's results back by the names of the sets.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxvae.batching import pad_to_chunks
from jaxvae.models import Model, decode, encode
from jaxvae.study.classifier import Classifier, read_images
from jaxvae.study.far_field import Typical
from jaxvae.study.generative import class_coverage, frechet_distance, manifold_scores, realism
from jaxvae.study.judge import CHUNK, Judge
from jaxvae.study.records import Scores

PR_K = 3  # the k of improved precision and recall
RECONSTRUCTIONS = "reconstructions"  # the name of the reconstructions' set


class Reference(NamedTuple):
    """The real test images in the judge's feature space, computed once for every generator: all
    of them with their k-NN radii, and the fixed half that realism is scored against."""

    features: jax.Array
    radii: jax.Array
    typical: Typical


class Decoded(NamedTuple):
    """What ``judge_decodes`` returns: for the reconstructions of the T test images, then the P
    points, in that order, the ``images`` [T + P, 28, 28] uint8, the judge's ``scores`` (digit
    probability) and ``classes`` [T + P]; for the reconstructions, then each sampler, the
    ``precision``, ``density``, ``coverage`` and ``frechet`` distance [1 + samplers]; and the
    ``realism`` of the held-out reconstructions, then of the points from ``realism_from`` on."""

    images: jax.Array
    scores: jax.Array
    classes: jax.Array
    precision: jax.Array
    density: jax.Array
    coverage: jax.Array
    frechet: jax.Array
    realism: jax.Array


@partial(jax.jit, static_argnames=("samplers", "draws", "realism_from", "chunk"))
def judge_decodes(
    model: Model,
    classifier: Classifier,
    real: Reference,
    test_images: jax.Array,
    points: jax.Array,
    *,
    samplers: int,
    draws: int,
    realism_from: int,
    chunk: int = CHUNK,
) -> Decoded:
    """Reconstruct ``test_images`` [T, 28, 28], decode ``points`` [P, d], judge every image, and score
    the reconstructions and the first ``samplers`` x ``draws`` points (each sampler's draws in turn)
    as generators against ``real``; the realism of the points from ``realism_from`` on. ``chunk``
    images at a time go through the networks."""

    def judged(pixels: jax.Array) -> tuple[jax.Array, ...]:
        images = jnp.round(jnp.clip(pixels, 0.0, 1.0) * jnp.float32(255.0)).astype(jnp.uint8)
        return images, *read_images(classifier, images)

    def over_chunks(make: Callable[[jax.Array], jax.Array], rows: jax.Array) -> tuple[jax.Array, ...]:
        chunks, _ = pad_to_chunks(rows, min(chunk, rows.shape[0]))
        out = jax.lax.map(lambda rows: judged(jax.nn.sigmoid(make(rows))), chunks)
        return tuple(x.reshape(-1, *x.shape[2:])[: rows.shape[0]] for x in out)

    recon = over_chunks(lambda x: decode(model, encode(model, x).mean), test_images)
    decoded = over_chunks(lambda z: decode(model, z), points)
    images, feats, scores, classes = (jnp.concatenate(pair) for pair in zip(recon, decoded, strict=True))
    count = test_images.shape[0]  # the reconstructions' rows come first

    def set_scores(generated: jax.Array) -> tuple[jax.Array, ...]:
        precision, _, density, coverage = manifold_scores(
            real.features, generated, k=PR_K, real_radii=real.radii, recall=False
        )
        return precision, density, coverage, frechet_distance(real.features, generated)

    set_values = [value[None] for value in set_scores(feats[:count])]
    if samplers:  # each sampler's draws in turn, through the same loop body
        generated = feats[count : count + samplers * draws].reshape(samplers, draws, feats.shape[-1])
        per_set = jax.lax.map(set_scores, generated)
        set_values = [jnp.concatenate(pair) for pair in zip(set_values, per_set, strict=True)]

    held_out, scored = real.typical.held_out, slice(count + realism_from, None)
    queries = jnp.concatenate([feats[:count][held_out], feats[scored]])
    query_classes = jnp.concatenate([classes[:count][held_out], classes[scored]]).astype(jnp.int32)
    realistic = realism(
        queries,
        real.typical.features,
        real.typical.radii,
        query_classes=query_classes,
        point_classes=real.typical.classes,
        num_classes=classifier.num_classes,
    )
    precision, density, coverage, frechet = set_values
    return Decoded(images, scores, classes, precision, density, coverage, frechet, realistic)


@dataclass(frozen=True)
class JudgedSets:
    """The results of ``judge_decodes`` on the host, by the names of the sets: ``generators`` (the
    reconstructions and each sampler, scored as generators), the other ``sets`` of points, and the
    ``realism`` of the held-out reconstructions and of the sets named for it."""

    decoded: Decoded
    threshold: float
    num_classes: int
    rows: dict[str, slice]  # each set's rows of images, scores and classes
    generators: tuple[str, ...]  # RECONSTRUCTIONS, then the samplers, in the order of the set scores
    realism_rows: dict[str, slice]  # each realism-scored set's rows of ``decoded.realism``
    held_out: np.ndarray  # the test images held out from ``Typical``: the reconstructions scored for realism

    def images(self, name: str) -> np.ndarray:
        """The uint8 images [n, 28, 28] of the set ``name``."""
        return np.asarray(self.decoded.images[self.rows[name]])

    def scores(self, name: str) -> np.ndarray:
        """The judge's digit probability of each image of ``name``."""
        return np.asarray(self.decoded.scores[self.rows[name]])

    def accepted(self, name: str) -> np.ndarray:
        """Whether the judge accepts each image of ``name`` (score >= threshold)."""
        return self.scores(name) >= self.threshold

    def realism(self, name: str) -> np.ndarray:
        """The realism score of each image of ``name`` (the reconstructions: of those held out from
        ``Typical``)."""
        return np.asarray(self.decoded.realism[self.realism_rows[name]])

    def judged(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(accepted, realism) of each image of ``name``, as ``jaxvae.study.far_field.judged`` gives
        them (the reconstructions: those held out from ``Typical``)."""
        accepted = self.accepted(name)
        return (accepted[self.held_out] if name == RECONSTRUCTIONS else accepted), self.realism(name)

    def generator(self, name: str) -> Scores:
        """``name``'s generator scores (``jaxvae.study.measures.generator_scores``: no recall)."""
        i = self.generators.index(name)
        d = self.decoded
        return Scores(
            accepted=float(np.mean(self.accepted(name))),
            precision=float(d.precision[i]),
            recall=None,
            density=float(d.density[i]),
            coverage=float(d.coverage[i]),
            frechet=float(d.frechet[i]),
            **class_coverage(np.asarray(d.classes[self.rows[name]]), self.num_classes),
        )


def judge_sets(
    model: Model,
    judge: Judge,
    real: Reference,
    test_images: jax.Array | np.ndarray,
    draws: Mapping[str, np.ndarray],
    sets: Mapping[str, np.ndarray] | None = None,
    *,
    realism: Sequence[str] = (),
) -> JudgedSets:
    """Judge the model's reconstructions of ``test_images``, each sampler's ``draws`` (name -> [M, d],
    the same M for all, scored as generators) and the other ``sets`` of latent points (name ->
    [n, d]; those named in ``realism`` also get their realism scored) in one ``judge_decodes``."""
    sets = dict(sets or {})
    order = [name for name in sets if name not in realism] + list(realism)
    named = [*draws.items(), *((name, sets[name]) for name in order)]
    sizes = {len(z) for z in draws.values()}
    if len(sizes) > 1:
        raise ValueError(f"every sampler must draw as many points; got {sorted(sizes)}")
    count = len(test_images)
    rows, start = {RECONSTRUCTIONS: slice(0, count)}, count
    for name, z in named:
        rows[name] = slice(start, start + len(z))
        start += len(z)
    points = np.concatenate([np.asarray(z, np.float32).reshape(len(z), -1) for _, z in named])
    realism_from = rows[realism[0]].start - count if realism else len(points)
    decoded = judge_decodes(
        model,
        judge.classifier,
        real,
        jnp.asarray(test_images),
        jnp.asarray(points),
        samplers=len(draws),
        draws=sizes.pop() if sizes else 0,
        realism_from=realism_from,
    )
    held_out = np.asarray(real.typical.held_out)
    shift = len(held_out) - count - realism_from  # realism: the held-out reconstructions, then the sets
    realism_rows = {RECONSTRUCTIONS: slice(0, len(held_out))}
    realism_rows |= {name: slice(rows[name].start + shift, rows[name].stop + shift) for name in realism}
    return JudgedSets(
        decoded=Decoded(*jax.device_get(tuple(decoded))),  # on the host, once
        threshold=judge.threshold,
        num_classes=judge.classifier.num_classes,
        rows=rows,
        generators=(RECONSTRUCTIONS, *draws),
        realism_rows=realism_rows,
        held_out=held_out,
    )
