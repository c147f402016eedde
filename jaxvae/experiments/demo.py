"""The demo: train an AE and a VAE with a 2-D latent once per seed, measure both with a validated
judge, decide each claim of the AE-versus-VAE story, and write the report.

``run_demo(DemoConfig(...))`` is what ``jaxvae demo`` runs; it returns metrics.json's content.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from jaxvae.data import class_names
from jaxvae.experiments.setup import judge_metrics, set_up
from jaxvae.report import plots
from jaxvae.report.demo_figures import draw_demo_figures
from jaxvae.report.demo_page import fill_ratios, render_html
from jaxvae.runs.config import replace_defaults
from jaxvae.runs.driver import summarize
from jaxvae.runs.files import write_json, write_text
from jaxvae.runs.film import read_film
from jaxvae.runs.folder import claim
from jaxvae.spec import ModelSpec
from jaxvae.study.experiment import (
    Stream,
    StudyConfig,
    measure_run,
    on_device,
    stream_key,
    train_seeds,
)
from jaxvae.study.judge import with_reconstructions
from jaxvae.study.measures import validate_generative
from jaxvae.study.phases import Phases
from jaxvae.study.verdicts import verdicts


@dataclass(frozen=True)
class DemoConfig(StudyConfig):
    """Settings of ``jaxvae demo``: the study's (``StudyConfig``) and these; every field is a flag."""

    grid_size: int = field(default=20, metadata={"help": "rows and columns of the decoded latent grids"})
    seeds: int = field(
        default=8,  # the count from which on no verdict flips between sets of seeds: docs/measures.md
        metadata={
            "help": "independent training runs of each model, with seeds SEED, SEED+1, ...; the report "
            "gives each measure's mean and every run's value (figures: the first run); 8 is where the "
            "verdicts stop flipping between sets of seeds (scripts/seed_count.py)",
        },
    )
    out: str = field(default="report", metadata={"help": "report folder (index.html, PNGs, metrics.json)"})
    why: str = field(
        default="why",
        metadata={
            "help": "folder of a 'jaxvae why' report (the pull-against-noise ablation) that the report "
            "links and whose answers it states, when there is one"
        },
    )

    def validate(self) -> DemoConfig:
        """Reject bad settings in one line before any work; returns ``self`` when valid."""
        self.check_counts("grid_size", "seeds")
        return self

    def quick(self) -> DemoConfig:
        """A fast smoke run: ``QUICK`` for every setting left at its default."""
        return replace_defaults(self, QUICK)


QUICK: dict[str, Any] = {
    "epochs": 2,
    "classifier_epochs": 2,
    "judge_decoder_epochs": 1,
    "grid_size": 12,
    "seeds": 1,
    "samples": 2000,
}


def run_demo(config: DemoConfig, *, progress: bool = True) -> dict[str, Any]:
    """Build and validate the judge, train both models once per seed, measure, draw and write the
    report; returns metrics.json's content. The figures show the first seed's models."""
    began = time.perf_counter()
    config.validate()
    with claim(config.out) as out:
        return _run_demo(config, out, began=began, progress=progress)


