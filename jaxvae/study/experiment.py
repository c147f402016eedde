"""What every experiment of the study shares: its data, its trained seeds, the judge, and the
measures of one trained run.

The demo (``jaxvae.experiments.demo``) and the beta sweep (``jaxvae.experiments.sweep``) build the
same judge from the same settings and measure each run the same way, with keys from the named
streams of ``Stream``.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxvae.data import DATASETS, Dataset, cache_dir, load_dataset
from jaxvae.models import Model
from jaxvae.runs.checkpoint import NoIntactCheckpointError
from jaxvae.runs.config import EnsembleConfig, TrainConfig, require_counts
from jaxvae.runs.ensemble_run import started_with, train_ensemble
from jaxvae.runs.single import RunResult
from jaxvae.spec import ModelSpec
from jaxvae.study.judge import Judge, build_judge, reconstructions
from jaxvae.study.judge_cache import judge_folder, load_judge, save_judge
from jaxvae.study.measures import (
    Measured,
    Reference,
    encode_codes,
    generator_scores,
    measure_model,
    sampler_scores,
)
from jaxvae.study.phases import Phases

# the auxiliary decoders that teach the judge what decoded digits look like: (model, latent size,
# replica); their seeds are the experiment's seed + JUDGE_SEED_OFFSET + 100 * replica, which no
# judged run uses. Three 2-D decoders of each kind, so that the judge learns decoded digits in
# general rather than one decoder's 2-D family of images, and one 8-D decoder of each kind for
# sharper ones.
JUDGE_DECODERS = (
    *((kind, 2, r) for r in range(3) for kind in ("ae", "vae")),
    ("ae", 8, 0),
    ("vae", 8, 0),
)
JUDGE_SEED_OFFSET = 10_000
logger = logging.getLogger(__name__)


class Stream(enum.IntEnum):
    """The random streams of an experiment: ``stream_key(seed, stream)`` is
    ``fold_in(key(seed), stream)``, so that no two uses of one seed share a key."""

    JUDGE = 1  # the judge's calibration split, decoys and classifier (the experiment's seed)
    MEASURES = 2  # the samplers' draws of one run (the run's seed)
    VALIDATION = 3  # the negatives of the judge's validation table (the experiment's seed)
    CODES = 4  # one posterior draw per image of one run (the run's seed)
    EXAMPLES = 5  # the images of the judge-examples figure (the experiment's seed)
    GENERATIVE_VALIDATION = 6  # the halves and noise of the generator measures' validation
    HELD_OUT = 7  # the noise of a run's held-out -ELBO (the run's seed)


def stream_key(seed: int, stream: Stream) -> jax.Array:
    """The key of ``stream`` for ``seed``."""
    return jax.random.fold_in(jax.random.key(seed), int(stream))


@dataclass(frozen=True)
class StudyConfig:
    """The settings every experiment of the study shares: its data, its training runs, its judge
    and its samples. Each experiment's config adds its own; every field is a flag."""

    dataset: str | None = field(
        default=None,
        metadata={
            "help": f"dataset: {', '.join(DATASETS)} (default: mnist, read from jaxvae's own copy "
            "when no other source has it)",
        },
    )
    data_dir: str | None = field(default=None, metadata={"help": "directory of IDX files"})
    epochs: int = field(default=20, metadata={"help": "epochs of every judged training run"})
    batch_size: int = field(default=128, metadata={"help": "images per optimizer step"})
    classifier_epochs: int = field(default=12, metadata={"help": "epochs for the judge (a classifier)"})
    judge_decoder_epochs: int = field(
        default=5,
        metadata={"help": "epochs for each auxiliary decoder whose reconstructions teach the judge"},
    )
    samples: int = field(
        default=10_000, metadata={"help": "latent draws of each sampler (at most the test split's size)"}
    )
    seed: int = field(default=0, metadata={"help": "seed of the judge and of the first training run"})

    def check_counts(self, *more: str) -> None:
        """Reject bad shared settings, and the counts named in ``more``, in one line before any work."""
        TrainConfig(
            epochs=self.epochs, batch_size=self.batch_size, dataset=self.dataset or "mnist"
        ).validate()
        require_counts(self, ("classifier_epochs", "judge_decoder_epochs", "samples", *more))


