"""A study: what every experiment (the demo, the ablation, the sweep) builds once and works through.

``Study.open(config, out)`` loads the data, builds (or loads from the cache) the judge and validates
it, and puts the real test images in the judge's feature space; the experiment then trains
(``study.train``), measures (``study.measure``) and writes its report (``study.write``), while the
study keeps the output folder, the phase clock and whether to show progress. Keys come from the
named streams of ``jaxvae.study.streams``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, Self

import jax
import jax.numpy as jnp
import numpy as np

from jaxvae.data import DATASET_HELP, Dataset
from jaxvae.errors import ConfigError
from jaxvae.models import Model
from jaxvae.runs.config import EnsembleConfig, TrainConfig, require_counts
from jaxvae.runs.driver import RunResult
from jaxvae.runs.ensemble_run import train_owned
from jaxvae.runs.files import write_json, write_text
from jaxvae.sources import load_dataset
from jaxvae.spec import ARCHS, CHANNELS, DENSE_DIMS, ModelSpec
from jaxvae.study.classifier import accuracy
from jaxvae.study.far_field import realism_rows
from jaxvae.study.judge import Judge, fit_for_use, validate, with_reconstructions
from jaxvae.study.judge_cache import JUDGE_RECIPE, make_judge
from jaxvae.study.measures import (
    Measured,
    Reference,
    encode_codes,
    generation,
    measure_model,
    reference,
)
from jaxvae.study.phases import Phases
from jaxvae.study.records import Generation
from jaxvae.study.shipped import judge_source, shipped_judge
from jaxvae.study.streams import Stream, stream_key

JUDGES = ("shipped", "build")  # where an experiment's judge comes from (StudyConfig.judge)


@dataclass(frozen=True)
class StudyConfig:
    """The settings every experiment of the study shares: its data, its training runs, its judge
    and its samples. Each experiment's config adds its own; every field is a flag."""

    dataset: str | None = field(
        default=None,
        metadata={
            "help": f"{DATASET_HELP} (default: mnist, read from jaxvae's own copy when no other "
            "source has it)",
        },
    )
    data_dir: str | None = field(default=None, metadata={"help": "directory of IDX files"})
    epochs: int = field(default=20, metadata={"help": "epochs of every judged training run"})
    batch_size: int = field(default=128, metadata={"help": "images per optimizer step"})
    judge: str = field(
        default="shipped",
        metadata={
            "help": "shipped: score with the judge that ships with jaxvae where there is one (MNIST and "
            "mnist_5k), so nothing but the judged models is trained; other data sets build theirs. "
            "build: build one here from the recipe (cached), with the two settings below"
        },
    )
    classifier_epochs: int = field(
        default=12, metadata={"help": "epochs for a judge built here (a classifier)"}
    )
    judge_decoder_epochs: int = field(
        default=5,
        metadata={"help": "epochs for each auxiliary decoder whose reconstructions teach a judge built here"},
    )
    samples: int = field(
        default=10_000, metadata={"help": "latent draws of each sampler (at most the test split's size)"}
    )
    seed: int = field(default=0, metadata={"help": "seed of the judge and of the first training run"})
    arch: str = field(
        default="mlp",
        metadata={
            "help": f"the networks of every judged model: {' or '.join(ARCHS)} (jaxvae.spec; the judge is "
            "the same for both); with conv, a report folder left at its default is named with '_conv'"
        },
    )
    channels: tuple[int, ...] = field(
        default=CHANNELS, metadata={"help": "channels of the two convolutions of the conv networks"}
    )
    dense_dims: tuple[int, ...] = field(
        default=DENSE_DIMS,
        metadata={"help": "dense hidden layers of the conv networks between convolutions and code (0: none)"},
    )

    def spec(self, kind: str, **settings: Any) -> ModelSpec:
        """The judged models' spec of ``kind`` (with ``settings``), in this config's networks."""
        return ModelSpec(kind, arch=self.arch, channels=self.channels, dense_dims=self.dense_dims, **settings)

    def check_counts(self, *more: str) -> None:
        """Reject bad shared settings, and the counts named in ``more``, in one line before any work."""
        TrainConfig(
            model=self.spec("vae"),
            epochs=self.epochs,
            batch_size=self.batch_size,
            dataset=self.dataset or "mnist",
        ).validate()
        require_counts(self, ("classifier_epochs", "judge_decoder_epochs", "samples", *more))
        if self.judge not in JUDGES:
            raise ConfigError(f"--judge must be one of {', '.join(JUDGES)}, not {self.judge!r}")

    def apart(self) -> Self:
        """This config with each report folder left at its default (a field marked ``folder``) named
        for a non-default architecture (``report`` becomes ``report_conv``), so that the runs of one
        architecture never resume or overwrite the other's."""
        if self.arch == "mlp":
            return self
        default = type(self)()
        folders: dict[str, Any] = {
            f.name: f"{getattr(self, f.name)}_{self.arch}"
            for f in dataclasses.fields(self)
            if f.metadata.get("folder") and getattr(self, f.name) == getattr(default, f.name)
        }
        return dataclasses.replace(self, **folders)

    def run_seeds(self, count: int) -> list[int]:
        """The seeds of ``count`` runs: ``seed``, ``seed + 1``, ..."""
        return [self.seed + i for i in range(count)]


