"""Your own labelled images as a data set: ``--dataset PATH`` for a folder or an ``.npz`` file.

- A **folder** holds one subfolder per class, named for it (``digits/0/*.png``, ``digits/1/*.png``,
  ...; the classes in sorted order, numbers by value), of images in any format and size Pillow reads;
  or ``train/`` and ``test/`` folders, each laid out so, when the split is given. The images are read
  in the order of their file names, across the classes (so files named by an index keep their order).
- An **.npz** file holds ``images`` ([N, H, W] or [N, H, W, channels]) and ``labels`` ([N]: integers
  or names), and optionally ``classes`` (the names of label 0, 1, ...) and ``test_images`` and
  ``test_labels`` (the split).

Every image becomes 28x28 uint8 grayscale, as jaxvae's models read MNIST: colour is converted to its
luminance (transparent pixels count as black, MNIST's background), 16-bit and floating-point
intensities are scaled to 0..255 (floats are read as 0..1), and a picture of another size is resized
by averaging over each output pixel's area. Prefixed ``centred:`` (``--dataset centred:PATH``), each
image is instead prepared as MNIST's digits were: the bounding box of its non-zero pixels scaled to fit
20x20, placed in 28x28 with its centre of mass at the centre. Ink must be bright on dark, as in MNIST.

Without a given split, one in seven images of each class (at least one) is held out for testing,
drawn with a fixed seed: the same files always give the same split. The judge is a classifier over
the classes, so a set needs labels, 2 to 100 classes, and two images of each at least.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image, UnidentifiedImageError

from jaxvae.data import IMAGE_SHAPE, Dataset
from jaxvae.errors import DataError

CENTRED = "centred:"
MAX_CLASSES = 100  # more distinct labels than this are more likely numbers than classes
TEST_SHARE = 1 / 7  # MNIST's: 10,000 of 70,000
SPLIT_SEED = 0
MNIST_BOX = 20  # MNIST's digits fit a 20x20 box inside the 28x28 image
NOT_LABELLED = (
    "jaxvae's judge is a classifier over the classes, so a data set needs labels: put the images in "
    "one subfolder per class, or give the .npz a 'labels' array"
)


class ImageSet(NamedTuple):
    """A data set read from a folder or an ``.npz`` file: its splits and its classes' names."""

    train: Dataset
    test: Dataset
    classes: list[str]


def image_set_path(name: str) -> tuple[Path, bool]:
    """The path and whether to centre the images, of a dataset name ``[centred:]PATH``."""
    centred = name.startswith(CENTRED)
    return Path(name.removeprefix(CENTRED)).expanduser(), centred


def is_image_set(name: str) -> bool:
    """Whether ``name`` names a folder or an ``.npz`` file that exists (``[centred:]PATH``)."""
    path, _ = image_set_path(name)
    return path.is_dir() or (path.is_file() and path.suffix == ".npz")


def load_image_set(name: str) -> ImageSet:
    """The data set at ``[centred:]PATH``, read and converted once per process.

    Raises:
        DataError: the path, a file or the labels are not a usable data set (one line, naming it).
    """
    path, centred = image_set_path(name)
    return _load(str(path.resolve()), centred)


@functools.cache
def _load(path: str, centred: bool) -> ImageSet:
    source = Path(path)
    if not source.exists():
        raise DataError(f"{source}: no such folder or .npz file")
    if source.is_dir():
        return _from_folder(source, centred)
    if source.suffix != ".npz":
        raise DataError(f"{source}: a data set is a folder of class subfolders or an .npz file")
    return _from_npz(source, centred)


# --------------------------------------------------------------------------- one image


def to_mnist_pixels(
    image: Image.Image | np.ndarray, *, centred: bool = False, name: str = "image"
) -> np.ndarray:
    """One image as 28x28 uint8 grayscale (``centred``: as MNIST's digits were prepared)."""
    gray = _grayscale(image if isinstance(image, Image.Image) else _from_array(image, name), name)
    if centred:
        return _centre(gray)
    if gray.size != IMAGE_SHAPE:
        gray = gray.resize(IMAGE_SHAPE, Image.Resampling.BOX)
    return np.asarray(gray, np.uint8)


def _from_array(array: np.ndarray, name: str) -> Image.Image:
    """An array [H, W] or [H, W, 1|3|4] of uint8, uint16, bool or floats in [0, 1] as an 8-bit image."""
    x = np.asarray(array)
    if x.ndim == 3 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.ndim not in (2, 3) or (x.ndim == 3 and x.shape[-1] not in (3, 4)) or min(x.shape[:2]) == 0:
        raise DataError(
            f"{name}: an image is [height, width] or [height, width, 1, 3 or 4], not {list(x.shape)}"
        )
    if x.dtype == np.bool_:
        x = x.astype(np.uint8) * 255
    elif np.issubdtype(x.dtype, np.floating):
        if not np.all(np.isfinite(x)):
            raise DataError(f"{name}: an image holds NaN or infinite values")
        x = np.round(np.clip(x, 0.0, 1.0) * 255)
    elif x.dtype == np.uint16 or (np.issubdtype(x.dtype, np.integer) and x.max(initial=0) > 255):
        x = np.round(np.clip(x, 0, 65535) / 257)
    elif not np.issubdtype(x.dtype, np.integer):
        raise DataError(f"{name}: images of type {x.dtype} are not supported")
    return Image.fromarray(np.clip(x, 0, 255).astype(np.uint8))  # L, RGB or RGBA by its shape


