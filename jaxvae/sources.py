"""Where a dataset is read from: IDX files, MNIST shipped in the package, tensorflow-datasets, download.

`load_dataset(name, split)` returns ``(images uint8 [N, 28, 28], labels int32 [N])``. Sources are
tried in this order, and the first that has the data wins:

1. ``data_dir`` (argument), else ``$JAXVAE_DATA_DIR``: IDX files in ``DIR/<name>/``, or in ``DIR``
   itself when it was passed explicitly or is named after the dataset (``.../mnist``).
   An explicit ``data_dir`` is final: if its files are absent or bad, that is the error.
2. Well-known system folders (Debian's ``dataset-fashion-mnist`` package).
3. jaxvae's download cache, ``$JAXVAE_CACHE_DIR`` or ``~/.cache/jaxvae/<name>``.
4. For MNIST, the package's own copy: the four canonical IDX files, byte for byte, checked
   against their SHA-256 on every load (``jaxvae/_bundled/mnist``, see its PROVENANCE.md). So
   MNIST needs no download and no network.
5. A prepared tensorflow-datasets cache (``tfds.data_source(..., download=False)``).
6. A download of the IDX files from the address tensorflow-datasets registers for the dataset,
   into the cache of step 3 (no TensorFlow needed), after a quick reachability check so that an
   offline machine fails in seconds rather than minutes.

``mnist_5k`` is a small balanced subset of the package's MNIST for quick runs and tests: the
first 450 digits of each class of the training split, and the first 50 of each class of the test
split.

Other data sets are named by where they are: ``tfds:NAME[/CONFIG]`` for an image classification
data set of tensorflow-datasets (a prepared cache is read offline; otherwise it is downloaded and
prepared where the machine is online), and ``[centred:]PATH`` for your own labelled images, a folder
or an ``.npz`` file (``jaxvae.image_sets``). Both are converted to 28x28 uint8 grayscale.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import logging
import os
import socket
import tempfile
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from jaxvae.data import BUNDLED, CLASS_NAMES, DATASETS, IMAGE_SHAPE, SPLITS, Dataset
from jaxvae.errors import DataError, DataUnavailableError
from jaxvae.idx import parse_idx, parse_idx_gz, read_idx
from jaxvae.image_sets import (
    NOT_LABELLED,
    ImageSet,
    check_class_count,
    data_dir_is_unused,
    is_image_set,
    load_image_set,
    to_mnist_pixels,
)

logger = logging.getLogger(__name__)

_IDX_PREFIX = {"train": "train", "test": "t10k"}
_SYSTEM_DIRS = {"fashion_mnist": (Path("/usr/share/datasets/fashion-mnist"),)}
# MD5 of the decompressed canonical MNIST files: downloads are checked against them (a test checks
# the package's copy). Lists such as torchvision's give the MD5 of the .gz files instead (f68b3c2d...
# for the training images), which change when a file is re-compressed, its contents unchanged.
_MNIST_RAW_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
_PROBE_SECONDS = 5.0
# SHA-256 of the .gz files shipped in jaxvae/_bundled/mnist (checked on every load)
_PACKAGED_MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz": "647307bcab77215e1a8780d0b00745e8fe40fd4dd862e47aed0459c962089c38",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
SUBSET_PER_CLASS = {"train": 450, "test": 50}


def idx_filenames(split: str) -> tuple[str, str]:
    """The standard IDX base names (without ``.gz``) of a split's images and labels."""
    prefix = _IDX_PREFIX[split]
    return f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"


def _find_file(directory: Path, base: str) -> Path | None:
    for candidate in (directory / base, directory / f"{base}.gz"):
        if candidate.is_file():
            return candidate
    return None


def has_idx_split(directory: str | os.PathLike[str], split: str) -> bool:
    """Whether ``directory`` holds both IDX files of ``split`` (raw or gzip)."""
    directory = Path(directory)
    return all(_find_file(directory, base) for base in idx_filenames(split))


def load_idx_split(directory: str | os.PathLike[str], split: str) -> Dataset:
    """Read and validate one split from a directory of standard IDX files."""
    _check_split(split)
    directory = Path(directory)
    image_base, label_base = idx_filenames(split)
    image_path = _find_file(directory, image_base) or directory / f"{image_base}.gz"
    label_path = _find_file(directory, label_base) or directory / f"{label_base}.gz"
    images = read_idx(image_path, ndim=3)
    labels = read_idx(label_path, ndim=1)
    if images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE:
        raise DataError(f"{image_path}: images have shape {images.shape}, expected [N, 28, 28]")
    if labels.ndim != 1:
        raise DataError(f"{label_path}: labels have shape {labels.shape}, expected [N]")
    if len(images) != len(labels):
        raise DataError(f"{image_path}: {len(images)} images but {label_path.name} has {len(labels)} labels")
    return Dataset(images, labels.astype(np.int32))


