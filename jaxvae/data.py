"""The data model: a split of a dataset as uint8 NumPy arrays, the datasets' names and classes, and
the pixels each likelihood mode trains on. Where a dataset is read from is ``jaxvae.sources``
(``load_dataset``, re-exported as ``jaxvae.load_dataset``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from jaxvae.errors import DataError

IMAGE_SHAPE = (28, 28)
SPLITS = ("train", "test")
BUNDLED = "mnist_5k"
DATASETS = ("mnist", "fashion_mnist", BUNDLED)
DATASET_HELP = (
    f"dataset: {', '.join(DATASETS)}; tfds:NAME[/CONFIG] (tensorflow-datasets); or a folder of class "
    "subfolders of images or an .npz file of images and labels ([centred:]PATH, docs/data.md)"
)

CLASS_NAMES = {
    "fashion_mnist": [
        "T-shirt",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Boot",
    ],
}


def noun(dataset: str) -> str:
    """What one image of ``dataset`` is called in a report: an item of clothing, a digit, or (a data
    set of your own) an image."""
    return {"fashion_mnist": "item", "mnist": "digit", BUNDLED: "digit"}.get(dataset, "image")


class Dataset(NamedTuple):
    """One split of a dataset: ``images`` uint8 [N, 28, 28] and ``labels`` int32 [N]."""

    images: np.ndarray
    labels: np.ndarray


LIKELIHOODS = ("continuous", "dynamic", "static", "threshold")


def prepare_pixels(images: np.ndarray, likelihood: str, *, seed: int, split: str) -> np.ndarray:
    """The uint8 images a likelihood mode trains or evaluates on.

    - ``continuous``: intensities as they are, under a Bernoulli likelihood (the usual MNIST VAE
      convention; not a normalised likelihood for non-binary pixels).
    - ``dynamic``: training resamples Bernoulli(intensity) pixels every step (``binarize=True`` in
      the train functions); the images returned here are unchanged for training, and for evaluation
      one fixed Bernoulli sample (seeded by ``seed`` and the split) so every model sees the same test set.
    - ``static``: one fixed Bernoulli sample, drawn once (seeded by ``seed`` and the split).
    - ``threshold``: pixels above half intensity become 1, the rest 0.

    Binary outputs are 0 or 255 so the rest of jaxvae can keep treating them as uint8 images.
    """
    if likelihood not in LIKELIHOODS:
        raise DataError(f"unknown likelihood mode {likelihood!r}; choose one of {', '.join(LIKELIHOODS)}")
    if likelihood == "continuous" or (likelihood == "dynamic" and split == "train"):
        return images
    if likelihood == "threshold":
        return np.where(images > 127, 255, 0).astype(np.uint8)
    rng = np.random.default_rng([seed, SPLITS.index(split)])
    return np.where(rng.random(images.shape) < images / 255.0, 255, 0).astype(np.uint8)