class StudyData(NamedTuple):
    """The data set an experiment uses: its name and both splits."""

    name: str
    train: Dataset
    test: Dataset


def load_study_data(dataset: str | None, data_dir: str | None) -> StudyData:
    """``dataset`` (default: mnist, which jaxvae ships) from ``data_dir`` or the usual places."""
    name = dataset or "mnist"
    return StudyData(name, load_dataset(name, "train", data_dir), load_dataset(name, "test", data_dir))


def study_judge(
    config: StudyConfig, data: StudyData, *, progress: bool = True, phases: Phases | None = None
) -> tuple[Judge, list[str], dict[str, Any]]:
    """The judge of ``config`` on ``data``, the names of the decoders that taught it, and where it
    came from (``judge_source``): the shipped one (``jaxvae.study.shipped``) where one ships for the
    data and ``config.judge`` is "shipped", else the one of ``config``'s seed and epochs, from the
    cache or built there (``jaxvae.study.judge_cache.make_judge``)."""
    shipped = shipped_judge(data.name, data.train) if config.judge == "shipped" else None
    if shipped is not None:
        return shipped.judge, shipped.decoders, judge_source(shipped, JUDGE_RECIPE)
    judge, decoders = make_judge(
        data.name,
        (data.train, data.test),
        seed=config.seed,
        decoder_epochs=config.judge_decoder_epochs,
        classifier_epochs=config.classifier_epochs,
        batch_size=config.batch_size,
        progress=progress,
        phases=phases,
    )
    return judge, decoders, judge_source(None, JUDGE_RECIPE)


def validate_judge(
    judge: Judge, test: Dataset, *, seed: int
) -> tuple[list[dict[str, Any]], float, Reference]:
    """The judge's validation table on the ``test`` split (its rows and the realism score's, before
    any judged model's), its class accuracy there, and the real test images in its feature space,
    with the keys of ``seed``'s streams."""
    validation = validate(judge, test.images, test.labels, {}, key=stream_key(seed, Stream.VALIDATION))
    judge_accuracy = accuracy(judge.classifier, test.images, test.labels)
    real = reference(judge, test.images, test.labels, key=stream_key(seed, Stream.GENERATIVE_VALIDATION))
    validation += realism_rows(
        judge, real.typical, test.images, test.labels, key=stream_key(seed, Stream.VALIDATION)
    )
    return validation, judge_accuracy, real


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