# --------------------------------------------------------------------------- sources


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")


TFDS = "tfds:"
_TFDS_PROBE = "https://storage.googleapis.com/"  # where tensorflow-datasets keeps its metadata


def check_dataset(name: str) -> None:
    """Refuse, in one line, a dataset name that is none of jaxvae's, ``tfds:NAME`` or a path."""
    if name in DATASETS or (name.startswith(TFDS) and len(name) > len(TFDS)) or is_image_set(name):
        return
    raise DataError(
        f"unknown dataset {name!r}: not one of {', '.join(DATASETS)}, not tfds:NAME (tensorflow-datasets), "
        "and no folder or .npz file of that name"
    )


def class_names(dataset: str) -> list[str]:
    """The names of ``dataset``'s classes (the digits, for MNIST)."""
    if dataset in DATASETS:
        return CLASS_NAMES.get(dataset, [str(i) for i in range(10)])
    return _other(dataset).classes


def cache_name(dataset: str) -> str:
    """The folder of ``dataset`` in jaxvae's cache: its name, or ``own`` for the data sets named
    by a path or ``tfds:`` (what is cached there is keyed by the data's digest)."""
    return dataset if dataset in DATASETS else "own"


def _in_directory(root: Path, name: str, split: str, *, explicit: bool) -> Path | None:
    """``root/<name>``, else ``root`` itself when it was given explicitly or is named for ``name``.

    The name check keeps ``JAXVAE_DATA_DIR=.../mnist`` from serving MNIST as Fashion-MNIST.
    """
    candidates = [root / name]
    if explicit or root.name.replace("-", "_") == name:
        candidates.append(root)
    for directory in candidates:
        if has_idx_split(directory, split):
            return directory
    return None


def cache_dir(name: str) -> Path:
    """Where downloads of ``name`` are kept: ``$JAXVAE_CACHE_DIR/<name>`` or ``~/.cache/jaxvae/<name>``."""
    root = os.environ.get("JAXVAE_CACHE_DIR") or Path.home() / ".cache" / "jaxvae"
    return Path(root) / name


@functools.cache
def load_packaged(split: str = "train") -> Dataset:
    """MNIST's ``split`` from the package's copy, after checking each file's SHA-256 (the arrays
    are read-only and shared between calls).

    Raises:
        DataError: a file of the package's copy is missing or differs from the canonical bytes.
    """
    _check_split(split)
    arrays = []
    for base, ndim in zip(idx_filenames(split), (3, 1), strict=True):
        name = f"{base}.gz"
        resource = resources.files("jaxvae").joinpath(f"_bundled/mnist/{name}")
        try:
            payload = resource.read_bytes()
        except OSError as e:
            raise DataError(f"jaxvae's copy of MNIST lacks {name} ({e}); reinstall jaxvae") from None
        if hashlib.sha256(payload).hexdigest() != _PACKAGED_MNIST_SHA256[name]:
            raise DataError(f"jaxvae's copy of MNIST is damaged: {name} fails its SHA-256; reinstall jaxvae")
        arrays.append(parse_idx(gzip.decompress(payload), name=name, ndim=ndim))
    labels = arrays[1].astype(np.int32)
    labels.flags.writeable = False
    return Dataset(arrays[0], labels)


def load_bundled(split: str = "train") -> Dataset:
    """The small balanced subset ``mnist_5k`` of the package's MNIST: the first 450 digits of each
    class of the training split (``train``, 4,500), or the first 50 of each of the test split
    (``test``, 500), in file order."""
    full = load_packaged(split)
    rank = np.zeros(len(full.labels), np.int64)
    for c in range(10):
        rank[full.labels == c] = np.arange(np.sum(full.labels == c))
    keep = rank < SUBSET_PER_CLASS[split]
    return Dataset(full.images[keep], full.labels[keep])


