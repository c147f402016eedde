"""The study's results as typed records: what the verdicts, the pages and the figures read.

- ``Scores``: one generator's scores (a sampler's decodes, or a model's reconstructions).
- ``Measures``: one model's measures in one run (or their mean over runs): the 2-D map measures,
  its generators' scores and, per experiment, its training and the rules' results on it.
- ``Generation``: the generation measures alone, at any latent size.
- ``BetaRun``: one run of the beta sweep.
- ``Verdict``: one claim's verdict; ``Answer``: one question of the ablation.

Each serialises with ``to_json`` to exactly its metrics.json keys, in their order, and reads back
with ``from_json`` (a page can be filled from a metrics.json on disk). A field whose metadata says
``OMIT`` is left out of the JSON when it is None or empty: it belongs to a run, not to a mean over
runs (``class_counts``, ``box``), or to some experiments only (``prior_holes``, ``training``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Self, TypeVar

import numpy as np

OMIT = {"omit_if_empty": True}
T = TypeVar("T")


def to_json(record: Any) -> Any:
    """A record (or a nest of dicts, lists and records) as JSON-ready values."""
    if hasattr(record, "to_json"):
        return record.to_json()
    if isinstance(record, Mapping):
        return {k: to_json(v) for k, v in record.items()}
    if isinstance(record, list | tuple):
        return [to_json(v) for v in record]
    return record


def of_a_run(value: T | None, name: str) -> T:
    """A field that every run's record has and a mean over runs leaves out (``box``, ...)."""
    if value is None:
        raise ValueError(f"{name} belongs to one run's measures, not to a mean over runs")
    return value


def _fields_json(record: Any) -> dict[str, Any]:
    """A dataclass record's fields as JSON-ready values, leaving out those ``OMIT`` says when empty."""
    out = {}
    for f in fields(record):
        value = getattr(record, f.name)
        if f.metadata.get("omit_if_empty") and (value is None or value == {}):
            continue
        out[f.name] = to_json(value)
    return out


def _known(cls: type, data: Mapping[str, Any]) -> dict[str, Any]:
    """The entries of ``data`` that are fields of ``cls`` (a row may hold more: a sweep's seed)."""
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in names}


def mean_over_runs(values: list[Any]) -> Any:
    """The mean over runs of each number in a nest of dicts (over the runs that have one; None where
    none has); lists of missing classes become their union, other lists are dropped."""
    first = values[0]
    if isinstance(first, dict):
        merged = {}
        for key in first:
            if key == "missing_classes":
                merged[key] = sorted(set().union(*(v[key] for v in values)))
            elif not isinstance(first[key], list):
                merged[key] = mean_over_runs([v[key] for v in values])
        return merged
    present = [v for v in values if v is not None]
    return float(np.mean(present)) if present else None


