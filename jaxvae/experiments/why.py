"""Why does the VAE fill the space? Pull against noise, measured like the demo.

Four kinds of model (``jaxvae.study.why``: the autoencoder, the RAE, the noisy autoencoder and the
VAE), each trained once per seed as one ensemble, are measured with the demo's validated judge and
measures, plus what the literature adds: the ex-post mixture sampler and the midpoints
(``jaxvae.study.samplers``), the prior holes (``jaxvae.study.prior_holes``) and, for the kinds
with noise, the codes' race against it over training. Each question is then decided run by run
by the rules of ``jaxvae.study.why``. Nothing here is tuned; the judge is the demo's (cached).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from jaxvae.data import class_names
from jaxvae.experiments.setup import judge_metrics, set_up
from jaxvae.models import Model, encode
from jaxvae.report import plots
from jaxvae.report.why_page import why_html
from jaxvae.runs.config import EnsembleConfig, TrainConfig, replace_defaults
from jaxvae.runs.driver import summarize
from jaxvae.runs.files import write_json, write_text
from jaxvae.runs.film import read_film
from jaxvae.runs.folder import claim
from jaxvae.spec import MODEL_NAMES, ModelSpec
from jaxvae.study.experiment import StudyConfig, measure_generation, measure_run, on_device, train_owned
from jaxvae.study.judge import Judge, with_reconstructions
from jaxvae.study.measures import decode_images
from jaxvae.study.phases import Phases
from jaxvae.study.prior_holes import prior_holes
from jaxvae.study.verdicts import empty_ratio, fills_space
from jaxvae.study.why import KINDS, NOISE, answers, race


@dataclass(frozen=True)
class WhyConfig(StudyConfig):
    """Settings of ``jaxvae why``: the study's (``StudyConfig``) and these; every field is a flag."""

    seeds: int = field(default=3, metadata={"help": "runs of each kind, with seeds SEED, SEED+1, ..."})
    latent_dim: int = field(
        default=2,
        metadata={
            "help": "size of every model's latent; at sizes other than 2 only the generation measures "
            "(Ghosh et al.'s Table 1 columns) and the ex-post question are taken: the maps need 2-D codes"
        },
    )
    out: str = field(default="why", metadata={"help": "report folder (index.html, PNGs, metrics.json)"})

    def validate(self) -> WhyConfig:
        """Reject bad settings in one line before any work."""
        self.check_counts("seeds", "latent_dim")
        return self

    def quick(self) -> WhyConfig:
        """A fast smoke run: ``QUICK`` for every setting left at its default."""
        return replace_defaults(self, QUICK)


QUICK: dict[str, Any] = {
    "epochs": 2,
    "classifier_epochs": 2,
    "judge_decoder_epochs": 1,
    "seeds": 2,
    "samples": 2000,
}


def run_why(config: WhyConfig, *, progress: bool = True) -> dict[str, Any]:
    """Build (or load) the judge, train every kind once per seed, measure, decide, draw and write the
    report; returns metrics.json's content. The same call resumes an interrupted one."""
    began = time.perf_counter()
    config.validate()
    with claim(config.out) as out:
        return _run_why(config, out, began=began, progress=progress)


def _accepts(judge: Judge, model: Model, z: np.ndarray) -> np.ndarray:
    """Whether the judge accepts ``model``'s decode of each latent point z [P, 2]."""
    return judge.accepts(decode_images(model, z))


def _run_why(config: WhyConfig, out: Path, *, began: float, progress: bool) -> dict[str, Any]:
    phases = Phases()
    setup = set_up(config, progress=progress, phases=phases)
    data, judge, real, num_samples = setup.data, setup.judge, setup.real, setup.num_samples
    validation = setup.validation
    seeds = [config.seed + i for i in range(config.seeds)]
    images = on_device(data)
    runs: list[dict[str, Any]] = [{} for _ in seeds]
    maps: dict[str, np.ndarray] = {}
    races: dict[str, dict[str, Any]] = {}
    for kind in KINDS:
        train = TrainConfig(
            model=ModelSpec(kind, latent_dim=config.latent_dim),
            dataset=data.name,
            epochs=config.epochs,
            batch_size=config.batch_size,
            seed=seeds[0],
            out=str(out / f"runs_{kind}"),
        )
        filmed = tuple(range(len(seeds))) if NOISE[kind] else ()
        with phases(f"training: {MODEL_NAMES[kind]}"):
            trained = train_owned(
                EnsembleConfig.of_seeds(train, len(seeds)),
                (data.train, data.test),
                progress=progress,
                film=filmed,
            )
        for i, (seed, run) in enumerate(zip(seeds, trained, strict=True)):
            model = run.state.model
            if config.latent_dim != 2:
                with phases("measures"):
                    numbers = measure_generation(
                        model, kind, judge, real, data, images, seed=seed, num_samples=num_samples
                    )
                runs[i][kind] = {**numbers, "training": summarize(run.metrics)}
                continue
            with phases("measures"):
                codes, measured = measure_run(
                    model, kind, judge, real, data, images, seed=seed, num_samples=num_samples
                )
                logvar = encode(model, images[0]).logvar
                holes = prior_holes(
                    codes["train"],
                    None if logvar is None else np.asarray(logvar),
                    partial(_accepts, judge, model),
                )
            numbers = measured.numbers
            runs[i][kind] = {
                **numbers,
                "prior_holes": holes,
                "posterior_empty_ratio": empty_ratio(numbers, "posterior_empty_fraction"),
                "fills_space": fills_space(numbers),
                "training": summarize(run.metrics),
            }
            if i == 0:
                maps[kind] = codes["train"]
        film = read_film(out / f"runs_{kind}")
        if film is not None and NOISE[kind]:
            races[kind] = {
                "epochs": [int(e) for e in film.epochs],
                "runs": [race(film.run(j), film.sigmas[:, j]).tolist() for j in range(len(film.runs))],
            }
    decided = answers(runs)
    classes = class_names(data.name)
    with phases("figures"):
        figures = {}
        if maps:
            figures["maps"] = plots.latent_maps_2x2(
                out / "why_maps.png", maps, data.train.labels, classes
            ).name
        if races:
            figures["race"] = plots.race(out / "why_race.png", races).name
    validation = with_reconstructions(
        validation,
        {
            f"{MODEL_NAMES[kind]} reconstructions of test images": [
                run[kind]["reconstructions"]["accepted"] for run in runs
            ]
            for kind in KINDS
        },
    )
    metrics = {
        "dataset": data.name,
        "config": asdict(config),
        "seeds": seeds,
        "judge": judge_metrics(setup, validation),
        "validation": validation,
        "num_samples": num_samples,
        "runs": runs,
        "answers": decided,
        "races": races,
        "figures": figures,
    }
    with phases("page"):
        why_html(metrics | {"wall_seconds": 0.0})
    metrics |= {"phases": dict(phases.seconds), "wall_seconds": time.perf_counter() - began}
    write_json(out / "metrics.json", metrics)
    write_text(out / "index.html", why_html(metrics))
    return metrics
