"""Generators judged as the field judges them, in a learned feature space, on the device.

- Improved precision and recall (Kynkäänniemi et al., 2019). Each set of feature vectors defines
  a manifold: the union of balls around its points, each ball's radius the distance to that
  point's k-th nearest neighbour in the same set (k = 3). *Precision* is the share of generated
  points inside the real manifold (are the samples realistic?), *recall* the share of real points
  inside the generated manifold (is the variety of the data covered?).
- The realism score of one image (Kynkäänniemi et al., 2019): how deep inside the real manifold
  its feature vector lies, at least 1 inside it; the per-image form of precision.
- Density and coverage (Naeem et al., 2020), which use the real set's balls only. *Coverage* is
  the share of real points whose ball holds at least one generated point; *density* the mean
  number of real balls a generated point falls in, over k. Recall needs balls around the generated
  points, and the images of a decoder with a 2-D latent lie on a 2-D sheet in feature space whose
  k-NN balls are tiny: its recall is near 0 even for its reconstructions of real images, while
  coverage still tells a sampler that covers the data's variety from one that does not.
- The Fréchet distance between Gaussians fitted to the two sets (the FID of Heusel et al., 2017,
  here in the feature space of jaxvae's own classifier rather than Inception's):
  ``|m1 - m2|^2 + Tr(C1 + C2 - 2 (C1 C2)^(1/2))``.
- Class coverage: the entropy of the classes a classifier assigns to the samples and the classes
  never assigned.

Every pairwise computation runs in fixed-size chunks under ``jax.jit`` (memory grows with one
chunk times the set size, not with the square of the set size), so a user can score any
generator's images with ``precision_recall(features(c, real), features(c, fake))``;
``manifold_scores`` gives precision, recall, density and coverage from one pass.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxvae.batching import pad_to_chunks


def _squared_distances(a: jax.Array, b: jax.Array) -> jax.Array:
    """[len(a), len(b)] squared Euclidean distances, via one matrix product."""
    aa = jnp.sum(a * a, axis=-1)[:, None]
    bb = jnp.sum(b * b, axis=-1)[None, :]
    return jnp.maximum(aa + bb - 2.0 * a @ b.T, 0.0)


@partial(jax.jit, static_argnames=("k", "chunk_size"))
def knn_radii(points: jax.Array, *, k: int = 3, chunk_size: int = 1024) -> jax.Array:
    """For each of ``points`` [N, D], the distance to its k-th nearest neighbour among the others."""
    chunks, _ = pad_to_chunks(points, min(chunk_size, points.shape[0]))

    def per_chunk(chunk: jax.Array) -> jax.Array:
        # the point itself is among the k + 1 smallest distances (at 0), so the k-th other is last
        smallest = -jax.lax.top_k(-_squared_distances(chunk, points), k + 1)[0]
        return jnp.sqrt(smallest[:, k])

    return jax.lax.map(per_chunk, chunks).reshape(-1)[: points.shape[0]]


@partial(jax.jit, static_argnames=("chunk_size",))
def in_manifold(
    queries: jax.Array, points: jax.Array, radii: jax.Array, *, chunk_size: int = 1024
) -> jax.Array:
    """Whether each of ``queries`` [M, D] lies within ``radii[j]`` of some ``points[j]`` [N, D]."""
    chunks, _ = pad_to_chunks(queries, min(chunk_size, queries.shape[0]))

    def per_chunk(chunk: jax.Array) -> jax.Array:
        return jnp.any(_squared_distances(chunk, points) <= jnp.square(radii)[None, :], axis=1)

    return jax.lax.map(per_chunk, chunks).reshape(-1)[: queries.shape[0]]


@partial(jax.jit, static_argnames=("num_classes", "chunk_size"))
def realism(
    queries: jax.Array,
    points: jax.Array,
    radii: jax.Array,
    *,
    query_classes: jax.Array | None = None,
    point_classes: jax.Array | None = None,
    num_classes: int = 10,
    chunk_size: int = 1024,
) -> jax.Array:
    """The realism score of each of ``queries`` [M, D] against the real ``points`` [N, D] with their
    k-NN ``radii`` [N] (Kynkäänniemi et al., 2019, section 5)::

        R(q) = max_j { radii[j] / |q - points[j]| }   over the j with radii[j] <= median(radii)

    R >= 1 when ``q`` lies in the ball of some real point, and grows the deeper inside it lies;
    near 0 far from every real point. The balls wider than the median, those of the real set's
    outliers, are left out so that an outlier's wide ball does not make its neighbourhood count
    as typical.

    With classes (``query_classes`` [M] and ``point_classes`` [N], in ``range(num_classes)``), a
    query is scored against the real points of its own class only, and the median is each class's
    own (``radii`` then being k-NN radii within each class): dense classes (the 1s) and sparse
    ones (the 2s) are then typical equally often.
    """
    if point_classes is None or query_classes is None:
        point_classes = jnp.zeros(points.shape[0], jnp.int32)
        query_classes = jnp.zeros(queries.shape[0], jnp.int32)
    same = point_classes[None, :] == jnp.arange(num_classes)[:, None]  # [classes, N]
    medians = jnp.nanmedian(jnp.where(same, radii[None, :], jnp.nan), axis=1)
    kept = jnp.where(radii <= medians[point_classes], radii, 0.0)
    chunks, _ = pad_to_chunks(queries, min(chunk_size, queries.shape[0]))
    classes, _ = pad_to_chunks(query_classes, min(chunk_size, queries.shape[0]))

    def per_chunk(args: tuple[jax.Array, jax.Array]) -> jax.Array:
        chunk, chunk_classes = args
        distance = jnp.sqrt(_squared_distances(chunk, points))
        own = chunk_classes[:, None] == point_classes[None, :]
        return jnp.max(jnp.where(own, kept[None, :] / jnp.maximum(distance, 1e-6), 0.0), axis=1)

    return jax.lax.map(per_chunk, (chunks, classes)).reshape(-1)[: queries.shape[0]]


@partial(jax.jit, static_argnames=("k", "chunk_size"))
def precision_recall(
    real: jax.Array,
    generated: jax.Array,
    *,
    k: int = 3,
    real_radii: jax.Array | None = None,
    chunk_size: int = 1024,
) -> tuple[jax.Array, jax.Array]:
    """Improved (precision, recall) of ``generated`` [M, D] against ``real`` [N, D] feature vectors
    (Kynkäänniemi et al., 2019)::

        precision = mean_i [ exists j: |g_i - r_j| <= NN_k(r_j) ]
        recall    = mean_j [ exists i: |r_j - g_i| <= NN_k(g_i) ]

    ``real_radii`` (``knn_radii(real, k=k)``) may be passed to reuse them across generators.
    """
    if real_radii is None:
        real_radii = knn_radii(real, k=k, chunk_size=chunk_size)
    generated_radii = knn_radii(generated, k=k, chunk_size=chunk_size)
    precision = jnp.mean(in_manifold(generated, real, real_radii, chunk_size=chunk_size))
    recall = jnp.mean(in_manifold(real, generated, generated_radii, chunk_size=chunk_size))
    return precision, recall


@partial(jax.jit, static_argnames=("k", "chunk_size"))
def density_coverage(
    real: jax.Array,
    generated: jax.Array,
    *,
    k: int = 3,
    real_radii: jax.Array | None = None,
    chunk_size: int = 1024,
) -> tuple[jax.Array, jax.Array]:
    """(density, coverage) of ``generated`` [M, D] against ``real`` [N, D] feature vectors
    (Naeem et al., 2020)::

        density  = 1 / (k M) sum_i sum_j [ |g_i - r_j| <= NN_k(r_j) ]
        coverage = mean_j [ min_i |r_j - g_i| <= NN_k(r_j) ]
    """
    if real_radii is None:
        real_radii = knn_radii(real, k=k, chunk_size=chunk_size)
    chunks, _ = pad_to_chunks(real, min(chunk_size, real.shape[0]))
    radii, _ = pad_to_chunks(real_radii, min(chunk_size, real.shape[0]))

    def per_chunk(args: tuple[jax.Array, jax.Array]) -> tuple[jax.Array, jax.Array]:
        chunk, radius = args
        inside = _squared_distances(chunk, generated) <= jnp.square(radius)[:, None]
        return jnp.sum(inside, axis=1), jnp.any(inside, axis=1)

    counts, covered = jax.lax.map(per_chunk, (chunks, radii))
    n = real.shape[0]
    density = jnp.sum(counts.reshape(-1)[:n]) / (k * generated.shape[0])
    return density, jnp.mean(covered.reshape(-1)[:n])


@partial(jax.jit, static_argnames=("k", "chunk_size", "recall"))
def manifold_scores(
    real: jax.Array,
    generated: jax.Array,
    *,
    k: int = 3,
    real_radii: jax.Array | None = None,
    chunk_size: int = 1024,
    recall: bool = True,
) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
    """(precision, recall, density, coverage) of ``generated`` [M, D] against ``real`` [N, D]: the
    values of ``precision_recall`` and ``density_coverage`` from one pass over the real-by-generated
    distances (each of the four reads the same matrix: the real balls for precision, density and
    coverage, the generated balls for recall), so the work is two distance matrices, not four:
    that one, and the generated set's own for its radii. With ``recall=False`` the generated set's
    radii are not computed (half the work when M = N) and recall is NaN."""
    if real_radii is None:
        real_radii = knn_radii(real, k=k, chunk_size=chunk_size)
    m, n = generated.shape[0], real.shape[0]
    generated_radii = jnp.square(knn_radii(generated, k=k, chunk_size=chunk_size)) if recall else jnp.zeros(m)
    size = min(chunk_size, n)
    chunks, valid = pad_to_chunks(real, size)
    radii, _ = pad_to_chunks(real_radii, size)

    def per_chunk(
        carry: tuple[jax.Array, jax.Array], args: tuple[jax.Array, jax.Array, jax.Array]
    ) -> tuple[tuple[jax.Array, jax.Array], tuple[jax.Array, jax.Array]]:
        in_real, counts = carry  # per generated point: in some real ball; in how many
        chunk, radius, ok = args
        distances = _squared_distances(chunk, generated)  # [chunk, M]
        inside_real = (distances <= jnp.square(radius)[:, None]) & (ok[:, None] > 0)
        recalled = jnp.any(distances <= generated_radii[None, :], axis=1) if recall else ok > 0
        carry = (in_real | jnp.any(inside_real, axis=0), counts + jnp.sum(inside_real, axis=0))
        return carry, (recalled, jnp.any(inside_real, axis=1))

    start = (jnp.zeros(m, bool), jnp.zeros(m, jnp.int32))
    (in_real, counts), (recalled, covered) = jax.lax.scan(per_chunk, start, (chunks, radii, valid))
    precision = jnp.mean(in_real)
    recall_share = jnp.mean(recalled.reshape(-1)[:n]) if recall else jnp.array(jnp.nan)
    density = jnp.sum(counts) / (k * m)
    return precision, recall_share, density, jnp.mean(covered.reshape(-1)[:n])


@jax.jit
def gaussian_fit(x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Mean [D] and (unbiased) covariance [D, D] of ``x`` [N, D]."""
    mean = jnp.mean(x, axis=0)
    centred = x - mean[None, :]
    return mean, centred.T @ centred / (x.shape[0] - 1)


