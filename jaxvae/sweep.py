"""``jaxvae sweep``: VAEs over a grid of KL weights (and seeds) as one ensemble, measured like the demo.

The question is the seed's "how much overlap is needed to fill the space?". Every (beta, seed) run
is trained in one compiled program (``jaxvae.ensemble``), then measured with the demo's validated
judge and measures: the empty share of the code box under one posterior draw per image, the prior
samples' generation measures, and the held-out -ELBO (always at beta = 1, so that the runs compare)
with its reconstruction and KL terms. Each run is also graded by the demo's fixed rules for claims
(v) "fills the space" and (vi) "prior samples decode like reconstructions"; nothing is tuned here.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from jaxvae import plots
from jaxvae.classifier import accuracy
from jaxvae.config import EnsembleConfig, TrainConfig, require_counts
from jaxvae.data import DATASETS, class_names
from jaxvae.demo import DemoConfig, load_demo_data, make_judge, quick
from jaxvae.ensemble_run import started_with, train_ensemble
from jaxvae.evaluation import evaluate
from jaxvae.flags import add_config_flags, config_from_args
from jaxvae.judge import fit_for_use, validate, with_reconstructions
from jaxvae.latent import decode_grid, prior_quantile_grid
from jaxvae.measures import FIGURE_ONLY, encode_codes, measure_model, reference
from jaxvae.run import prepare_run_dir, summarize, terms_dict, write_json
from jaxvae.sweep_report import sweep_html, sweep_tables
from jaxvae.verdicts import empty_ratio, fills_space, prior_generates


@dataclass(frozen=True)
class SweepConfig:
    """Settings of ``jaxvae sweep``; every field is a flag."""

    beta: tuple[float, ...] = field(
        default=(0.0, 0.03, 0.1, 0.3, 1.0, 3.0), metadata={"help": "the KL weights to train a VAE at"}
    )
    seeds: int = field(default=1, metadata={"help": "runs per beta, with seeds SEED, SEED+1, ..."})
    dataset: str | None = field(
        default=None,
        metadata={"help": f"dataset: {', '.join(DATASETS)} (default: mnist, else the bundled subset)"},
    )
    data_dir: str | None = field(default=None, metadata={"help": "directory of IDX files"})
    epochs: int = field(default=20, metadata={"help": "epochs of every run (the demo's default)"})
    batch_size: int = field(default=128, metadata={"help": "images per optimizer step"})
    classifier_epochs: int = field(default=12, metadata={"help": "epochs for the judge (as in the demo)"})
    judge_decoder_epochs: int = field(
        default=5, metadata={"help": "epochs of each auxiliary decoder that teaches the judge"}
    )
    samples: int = field(default=10_000, metadata={"help": "prior draws per run (at most the test split)"})
    grid_size: int = field(default=10, metadata={"help": "rows and columns of each decoded prior grid"})
    seed: int = field(default=0, metadata={"help": "seed of the judge and of each beta's first run"})
    out: str = field(default="sweep", metadata={"help": "report folder (index.html, PNGs, metrics.json)"})

    def validate(self) -> SweepConfig:
        """Reject bad settings in one line before any work."""
        TrainConfig(
            epochs=self.epochs, batch_size=self.batch_size, dataset=self.dataset or "mnist"
        ).validate()
        require_counts(self, ("seeds", "classifier_epochs", "judge_decoder_epochs", "samples", "grid_size"))
        self.ensemble("").validate()
        return self

    def ensemble(self, out: str, dataset: str = "mnist") -> EnsembleConfig:
        """Every (beta, seed) run, beta-major: beta ``b``'s runs are seeds SEED .. SEED + seeds - 1."""
        train = TrainConfig(
            model="vae",
            dataset=dataset,
            epochs=self.epochs,
            batch_size=self.batch_size,
            seed=self.seed,
            out=out,
        )
        seeds = tuple(self.seed + s for _ in self.beta for s in range(self.seeds))
        return EnsembleConfig(train, seeds, tuple(float(b) for b in self.beta for _ in range(self.seeds)))

    def judge_config(self) -> DemoConfig:
        """The demo's settings that make the same judge."""
        return DemoConfig(
            dataset=self.dataset,
            data_dir=self.data_dir,
            classifier_epochs=self.classifier_epochs,
            judge_decoder_epochs=self.judge_decoder_epochs,
            batch_size=self.batch_size,
            seed=self.seed,
            out=self.out,
        )


QUICK: dict[str, Any] = {"epochs": 2, "classifier_epochs": 2, "judge_decoder_epochs": 1, "samples": 2000}


