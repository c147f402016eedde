"""The demo: train an AE and a VAE with a 2-D latent once per seed, measure both with a validated
judge, decide each claim of the AE-versus-VAE story, and write the report.

``run_demo(DemoConfig(...))`` is what ``jaxvae demo`` runs; it returns metrics.json's content.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from jaxvae.report.demo_figures import draw_demo_figures, draw_summary_figures
from jaxvae.report.demo_page import render_html
from jaxvae.runs.config import replace_defaults
from jaxvae.runs.driver import summarize
from jaxvae.runs.film import Film, read_film
from jaxvae.runs.folder import claim
from jaxvae.runs.prune import prune_ensemble
from jaxvae.sources import class_names
from jaxvae.spec import MODEL_NAMES
from jaxvae.study.measures import validate_generative
from jaxvae.study.records import Measures, to_json
from jaxvae.study.streams import Stream, stream_key
from jaxvae.study.study import Study, StudyConfig
from jaxvae.study.verdicts import verdicts

KINDS = ("ae", "vae")  # the two models whose claims the demo tests


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
    out: str = field(
        default="report", metadata={"help": "report folder (index.html, PNGs, metrics.json)", "folder": True}
    )
    keep_training_state: bool = field(
        default=False,
        metadata={
            "help": "keep every checkpoint (parameters and optimizer state) in the report once it is "
            "written, so that the runs can train on; by default only each run's final model is kept"
        },
    )
    why: str = field(
        default="why",
        metadata={
            "help": "folder of a 'jaxvae why' report (the pull-against-noise ablation) that the report "
            "links and whose answers it states, when there is one",
            "folder": True,
        },
    )

    def validate(self) -> DemoConfig:
        """Reject bad settings in one line before any work; returns the config to run (``apart``)."""
        self.check_counts("grid_size", "seeds")
        return self.apart()

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
    config = config.validate()
    with claim(config.out) as out:
        study = Study.open(config, out, progress=progress, began=began)
        test = study.data.test
        with study.phases("measures"):
            key = stream_key(config.seed, Stream.GENERATIVE_VALIDATION)
            checks = validate_generative(study.judge, study.real, test.images, test.labels, key=key)
        seeds = config.run_seeds(config.seeds)
        ensembles = {kind: study.train(config.spec(kind), seeds, film=(0,)) for kind in KINDS}
        films = {kind: read_film(out / f"runs_{kind}") for kind in KINDS}
        runs: list[tuple[int, dict[str, Measures]]] = []  # (seed, each model's measures)
        figures: dict[str, str] = {}
        for index, seed in enumerate(seeds):
            trained = {kind: ensemble[index] for kind, ensemble in ensembles.items()}
            measured = {kind: study.measure(run.state.model, kind, seed) for kind, run in trained.items()}
            if index == 0:
                figures = draw_demo_figures(
                    out,
                    study.data,
                    trained,
                    measured,
                    study.judge,
                    grid_size=config.grid_size,
                    seed=config.seed,
                    films=films,
                    typical=study.real.typical,
                    progress=progress,
                    phases=study.phases,
                )
            numbers = {
                k: replace(m.measured.numbers, training=summarize(trained[k].metrics))
                for k, m in measured.items()
            }
            runs.append((seed, numbers))
            # the report so far, rewritten after every run: an interrupted demo keeps what it measured
            metrics = study.write(
                demo_metrics(config, study, seeds, runs, figures, checks, films), render_html
            )
        if not config.keep_training_state:  # the report is written: keep only the final models
            for kind, ensemble in ensembles.items():
                prune_ensemble(
                    out / f"runs_{kind}", study.ensemble_config(config.spec(kind), seeds), ensemble
                )
    return metrics


def demo_metrics(
    config: DemoConfig,
    study: Study,
    seeds: list[int],
    runs: list[tuple[int, dict[str, Measures]]],
    figures: dict[str, str],
    generative_checks: list[dict[str, Any]],
    films: dict[str, Film | None],
) -> dict[str, Any]:
    """metrics.json's content for the ``runs`` (seed, each model's measures) measured so far (of the
    planned ``seeds``); draws the figures of all runs (``draw_summary_figures``) on the way."""
    models = [numbers for _, numbers in runs]
    means = {k: Measures.mean([numbers[k] for numbers in models]) for k in KINDS}
    with study.phases("figures"):
        figures = figures | draw_summary_figures(study.out, models, means, class_names(study.data.name))
    reconstructions = {
        f"{MODEL_NAMES[k]} reconstructions of test images": [
            numbers[k].reconstructions.accepted for numbers in models
        ]
        for k in KINDS
    }
    judged = study.judged(reconstructions)
    filmed = [len(film.indices) for film in films.values() if film is not None]
    return {
        "dataset": study.data.name,
        "seed": config.seed,
        "seeds": [seed for seed, _ in runs],
        "planned_seeds": seeds,
        "config": asdict(config),
        "judge": judged["judge"],
        "validation": judged["validation"],
        "generative_validation": generative_checks,
        "num_samples": study.num_samples,
        "num_test_images": len(study.data.test.images),
        "runs": [{"seed": seed, "models": to_json(numbers)} for seed, numbers in runs],
        "means": to_json(means),
        "verdicts": to_json(verdicts(means, models, classes=study.judge.classifier.num_classes)),
        "why": why_summary(Path(config.why), study.out),
        "figures": figures,
        "figures_seed": seeds[0],
        "film_images": filmed[0] if filmed else 0,
    }


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