def _sqrt_psd(c: jax.Array) -> jax.Array:
    w, v = jnp.linalg.eigh(c)
    return (v * jnp.sqrt(jnp.clip(w, 0.0))[None, :]) @ v.T


@jax.jit
def frechet_distance(real: jax.Array, generated: jax.Array) -> jax.Array:
    """Fréchet distance between Gaussians fitted to ``real`` [N, D] and ``generated`` [M, D].

    ``d^2 = |m1 - m2|^2 + Tr(C1) + Tr(C2) - 2 Tr((C1^(1/2) C2 C1^(1/2))^(1/2))``; the last trace
    equals ``Tr((C1 C2)^(1/2))`` and is computed from a symmetric matrix, so it stays real.
    """
    m1, c1 = gaussian_fit(real)
    m2, c2 = gaussian_fit(generated)
    s1 = _sqrt_psd(c1)
    cross = jnp.sum(jnp.sqrt(jnp.clip(jnp.linalg.eigvalsh(s1 @ c2 @ s1), 0.0)))
    return jnp.sum(jnp.square(m1 - m2)) + jnp.trace(c1) + jnp.trace(c2) - 2.0 * cross


def class_coverage(predicted: np.ndarray, num_classes: int = 10) -> dict[str, Any]:
    """Entropy (bits) of the predicted classes, their counts, and the classes never predicted."""
    counts = np.bincount(np.asarray(predicted).ravel(), minlength=num_classes)
    p = counts[counts > 0] / counts.sum()
    return {
        "class_entropy_bits": float(-(p * np.log2(p)).sum()),
        "class_counts": counts.tolist(),
        "missing_classes": [int(c) for c in np.flatnonzero(counts == 0)],
    }