class StudyData(NamedTuple):
    """The data set an experiment uses: its name and both splits."""

    name: str
    train: Dataset
    test: Dataset


def load_study_data(dataset: str | None, data_dir: str | None) -> StudyData:
    """``dataset`` (default: mnist, which jaxvae ships) from ``data_dir`` or the usual places."""
    name = dataset or "mnist"
    return StudyData(name, load_dataset(name, "train", data_dir), load_dataset(name, "test", data_dir))


def train_seeds(
    data: StudyData,
    spec: ModelSpec,
    *,
    seeds: Sequence[int],
    out: Path,
    epochs: int,
    batch_size: int,
    progress: bool = True,
    film: bool = False,
) -> list[RunResult]:
    """Train the model of ``spec`` once per seed, all seeds as one ensemble (one compiled program) in ``out``;
    returns the runs in the order of ``seeds``. An ensemble folder left by the same call (say, an
    experiment stopped part-way) is resumed from its newest intact checkpoint, which gives the same
    models as training again; one left by other settings, or with no intact checkpoint left, is
    started over. With ``film``, the first seed's codes of a fixed training subsample are recorded
    after every epoch (``out/film.npz``, ``jaxvae.runs.film``)."""
    train_config = TrainConfig(
        model=spec,
        dataset=data.name,
        epochs=epochs,
        batch_size=batch_size,
        seed=seeds[0],
        out=str(out),
    )
    ensemble = EnsembleConfig.of_seeds(train_config, len(seeds))
    return train_owned(ensemble, (data.train, data.test), progress=progress, film=(0,) if film else ())


def train_owned(
    ensemble: EnsembleConfig,
    splits: tuple[Dataset, Dataset],
    *,
    progress: bool = True,
    film: Sequence[int] = (),
) -> list[RunResult]:
    """Train an ensemble that an experiment owns (its folder is the experiment's to rewrite): resume
    it when the folder holds the same ensemble, else start it over; and start over when none of its
    checkpoints is intact, which gives the same models as training again. ``film``: the runs to film
    (``train_ensemble``)."""
    resume = started_with(ensemble)
    try:
        return train_ensemble(ensemble, data=splits, progress=progress, resume=resume, film=film).runs
    except NoIntactCheckpointError:
        out = ensemble.train.out
        logger.warning("%s: none of its checkpoints is intact; training it again from the start", out)
        return train_ensemble(ensemble, data=splits, progress=progress, resume=False, film=film).runs


def make_judge(
    config: StudyConfig, data: StudyData, *, progress: bool = True, phases: Phases | None = None
) -> tuple[Judge, list[str]]:
    """The judge of ``config`` and ``data`` and the names of the auxiliary decoders that taught it:
    from the cache when an intact one is kept there (``jaxvae.study.judge_cache``), else built there:
    the decoders trained (one ensemble of replicas per kind and latent size), then the classifier.
    ``phases`` times the two as "judge helpers" and "judge"."""
    phases = phases or Phases()
    seed = config.seed
    settings = {
        "seed": seed,
        "decoder_epochs": config.judge_decoder_epochs,
        "classifier_epochs": config.classifier_epochs,
        "batch_size": config.batch_size,
        "decoders": [list(d) for d in JUDGE_DECODERS],
    }
    folder = judge_folder(data.train, data.name, settings)
    with phases("judge helpers"):  # nothing to train when the judge is cached
        cached = load_judge(folder)
        models = {} if cached is not None else _train_helpers(config, data, folder, progress=progress)
    if cached is not None:
        return cached
    decoders = {f"{k} (latent {d}, #{r + 1})": models[k, d, r] for k, d, r in JUDGE_DECODERS}
    with phases("judge"):
        judge = build_judge(
            data.train.images,
            data.train.labels,
            decoders,
            key=stream_key(seed, Stream.JUDGE),
            seed=seed,
            epochs=config.classifier_epochs,
            cache_dir=cache_dir(data.name),
            progress=progress,
        )
        save_judge(folder, judge, list(decoders))
    return judge, list(decoders)