class Record:
    """A typed result: ``to_json`` gives its metrics.json entry, ``from_json`` reads one back."""

    def to_json(self) -> dict[str, Any]:
        return _fields_json(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        return cls(**_known(cls, data))


@dataclass(frozen=True, kw_only=True)
class Scores(Record):
    """One generator's scores against the real test images (``jaxvae.study.measures.generator_scores``):
    the judge's accepted share, improved precision, density and coverage, the Fréchet distance, the
    entropy of the judged classes, how many of each class (a run's only), the classes never
    generated, improved recall (the sets of known answers only: ``generator_scores``) and, in a 2-D
    latent, the share of draws far from every training code."""

    accepted: float
    precision: float
    recall: float | None = field(default=None, metadata=OMIT)
    density: float
    coverage: float
    frechet: float
    class_entropy_bits: float
    class_counts: list[int] | None = field(default=None, metadata=OMIT)
    missing_classes: list[int]
    far: float | None = field(default=None, metadata=OMIT)


def _scored(cls: type, data: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of ``cls`` in ``data``, with its generators' scores read as ``Scores`` (reports
    from before the ex-post samplers have no ``other_samplers``)."""

    def scores(named: Mapping[str, Any]) -> dict[str, Scores]:
        return {name: Scores.from_json(s) for name, s in named.items()}

    return _known(cls, data) | {
        "reconstructions": Scores.from_json(data["reconstructions"]),
        "samplers": scores(data["samplers"]),
        "other_samplers": scores(data.get("other_samplers", {})),
    }


class _Scored(Record):
    """A record holding its generators' ``Scores``: its reconstructions', its samplers'."""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        return cls(**_scored(cls, data))


@dataclass(frozen=True, kw_only=True)
class Generation(_Scored):
    """The generation measures of one model in one run, at any latent size: its reconstructions,
    the claims' samplers and the samplers beside them, and its training's summary."""

    reconstructions: Scores
    samplers: dict[str, Scores]
    other_samplers: dict[str, Scores] = field(default_factory=dict)
    training: dict[str, float] = field(default_factory=dict, metadata=OMIT)


@dataclass(frozen=True, kw_only=True)
class Measures(_Scored):
    """One model's measures in one run with a 2-D latent (``jaxvae.study.measures.measure_model``
    says what each is), or their mean over runs (``mean``), and what an experiment adds: the
    training's summary, the held-out loss terms, the prior's holes and the rules' results."""

    knn_label_accuracy: float
    reconstructions: Scores
    samplers: dict[str, Scores]
    other_samplers: dict[str, Scores] = field(default_factory=dict)
    num_samples: float
    box: list[list[float]] | None = field(default=None, metadata=OMIT)
    spacing: float
    far_spacings: float
    empty_fraction: float
    posterior_empty_fraction: float
    gaussian_empty_fraction: float
    between_empty_fraction: float
    empty_accepted: float | None
    between_empty_accepted: float | None
    occupied_accepted: float
    grid_accepted: float
    by_distance: dict[str, list[Any]]  # empty in a mean over runs
    empty_regions: list[dict[str, Any]] | None = field(default=None, metadata=OMIT)
    far_field: dict[str, dict[str, float]] = field(default_factory=dict, metadata=OMIT)
    test_total: float | None = field(default=None, metadata=OMIT)  # held out, at beta 1 (the sweep)
    test_reconstruction: float | None = field(default=None, metadata=OMIT)
    test_kl: float | None = field(default=None, metadata=OMIT)
    prior_holes: dict[str, float] = field(default_factory=dict, metadata=OMIT)  # the ablation
    posterior_empty_ratio: float | None = field(default=None, metadata=OMIT)
    fills_space: bool | None = field(default=None, metadata=OMIT)
    prior_generates: bool | None = field(default=None, metadata=OMIT)
    training: dict[str, float] = field(default_factory=dict, metadata=OMIT)

    @classmethod
    def mean(cls, runs: Sequence[Measures]) -> Self:
        """The mean over ``runs`` of every number (``mean_over_runs``): a run's lists (its box,
        regions and class counts) are left out, its missing classes are their union."""
        return cls.from_json(mean_over_runs([run.to_json() for run in runs]))


@dataclass(frozen=True)
class BetaRun:
    """One run of the beta sweep: its seed, its KL weight and the VAE's measures; in metrics.json a
    flat row (the seed and beta beside the measures)."""

    seed: int
    beta: float
    measures: Measures

    def to_json(self) -> dict[str, Any]:
        return {"seed": self.seed, "beta": self.beta, **self.measures.to_json()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        return cls(data["seed"], data["beta"], Measures.from_json(data))


def measures_from_json(data: Mapping[str, Any]) -> Measures | Generation:
    """A run's measures of one model: the map measures when it has them (a 2-D latent), else the
    generation measures alone."""
    return Measures.from_json(data) if "knn_label_accuracy" in data else Generation.from_json(data)


@dataclass(frozen=True, kw_only=True)
class Verdict(Record):
    """One claim's verdict (``jaxvae.study.verdicts``): the grade, the numbers it was decided from,
    and each run's own grade (absent when decided from one set of numbers)."""

    claim: str
    verdict: str
    numbers: str
    runs: list[str] | None = field(default=None, metadata=OMIT)

    @property
    def grade(self) -> str:
        """The verdict's grade alone: "undecided (3 runs: ...)" is "undecided"."""
        return self.verdict.split(" (")[0]


@dataclass(frozen=True, kw_only=True)
class Answer(Record):
    """One question of the ablation (``jaxvae.study.why``): each run's answer and the verdict."""

    question: str
    runs: list[bool]
    verdict: str
