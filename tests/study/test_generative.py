"""The generation measures: exact on small cases, and right on real digits, noise and one class."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg

import jaxvae
from jaxvae.study.classifier import features, train_classifier
from jaxvae.study.generative import (
    class_coverage,
    frechet_distance,
    in_manifold,
    knn_radii,
    manifold_scores,
    precision_recall,
    realism,
)


def test_knn_radii_and_manifold_match_brute_force():
    rng = np.random.default_rng(0)
    points = rng.normal(size=(300, 5)).astype(np.float32)
    queries = rng.normal(size=(70, 5)).astype(np.float32)
    distances = np.linalg.norm(points[:, None] - points[None], axis=-1)
    expected = np.sort(distances, axis=1)[:, 3]  # column 0 is the point itself
    radii = knn_radii(jnp.asarray(points), k=3, chunk_size=64)  # chunks that do not divide 300
    np.testing.assert_allclose(radii, expected, rtol=1e-4, atol=1e-4)
    to_points = np.linalg.norm(queries[:, None] - points[None], axis=-1)
    inside = (to_points <= expected[None]).any(axis=1)
    got = in_manifold(jnp.asarray(queries), jnp.asarray(points), jnp.asarray(expected), chunk_size=32)
    assert np.array_equal(np.asarray(got), inside)


def test_realism_matches_brute_force_and_is_one_on_the_edge_of_a_ball():
    rng = np.random.default_rng(4)
    points = rng.normal(size=(200, 3)).astype(np.float32)
    queries = rng.normal(size=(50, 3)).astype(np.float32) * 1.5
    radii = np.sort(np.linalg.norm(points[:, None] - points[None], axis=-1), axis=1)[:, 3]
    kept = np.where(radii <= np.median(radii), radii, 0.0)  # the wider half of the balls left out
    distance = np.linalg.norm(queries[:, None] - points[None], axis=-1)
    expected = (kept[None] / distance).max(axis=1)
    got = realism(jnp.asarray(queries), jnp.asarray(points), jnp.asarray(radii), chunk_size=16)
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-4)
    # a query on the edge of the narrowest ball scores 1, one farther out less, one inside more
    j = int(np.argmin(radii))
    direction = np.array([1.0, 0.0, 0.0], np.float32)
    edge = points[j] + direction * radii[j] * np.array([[0.5], [1.0]], np.float32)
    inner, on_edge = np.asarray(realism(jnp.asarray(edge), jnp.asarray(points), jnp.asarray(radii)))
    assert inner >= 2.0 - 1e-4 and on_edge >= 1.0 - 1e-4
    far = np.asarray(realism(jnp.asarray(points[:1] + 100.0), jnp.asarray(points), jnp.asarray(radii)))
    assert far[0] < 0.05
    # with classes: each query against its own class's points, each class pruned at its own median
    point_classes, query_classes = rng.integers(0, 3, 200), rng.integers(0, 3, 50)
    own = query_classes[:, None] == point_classes[None, :]
    medians = np.array([np.median(radii[point_classes == c]) for c in range(3)])
    kept = np.where(radii <= medians[point_classes], radii, 0.0)
    expected = np.where(own, kept[None] / distance, 0.0).max(axis=1)
    got = realism(
        jnp.asarray(queries),
        jnp.asarray(points),
        jnp.asarray(radii),
        query_classes=jnp.asarray(query_classes),
        point_classes=jnp.asarray(point_classes),
        num_classes=3,
        chunk_size=16,
    )
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-4)


def test_frechet_distance_matches_the_formula():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(400, 6))
    b = rng.normal(size=(300, 6)) @ rng.normal(size=(6, 6)) + 0.5
    m1, m2 = a.mean(0), b.mean(0)
    c1, c2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    expected = np.sum((m1 - m2) ** 2) + np.trace(c1 + c2 - 2 * scipy.linalg.sqrtm(c1 @ c2).real)
    got = float(frechet_distance(jnp.asarray(a, jnp.float32), jnp.asarray(b, jnp.float32)))
    assert got == pytest.approx(expected, rel=1e-3)
    assert float(frechet_distance(jnp.asarray(a, jnp.float32), jnp.asarray(a, jnp.float32))) == pytest.approx(
        0.0, abs=1e-3
    )


def test_class_coverage():
    cover = class_coverage(np.array([0, 0, 1, 3]))
    assert cover["missing_classes"] == [2, 4, 5, 6, 7, 8, 9]
    assert cover["class_entropy_bits"] == pytest.approx(1.5)
    assert class_coverage(np.arange(100) % 10)["class_entropy_bits"] == pytest.approx(np.log2(10))


@pytest.fixture(scope="module")
def digit_features():
    """A classifier's features of two disjoint halves of the bundled digits, and the classifier."""
    train = jaxvae.load_bundled("train")
    classifier = train_classifier(train.images, train.labels, key=jax.random.key(0), epochs=4, progress=False)
    order = np.random.default_rng(0).permutation(len(train.images))
    a, b = order[:2000], order[2000:4000]
    return classifier, train, features(classifier, jnp.asarray(train.images[a])), b


def test_real_digits_against_real_digits(digit_features):
    classifier, train, real, other = digit_features
    fake = features(classifier, jnp.asarray(train.images[other]))
    precision, recall = precision_recall(real, fake)
    assert precision > 0.8 and recall > 0.8
    noise = features(classifier, jax.random.uniform(jax.random.key(1), (2000, 28, 28)))
    real_fid, noise_fid = float(frechet_distance(real, fake)), float(frechet_distance(real, noise))
    assert real_fid < 0.05 * noise_fid
    noise_precision, _ = precision_recall(real, noise)
    assert float(noise_precision) < 0.05