def _load_tfds_prepared(name: str, split: str) -> Dataset | None:
    """Read a prepared tensorflow-datasets cache, or return None if there is none."""
    try:
        import tensorflow_datasets as tfds
    except ImportError:
        return None
    try:
        source = tfds.data_source(name, split=split, download=False)
    except Exception as e:  # tfds raises KeyError/AssertionError/FileNotFoundError when unprepared
        logger.debug("no prepared tfds cache for %s/%s: %s", name, split, e)
        return None
    records = [source[i] for i in range(len(source))]
    if not records:
        return None
    images = np.stack([np.asarray(r["image"], dtype=np.uint8).reshape(IMAGE_SHAPE) for r in records])
    labels = np.asarray([r["label"] for r in records], dtype=np.int32)
    return Dataset(images, labels)


@functools.cache
def _tfds_set(name: str) -> ImageSet:
    """``tfds:NAME[/CONFIG]``: its prepared cache, else a download where the machine is online."""
    spec = name.removeprefix(TFDS)
    try:
        import tensorflow_datasets as tfds
    except ImportError:
        what = "tensorflow-datasets is not installed (pip install tensorflow-datasets)"
        raise DataUnavailableError(f"{name}: {what}") from None
    try:
        tfds.builder_cls(spec.split("/")[0].split(":")[0])
    except Exception:
        raise DataError(f"{name}: tensorflow-datasets has no data set {spec.split('/')[0]!r}") from None
    sources = _tfds_sources(tfds, spec, download=False)
    if sources is None:
        if not _reachable(_TFDS_PROBE):
            raise DataUnavailableError(
                f"{name}: no prepared tensorflow-datasets cache of {spec} here and no network to "
                f"download it; prepare it where you are online (tfds.data_source({spec!r})) and copy "
                "~/tensorflow_datasets here"
            )
        sources = _tfds_sources(tfds, spec, download=True)
        if sources is None:
            raise DataUnavailableError(f"{name}: tensorflow-datasets could not download and prepare {spec}")
    return tfds_image_set(name, sources)


def _tfds_sources(tfds: Any, spec: str, *, download: bool) -> dict[str, object] | None:
    absl = logging.getLogger("absl")  # tfds warns through absl about folders it has not prepared
    level = absl.level
    absl.setLevel(logging.ERROR)
    try:
        return {split: tfds.data_source(spec, split=split, download=download) for split in SPLITS}
    except Exception as e:  # tfds raises KeyError/AssertionError/FileNotFoundError when unprepared
        logger.debug("tfds %s (download=%s): %s", spec, download, e)
        return None
    finally:
        absl.setLevel(level)


def tfds_image_set(name: str, sources: dict[str, Any]) -> ImageSet:
    """The splits of tensorflow-datasets data sources (records with ``image`` and ``label``) as 28x28
    uint8 grayscale, with the label feature's class names."""
    classes = list(sources["train"].dataset_info.features["label"].names)
    check_class_count(name, len(classes))
    splits = {}
    for split, source in sources.items():
        records = [source[i] for i in range(len(source))]
        if not records or "image" not in records[0] or "label" not in records[0]:
            raise DataError(f"{name}: its {split} split has no images with labels; {NOT_LABELLED}")
        images = np.stack([to_mnist_pixels(np.asarray(r["image"]), name=f"{name}/{split}") for r in records])
        splits[split] = Dataset(images, np.asarray([r["label"] for r in records], np.int32))
    return ImageSet(splits["train"], splits["test"], classes)


def _other(dataset: str) -> ImageSet:
    """A data set named by ``tfds:`` or by its path."""
    if dataset.startswith(TFDS):
        return _tfds_set(dataset)
    check_dataset(dataset)
    return load_image_set(dataset)


def _download_url(name: str) -> str:
    """The base address that tensorflow-datasets registers for ``name``'s IDX files."""
    try:
        import tensorflow_datasets as tfds

        return str(tfds.builder_cls(name).URL)
    except Exception:
        fallback = {
            "mnist": "https://storage.googleapis.com/cvdf-datasets/mnist/",
            "fashion_mnist": "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        }
        return fallback[name]


def _reachable(url: str, timeout: float = _PROBE_SECONDS) -> bool:
    """Whether a TCP connection to the URL's host opens within ``timeout`` seconds (DNS included)."""
    parts = urllib.parse.urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)

    def connect() -> None:
        socket.create_connection((parts.hostname, port), timeout=timeout).close()

    pool = ThreadPoolExecutor(max_workers=1)
    try:
        pool.submit(connect).result(timeout=timeout)
        return True
    except (OSError, FutureTimeout):
        return False
    finally:
        pool.shutdown(wait=False)