def _run_demo(config: DemoConfig, out: Path, *, began: float, progress: bool) -> dict[str, Any]:
    phases = Phases()
    setup = set_up(config, progress=progress, phases=phases)
    data, judge, real, num_samples = setup.data, setup.judge, setup.real, setup.num_samples
    validation = setup.validation
    test = data.test
    with phases("measures"):
        generative_checks = validate_generative(
            judge, test.images, test.labels, key=stream_key(config.seed, Stream.GENERATIVE_VALIDATION)
        )

    images = on_device(data)
    seeds = [config.seed + i for i in range(config.seeds)]
    runs: list[dict[str, Any]] = []
    figures: dict[str, str] = {}
    metrics: dict[str, Any] = {}
    ensembles = {}
    for kind in ("ae", "vae"):
        with phases(f"training: {plots.NAMES[kind]}"):
            ensembles[kind] = train_seeds(
                data,
                ModelSpec(kind),
                seeds=seeds,
                out=out / f"runs_{kind}",
                epochs=config.epochs,
                batch_size=config.batch_size,
                progress=progress,
                film=True,
            )
    films = {kind: read_film(out / f"runs_{kind}") for kind in ensembles}
    filmed = [len(film.indices) for film in films.values() if film is not None]
    for index, seed in enumerate(seeds):
        trained = {kind: runs[index] for kind, runs in ensembles.items()}
        with phases("measures"):
            measured = {
                kind: measure_run(
                    run.state.model, kind, judge, real, data, images, seed=seed, num_samples=num_samples
                )
                for kind, run in trained.items()
            }
        if seed == seeds[0]:
            figures = draw_demo_figures(
                out,
                data,
                trained,
                measured,
                judge,
                grid_size=config.grid_size,
                seed=config.seed,
                films=films,
                progress=progress,
                phases=phases,
            )
        runs.append(
            {
                "seed": seed,
                "models": {
                    k: {**m.measured.numbers, "training": summarize(trained[k].metrics)}
                    for k, m in measured.items()
                },
            }
        )
        # the report so far, rewritten after every run: an interrupted demo keeps what it measured
        counts = {
            f"{plots.NAMES[k]}: {sampler}": np.array(
                [run["models"][k]["samplers"][sampler]["class_counts"] for run in runs]
            )
            for k in ("ae", "vae")
            for sampler in runs[0]["models"][k]["samplers"]
        }
        classes = class_names(data.name)
        means = {k: mean_over_runs([run["models"][k] for run in runs]) for k in ("ae", "vae")}
        with phases("figures"):
            figures["prior_classes"] = plots.prior_classes(out / "prior_classes.png", counts, classes).name
            ratios = fill_ratios([run["models"] for run in runs])
            figures["empty_ratios"] = plots.empty_ratios(
                out / "empty_ratios.png", {k: v[0] for k, v in fill_ratios([means]).items()}, ratios
            ).name
        table = with_reconstructions(
            validation,
            {
                f"{plots.NAMES[k]} reconstructions of test images": [
                    run["models"][k]["reconstructions"]["accepted"] for run in runs
                ]
                for k in ("ae", "vae")
            },
        )
        metrics = {
            "dataset": data.name,
            "seed": config.seed,
            "seeds": [run["seed"] for run in runs],
            "planned_seeds": seeds,
            "config": asdict(config),
            "judge": judge_metrics(setup, table),
            "validation": table,
            "generative_validation": generative_checks,
            "num_samples": num_samples,
            "num_test_images": len(test.images),
            "runs": runs,
            "means": means,
            "verdicts": verdicts(means, [run["models"] for run in runs]),
            "why": why_summary(Path(config.why), out),
            "figures": figures,
            "figures_seed": seeds[0],
            "film_images": filmed[0] if filmed else 0,
        }
        with phases("page"):
            render_html(metrics | {"phases": phases.seconds, "wall_seconds": 0.0})
        metrics |= {"phases": dict(phases.seconds), "wall_seconds": time.perf_counter() - began}
        write_json(out / "metrics.json", metrics)
        write_text(out / "index.html", render_html(metrics))
    return metrics


def why_summary(why: Path, out: Path) -> dict[str, Any] | None:
    """The answers of the ``jaxvae why`` report in ``why`` and its page's path from ``out``, or None
    when ``why`` holds no finished one."""
    try:
        metrics = json.loads((why / "metrics.json").read_text())
        answers = [{"question": a["question"], "verdict": a["verdict"]} for a in metrics["answers"]]
        latent = int(metrics["config"]["latent_dim"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    page = os.path.relpath(why.absolute() / "index.html", out.absolute())
    return {"page": page, "answers": answers, "seeds": len(metrics["seeds"]), "latent_dim": latent}


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