def _train_helpers(
    config: StudyConfig, data: StudyData, folder: Path, *, progress: bool
) -> dict[tuple[str, int, int], Model]:
    """The judge's auxiliary decoders by (kind, latent size, replica), trained in ``folder``."""
    seed = config.seed
    models: dict[tuple[str, int, int], Model] = {}
    for kind, latent in dict.fromkeys((kind, latent) for kind, latent, _ in JUDGE_DECODERS):
        replicas = [r for k, d, r in JUDGE_DECODERS if (k, d) == (kind, latent)]
        runs = train_seeds(
            data,
            ModelSpec(kind, latent_dim=latent),
            seeds=[seed + JUDGE_SEED_OFFSET + 100 * r for r in replicas],
            out=folder / f"decoders_{kind}{latent}",
            epochs=config.judge_decoder_epochs,
            batch_size=config.batch_size,
            progress=progress,
        )
        models |= {(kind, latent, r): run.state.model for r, run in zip(replicas, runs, strict=True)}
    return models


class RunMeasures(NamedTuple):
    """One trained run's 2-D codes (``"train"`` means, one ``"posterior"`` draw per training image,
    ``"test"`` means) and its measures."""

    codes: dict[str, np.ndarray]
    measured: Measured


def run_codes(model: Model, images: tuple[jax.Array, jax.Array], *, seed: int) -> dict[str, np.ndarray]:
    """A run's codes of both splits (``images``, on the device): the ``"train"`` and ``"test"``
    posterior means, and one ``"posterior"`` draw per training image (the run's CODES stream)."""
    code_key = stream_key(seed, Stream.CODES)
    train_codes = encode_codes(model, images[0], key=code_key)
    return {
        "train": train_codes["mean"],
        "posterior": train_codes["sample"],
        "test": encode_codes(model, images[1], key=code_key)["mean"],
    }


def measure_run(
    model: Model,
    kind: str,
    judge: Judge,
    real: Reference,
    data: StudyData,
    images: tuple[jax.Array, jax.Array],
    *,
    seed: int,
    num_samples: int,
) -> RunMeasures:
    """Encode both splits (``images``: the training and test images, already on the device) with
    the run's ``model`` and measure it (``jaxvae.study.measures.measure_model``)."""
    codes = run_codes(model, images, seed=seed)
    measured = measure_model(
        model,
        kind,
        judge,
        real,
        codes,
        {"train": data.train.labels, "test": data.test.labels},
        data.test.images,
        key=stream_key(seed, Stream.MEASURES),
        num_samples=num_samples,
    )
    return RunMeasures(codes, measured)


def measure_generation(
    model: Model,
    kind: str,
    judge: Judge,
    real: Reference,
    data: StudyData,
    images: tuple[jax.Array, jax.Array],
    *,
    seed: int,
    num_samples: int,
) -> dict[str, Any]:
    """The generation measures of a run at any latent size: its reconstructions and its samplers
    (``sampler_scores``), with the same keys as ``measure_run``, which at latent 2 gives the same
    numbers among its others."""
    codes = run_codes(model, images, seed=seed)
    samplers, others, _ = sampler_scores(
        model,
        kind,
        judge,
        real,
        codes["train"],
        codes["test"],
        key=stream_key(seed, Stream.MEASURES),
        num_samples=num_samples,
    )
    recon = generator_scores(judge, real, reconstructions(model, data.test.images))
    return {"reconstructions": recon, "samplers": samplers, "other_samplers": others}


def on_device(data: StudyData) -> tuple[jax.Array, jax.Array]:
    """Both splits' images on the default device, once for every run."""
    return jnp.asarray(data.train.images), jnp.asarray(data.test.images)