def download(name: str, target: Path | None = None) -> Path:
    """Download ``name``'s four IDX files into ``target`` (default: the cache) and verify them."""
    target = target or cache_dir(name)
    base_url = _download_url(name)
    if not _reachable(base_url):
        raise DataUnavailableError(f"cannot reach {base_url} to download {name}")
    target.mkdir(parents=True, exist_ok=True)
    for split in SPLITS:
        for base in idx_filenames(split):
            path = target / f"{base}.gz"
            if path.exists():
                continue
            logger.info("downloading %s", base_url + base + ".gz")
            with urllib.request.urlopen(base_url + base + ".gz", timeout=60) as response:
                payload = response.read()
            raw = parse_idx_gz(payload, name=base)
            expected = _MNIST_RAW_MD5.get(base) if name == "mnist" else None
            if expected and hashlib.md5(raw).hexdigest() != expected:
                raise DataError(f"{base_url}{base}.gz: checksum mismatch after download")
            with tempfile.NamedTemporaryFile(dir=target, delete=False) as tmp:
                tmp.write(payload)
            os.replace(tmp.name, path)
    return target


def _unavailable_message(name: str, split: str, reason: str) -> str:
    return (
        f"{name}/{split} is not available: {reason}. Provide it in one of these ways: "
        f"pass --data-dir DIR (or set JAXVAE_DATA_DIR=DIR) with the IDX files "
        f"{', '.join(f + '[.gz]' for f in idx_filenames(split))} in DIR or DIR/{name}; "
        f"put them in {cache_dir(name)}; prepare the tensorflow-datasets cache "
        f"(tfds.data_source({name!r})); or connect to the internet so jaxvae can download them"
        + ("; Debian: apt-get install dataset-fashion-mnist" if name == "fashion_mnist" else "")
        + ("; or leave --data-dir and JAXVAE_DATA_DIR unset to read jaxvae's copy" if name == "mnist" else "")
    )


def load_dataset(
    name: str = "mnist",
    split: str = "train",
    data_dir: str | os.PathLike[str] | None = None,
    *,
    download_if_missing: bool = True,
) -> Dataset:
    """Load one split of a dataset as ``(images uint8 [N, 28, 28], labels int32 [N])``.

    Args:
        name: ``mnist``, ``fashion_mnist`` or ``mnist_5k`` (a balanced 5,000-digit subset of MNIST);
            ``tfds:NAME[/CONFIG]`` (tensorflow-datasets); or ``[centred:]PATH``, a folder or an
            ``.npz`` of your own labelled images (``jaxvae.image_sets``).
        split: ``train`` or ``test``.
        data_dir: a directory of IDX files (``DIR/<name>/`` or ``DIR`` itself). When given, it is
            the only source tried. Defaults to ``$JAXVAE_DATA_DIR``, then the other sources.
        download_if_missing: try a download when no local source has the data.

    Raises:
        DataError: a file exists but is malformed (the message names it and the problem).
        DataUnavailableError: no source has the data; the message lists every way to provide it.
    """
    check_dataset(name)
    _check_split(split)
    if name == BUNDLED:
        return load_bundled(split)
    if name not in DATASETS:
        if not name.startswith(TFDS):
            data_dir_is_unused(data_dir, name)
        return getattr(_other(name), split)
    if data_dir is not None:
        root = Path(data_dir)
        found = _in_directory(root, name, split, explicit=True)
        if found is None:
            raise DataUnavailableError(
                _unavailable_message(name, split, f"no IDX files for it in {root} or {root / name}")
            )
        return load_idx_split(found, split)
    roots = [Path(d) for d in [os.environ.get("JAXVAE_DATA_DIR")] if d]
    roots += [*_SYSTEM_DIRS.get(name, ()), cache_dir(name)]
    for root in roots:
        found = _in_directory(root, name, split, explicit=False)
        if found is not None:
            logger.info("reading %s/%s from %s", name, split, found)
            return load_idx_split(found, split)
    if name == "mnist":
        return load_packaged(split)
    prepared = _load_tfds_prepared(name, split)
    if prepared is not None:
        return prepared
    if not download_if_missing:
        raise DataUnavailableError(_unavailable_message(name, split, "no local copy was found"))
    try:
        return load_idx_split(download(name), split)
    except DataUnavailableError as e:
        raise DataUnavailableError(_unavailable_message(name, split, str(e))) from None
    except OSError as e:
        raise DataUnavailableError(_unavailable_message(name, split, f"download failed ({e})")) from None
