"""Training configuration: one frozen dataclass, the single source of truth for the CLI too."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import optax

from jaxvae.data import DATASET_HELP, LIKELIHOODS
from jaxvae.errors import ConfigError, DataError
from jaxvae.sources import check_dataset
from jaxvae.spec import ModelSpec, from_typed_dict, has_type

LR_SCHEDULES = ("constant", "cosine", "exponential")


def _help(text: str, **extra: Any) -> dict[str, Any]:
    return {"help": text, **extra}


def require_counts(config: Any, positive: Sequence[str] = (), zero_means_all: Sequence[str] = ()) -> None:
    """Reject, in one line, the first field named in ``positive`` that is below 1, or in
    ``zero_means_all`` (where 0 stands for "all") that is below 0."""
    for name in positive:
        if getattr(config, name) < 1:
            raise ConfigError(f"{name} must be a positive integer, got {getattr(config, name)}")
    for name in zero_means_all:
        if getattr(config, name) < 0:
            raise ConfigError(f"{name} must be 0 (all) or a positive count, got {getattr(config, name)}")


def replace_defaults(config: Any, settings: dict[str, Any]) -> Any:
    """``config`` (a config dataclass) with ``settings`` wherever it has its default: what a
    ``--quick`` flag does without overriding the flags a user gave."""
    default = type(config)()
    keep = {k: v for k, v in settings.items() if getattr(config, k) == getattr(default, k)}
    return dataclasses.replace(config, **keep)


@dataclass(frozen=True)
class TrainConfig:
    """How to train one model. Every field is also a ``jaxvae train`` flag (``_`` becomes ``-``)."""

    model: ModelSpec = field(default_factory=ModelSpec, metadata=_help("the model (jaxvae.spec)"))
    dataset: str = field(default="mnist", metadata=_help(DATASET_HELP))
    data_dir: str | None = field(
        default=None, metadata=_help("directory of IDX files (default: $JAXVAE_DATA_DIR, then tfds)")
    )
    epochs: int = field(default=10, metadata=_help("passes over the training set"))
    batch_size: int = field(default=128, metadata=_help("images per optimizer step"))
    likelihood: str = field(
        default="continuous",
        metadata=_help(f"pixel likelihood mode: {', '.join(LIKELIHOODS)} (see jaxvae.data.prepare_pixels)"),
    )
    lr: float = field(default=1e-3, metadata=_help("Adam learning rate (the initial one, with a schedule)"))
    lr_schedule: str = field(
        default="constant",
        metadata=_help(
            f"learning-rate schedule over the run's epochs: {', '.join(LR_SCHEDULES)} (cosine: to 1%% of lr "
            "at the last epoch; exponential: times lr-decay every epoch)"
        ),
    )
    lr_decay: float = field(default=0.999, metadata=_help("per-epoch factor of the exponential schedule"))
    beta: float = field(
        default=1.0, metadata=_help("weight of the KL term (vae), or of the pull 1/2 ||z||^2 (rae)")
    )
    seed: int = field(default=0, metadata=_help("seed for parameters, shuffling and sampling"))
    out: str = field(default="runs/vae", metadata=_help("run directory for config, metrics, checkpoints"))
    devices: int = field(
        default=0,
        metadata=_help(
            "devices to train on (0: every visible device); one run splits its batches across them, "
            "several runs (--runs) are spread across them"
        ),
    )
    checkpoint_every: int = field(
        default=1, metadata=_help("save a checkpoint every N epochs (and at the end)")
    )
    keep_checkpoints: int = field(default=2, metadata=_help("how many recent checkpoints to keep"))

    def validate(self) -> TrainConfig:
        """Reject an invalid configuration with one line; returns ``self`` when valid."""
        self.model.validate()
        try:
            check_dataset(self.dataset)
        except DataError as e:
            raise ConfigError(str(e)) from None
        positive = ("epochs", "batch_size", "checkpoint_every", "keep_checkpoints")
        require_counts(self, positive, zero_means_all=("devices",))
        if self.likelihood not in LIKELIHOODS:
            raise ConfigError(
                f"unknown likelihood {self.likelihood!r}; choose one of {', '.join(LIKELIHOODS)}"
            )
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise ConfigError(f"lr must be a positive number, got {self.lr}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ConfigError(
                f"unknown lr_schedule {self.lr_schedule!r}; choose one of {', '.join(LR_SCHEDULES)}"
            )
        if not (math.isfinite(self.lr_decay) and 0 < self.lr_decay <= 1):
            raise ConfigError(f"lr_decay must be in (0, 1], got {self.lr_decay}")
        if not (math.isfinite(self.beta) and self.beta >= 0):
            raise ConfigError(f"beta must be a non-negative number, got {self.beta}")
        return self

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "model": self.model.to_dict()}

    def flat(self) -> dict[str, Any]:
        """Every setting under its flag's name (the model's too), as config.json had them before
        specs: what ``changed_settings`` compares and names."""
        return {**self.to_dict(), **self.model.flat()}

    def changed_settings(self, saved: TrainConfig) -> list[str]:
        """The settings (by flag name) in which ``saved`` differs from this config; ``out`` is not
        compared, since a run folder may have moved."""
        mine, theirs = self.flat(), saved.flat()
        return sorted(k for k, v in theirs.items() if k != "out" and v != mine[k])

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """The config saved as ``to_dict()`` (e.g. read back from JSON), or as config.json was
        written before specs (the model's settings flat beside the others); wrong keys or types are a
        ``ConfigError``. The values are not range-checked: ``validate()`` does that."""
        if isinstance(values, dict) and ModelSpec.is_flat(values):
            spec, rest = ModelSpec.from_flat(values)
            return dataclasses.replace(from_typed_dict(cls, rest), model=spec)
        return from_typed_dict(cls, values, nested={"model": ModelSpec.from_dict})

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def optimizer(self, steps_per_epoch: int = 1) -> optax.GradientTransformation:
        """The optimizer this config trains with: Adam at ``lr``, or at the schedule's rate for the
        optimizer step it is at (which ``opt_state`` counts, so a resumed run goes on where it
        was). ``steps_per_epoch`` converts the schedule's epochs into steps; the optimizer state's
        structure does not depend on it."""
        if self.lr_schedule == "constant":
            return optax.adam(self.lr)
        if self.lr_schedule == "cosine":
            schedule = optax.cosine_decay_schedule(self.lr, self.epochs * steps_per_epoch, alpha=0.01)
        else:
            schedule = optax.exponential_decay(self.lr, steps_per_epoch, self.lr_decay)
        return optax.adam(schedule)

    def architecture(self) -> dict[str, Any]:
        """The fields that fix the shapes of the parameters: a checkpoint fits only these."""
        return self.model.shapes()


@dataclass(frozen=True)
class EnsembleConfig:
    """Several runs trained as one program (``jaxvae.ensemble``): ``train``'s settings, with run ``i``
    taking seed ``seeds[i]`` and KL weight ``betas[i]`` instead of ``train.seed`` and ``train.beta``."""

    train: TrainConfig
    seeds: tuple[int, ...]
    betas: tuple[float, ...]

    @classmethod
    def of_seeds(cls, train: TrainConfig, runs: int) -> EnsembleConfig:
        """``runs`` runs of ``train`` with seeds ``train.seed``, ``train.seed + 1``, ... and its beta."""
        return cls(train, tuple(train.seed + i for i in range(runs)), (train.beta,) * runs)

    @property
    def runs(self) -> int:
        return len(self.seeds)

    def validate(self) -> EnsembleConfig:
        """Reject an invalid ensemble with one line; returns ``self`` when valid."""
        self.train.validate()
        if not self.seeds or len(self.seeds) != len(self.betas):
            raise ConfigError(
                f"an ensemble needs one beta per seed and at least one run, got {len(self.seeds)} seeds "
                f"and {len(self.betas)} betas"
            )
        for beta in self.betas:
            if not (math.isfinite(beta) and beta >= 0):
                raise ConfigError(f"beta must be a non-negative number, got {beta}")
        if len(set(zip(self.seeds, self.betas, strict=True))) < self.runs:
            raise ConfigError("two runs of the ensemble have the same seed and beta (they would be one run)")
        if self.train.likelihood in ("static", "dynamic") and len(set(self.seeds)) > 1:
            raise ConfigError(
                f"likelihood {self.train.likelihood} binarizes the data with the run's seed, and an "
                "ensemble's runs share one copy of the data: use one seed, or continuous or threshold"
            )
        return self

    def member(self, i: int, out: str) -> TrainConfig:
        """The single run that run ``i`` of the ensemble is, written to ``out``."""
        return dataclasses.replace(self.train, seed=self.seeds[i], beta=self.betas[i], out=out)

    def to_dict(self) -> dict[str, Any]:
        return {"train": self.train.to_dict(), "seeds": list(self.seeds), "betas": list(self.betas)}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> EnsembleConfig:
        """The ensemble saved as ``to_dict()``; a ``ConfigError`` for anything else."""
        if not isinstance(values, dict) or set(values) != {"train", "seeds", "betas"}:
            raise ConfigError("an ensemble's configuration has exactly the keys train, seeds and betas")
        seeds, betas = values["seeds"], values["betas"]
        if not (isinstance(seeds, list) and has_type(seeds, tuple[int, ...])):
            raise ConfigError(f"seeds must be a list of integers, got {seeds!r}")
        if not (isinstance(betas, list) and has_type(betas, tuple[float, ...])):
            raise ConfigError(f"betas must be a list of numbers, got {betas!r}")
        return cls(TrainConfig.from_dict(values["train"]), tuple(seeds), tuple(float(b) for b in betas))

    def architecture(self) -> dict[str, Any]:
        return {**self.train.architecture(), "runs": self.runs}
