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
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from typing import Any

import numpy as np

from jaxvae.latent import decode_images
from jaxvae.models import Model, encode
from jaxvae.report.why_page import draw_why_figures, why_html
from jaxvae.runs.config import replace_defaults
from jaxvae.runs.driver import summarize
from jaxvae.runs.film import read_film
from jaxvae.runs.folder import claim
from jaxvae.sources import class_names
from jaxvae.spec import MODEL_NAMES
from jaxvae.study.judge import Judge
from jaxvae.study.prior_holes import prior_holes
from jaxvae.study.records import Generation, Measures, to_json
from jaxvae.study.study import Study, StudyConfig
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
    out: str = field(
        default="why", metadata={"help": "report folder (index.html, PNGs, metrics.json)", "folder": True}
    )

    def validate(self) -> WhyConfig:
        """Reject bad settings in one line before any work; returns the config to run (``apart``)."""
        self.check_counts("seeds", "latent_dim")
        return self.apart()

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
    config = config.validate()
    with claim(config.out) as out:
        study = Study.open(config, out, progress=progress, began=began)
        seeds = config.run_seeds(config.seeds)
        runs: list[dict[str, Measures | Generation]] = [{} for _ in seeds]  # per run: kind -> measures
        maps: dict[str, np.ndarray] = {}
        races: dict[str, dict[str, Any]] = {}
        for kind in KINDS:
            filmed = tuple(range(len(seeds))) if NOISE[kind] else ()
            trained = study.train(config.spec(kind, latent_dim=config.latent_dim), seeds, film=filmed)
            for i, (seed, run) in enumerate(zip(seeds, trained, strict=True)):
                numbers, codes = measure_kind(study, run.state.model, kind, seed, config.latent_dim)
                runs[i][kind] = replace(numbers, training=summarize(run.metrics))
                if i == 0 and codes is not None:
                    maps[kind] = codes
            film = read_film(out / f"runs_{kind}")
            if film is not None and NOISE[kind]:
                races[kind] = {
                    "epochs": [int(e) for e in film.epochs],
                    "runs": [race(film.run(j), film.sigmas[:, j]).tolist() for j in range(len(film.runs))],
                }
        with study.phases("figures"):
            figures = draw_why_figures(
                out, maps, races, study.data.train.labels, class_names(study.data.name)
            )
        reconstructions = {
            f"{MODEL_NAMES[kind]} reconstructions of test images": [
                run[kind].reconstructions.accepted for run in runs
            ]
            for kind in KINDS
        }
        judged = study.judged(reconstructions)
        metrics = {
            "dataset": study.data.name,
            "config": asdict(config),
            "seeds": seeds,
            "judge": judged["judge"],
            "validation": judged["validation"],
            "num_samples": study.num_samples,
            "runs": to_json(runs),
            "answers": to_json(answers(runs)),
            "races": races,
            "figures": figures,
        }
        return study.write(metrics, why_html)


def measure_kind(
    study: Study, model: Model, kind: str, seed: int, latent_dim: int
) -> tuple[Measures | Generation, np.ndarray | None]:
    """One run's numbers and its training codes: at latent 2 the demo's measures, the prior holes
    and the fill rule; at any other size the generation measures alone, and no codes (the maps and
    the holes need 2-D codes)."""
    if latent_dim != 2:
        return study.measure_generation(model, kind, seed), None
    codes, measured = study.measure(model, kind, seed)
    with study.phases("measures"):
        logvar = encode(model, study.images[0]).logvar
        holes = prior_holes(
            codes["train"],
            None if logvar is None else np.asarray(logvar),
            partial(_accepts, study.judge, model),
        )
    numbers = measured.numbers
    return replace(
        numbers,
        prior_holes=holes,
        posterior_empty_ratio=empty_ratio(numbers, posterior=True),
        fills_space=fills_space(numbers),
    ), codes["train"]


def _accepts(judge: Judge, model: Model, z: np.ndarray) -> np.ndarray:
    """Whether the judge accepts ``model``'s decode of each latent point z [P, 2]."""
    return judge.accepts(decode_images(model, z))
