"""The measures' one compiled program gives what the measures' functions give one set at a time."""

import jax
import numpy as np
import pytest

from jaxvae.latent import decode_images
from jaxvae.models import make_model
from jaxvae.study.classifier import Classifier
from jaxvae.study.decodes import RECONSTRUCTIONS, judge_sets
from jaxvae.study.far_field import judged
from jaxvae.study.judge import Judge, reconstructions
from jaxvae.study.measures import generator_scores, reference


@pytest.fixture(scope="module")
def setting():
    """An untrained VAE, an untrained judge (threshold at its median score, so that it accepts
    some and rejects some) and 700 test images of random strokes with 10 labels."""
    from flax import nnx

    key = jax.random.key(0)
    classifier = Classifier(rngs=nnx.Rngs(1))
    images = np.asarray(jax.random.uniform(jax.random.key(2), (700, 28, 28)) ** 6 * 255).astype(np.uint8)
    labels = np.arange(700) % 10
    judge = Judge(classifier, 0.5, {})
    judge = Judge(classifier, float(np.median(judge.scores(images))), {})
    real = reference(judge, images, labels, key=jax.random.key(3))
    return make_model("vae", key=key), judge, real, images


def test_judge_sets_equals_the_functions_one_set_at_a_time(setting):
    model, judge, real, images = setting
    rng = np.random.default_rng(0)
    draws = {name: rng.normal(size=(450, 2)).astype(np.float32) * 3 for name in ("one", "two")}
    sets = {"grid": rng.uniform(-4, 4, (130, 2)), "far": rng.uniform(-40, 40, (77, 2))}
    got = judge_sets(model, judge, real, images, draws, sets, realism=("far",))

    recon = reconstructions(model, images)
    assert np.array_equal(got.images(RECONSTRUCTIONS), recon)
    expected = {RECONSTRUCTIONS: generator_scores(judge, real, recon)}
    for name, z in draws.items():
        decoded = decode_images(model, z)
        assert np.array_equal(got.images(name), decoded)
        expected[name] = generator_scores(judge, real, decoded)
    for name, scores in expected.items():
        mine = got.generator(name)
        for field in ("accepted", "precision", "density", "coverage", "class_counts", "missing_classes"):
            assert getattr(mine, field) == getattr(scores, field), (name, field)
        assert mine.recall is None
        assert mine.frechet == pytest.approx(scores.frechet, rel=1e-5)
    grid = decode_images(model, sets["grid"])
    assert np.array_equal(got.images("grid"), grid)
    # one pass of the classifier for every answer (as Judge.read) may round the score's last bit
    # otherwise than Judge.scores, its own program
    np.testing.assert_allclose(got.scores("grid"), judge.scores(grid), rtol=1e-6)
    accepted, realism = judged(judge, real.typical, decode_images(model, sets["far"]))
    assert np.array_equal(got.accepted("far"), accepted)
    np.testing.assert_allclose(got.realism("far"), realism, rtol=1e-6)
    held_accepted, held_realism = judged(judge, real.typical, recon[real.typical.held_out])
    mine_accepted, mine_realism = got.judged(RECONSTRUCTIONS)
    assert np.array_equal(mine_accepted, held_accepted)
    np.testing.assert_allclose(mine_realism, held_realism, rtol=1e-6)
    # the set sizes are fixed by their names, whatever order sets come in
    assert [len(got.images(n)) for n in ("one", "two", "grid", "far")] == [450, 450, 130, 77]
    assert 0 < np.mean(got.accepted("grid")) < 1 or 0 < np.mean(got.accepted(RECONSTRUCTIONS)) < 1


def test_judge_sets_without_samplers_or_realism_and_bad_draws(setting):
    model, judge, real, images = setting
    got = judge_sets(model, judge, real, images, {}, {"grid": np.zeros((5, 2))})
    assert got.generators == (RECONSTRUCTIONS,)
    assert len(got.realism(RECONSTRUCTIONS)) == len(real.typical.held_out)
    assert got.images("grid").shape == (5, 28, 28)
    with pytest.raises(ValueError, match="as many points"):
        judge_sets(model, judge, real, images, {"a": np.zeros((3, 2)), "b": np.zeros((4, 2))})
