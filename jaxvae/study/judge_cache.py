"""The judge, cached across report folders: built once per data set, seed and recipe.

A demo or a sweep into a new folder needs the same judge as the last one: the same auxiliary
decoders trained on the same data with the same seeds and epochs, and the same classifier. They live
under ``<cache>/<dataset>/judges/<key>/``, where the key digests everything they depend on: the
training split's bytes, the seed, the epochs, the batch size, the list of decoders and
``JUDGE_RECIPE``, a version to bump whenever the code that builds the judge changes what it builds.
The decoders there are ordinary ensemble folders (resumed, their checkpoints checked like any run's);
the finished judge is one ``.npz`` written atomically with its digests (``save_checked``). A file
that fails its digests is set aside and the judge is built again, the decoders resuming from
their checkpoints.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from jaxvae.data import Dataset, cache_dir
from jaxvae.runs.files import json_digest, load_checked, save_checked
from jaxvae.study.classifier import Classifier
from jaxvae.study.judge import Judge

JUDGE_RECIPE = 1  # bump when what builds the judge (decoders, decoys, classifier, threshold) changes
JUDGE_FILE = "judge.npz"


def judge_folder(train: Dataset, dataset: str, settings: dict[str, Any]) -> Path:
    """Where the judge of ``settings`` (seed, epochs, batch size, decoders: JSON values) for the
    training split ``train`` of ``dataset`` is kept."""
    data = hashlib.sha256(np.ascontiguousarray(train.images).tobytes())
    data.update(np.ascontiguousarray(train.labels).tobytes())
    key = json_digest({"recipe": JUDGE_RECIPE, "data": data.hexdigest(), **settings})[:16]
    return cache_dir(dataset) / "judges" / key


def save_judge(folder: Path, judge: Judge, decoders: list[str]) -> None:
    """Keep ``judge`` (taught by ``decoders``) in ``folder``, atomically, with its digests."""
    meta = {"threshold": judge.threshold, "calibration": judge.calibration, "decoders": decoders}
    arrays = [np.asarray(x) for x in jax.tree.leaves(judge.classifier)]
    save_checked(folder / JUDGE_FILE, arrays, meta, "judge cache")


def load_judge(folder: Path) -> tuple[Judge, list[str]] | None:
    """The judge kept in ``folder`` and its decoders' names, if there is an intact one; else None."""
    leaves, treedef = jax.tree.flatten(Classifier(rngs=nnx.Rngs(0)))
    loaded = load_checked(folder / JUDGE_FILE, [np.shape(x) for x in leaves], "judge cache")
    if loaded is None:
        return None
    arrays, meta = loaded
    try:
        classifier = jax.tree.unflatten(treedef, [jnp.asarray(x) for x in arrays])
        judge = Judge(classifier, float(meta["threshold"]), dict(meta["calibration"]))
        return judge, list(meta["decoders"])
    except (KeyError, TypeError, ValueError):
        return None
