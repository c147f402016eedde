"""Your own images as a data set (``--dataset PATH``, ``tfds:NAME``): conversions, splits and errors."""

import time

import numpy as np
import pytest
from helpers import write_png_folder
from PIL import Image

import jaxvae
from jaxvae import image_sets, sources
from jaxvae.commands.cli import main
from jaxvae.errors import DataError, DataUnavailableError
from jaxvae.sources import class_names, load_dataset


@pytest.fixture(scope="module")
def digits():
    return jaxvae.load_bundled("train"), jaxvae.load_bundled("test")


@pytest.fixture(scope="module")
def png_folder(digits, tmp_path_factory):
    return write_png_folder(tmp_path_factory.mktemp("png"), {"train": digits[0], "test": digits[1]})


def test_a_png_folder_of_mnist_reads_back_as_mnist_in_its_order(png_folder, digits):
    for split, want in zip(("train", "test"), digits, strict=True):
        got = load_dataset(str(png_folder), split)
        assert np.array_equal(got.images, want.images) and np.array_equal(got.labels, want.labels)
    assert class_names(str(png_folder)) == [str(i) for i in range(10)]


def test_an_npz_with_a_split_and_one_split_reproducibly(digits, tmp_path):
    train, test = digits
    np.savez(
        tmp_path / "both.npz",
        images=train.images,
        labels=train.labels,
        test_images=test.images,
        test_labels=test.labels,
    )
    got = load_dataset(str(tmp_path / "both.npz"), "test")
    assert np.array_equal(got.images, test.images) and np.array_equal(got.labels, test.labels)
    np.savez(tmp_path / "one.npz", images=train.images, labels=train.labels)
    first = load_dataset(str(tmp_path / "one.npz"), "test")
    image_sets._load.cache_clear()
    again = load_dataset(str(tmp_path / "one.npz"), "test")
    assert np.array_equal(first.images, again.images)  # the same file, the same split
    rest = load_dataset(str(tmp_path / "one.npz"), "train")
    assert len(first.labels) + len(rest.labels) == len(train.labels)
    assert np.all(np.bincount(first.labels) == round(450 / 7))  # one in seven of each class


def test_named_labels_and_classes(tmp_path, digits):
    images = digits[0].images[:40]
    names = np.array(["cat", "dog"] * 20)
    np.savez(tmp_path / "named.npz", images=images, labels=names)
    assert class_names(str(tmp_path / "named.npz")) == ["cat", "dog"]
    np.savez(tmp_path / "indexed.npz", images=images, labels=np.arange(40) % 2, classes=np.array(["b", "a"]))
    assert class_names(str(tmp_path / "indexed.npz")) == ["b", "a"]
    data = load_dataset(str(tmp_path / "indexed.npz"), "train")
    assert set(data.labels.tolist()) == {0, 1}


def test_documented_conversions_keep_an_mnist_digit(digits, tmp_path):
    """Colour, transparency, 16 bits, floats and a larger size convert back to the same 28x28 digit."""
    digit = digits[0].images[0]
    big = np.kron(digit, np.ones((2, 2), np.uint8))  # 56x56: the area average gives it back
    rgba = np.zeros((28, 28, 4), np.uint8)
    rgba[..., :3], rgba[..., 3] = 255, digit  # white ink whose opacity is the digit, over black
    cases = {
        "rgb": np.stack([digit] * 3, axis=-1),
        "rgba": rgba,
        "16-bit": digit.astype(np.uint16) * 257,
        "float": digit / np.float32(255),
        "56x56": big,
    }
    for name, array in cases.items():
        assert np.array_equal(image_sets.to_mnist_pixels(array), digit), name
    Image.fromarray(digit.astype(np.uint16) * 257).save(tmp_path / "sixteen.png")
    with Image.open(tmp_path / "sixteen.png") as image:
        assert image.mode.startswith("I")
        assert np.array_equal(image_sets.to_mnist_pixels(image), digit)


def test_centred_like_mnist_leaves_mnist_digits_as_they_are(digits):
    """MNIST's own preparation (fit 20x20, centre of mass at the centre), applied to MNIST's digits."""
    images = digits[1].images[:200]
    same = [np.array_equal(image_sets.to_mnist_pixels(x, centred=True), x) for x in images]
    assert np.mean(same) >= 0.95, np.mean(same)
    digit = images[0]
    rows, cols = np.nonzero(digit)
    down, left = min(4, 27 - rows.max()), min(3, cols.min())  # moved off centre, nothing cut off
    off = np.roll(digit, (down, -left), axis=(0, 1))
    assert (down, left) != (0, 0) and off.sum() == digit.sum()
    centre = image_sets.to_mnist_pixels
    assert np.array_equal(centre(off, centred=True), centre(digit, centred=True))