def test_realism_finds_real_digits_realistic_and_noise_and_fragments_not(digit_features):
    from jaxvae.study.degenerate import fragments

    classifier, train, real, other = digit_features
    radii = knn_radii(real)
    score = lambda images: np.asarray(realism(features(classifier, jnp.asarray(images)), real, radii))  # noqa: E731
    held_out = score(train.images[other])
    noise = score(np.asarray(jax.random.randint(jax.random.key(2), (2000, 28, 28), 0, 256), np.uint8))
    cut = score(fragments(jax.random.key(3), train.images[other]))
    assert np.mean(held_out >= 1) > 0.25  # by construction about half: only the narrower balls count
    assert np.mean(noise >= 1) == 0 and np.median(noise) < 0.5 * np.median(held_out)
    assert np.mean(cut >= 1) < 0.5 * np.mean(held_out >= 1)


def test_one_class_generator_has_low_recall(digit_features):
    classifier, train, real, other = digit_features
    _, real_recall = precision_recall(real, features(classifier, jnp.asarray(train.images[other])))
    for digit in (0, 1, 7):  # every image of one class: realistic, but a tenth of the variety
        one_class = np.flatnonzero(train.labels == digit)
        precision, recall = precision_recall(real, features(classifier, jnp.asarray(train.images[one_class])))
        assert float(precision) > 0.8
        assert float(recall) < 0.5 * float(real_recall)


def test_density_and_coverage_match_brute_force():
    from jaxvae.study.generative import density_coverage

    rng = np.random.default_rng(2)
    real = rng.normal(size=(200, 4)).astype(np.float32)
    fake = (rng.normal(size=(150, 4)) * 0.5 + 0.3).astype(np.float32)
    radii = np.sort(np.linalg.norm(real[:, None] - real[None], axis=-1), axis=1)[:, 3]
    inside = np.linalg.norm(real[:, None] - fake[None], axis=-1) <= radii[:, None]
    density, coverage = density_coverage(jnp.asarray(real), jnp.asarray(fake), chunk_size=64)
    assert float(coverage) == pytest.approx(inside.any(axis=1).mean(), abs=1e-6)
    assert float(density) == pytest.approx(inside.sum() / (3 * len(fake)), rel=1e-5)


def test_coverage_of_real_digits_and_of_one_class(digit_features):
    from jaxvae.study.generative import density_coverage

    classifier, train, real, other = digit_features
    _, real_coverage = density_coverage(real, features(classifier, jnp.asarray(train.images[other])))
    ones = features(classifier, jnp.asarray(train.images[train.labels == 1]))
    _, one_class = density_coverage(real, ones)
    assert float(real_coverage) > 0.6 and float(one_class) < 0.25


def test_generator_measures_compose_under_jit_and_vmap():
    rng = np.random.default_rng(3)
    real = jnp.asarray(rng.normal(size=(120, 8)), jnp.float32)
    fakes = jnp.asarray(rng.normal(size=(3, 100, 8)) * np.array([1.0, 0.5, 2.0])[:, None, None], jnp.float32)
    batched = jax.vmap(lambda g: jaxvae.precision_recall(real, g, chunk_size=32))(fakes)
    one_by_one = [jaxvae.precision_recall(real, g, chunk_size=32) for g in fakes]
    np.testing.assert_allclose(np.asarray(batched), np.asarray(one_by_one).T, atol=1e-6)
    fid = jax.jit(jax.vmap(lambda g: jaxvae.frechet_distance(real, g)))(fakes)
    assert fid.shape == (3,) and float(fid[0]) < float(fid[2])  # the wider cloud is farther
    _, coverage = jax.vmap(lambda g: jaxvae.density_coverage(real, g, chunk_size=32))(fakes)
    assert coverage.shape == (3,)


@pytest.mark.parametrize("real_count, generated_count", [(777, 300), (300, 1500)])
def test_manifold_scores_are_precision_recall_density_and_coverage_from_one_pass(real_count, generated_count):
    from jaxvae.study.generative import density_coverage

    real_key, generated_key = jax.random.split(jax.random.key(real_count))
    real = jax.random.normal(real_key, (real_count, 16))
    generated = 0.8 * jax.random.normal(generated_key, (generated_count, 16)) + 0.2
    radii = knn_radii(real, k=3)
    separate = (
        *precision_recall(real, generated, real_radii=radii),
        *density_coverage(real, generated, real_radii=radii),
    )
    # chunks smaller than either set, with padding in the last one
    together = manifold_scores(real, generated, real_radii=radii, chunk_size=128)
    np.testing.assert_allclose(np.asarray(together), np.asarray(separate), rtol=1e-6)
    assert 0 < float(together[0]) < 1 and 0 < float(together[3]) < 1  # neither all nor nothing
    np.testing.assert_allclose(np.asarray(manifold_scores(real, generated)), np.asarray(together), rtol=1e-6)
    # without recall: the other three unchanged, recall NaN
    without = manifold_scores(real, generated, real_radii=radii, chunk_size=128, recall=False)
    assert np.isnan(float(without[1]))
    np.testing.assert_array_equal(np.asarray(without)[[0, 2, 3]], np.asarray(together)[[0, 2, 3]])