def run_sweep(config: SweepConfig, *, progress: bool = True) -> dict[str, Any]:
    """Build and validate the judge, train every run as one ensemble, measure each, draw, and write
    the report; returns metrics.json's content."""
    began = time.perf_counter()
    out = prepare_run_dir(config.out)
    demo_config = config.judge_config()
    name, train_data, test_data, banner = load_demo_data(demo_config)
    if banner:
        print(f"\n{'!' * 80}\n{banner}\n{'!' * 80}\n", file=sys.stderr)
    data = (train_data, test_data)
    judge, decoder_names = make_judge(demo_config, name, data, out, progress)
    base_validation = validate(
        judge, test_data.images, test_data.labels, {}, key=jax.random.fold_in(jax.random.key(config.seed), 3)
    )
    real = reference(judge, test_data.images)
    num_samples = min(config.samples, len(test_data.images))

    ensemble = config.ensemble(str(out / "runs"), name)
    trained = train_ensemble(ensemble, data=data, progress=progress, resume=started_with(ensemble)).runs
    images = jnp.asarray(train_data.images), jnp.asarray(test_data.images)
    grid = jnp.asarray(prior_quantile_grid(config.grid_size))
    runs, maps, grids = [], [], []
    for i, run in enumerate(tqdm(trained, desc="measure each run", disable=not progress)):
        seed, beta = ensemble.seeds[i], ensemble.betas[i]
        model = run.state.model
        code_key = jax.random.fold_in(jax.random.key(seed), 4)
        train_codes = encode_codes(model, images[0], key=code_key)
        codes = {
            "train": train_codes["mean"],
            "posterior": train_codes["sample"],
            "test": encode_codes(model, images[1], key=code_key)["mean"],
        }
        measured = measure_model(
            model,
            "vae",
            judge,
            real,
            codes,
            {"train": train_data.labels, "test": test_data.labels},
            test_data.images,
            key=jax.random.fold_in(jax.random.key(seed), 2),
            num_samples=num_samples,
        )
        for key in FIGURE_ONLY:
            measured.pop(key)
        elbo_key = jax.random.fold_in(jax.random.key(seed), 7)
        held_out = terms_dict(jax.device_get(evaluate(model, images[1], key=elbo_key, beta=1.0)), "test")
        runs.append(
            {
                "seed": seed,
                "beta": beta,
                **measured,
                **held_out,
                "posterior_empty_ratio": empty_ratio(measured, "posterior_empty_fraction"),
                "fills_space": fills_space(measured),
                "prior_generates": prior_generates(measured),
                "training": summarize(run.metrics),
            }
        )
        if seed == config.seed:  # the figures show each beta's first run
            maps.append((beta, train_codes["mean"]))
            grids.append((beta, np.asarray(decode_grid(model, grid))))
    classes = class_names(name)
    figures = {
        "curves": plots.sweep_curves(out / "sweep_curves.png", runs).name,
        "maps": plots.sweep_maps(out / "sweep_maps.png", maps, grids, train_data.labels, classes).name,
    }
    validation = with_reconstructions(
        base_validation,
        {
            f"VAE (beta {beta:g}) reconstructions of test images": [
                r["reconstructions"]["accepted"] for r in runs if r["beta"] == beta
            ]
            for beta in dict.fromkeys(ensemble.betas)
        },
    )
    metrics = {
        "dataset": name,
        "fallback_banner": banner,
        "config": asdict(config),
        "judge": {
            "threshold": judge.threshold,
            "decoders": decoder_names,
            "test_accuracy": accuracy(judge.classifier, test_data.images, test_data.labels),
            "fit": fit_for_use(validation),
        },
        "validation": validation,
        "num_samples": num_samples,
        "runs": runs,
        "smallest_filling_beta": smallest_beta(runs, "fills_space"),
        "smallest_generating_beta": smallest_beta(runs, "prior_generates"),
        "figures": figures,
        "wall_seconds": time.perf_counter() - began,
    }
    write_json(out / "metrics.json", metrics)
    (out / "index.html").write_text(sweep_html(metrics))
    return metrics


def smallest_beta(runs: list[dict[str, Any]], rule: str) -> float | None:
    """The smallest beta all of whose runs pass ``rule``, or None when no beta of the grid does."""
    betas = sorted({r["beta"] for r in runs})
    passing = [b for b in betas if all(r[rule] for r in runs if r["beta"] == b)]
    return passing[0] if passing else None


def add_sweep_command(commands: Any) -> None:
    """Register ``jaxvae sweep`` on the CLI's subcommands."""
    parser = commands.add_parser(
        "sweep",
        help="VAEs over a grid of KL weights (beta), one program: how much overlap fills the space?",
        description="Train a 2-D VAE for every beta (and seed) as one ensemble, measure each with the demo's "
        "validated judge and measures (empty share of the code box, prior samples' generation measures, "
        "held-out -ELBO, reconstruction and KL), grade each by the demo's rules for 'fills the space' and "
        "'prior samples decode like reconstructions', and write OUT/index.html, OUT/metrics.json and "
        "the figures. The same command run again resumes the ensemble.",
    )
    add_config_flags(parser, SweepConfig)
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"a fast smoke run: {', '.join(f'{k}={v}' for k, v in QUICK.items())}, for each flag left "
        "at its default",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")

    def handler(args: argparse.Namespace) -> int:
        config = config_from_args(SweepConfig, args)
        if args.quick:
            config = quick(config, QUICK)
        metrics = run_sweep(config.validate(), progress=not args.no_progress)
        print(sweep_tables(metrics))
        print(f"\nReport: {Path(config.out) / 'index.html'}")
        return 0

    parser.set_defaults(handler=handler)