def _folder(tmp_path, layout):
    """Files under tmp_path/set from {relative path: bytes or an image array}."""
    root = tmp_path / "set"
    for name, content in layout.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            Image.fromarray(content).save(path)
    return str(root)


BAD = {
    "a path that does not exist": (lambda tmp, d: str(tmp / "nowhere"), "unknown dataset"),
    "one class": (lambda tmp, d: _folder(tmp, {f"7/{i}.png": d for i in range(3)}), "1 class"),
    "not an image": (
        lambda tmp, d: _folder(tmp, {"0/a.png": d, "0/b.png": d, "1/a.png": d, "1/b.txt": b"hello"}),
        "not an image Pillow can read",
    ),
    "an empty file": (
        lambda tmp, d: _folder(tmp, {"0/a.png": d, "0/b.png": d, "1/a.png": d, "1/b.png": b""}),
        "an empty file",
    ),
    "no labels": (lambda tmp, d: _folder(tmp, {"a.png": d, "b.png": d}), "needs labels"),
    "101 classes": (
        lambda tmp, d: _folder(tmp, {f"{c}/{i}.png": d for c in range(101) for i in range(2)}),
        "2 to 100 classes",
    ),
    "a class of one image": (
        lambda tmp, d: _folder(tmp, {"0/a.png": d, "0/b.png": d, "1/a.png": d}),
        "2 at least",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_data_sets_are_one_line_errors(case, tmp_path, digits, capsys):
    make, words = BAD[case]
    name = make(tmp_path, digits[0].images[0])
    assert (
        main(["train", "--dataset", name, "--epochs", "1", "--out", str(tmp_path / "run"), "--no-progress"])
        == 2
    )
    err = capsys.readouterr().err.strip()
    assert words in err and "\n" not in err and "Traceback" not in err, err
    assert not (tmp_path / "run").exists()  # nothing half-written


def test_an_npz_without_labels_says_why(tmp_path, digits):
    np.savez(tmp_path / "x.npz", images=digits[0].images[:10])
    with pytest.raises(DataError, match="no 'labels' array; jaxvae's judge is a classifier over the classes"):
        load_dataset(str(tmp_path / "x.npz"), "train")


def test_tfds_offline_without_a_prepared_cache_fails_at_once(monkeypatch):
    monkeypatch.setattr(sources, "_tfds_sources", lambda tfds, spec, download: None)
    monkeypatch.setattr(sources, "_reachable", lambda url, timeout=5.0: False)
    sources._tfds_set.cache_clear()
    began = time.monotonic()
    with pytest.raises(DataUnavailableError, match="no prepared tensorflow-datasets cache of kmnist here"):
        load_dataset("tfds:kmnist", "train")
    assert time.monotonic() - began < 30
    with pytest.raises(DataError, match="has no data set 'no_such_set'"):
        load_dataset("tfds:no_such_set", "train")


class _Source(list):
    """A stand-in for a tensorflow-datasets data source: records, and the label feature's names."""

    def __init__(self, records, names):
        super().__init__(records)
        label = type("Label", (), {"names": names})()
        self.dataset_info = type("Info", (), {"features": {"label": label}})()


def test_tfds_records_become_28x28_grayscale_with_their_class_names(digits):
    images, labels = digits[0].images[:8], digits[0].labels[:8]
    records = [
        {"image": np.stack([x] * 3, axis=-1), "label": int(y)} for x, y in zip(images, labels, strict=True)
    ]
    names = [f"class {i}" for i in range(10)]
    got = sources.tfds_image_set(
        "tfds:fake", {"train": _Source(records, names), "test": _Source(records, names)}
    )
    assert np.array_equal(got.train.images, images) and np.array_equal(got.test.labels, labels)
    assert got.classes == names


def test_tfds_online_without_a_prepared_cache_asks_tensorflow_datasets_to_download(monkeypatch, digits):
    """Where the machine is online, jaxvae asks tensorflow-datasets to download and prepare the set
    (tfds's own download is not run here: tests never touch the network)."""
    images, labels = digits[0].images[:6], digits[0].labels[:6]
    records = [{"image": x[..., None], "label": int(y)} for x, y in zip(images, labels, strict=True)]
    names = [str(i) for i in range(10)]
    calls = []

    def sources_of(tfds, spec, download):
        calls.append((spec, download))
        return {split: _Source(records, names) for split in ("train", "test")} if download else None

    monkeypatch.setattr(sources, "_tfds_sources", sources_of)
    monkeypatch.setattr(sources, "_reachable", lambda url, timeout=5.0: True)
    sources._tfds_set.cache_clear()
    got = load_dataset("tfds:kmnist", "train")
    assert np.array_equal(got.images, images) and class_names("tfds:kmnist") == names
    assert calls == [("kmnist", False), ("kmnist", True)]  # read once per process
    sources._tfds_set.cache_clear()
