import gzip
import hashlib
from pathlib import Path

import numpy as np
import pytest
from helpers import SHARED_MNIST, idx_bytes, write_split

import jaxvae.sources as data
from jaxvae import DataError, DataUnavailableError, load_bundled, load_dataset, read_idx
from jaxvae.sources import load_packaged


@pytest.mark.parametrize("gz", [True, False])
def test_reads_idx_split_raw_or_gzip(tmp_path, gz):
    images, labels = write_split(tmp_path, "test", gz=gz)
    ds = load_dataset("mnist", "test", tmp_path)
    assert ds.images.dtype == np.uint8 and ds.images.shape == (5, 28, 28)
    np.testing.assert_array_equal(ds.images, images)
    np.testing.assert_array_equal(ds.labels, labels)
    assert ds.labels.dtype == np.int32


def test_missing_file_names_it(tmp_path):
    with pytest.raises(DataError, match="train-images-idx3-ubyte.gz: file not found"):
        data.load_idx_split(tmp_path, "train")


def test_wrong_magic(tmp_path):
    path = tmp_path / "x-idx3-ubyte"
    path.write_bytes(b"\x12\x34\x08\x03" + b"\0" * 20)
    with pytest.raises(DataError, match=r"x-idx3-ubyte: wrong magic number"):
        read_idx(path)


def test_truncated_data(tmp_path):
    path = tmp_path / "t"
    path.write_bytes(idx_bytes(np.zeros((3, 28, 28)))[:-10])
    with pytest.raises(DataError, match="truncated data"):
        read_idx(path)


def test_count_mismatch(tmp_path):
    write_split(tmp_path, images=np.zeros((4, 28, 28), np.uint8), labels=np.zeros(3, np.uint8))
    with pytest.raises(DataError, match="4 images but .* has 3 labels"):
        data.load_idx_split(tmp_path, "train")


def test_wrong_image_size(tmp_path):
    write_split(tmp_path, images=np.zeros((2, 32, 32), np.uint8), labels=np.zeros(2, np.uint8))
    with pytest.raises(DataError, match=r"shape \(2, 32, 32\), expected \[N, 28, 28\]"):
        data.load_idx_split(tmp_path, "train")