def _grayscale(image: Image.Image, name: str) -> Image.Image:
    """8-bit luminance; 16- and 32-bit intensities scaled, transparency over black."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        return _from_array(np.asarray(image).astype(np.int64), name)
    if image.mode == "F":
        return _from_array(np.asarray(image, np.float32), name)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        return Image.alpha_composite(Image.new("RGBA", rgba.size, (0, 0, 0, 255)), rgba).convert("L")
    return image.convert("L")


def _centre(gray: Image.Image) -> np.ndarray:
    """MNIST's preparation: the non-zero pixels' box scaled to fit 20x20 (by area), placed in 28x28
    with its centre of mass (of intensity) at pixel (14, 14)."""
    box = gray.getbbox()
    out = np.zeros(IMAGE_SHAPE, np.uint8)
    if box is None:
        return out
    crop = gray.crop(box)
    scale = MNIST_BOX / max(crop.size)
    size = (max(1, round(crop.size[0] * scale)), max(1, round(crop.size[1] * scale)))
    small = np.asarray(crop.resize(size, Image.Resampling.BOX), np.float64)
    mass = small.sum()
    if mass == 0:
        return out
    rows, cols = np.arange(small.shape[0]), np.arange(small.shape[1])
    top = round(14 - (small.sum(axis=1) @ rows) / mass)
    left = round(14 - (small.sum(axis=0) @ cols) / mass)
    rows_out = slice(max(top, 0), min(top + small.shape[0], IMAGE_SHAPE[0]))
    cols_out = slice(max(left, 0), min(left + small.shape[1], IMAGE_SHAPE[1]))
    rows_in = slice(rows_out.start - top, rows_out.stop - top)
    cols_in = slice(cols_out.start - left, cols_out.stop - left)
    out[rows_out, cols_out] = np.round(small[rows_in, cols_in])
    return out


# --------------------------------------------------------------------------- folders and files


def _class_folders(folder: Path) -> list[Path]:
    subfolders = sorted((p for p in folder.iterdir() if p.is_dir()), key=lambda p: _class_order(p.name))
    if not subfolders:
        files = [p for p in folder.iterdir() if p.is_file()]
        what = f"holds {len(files)} files and no class subfolders" if files else "is empty"
        raise DataError(f"{folder}: {what}; {NOT_LABELLED}")
    return subfolders


def _class_order(name: str) -> tuple[int, float, str]:
    """Numbers by value, before names in alphabetical order."""
    try:
        return 0, float(name), name
    except ValueError:
        return 1, 0.0, name


def _read_folder(folder: Path, centred: bool) -> tuple[np.ndarray, list[str], list[str]]:
    """Images of ``folder``'s class subfolders: (images [N, 28, 28], each one's class, the classes),
    in the order of their file names (relative to their class folder), ties in class order: files
    named by an index keep the order they were written in."""
    class_folders = _class_folders(folder)
    found = [
        (str(file.relative_to(class_folder)), rank, file)
        for rank, class_folder in enumerate(class_folders)
        for file in class_folder.rglob("*")
        if file.is_file() and not file.name.startswith(".")
    ]
    if not found:
        raise DataError(f"{folder}: its class subfolders hold no images")
    found.sort(key=lambda item: item[:2])
    classes = [p.name for p in class_folders]
    images = np.stack([_read_image(file, centred) for _, _, file in found])
    return images, [classes[rank] for _, rank, _ in found], classes


def _read_image(file: Path, centred: bool) -> np.ndarray:
    if file.stat().st_size == 0:
        raise DataError(f"{file}: an empty file, not an image")
    try:
        with Image.open(file) as image:
            image.load()
            return to_mnist_pixels(image, centred=centred, name=str(file))
    except (UnidentifiedImageError, OSError, ValueError) as e:
        reason = "not an image Pillow can read" if isinstance(e, UnidentifiedImageError) else str(e)
        raise DataError(f"{file}: {reason}") from None


def _from_folder(folder: Path, centred: bool) -> ImageSet:
    parts = {p.name: p for p in folder.iterdir() if p.is_dir()}
    if set(parts) == {"train", "test"}:
        train, train_labels, classes = _read_folder(parts["train"], centred)
        test, test_labels, test_classes = _read_folder(parts["test"], centred)
        if test_classes != classes:
            raise DataError(f"{folder}: train/ and test/ have different class subfolders")
        return _labelled(str(folder), (train, train_labels), (test, test_labels), classes)
    images, labels, classes = _read_folder(folder, centred)
    return _split(str(folder), images, labels, classes)


def _from_npz(file: Path, centred: bool) -> ImageSet:
    try:
        with np.load(file, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, EOFError) as e:
        raise DataError(f"{file}: not a readable .npz file ({e})") from None
    if "images" not in arrays:
        raise DataError(f"{file}: no 'images' array (it holds {', '.join(sorted(arrays)) or 'nothing'})")
    if "labels" not in arrays:
        raise DataError(f"{file}: no 'labels' array; {NOT_LABELLED}")
    classes = [str(c) for c in arrays["classes"]] if "classes" in arrays else None

    def images_of(key: str) -> np.ndarray:
        x = arrays[key]
        if x.ndim not in (3, 4) or len(x) == 0:
            raise DataError(f"{file}: '{key}' must be [N, height, width] or [N, height, width, channels]")
        if x.dtype == np.uint8 and x.shape[1:] == IMAGE_SHAPE and not centred:
            return np.ascontiguousarray(x)
        return np.stack(
            [to_mnist_pixels(image, centred=centred, name=f"{file}[{key}][{i}]") for i, image in enumerate(x)]
        )

    def labels_of(key: str) -> list[str]:
        y = arrays[key]
        if y.ndim != 1:
            raise DataError(f"{file}: '{key}' must be one label per image, [N]")
        if classes is not None:
            if (
                not np.issubdtype(y.dtype, np.integer)
                or y.min(initial=0) < 0
                or y.max(initial=0) >= len(classes)
            ):
                raise DataError(f"{file}: '{key}' must index 'classes' (0 to {len(classes) - 1})")
            return [classes[int(i)] for i in y]
        return [str(v) for v in y.tolist()]

    train = images_of("images"), labels_of("labels")
    if len(train[0]) != len(train[1]):
        raise DataError(f"{file}: {len(train[0])} images but {len(train[1])} labels")
    names = classes or sorted(set(train[1]), key=_class_order)
    if "test_images" in arrays or "test_labels" in arrays:
        if not {"test_images", "test_labels"} <= set(arrays):
            raise DataError(f"{file}: a split needs both 'test_images' and 'test_labels'")
        test = images_of("test_images"), labels_of("test_labels")
        if len(test[0]) != len(test[1]):
            raise DataError(f"{file}: {len(test[0])} test images but {len(test[1])} test labels")
        return _labelled(str(file), train, test, names)
    return _split(str(file), train[0], train[1], names)


def check_class_count(where: str, count: int) -> None:
    """Refuse a data set of fewer than 2 or more than ``MAX_CLASSES`` classes, in one line."""
    if not 2 <= count <= MAX_CLASSES:
        raise DataError(
            f"{where}: {count} class{'es' if count != 1 else ''}; jaxvae's judge is a classifier over "
            f"2 to {MAX_CLASSES} classes"
        )


def _check_classes(where: str, classes: list[str], labels: list[str]) -> np.ndarray:
    """The labels as class indices, after checking the count of classes and of images in each."""
    check_class_count(where, len(classes))
    index = {name: i for i, name in enumerate(classes)}
    unknown = sorted(set(labels) - set(index))
    if unknown:
        raise DataError(f"{where}: labels {', '.join(unknown[:5])} are not among its classes")
    return np.asarray([index[name] for name in labels], np.int32)


def _labelled(
    where: str, train: tuple[np.ndarray, list[str]], test: tuple[np.ndarray, list[str]], classes: list[str]
) -> ImageSet:
    train_labels = _check_classes(where, classes, train[1])
    test_labels = _check_classes(where, classes, test[1])
    return ImageSet(Dataset(train[0], train_labels), Dataset(test[0], test_labels), classes)


def _split(where: str, images: np.ndarray, labels: list[str], classes: list[str]) -> ImageSet:
    """The reproducible split: one in seven of each class's images (at least one) held out, drawn
    with a fixed seed from the images in file order."""
    y = _check_classes(where, classes, labels)
    counts = np.bincount(y, minlength=len(classes))
    if counts.min() < 2:
        few = classes[int(np.argmin(counts))]
        raise DataError(f"{where}: class {few} has {counts.min()} image; each class needs 2 at least")
    rng = np.random.default_rng(SPLIT_SEED)
    test = np.zeros(len(y), bool)
    for c in range(len(classes)):
        members = np.flatnonzero(y == c)
        test[rng.permutation(members)[: max(1, round(len(members) * TEST_SHARE))]] = True
    return ImageSet(Dataset(images[~test], y[~test]), Dataset(images[test], y[test]), classes)


def data_dir_is_unused(data_dir: str | os.PathLike[str] | None, name: str) -> None:
    """Refuse ``--data-dir`` with a data set that names its own path."""
    if data_dir is not None:
        raise DataError(f"--data-dir is for IDX files; the data set {name} names its own path")
