"""The beta sweep: VAEs over a grid of KL weights (and seeds) as one ensemble, measured like the demo.

The question is the project brief's "how much overlap is needed to fill the space?". Every (beta, seed) run
is trained in one compiled program (``jaxvae.ensemble``), then measured with the demo's validated
judge and measures: the empty share of the code box under one posterior draw per image, the prior
samples' generation measures, and the held-out -ELBO (always at beta = 1, so that the runs compare)
with its reconstruction and KL terms. Each run is also graded by the demo's fixed rules for claims
(v) "fills the space" and (vi) "prior samples decode like reconstructions"; nothing is tuned here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from jaxvae.evaluation import evaluate
from jaxvae.latent import decode_grid, prior_quantile_grid
from jaxvae.losses import LossTerms
from jaxvae.report.sweep_figures import draw_sweep_figures
from jaxvae.report.sweep_page import sweep_html
from jaxvae.runs.config import EnsembleConfig, TrainConfig, replace_defaults
from jaxvae.runs.driver import summarize, terms_dict
from jaxvae.runs.film import read_film
from jaxvae.runs.folder import claim
from jaxvae.sources import class_names
from jaxvae.study.records import BetaRun, Measures, to_json
from jaxvae.study.streams import Stream, stream_key
from jaxvae.study.study import Study, StudyConfig
from jaxvae.study.verdicts import empty_ratio, fills_space, prior_generates


@dataclass(frozen=True)
class SweepConfig(StudyConfig):
    """Settings of ``jaxvae sweep``: the study's (``StudyConfig``) and these; every field is a flag."""

    beta: tuple[float, ...] = field(
        default=(0.0, 0.03, 0.1, 0.3, 1.0, 3.0), metadata={"help": "the KL weights to train a VAE at"}
    )
    seeds: int = field(default=1, metadata={"help": "runs per beta, with seeds SEED, SEED+1, ..."})
    grid_size: int = field(default=10, metadata={"help": "rows and columns of each decoded prior grid"})
    out: str = field(
        default="sweep", metadata={"help": "report folder (index.html, PNGs, metrics.json)", "folder": True}
    )

    def validate(self) -> SweepConfig:
        """Reject bad settings in one line before any work; returns the config to run (``apart``)."""
        self.check_counts("seeds", "grid_size")
        self.ensemble("").validate()
        return self.apart()

    def ensemble(self, out: str, dataset: str = "mnist") -> EnsembleConfig:
        """Every (beta, seed) run, beta-major: beta ``b``'s runs are seeds SEED .. SEED + seeds - 1."""
        train = TrainConfig(
            model=self.spec("vae"),
            dataset=dataset,
            epochs=self.epochs,
            batch_size=self.batch_size,
            seed=self.seed,
            out=out,
        )
        seeds = tuple(self.seed + s for _ in self.beta for s in range(self.seeds))
        return EnsembleConfig(train, seeds, tuple(float(b) for b in self.beta for _ in range(self.seeds)))

    def quick(self) -> SweepConfig:
        """A fast smoke run: ``QUICK`` for every setting left at its default."""
        return replace_defaults(self, QUICK)


QUICK: dict[str, Any] = {"epochs": 2, "classifier_epochs": 2, "judge_decoder_epochs": 1, "samples": 2000}


def run_sweep(config: SweepConfig, *, progress: bool = True) -> dict[str, Any]:
    """Build and validate the judge, train every run as one ensemble, measure each, draw, and write
    the report; returns metrics.json's content."""
    began = time.perf_counter()
    config = config.validate()
    with claim(config.out) as out:
        study = Study.open(config, out, progress=progress, began=began)
        ensemble = config.ensemble(str(out / "runs"), study.data.name)
        filmed = [i for i, seed in enumerate(ensemble.seeds) if seed == config.seed]  # each beta's first
        trained = study.train_ensemble(ensemble, "VAEs", film=filmed)
        grid = jnp.asarray(prior_quantile_grid(config.grid_size))
        runs: list[BetaRun] = []
        maps, grids = [], []
        for i, run in enumerate(tqdm(trained, desc="measure each run", disable=not progress)):
            seed, beta, model = ensemble.seeds[i], ensemble.betas[i], run.state.model
            codes, measured = study.measure(model, "vae", seed)
            with study.phases("measures"):
                held_out = evaluate(model, study.images[1], key=stream_key(seed, Stream.HELD_OUT), beta=1.0)
            runs.append(BetaRun(seed, beta, with_rules(measured.numbers, held_out, run.metrics)))
            if seed == config.seed:  # the figures show each beta's first run
                maps.append((beta, codes["train"]))
                grids.append((beta, np.asarray(decode_grid(model, grid))))
        film = read_film(out / "runs")
        with study.phases("figures"):
            training = [run.metrics for run in trained]
            labels, classes = study.data.train.labels, class_names(study.data.name)
            figures = draw_sweep_figures(
                out, runs, maps, grids, film, training, ensemble.betas, labels, classes
            )
        reconstructions = {
            f"VAE (beta {beta:g}) reconstructions of test images": [
                r.measures.reconstructions.accepted for r in runs if r.beta == beta
            ]
            for beta in dict.fromkeys(ensemble.betas)
        }
        judged = study.judged(reconstructions)
        metrics = {
            "dataset": study.data.name,
            "config": asdict(config),
            "judge": judged["judge"],
            "validation": judged["validation"],
            "num_samples": study.num_samples,
            "runs": to_json(runs),
            "smallest_filling_beta": smallest_beta(runs, fills_space),
            "smallest_generating_beta": smallest_beta(runs, prior_generates),
            "figures": figures,
            "film_images": len(film.indices) if film is not None else 0,
        }
        return study.write(metrics, sweep_html)


def with_rules(measures: Measures, held_out: LossTerms, training: list[dict[str, Any]]) -> Measures:
    """One run's measures with its held-out loss terms, the rules' results and its training."""
    held = terms_dict(jax.device_get(held_out), "test")
    return replace(
        measures,
        test_total=held["test_total"],
        test_reconstruction=held["test_reconstruction"],
        test_kl=held["test_kl"],
        posterior_empty_ratio=empty_ratio(measures, posterior=True),
        fills_space=fills_space(measures),
        prior_generates=prior_generates(measures),
        training=summarize(training),
    )


def smallest_beta(runs: list[BetaRun], rule: Callable[[Measures], bool]) -> float | None:
    """The smallest beta all of whose runs pass ``rule``, or None when no beta of the grid does."""
    betas = sorted({r.beta for r in runs})
    passing = [b for b in betas if all(rule(r.measures) for r in runs if r.beta == b)]
    return passing[0] if passing else None
