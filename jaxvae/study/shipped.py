"""The judge that ships with jaxvae: one fixed, versioned instrument for MNIST on every machine.

A judge built here from the recipe (``jaxvae.study.judge_cache``) depends on the machine's float
rounding: two machines running the same code once fixed thresholds of 0.78 and 0.83. The field's
answer to that is a fixed network everyone scores with (FID's Inception weights); this judge is
small (1.7 MB), so MNIST's ships inside the package, in ``_bundled/judges/mnist/``:

- ``judge.npz``, written by ``save_judge`` (the classifier's arrays, threshold and calibration, with
  their digests inside);
- ``provenance.json``: the recipe version and settings it was built with, the digest of the training
  data, the validation table it had, the machine it was built on, and the SHA-256 of ``judge.npz``,
  checked on every load (a damaged file is one line telling the user to reinstall).

``jaxvae judge build`` (``jaxvae.experiments.judge``) writes both files; ``scripts/ship_judge.py``
replaces the shipped ones with them. It scores ``mnist`` (when the training split is the one it was
built on) and ``mnist_5k`` (a subset of both of MNIST's splits: the judge has seen those training
digits and none of the test digits, like MNIST's own test split). Other data sets build theirs.
"""

from __future__ import annotations

import hashlib
import io
import json
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any, NamedTuple

import numpy as np

from jaxvae.data import DATASETS, Dataset
from jaxvae.errors import DataError
from jaxvae.sources import load_bundled
from jaxvae.study.judge import Judge
from jaxvae.study.judge_cache import JUDGE_FILE, data_digest, judge_from_arrays

PROVENANCE_FILE = "provenance.json"
# data set -> the shipped judge that scores it, and whether its training split must be the one that
# judge was built on (a subset's is not, by design)
SHIPPED_FOR: dict[str, tuple[str, bool]] = {"mnist": ("mnist", True), "mnist_5k": ("mnist", False)}


class ShippedJudge(NamedTuple):
    """A judge read from the package, with the names of the decoders that taught it and where it
    came from."""

    judge: Judge
    decoders: list[str]
    provenance: dict[str, Any]


def load_shipped(name: str, folder: Traversable | None = None) -> ShippedJudge:
    """The judge ``name`` shipped with jaxvae (or kept in ``folder`` the same way), after checking
    ``judge.npz`` against the SHA-256 its provenance names.

    Raises:
        DataError: a file is missing, unreadable or damaged (reinstall jaxvae, or build one).
    """
    folder = folder or resources.files("jaxvae").joinpath(f"_bundled/judges/{name}")
    what = f"the judge shipped with jaxvae for {name}"
    remedy = "reinstall jaxvae, or pass --judge build to build one here"
    try:
        provenance = json.loads(folder.joinpath(PROVENANCE_FILE).read_text())
        payload = folder.joinpath(JUDGE_FILE).read_bytes()
    except (OSError, ValueError) as e:
        raise DataError(f"{what} is missing or unreadable ({e}); {remedy}") from None
    if not isinstance(provenance, dict) or hashlib.sha256(payload).hexdigest() != provenance.get("sha256"):
        raise DataError(f"{what} is damaged: {JUDGE_FILE} fails its SHA-256; {remedy}")
    with np.load(io.BytesIO(payload), allow_pickle=False) as archive:
        meta = json.loads(str(archive["meta"]))
        arrays = [archive[f"arr_{i}"] for i in range(len(archive.files) - 2)]
    loaded = judge_from_arrays(arrays, meta)
    if loaded is None:
        raise DataError(f"{what} does not fit this version's classifier; {remedy}")
    return ShippedJudge(*loaded, provenance)


def shipped_judge(dataset: str, train: Dataset) -> ShippedJudge | None:
    """The shipped judge that scores ``dataset`` (its training split ``train``), or None when none
    ships for it: another data set, or MNIST read from files whose training split differs from the
    one the shipped judge was built on. A data set named by its path or ``tfds:`` gets MNIST's judge
    when its training split is, image for image and label for label, MNIST's or ``mnist_5k``'s: the
    same data, scored with the same instrument."""
    if dataset in DATASETS and dataset not in SHIPPED_FOR:
        return None
    if dataset not in SHIPPED_FOR:
        digest = data_digest(train)
        shipped = load_shipped("mnist")
        same = digest in (shipped.provenance.get("data_sha256"), data_digest(load_bundled("train")))
        return shipped if same else None
    name, same_data = SHIPPED_FOR[dataset]
    shipped = load_shipped(name)
    if same_data and shipped.provenance.get("data_sha256") != data_digest(train):
        return None
    return shipped


def judge_source(shipped: ShippedJudge | None, recipe: int) -> dict[str, Any]:
    """What a report says of its judge: the shipped one (its recipe, version and digest) or one
    built here from recipe ``recipe``."""
    if shipped is None:
        return {"kind": "built", "recipe": recipe}
    p = shipped.provenance
    return {"kind": "shipped", "name": p["dataset"], "recipe": p["recipe"], "sha256": p["sha256"]}


def describe_source(source: dict[str, Any] | None) -> str:
    """Where the judge a report used came from, as a phrase ("shipped with jaxvae for mnist (...)",
    "built here from recipe 2 (cached)"; older reports, which name none, built theirs)."""
    if not source:
        return "built here from the recipe"
    if source["kind"] == "shipped":
        return (
            f"shipped with jaxvae for {source['name']} (recipe {source['recipe']}, "
            f"SHA-256 {source['sha256'][:12]})"
        )
    return f"built here from recipe {source['recipe']} (cached)"