@dataclass
class Study:
    """An experiment's data, validated judge and settings, and the verbs it works with."""

    config: StudyConfig
    out: Path
    data: StudyData
    judge: Judge
    decoder_names: list[str]  # the auxiliary decoders that taught the judge
    judge_source: dict[str, Any]  # shipped or built here (jaxvae.study.shipped.judge_source)
    validation: list[dict[str, Any]]  # the judge's validation table, before any judged model's rows
    judge_accuracy: float  # of its digit classes on the test split
    real: Reference  # the real test images in the judge's feature space
    num_samples: int  # draws of each sampler: the setting, at most the test split's size
    images: tuple[jax.Array, jax.Array]  # both splits' images on the device, once for every run
    phases: Phases
    progress: bool
    began: float  # the experiment's start on the perf_counter clock

    @classmethod
    def open(
        cls, config: StudyConfig, out: Path, *, progress: bool = True, began: float | None = None
    ) -> Study:
        """Load ``config``'s data, build (or load from the cache) and validate its judge, for an
        experiment writing to ``out``."""
        began = time.perf_counter() if began is None else began
        phases = Phases()
        with phases("data"):
            data = load_study_data(config.dataset, config.data_dir)
        judge, decoder_names, source = study_judge(config, data, progress=progress, phases=phases)
        test = data.test
        with phases("judge"):  # its validation and the real images in its feature space
            validation, judge_accuracy, real = validate_judge(judge, test, seed=config.seed)
        return cls(
            config=config,
            out=out,
            data=data,
            judge=judge,
            decoder_names=decoder_names,
            judge_source=source,
            validation=validation,
            judge_accuracy=judge_accuracy,
            real=real,
            num_samples=min(config.samples, len(test.images)),
            images=(jnp.asarray(data.train.images), jnp.asarray(test.images)),
            phases=phases,
            progress=progress,
            began=began,
        )

    def ensemble_config(
        self, spec: ModelSpec, seeds: Sequence[int], *, folder: str | None = None
    ) -> EnsembleConfig:
        """The ensemble that trains the model of ``spec`` once per seed (consecutive seeds from
        ``seeds[0]``) in ``out/runs_<kind>`` (or ``out/<folder>``)."""
        config = TrainConfig(
            model=spec,
            dataset=self.data.name,
            epochs=self.config.epochs,
            batch_size=self.config.batch_size,
            seed=seeds[0],
            out=str(self.out / (folder or f"runs_{spec.kind}")),
        )
        return EnsembleConfig.of_seeds(config, len(seeds))

    def train(
        self,
        spec: ModelSpec,
        seeds: Sequence[int],
        *,
        folder: str | None = None,
        film: Sequence[int] = (),
    ) -> list[RunResult]:
        """Train ``ensemble_config(spec, seeds, folder=folder)``, all seeds as one compiled program,
        timed as the phase "training: <name>"; returns the runs in the order of ``seeds``. A folder
        left by the same call is resumed (``train_owned``). ``film``: the runs whose codes are filmed."""
        return self.train_ensemble(self.ensemble_config(spec, seeds, folder=folder), spec.name, film=film)

    def train_ensemble(
        self, ensemble: EnsembleConfig, name: str, *, film: Sequence[int] = ()
    ) -> list[RunResult]:
        """Train (or resume) ``ensemble`` on the study's data, timed as the phase "training: <name>"."""
        with self.phases(f"training: {name}"):
            return train_owned(ensemble, (self.data.train, self.data.test), progress=self.progress, film=film)

    def measure(self, model: Model, kind: str, seed: int) -> RunMeasures:
        """Encode both splits with the run's ``model`` and measure it (``measure_model``), timed as
        the phase "measures"."""
        with self.phases("measures"):
            codes = run_codes(model, self.images, seed=seed)
            measured = measure_model(
                model,
                kind,
                self.judge,
                self.real,
                codes,
                {"train": self.data.train.labels, "test": self.data.test.labels},
                self.images[1],  # the test images, on the device
                key=stream_key(seed, Stream.MEASURES),
                num_samples=self.num_samples,
            )
        return RunMeasures(codes, measured)

    def measure_generation(self, model: Model, kind: str, seed: int) -> Generation:
        """The generation measures of a run at any latent size: its reconstructions and its samplers
        (``generation``), with the same keys as ``measure``, which at latent 2 gives the same
        numbers among its others."""
        with self.phases("measures"):
            codes = run_codes(model, self.images, seed=seed)
            recon, samplers, others = generation(
                model,
                kind,
                self.judge,
                self.real,
                codes,
                self.images[1],  # the test images, on the device
                key=stream_key(seed, Stream.MEASURES),
                num_samples=self.num_samples,
            )
        return Generation(reconstructions=recon, samplers=samplers, other_samplers=others)

    def judged(self, reconstructions_accepted: dict[str, list[float]]) -> dict[str, Any]:
        """metrics.json's ``validation`` (the judge's table with a row of each judged model's
        reconstructions: its acceptance per run) and ``judge`` (its threshold, calibration,
        decoders, accuracy, and whether that whole table says it is fit for use)."""
        table = with_reconstructions(self.validation, reconstructions_accepted)
        judge = {
            "threshold": self.judge.threshold,
            "calibration": self.judge.calibration,
            "decoders": self.decoder_names,
            "source": self.judge_source,
            "test_accuracy": self.judge_accuracy,
            "fit": fit_for_use(table),
        }
        return {"judge": judge, "validation": table}

    def write(self, metrics: dict[str, Any], render: Callable[[dict[str, Any]], str]) -> dict[str, Any]:
        """Write the report: the page ``render`` makes of ``metrics`` (rendered once, timed as the
        phase "page", with the phases and wall time up to then) as index.html, and ``metrics`` with
        the final phases and wall time as metrics.json; returns what metrics.json holds."""
        with self.phases("page"):
            page = render(self._timed(metrics))
        metrics = self._timed(metrics)
        write_json(self.out / "metrics.json", metrics)
        write_text(self.out / "index.html", page)
        return metrics

    def _timed(self, metrics: dict[str, Any]) -> dict[str, Any]:
        return metrics | {
            "phases": dict(self.phases.seconds),
            "wall_seconds": time.perf_counter() - self.began,
        }