def test_not_gzip_where_gz_says_so(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(idx_bytes(np.zeros((1, 28, 28))))
    with pytest.raises(DataError, match="train-images-idx3-ubyte.gz: not a valid gzip file"):
        read_idx(path)


def test_bundled_subset_is_real_balanced_mnist():
    train, test = load_bundled("train"), load_bundled("test")
    assert train.images.shape == (4500, 28, 28) and test.images.shape == (500, 28, 28)
    assert train.images.dtype == np.uint8
    np.testing.assert_array_equal(np.bincount(train.labels), [450] * 10)
    np.testing.assert_array_equal(np.bincount(test.labels), [50] * 10)
    assert 25 < train.images.mean() < 45  # real MNIST: mean pixel about 33
    ds = load_dataset("mnist_5k", "test")
    np.testing.assert_array_equal(ds.images, test.images)
    # the subset is the first digits of each class, from the split of the same name
    full = load_packaged("test")
    first_sevens = full.images[full.labels == 7][:50]
    np.testing.assert_array_equal(test.images[test.labels == 7], first_sevens)


PACKAGED = Path(data.__file__).parent / "_bundled" / "mnist"


def test_packaged_mnist_is_canonical_byte_for_byte():
    """The package's files match the canonical MD5 of the decompressed files, the SHA-256 list
    load_packaged checks, the provenance file, and the team's copy where it exists."""
    provenance = (PACKAGED.parent / "PROVENANCE.md").read_text()
    for name, sha in data._PACKAGED_MNIST_SHA256.items():
        payload = (PACKAGED / name).read_bytes()
        assert hashlib.sha256(payload).hexdigest() == sha and sha in provenance
        raw_name = name.removesuffix(".gz")
        md5 = hashlib.md5(gzip.decompress(payload)).hexdigest()
        assert md5 == data._MNIST_RAW_MD5[raw_name] and md5 in provenance
        if (SHARED_MNIST / name).exists():
            assert (SHARED_MNIST / name).read_bytes() == payload
    if (SHARED_MNIST / "RAW_MD5SUMS").exists():
        shared = dict(line.split()[::-1] for line in (SHARED_MNIST / "RAW_MD5SUMS").read_text().splitlines())
        assert shared == data._MNIST_RAW_MD5


def test_full_mnist_offline_from_the_package(monkeypatch):
    monkeypatch.setattr(data, "_reachable", lambda url, timeout=5.0: pytest.fail("no download"))
    train, test = load_dataset("mnist", "train"), load_dataset("mnist", "test")
    assert train.images.shape == (60000, 28, 28) and test.images.shape == (10000, 28, 28)
    np.testing.assert_array_equal(
        np.bincount(test.labels), [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    )


def test_damaged_package_copy_is_refused(monkeypatch, tmp_path):
    bad = tmp_path / "jaxvae"
    (bad / "_bundled" / "mnist").mkdir(parents=True)
    for name in data._PACKAGED_MNIST_SHA256:
        payload = (PACKAGED / name).read_bytes()
        if name.startswith("t10k-images"):
            payload = payload[:-1] + bytes([payload[-1] ^ 1])
        (bad / "_bundled" / "mnist" / name).write_bytes(payload)
    monkeypatch.setattr(data.resources, "files", lambda package: bad)
    data.load_packaged.cache_clear()
    try:
        with pytest.raises(DataError, match="t10k-images-idx3-ubyte.gz fails its SHA-256; reinstall"):
            data.load_packaged("test")
        (bad / "_bundled" / "mnist" / "t10k-images-idx3-ubyte.gz").unlink()
        with pytest.raises(DataError, match="lacks t10k-images-idx3-ubyte.gz"):
            data.load_packaged("test")
    finally:
        data.load_packaged.cache_clear()


def test_explicit_dir_never_falls_back(tmp_path):
    with pytest.raises(DataUnavailableError, match="--data-dir"):
        load_dataset("mnist", "train", tmp_path / "empty")


def test_env_dir_named_for_another_dataset_is_not_used(tmp_path, monkeypatch):
    write_split(tmp_path / "mnist", "test")
    monkeypatch.setenv("JAXVAE_DATA_DIR", str(tmp_path / "mnist"))
    monkeypatch.setattr(data, "_SYSTEM_DIRS", {})
    monkeypatch.setattr(data, "_load_tfds_prepared", lambda name, split: None)
    assert len(load_dataset("mnist", "test", download_if_missing=False).images) == 5
    with pytest.raises(DataUnavailableError):
        load_dataset("fashion_mnist", "test", download_if_missing=False)


def test_offline_fails_fast_with_instructions(monkeypatch):
    monkeypatch.setattr(data, "_reachable", lambda url, timeout=5.0: False)
    monkeypatch.setattr(data, "_SYSTEM_DIRS", {})

    def no_download(*args, **kwargs):
        raise AssertionError("an unreachable host is not downloaded from")

    monkeypatch.setattr(data.urllib.request, "urlopen", no_download)  # the probe alone decides
    with pytest.raises(DataUnavailableError) as err:
        load_dataset("fashion_mnist", "train")
    message = str(err.value)
    for way in ("--data-dir", "JAXVAE_DATA_DIR", "tfds", "internet", "apt-get install dataset-fashion-mnist"):
        assert way in message


def test_reachability_probe_says_no_on_a_closed_port():
    assert data._reachable("http://127.0.0.1:9/", timeout=2.0) is False


def test_tfds_prepared_cache_glue_with_tfds_mock():
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=7):
        ds = data._load_tfds_prepared("mnist", "train")
    assert ds is not None
    assert ds.images.shape == (7, 28, 28) and ds.images.dtype == np.uint8
    assert ds.labels.shape == (7,) and ds.labels.max() < 10


def test_unprepared_tfds_cache_is_skipped_without_a_download(monkeypatch):
    tfds = pytest.importorskip("tensorflow_datasets")
    asked = []
    real = tfds.data_source

    def data_source(*args, **kwargs):
        asked.append(kwargs.get("download"))
        return real(*args, **kwargs)

    monkeypatch.setattr(tfds, "data_source", data_source)
    assert data._load_tfds_prepared("mnist", "test") is None
    assert asked == [False]  # tfds was asked for a prepared cache only, never to download one


@pytest.mark.skipif(not data._SYSTEM_DIRS["fashion_mnist"][0].exists(), reason="dataset-fashion-mnist absent")
def test_debian_fashion_mnist_found_without_configuration():
    ds = load_dataset("fashion_mnist", "test", download_if_missing=False)
    assert ds.images.shape == (10000, 28, 28)
    np.testing.assert_array_equal(np.bincount(ds.labels), [1000] * 10)


def test_unknown_dataset_and_split():
    with pytest.raises(DataError, match="unknown dataset"):
        load_dataset("cifar")
    with pytest.raises(DataError, match="unknown split"):
        load_dataset("mnist_5k", "validation")
