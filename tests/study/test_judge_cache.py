"""The judge cache: a judge saved is the judge loaded; a damaged one is set aside, not trusted."""

import jax
import numpy as np
from flax import nnx
from helpers import assert_trees_equal

import jaxvae
from jaxvae.study.classifier import Classifier
from jaxvae.study.judge import Judge
from jaxvae.study.judge_cache import JUDGE_FILE, judge_folder, load_judge, save_judge


def test_a_saved_judge_loads_back_equal_and_a_corrupt_one_is_set_aside(tmp_path, caplog):
    judge = Judge(Classifier(rngs=nnx.Rngs(3)), 0.83, {"real images": 0.99, "uniform noise": 0.0})
    assert load_judge(tmp_path) is None  # nothing kept yet
    save_judge(tmp_path, judge, ["ae (latent 2, #1)"])
    loaded, names = load_judge(tmp_path)
    assert names == ["ae (latent 2, #1)"]
    assert (loaded.threshold, loaded.calibration) == (judge.threshold, judge.calibration)
    assert_trees_equal(loaded.classifier, judge.classifier)
    path = tmp_path / JUDGE_FILE
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    assert load_judge(tmp_path) is None
    assert "judge cache" in caplog.text and "is corrupt" in caplog.text
    assert not path.exists() and len(list((tmp_path / "corrupt").iterdir())) == 1


def test_the_judge_folder_is_keyed_on_data_and_settings():
    train = jaxvae.load_bundled("train")
    settings = {"seed": 0, "decoder_epochs": 5}
    folder = judge_folder(train, "mnist_5k", settings)
    assert folder == judge_folder(train, "mnist_5k", dict(settings))
    assert folder != judge_folder(train, "mnist_5k", {**settings, "seed": 1})
    assert folder != judge_folder(train, "mnist_5k", {**settings, "decoder_epochs": 6})
    other = train._replace(images=train.images[::-1].copy())
    assert folder != judge_folder(other, "mnist_5k", settings)


def test_the_classifier_reads_images_by_convolution_as_it_trains_by_patches():
    from jaxvae.models import to_pixels
    from jaxvae.study.classifier import class_probabilities, digit_probability, features, read_images

    classifier = Classifier(rngs=nnx.Rngs(1))
    images = jaxvae.load_bundled("test").images[:64]
    x = to_pixels(jax.numpy.asarray(images))
    # the convolution (inference) and patches x dense (training) are one function
    np.testing.assert_allclose(
        classifier.logits(x), classifier.logits(x, training=True), rtol=1e-4, atol=1e-4
    )
    feats, scores, classes = read_images(classifier, images)
    # one function compiled into two programs sums in two orders: float32 rounding apart (4.8e-7 at
    # most measured on features of about 0.1), where a different function would be wholly apart
    np.testing.assert_allclose(feats, features(classifier, images), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(scores, digit_probability(classifier, images), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(classes, np.argmax(class_probabilities(classifier, images), -1))
    judge = Judge(classifier, 0.5, {})
    read_feats, accepted, read_classes = judge.read(images, chunk=10)
    np.testing.assert_allclose(read_feats, feats, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(accepted, judge.accepts(images))
    np.testing.assert_array_equal(read_classes, classes)


def test_a_judge_over_other_classes_keeps_its_class_count(tmp_path):
    """A data set of 26 classes (EMNIST's letters) gets a classifier with 26 class outputs and the
    reject one; it is kept and loaded as such, and read as 26 classes."""
    from jaxvae.study.classifier import class_probabilities, digit_probability, read_images

    judge = Judge(Classifier(26, rngs=nnx.Rngs(3)), 0.7, {"real images": 0.99})
    assert judge.classifier.num_classes == 26
    save_judge(tmp_path, judge, [])
    assert load_judge(tmp_path) is None  # a folder of MNIST's ten classes would not fit it
    loaded, _ = load_judge(tmp_path, 26)
    assert_trees_equal(loaded.classifier, judge.classifier)
    images = jaxvae.load_bundled("test").images[:8]
    probabilities = np.asarray(class_probabilities(loaded.classifier, images))
    assert probabilities.shape == (8, 26)
    np.testing.assert_allclose(probabilities.sum(-1), digit_probability(loaded.classifier, images), rtol=1e-5)
    _, _, classes = read_images(loaded.classifier, images)
    assert np.all((np.asarray(classes) >= 0) & (np.asarray(classes) < 26))
