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

from jaxvae.data import Dataset
from jaxvae.models import Model
from jaxvae.runs.config import EnsembleConfig, TrainConfig
from jaxvae.runs.ensemble_run import train_owned
from jaxvae.runs.files import json_digest, load_checked, save_checked
from jaxvae.runs.folder import shared
from jaxvae.sources import cache_dir, cache_name
from jaxvae.spec import ModelSpec
from jaxvae.study.classifier import NUM_CLASSES, Classifier
from jaxvae.study.judge import Judge, build_judge
from jaxvae.study.phases import Phases
from jaxvae.study.streams import Stream, stream_key

JUDGE_RECIPE = 2  # bump when what builds the judge (decoders, decoys, classifier, threshold) changes
JUDGE_FILE = "judge.npz"
# the auxiliary decoders that teach the judge what decoded digits look like: (model, latent size,
# replica); the replicas of one kind and size are one ensemble with the consecutive seeds
# experiment's seed + JUDGE_SEED_OFFSET + replica, which no judged run uses. Three 2-D decoders of
# each kind, so that the judge learns decoded digits in general rather than one decoder's 2-D family
# of images, and one 8-D decoder of each kind for sharper ones.
JUDGE_DECODERS = (
    *((kind, 2, r) for r in range(3) for kind in ("ae", "vae")),
    ("ae", 8, 0),
    ("vae", 8, 0),
)
JUDGE_SEED_OFFSET = 10_000


def data_digest(train: Dataset) -> str:
    """The SHA-256 of a training split's images and labels, as hex: the data a judge was built on."""
    data = hashlib.sha256(np.ascontiguousarray(train.images).tobytes())
    data.update(np.ascontiguousarray(train.labels).tobytes())
    return data.hexdigest()


def judge_folder(train: Dataset, dataset: str, settings: dict[str, Any]) -> Path:
    """Where the judge of ``settings`` (seed, epochs, batch size, decoders: JSON values) for the
    training split ``train`` of ``dataset`` is kept."""
    key = json_digest({"recipe": JUDGE_RECIPE, "data": data_digest(train), **settings})[:16]
    return cache_dir(cache_name(dataset)) / "judges" / key


def judge_arrays(judge: Judge, decoders: list[str]) -> tuple[list[np.ndarray], dict[str, Any]]:
    """The arrays and settings that keep ``judge`` (taught by ``decoders``) in a file."""
    meta = {
        "threshold": judge.threshold,
        "calibration": judge.calibration,
        "decoders": decoders,
        "num_classes": judge.classifier.num_classes,
    }
    return [np.asarray(x) for x in jax.tree.leaves(judge.classifier)], meta


def save_judge(folder: Path, judge: Judge, decoders: list[str]) -> None:
    """Keep ``judge`` (taught by ``decoders``) in ``folder``, atomically, with its digests."""
    save_checked(folder / JUDGE_FILE, *judge_arrays(judge, decoders), "judge cache")


def load_judge(folder: Path, num_classes: int = NUM_CLASSES) -> tuple[Judge, list[str]] | None:
    """The judge over ``num_classes`` classes kept in ``folder`` and its decoders' names, if there
    is an intact one; else None."""
    shapes = [np.shape(x) for x in _classifier_leaves(num_classes)[0]]
    loaded = load_checked(folder / JUDGE_FILE, shapes, "judge cache")
    return None if loaded is None else judge_from_arrays(*loaded)


def _classifier_leaves(num_classes: int) -> tuple[list[Any], Any]:
    return jax.tree.flatten(Classifier(num_classes, rngs=nnx.Rngs(0)))


def judge_from_arrays(arrays: list[np.ndarray], meta: dict[str, Any]) -> tuple[Judge, list[str]] | None:
    """The judge (and its decoders' names) that ``save_judge`` wrote as ``arrays`` and ``meta``, or
    None when they do not fit the classifier of this version (over ``meta["num_classes"]`` classes,
    MNIST's ten when it does not say)."""
    leaves, treedef = _classifier_leaves(int(meta.get("num_classes", NUM_CLASSES)))
    if [np.shape(a) for a in arrays] != [np.shape(x) for x in leaves]:
        return None
    try:
        classifier = jax.tree.unflatten(treedef, [jnp.asarray(x) for x in arrays])
        judge = Judge(classifier, float(meta["threshold"]), dict(meta["calibration"]))
        return judge, list(meta["decoders"])
    except (KeyError, TypeError, ValueError):
        return None


def make_judge(
    name: str,
    splits: tuple[Dataset, Dataset],
    *,
    seed: int,
    decoder_epochs: int,
    classifier_epochs: int,
    batch_size: int,
    progress: bool = True,
    phases: Phases | None = None,
) -> tuple[Judge, list[str]]:
    """The judge of data set ``name`` (its ``splits``) and these settings, and the names of the
    auxiliary decoders that taught it: from the cache when an intact one is kept there, else built
    there: the decoders trained (one ensemble of replicas per kind and latent size), then the
    classifier. ``phases`` times the two as "judge helpers" and "judge"."""
    phases = phases or Phases()
    settings = {
        "seed": seed,
        "decoder_epochs": decoder_epochs,
        "classifier_epochs": classifier_epochs,
        "batch_size": batch_size,
        "decoders": [list(d) for d in JUDGE_DECODERS],
    }
    train = splits[0]
    folder = judge_folder(train, name, settings)
    # a second command that needs the same judge waits for the first to build it, then loads it
    with shared(folder.parent / f"{folder.name}.lock", f"building the judge in {folder}"):
        return _load_or_build(name, splits, folder, settings, progress=progress, phases=phases)


def _load_or_build(
    name: str,
    splits: tuple[Dataset, Dataset],
    folder: Path,
    settings: dict[str, Any],
    *,
    progress: bool,
    phases: Phases,
) -> tuple[Judge, list[str]]:
    seed, train = settings["seed"], splits[0]
    with phases("judge helpers"):  # nothing to train when the judge is cached
        cached = load_judge(folder, int(np.max(train.labels)) + 1)
        if cached is not None:
            return cached
        models: dict[tuple[str, int, int], Model] = {}
        for kind, latent in dict.fromkeys((kind, latent) for kind, latent, _ in JUDGE_DECODERS):
            replicas = [r for k, d, r in JUDGE_DECODERS if (k, d) == (kind, latent)]
            config = TrainConfig(
                model=ModelSpec(kind, latent_dim=latent),
                dataset=name,
                epochs=settings["decoder_epochs"],
                batch_size=settings["batch_size"],
                seed=seed + JUDGE_SEED_OFFSET,
                out=str(folder / f"decoders_{kind}{latent}"),
            )
            runs = train_owned(EnsembleConfig.of_seeds(config, len(replicas)), splits, progress=progress)
            models |= {(kind, latent, r): run.state.model for r, run in zip(replicas, runs, strict=True)}
    decoders = {f"{k} (latent {d}, #{r + 1})": models[k, d, r] for k, d, r in JUDGE_DECODERS}
    with phases("judge"):
        judge = build_judge(
            train.images,
            train.labels,
            decoders,
            key=stream_key(seed, Stream.JUDGE),
            seed=seed,
            epochs=settings["classifier_epochs"],
            cache_dir=cache_dir(cache_name(name)),
            progress=progress,
        )
        save_judge(folder, judge, list(decoders))
    return judge, list(decoders)
