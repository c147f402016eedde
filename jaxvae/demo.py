"""``jaxvae demo``: train an AE and a VAE with a 2-D latent, measure both, write an HTML report."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from jaxvae import plots
from jaxvae.classifier import accuracy
from jaxvae.config import EnsembleConfig, TrainConfig, require_counts
from jaxvae.data import BUNDLED, DATASETS, Dataset, cache_dir, class_names, load_dataset
from jaxvae.ensemble_run import started_with, train_ensemble
from jaxvae.errors import DataUnavailableError
from jaxvae.explorer import ExplorerModel, write_explorer
from jaxvae.flags import add_config_flags, config_from_args
from jaxvae.judge import Judge, build_judge, fit_for_use, validate, with_reconstructions
from jaxvae.latent import decode_grid, grid_points, prior_quantile_grid
from jaxvae.measures import FIGURE_ONLY, encode_codes, measure_model, reference, validate_generative
from jaxvae.models import Model, decode, encode
from jaxvae.report import format_tables, render_html
from jaxvae.run import RunResult, prepare_run_dir, summarize, write_json
from jaxvae.verdicts import verdicts

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoConfig:
    """Settings of ``jaxvae demo``; every field is a flag."""

    dataset: str | None = field(
        default=None,
        metadata={
            "help": f"dataset: {', '.join(DATASETS)} (default: mnist, or the bundled {BUNDLED} "
            "subset if mnist cannot be had)",
        },
    )
    data_dir: str | None = field(default=None, metadata={"help": "directory of IDX files"})
    epochs: int = field(default=20, metadata={"help": "epochs for each of the AE and the VAE"})
    classifier_epochs: int = field(default=12, metadata={"help": "epochs for the judge (a classifier)"})
    judge_decoder_epochs: int = field(
        default=5,
        metadata={"help": "epochs for each auxiliary decoder whose reconstructions teach the judge"},
    )
    batch_size: int = field(default=128, metadata={"help": "images per optimizer step"})
    grid_size: int = field(default=20, metadata={"help": "rows and columns of the decoded latent grids"})
    samples: int = field(
        default=10_000, metadata={"help": "latent draws of each sampler (at most the test split's size)"}
    )
    seed: int = field(default=0, metadata={"help": "seed of the judge and of the first training run"})
    seeds: int = field(
        default=3,
        metadata={
            "help": "independent training runs of each model, with seeds SEED, SEED+1, ...; the report "
            "gives each measure's mean and every run's value (figures: the first run)",
        },
    )
    out: str = field(default="report", metadata={"help": "report folder (index.html, PNGs, metrics.json)"})


QUICK: dict[str, Any] = {
    "epochs": 2,
    "classifier_epochs": 2,
    "judge_decoder_epochs": 1,
    "grid_size": 12,
    "seeds": 1,
    "samples": 2000,
}
# the auxiliary decoders that teach the judge what decoded digits look like: (model, latent size,
# replica); their seeds are the demo's seed + JUDGE_SEED_OFFSET + 100 * replica, which no judged
# run uses. Three 2-D decoders of each kind, so that the judge learns decoded digits in general
# rather than one decoder's 2-D family of images, and one 8-D decoder of each kind for sharper ones.
JUDGE_DECODERS = (
    *((kind, 2, r) for r in range(3) for kind in ("ae", "vae")),
    ("ae", 8, 0),
    ("vae", 8, 0),
)
JUDGE_SEED_OFFSET = 10_000


def load_demo_data(config: DemoConfig) -> tuple[str, Dataset, Dataset, str | None]:
    """(dataset name, train, test, fallback banner or None). Only the default falls back."""
    name = config.dataset or "mnist"
    try:
        train = load_dataset(name, "train", config.data_dir)
        return name, train, load_dataset(name, "test", config.data_dir), None
    except DataUnavailableError as e:
        if config.dataset is not None or config.data_dir is not None:
            raise
        banner = (
            f"Full MNIST is not available here, so this report uses the bundled subset {BUNDLED} "
            f"(4,500 real training digits, 500 test digits). Numbers are not comparable with "
            f"full-MNIST results. To use full MNIST: {str(e).split('Provide it in one of these ways: ')[-1]}"
        )
        return BUNDLED, load_dataset(BUNDLED, "train"), load_dataset(BUNDLED, "test"), banner


def _interpolate(model: Any, a: np.ndarray, b: np.ndarray, steps: int = 12) -> np.ndarray:
    za, zb = encode(model, jnp.stack([a, b])).mean
    t = jnp.linspace(0.0, 1.0, steps)[:, None]
    return np.asarray(jax.nn.sigmoid(decode(model, (1 - t) * za[None] + t * zb[None])))


def _train_runs(
    config: DemoConfig,
    name: str,
    data: tuple[Dataset, Dataset],
    progress: bool,
    *,
    kind: str,
    seeds: Sequence[int],
    out: Path,
    epochs: int,
    latent_dim: int = 2,
) -> list[RunResult]:
    """Train one model of the demo once per seed, all seeds as one ensemble (one compiled program)
    in the directory ``out``; returns the runs in the order of ``seeds``. An ensemble directory left
    by the same command (say, a demo stopped part-way) is resumed, which gives the same models as
    training again; one left by other settings is started over."""
    train_config = TrainConfig(
        model=kind,
        dataset=name,
        epochs=epochs,
        batch_size=config.batch_size,
        latent_dim=latent_dim,
        seed=seeds[0],
        out=str(out),
    )
    ensemble = EnsembleConfig.of_seeds(train_config, len(seeds))
    return train_ensemble(ensemble, data=data, progress=progress, resume=started_with(ensemble)).runs


def make_judge(
    config: DemoConfig, name: str, data: tuple[Dataset, Dataset], out: Path, progress: bool
) -> tuple[Judge, list[str]]:
    """Train the auxiliary decoders (one ensemble of replicas per kind and latent size, kept in
    ``out/judge``) and the judge."""
    models: dict[tuple[str, int, int], Model] = {}
    for kind, latent in dict.fromkeys((kind, latent) for kind, latent, _ in JUDGE_DECODERS):
        replicas = [r for k, d, r in JUDGE_DECODERS if (k, d) == (kind, latent)]
        runs = _train_runs(
            config,
            name,
            data,
            progress,
            kind=kind,
            seeds=[config.seed + JUDGE_SEED_OFFSET + 100 * r for r in replicas],
            out=out / "judge" / f"decoders_{kind}{latent}",
            epochs=config.judge_decoder_epochs,
            latent_dim=latent,
        )
        models |= {(kind, latent, r): run.state.model for r, run in zip(replicas, runs, strict=True)}
    decoders = {f"{k} (latent {d}, #{r + 1})": models[k, d, r] for k, d, r in JUDGE_DECODERS}
    judge = build_judge(
        data[0].images,
        data[0].labels,
        decoders,
        key=jax.random.fold_in(jax.random.key(config.seed), 1),
        seed=config.seed,
        epochs=config.classifier_epochs,
        cache_dir=cache_dir(name),
        progress=progress,
    )
    return judge, list(decoders)


def run_demo(config: DemoConfig, *, progress: bool = True) -> dict[str, Any]:
    """Build and validate the judge, train both models once per seed, measure, draw and write the
    report; returns metrics.json's content. The figures show the first seed's models."""
    began = time.perf_counter()
    out = prepare_run_dir(config.out)
    name, train_data, test_data, banner = load_demo_data(config)
    if banner:
        print(f"\n{'!' * 80}\n{banner}\n{'!' * 80}\n", file=sys.stderr)
    judge, decoder_names = make_judge(config, name, (train_data, test_data), out, progress)
    validation = validate(
        judge, test_data.images, test_data.labels, {}, key=jax.random.fold_in(jax.random.key(config.seed), 3)
    )
    judge_accuracy = accuracy(judge.classifier, test_data.images, test_data.labels)
    real = reference(judge, test_data.images)
    generative_checks = validate_generative(
        judge, test_data.images, test_data.labels, key=jax.random.fold_in(jax.random.key(config.seed), 6)
    )
    num_samples = min(config.samples, len(test_data.images))

    images = jnp.asarray(train_data.images), jnp.asarray(test_data.images)  # on the device once
    seeds = [config.seed + i for i in range(config.seeds)]
    runs: list[dict[str, Any]] = []
    figures: dict[str, str] = {}
    metrics: dict[str, Any] = {}
    ensembles = {
        kind: _train_runs(
            config,
            name,
            (train_data, test_data),
            progress,
            kind=kind,
            seeds=seeds,
            out=out / f"runs_{kind}",
            epochs=config.epochs,
        )
        for kind in ("ae", "vae")
    }
    for index, seed in enumerate(seeds):
        trained = {kind: runs[index] for kind, runs in ensembles.items()}
        codes, measured = {}, {}
        for kind in ("ae", "vae"):
            model = trained[kind].state.model
            code_key = jax.random.fold_in(jax.random.key(seed), 4)
            train_codes = encode_codes(model, images[0], key=code_key)
            codes[kind] = {
                "train": train_codes["mean"],
                "posterior": train_codes["sample"],
                "test": encode_codes(model, images[1], key=code_key)["mean"],
            }
            measured[kind] = measure_model(
                model,
                kind,
                judge,
                real,
                codes[kind],
                {"train": train_data.labels, "test": test_data.labels},
                test_data.images,
                key=jax.random.fold_in(jax.random.key(seed), 2),
                num_samples=num_samples,
            )
        if seed == seeds[0]:
            figures = _draw(
                out, name, trained, codes, measured, judge, train_data, test_data, config, progress
            )
        for m in measured.values():
            for key in FIGURE_ONLY:
                m.pop(key)
        runs.append(
            {
                "seed": seed,
                "models": {k: {**m, "training": summarize(trained[k].metrics)} for k, m in measured.items()},
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
        figures["prior_classes"] = plots.prior_classes(out / "prior_classes.png", counts, _classes(name)).name
        table = with_reconstructions(
            validation,
            {
                f"{plots.NAMES[k]} reconstructions of test images": [
                    run["models"][k]["reconstructions"]["accepted"] for run in runs
                ]
                for k in ("ae", "vae")
            },
        )
        means = {k: mean_over_runs([run["models"][k] for run in runs]) for k in ("ae", "vae")}
        metrics = {
            "dataset": name,
            "fallback_banner": banner,
            "seed": config.seed,
            "seeds": [run["seed"] for run in runs],
            "planned_seeds": seeds,
            "config": asdict(config),
            "judge": {
                "threshold": judge.threshold,
                "calibration": judge.calibration,
                "decoders": decoder_names,
                "test_accuracy": judge_accuracy,
                "fit": fit_for_use(table),
            },
            "validation": table,
            "generative_validation": generative_checks,
            "num_samples": num_samples,
            "num_test_images": len(test_data.images),
            "runs": runs,
            "means": means,
            "verdicts": verdicts(means),
            "figures": figures,
            "figures_seed": seeds[0],
            "wall_seconds": time.perf_counter() - began,
        }
        write_json(out / "metrics.json", metrics)
        (out / "index.html").write_text(render_html(metrics))
    return metrics


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


def noun(dataset: str) -> str:
    """What one image of ``dataset`` is called in the report."""
    return "item" if dataset == "fashion_mnist" else "digit"


def _classes(dataset: str) -> list[str]:
    return class_names(dataset)


def _draw(
    out: Path,
    name: str,
    runs: dict,
    codes: dict,
    measured: dict,
    judge: Judge,
    train_data: Dataset,
    test_data: Dataset,
    config: DemoConfig,
    progress: bool,
) -> dict[str, str]:
    classes = _classes(name)
    models = {kind: run.state.model for kind, run in runs.items()}
    train_codes = {kind: c["train"] for kind, c in codes.items()}
    figures: dict[str, str] = {}
    steps = tqdm(total=12, desc="draw figures and the explorer", disable=not progress)

    def done(key: str, path: Path) -> None:
        figures[key] = path.name
        steps.update()

    done("latent_maps", plots.latent_maps(out / "latent_maps.png", train_codes, train_data.labels, classes))
    for kind, model in models.items():
        if kind == "ae":
            box = measured[kind]["box"]
            grid = grid_points(tuple(box[0]), tuple(box[1]), config.grid_size)
            title = "decoded grid over the code box"
        else:
            grid = prior_quantile_grid(config.grid_size)
            title = "decoded grid at prior quantiles 5%..95%"
        images = np.asarray(decode_grid(model, jnp.asarray(grid)))
        done(
            f"grid_{kind}",
            plots.grid_decodes(
                out / f"grid_{kind}.png", kind, images, grid, train_codes[kind], train_data.labels, title
            ),
        )
    done(
        "holes",
        plots.holes(
            out / "holes.png",
            {k: m["heat"] for k, m in measured.items()},
            {k: m["box"] for k, m in measured.items()},
            train_codes,
            judge.threshold,
            noun(name),
        ),
    )
    done(
        "empty_regions",
        plots.empty_regions(
            out / "empty_regions.png",
            train_codes,
            train_data.labels,
            {k: m["empty_regions"] for k, m in measured.items()},
            {k: m["region_images"] for k, m in measured.items()},
            {k: m["box"] for k, m in measured.items()},
            {k: m["hull"] for k, m in measured.items()},
        ),
    )
    done(
        "by_distance",
        plots.acceptance_by_distance(
            out / "by_distance.png",
            {k: m["by_distance"] for k, m in measured.items()},
            {k: m["far_spacings"] for k, m in measured.items()},
        ),
    )
    samples = {
        f"{plots.NAMES[k]}: {sampler}": images
        for k, m in measured.items()
        for sampler, images in m["samples"].items()
    }
    done(
        "samples",
        plots.example_grid(
            out / "samples.png",
            samples,
            {k: judge.accepts(v) for k, v in samples.items()},
            "The first 12 draws of each sampler, decoded (above each: does the judge accept it?)",
        ),
    )
    examples = judge_examples(judge, test_data, measured, key=jax.random.key(config.seed + 5))
    done(
        "judge_examples",
        plots.example_grid(
            out / "judge_examples.png",
            examples,
            {k: judge.accepts(v) for k, v in examples.items()},
            "Examples of each validation kind (above each: does the judge accept it?)",
        ),
    )
    originals = test_data.images[:12]
    rows = {"original": originals / 255.0}
    rows |= {plots.NAMES[k]: m["reconstruction_images"][:12] / 255.0 for k, m in measured.items()}
    done(
        "reconstructions",
        plots.image_rows(out / "reconstructions.png", rows, "Test images and reconstructions"),
    )
    a, b = (
        test_data.images[int(np.argmax(test_data.labels == 1))],
        test_data.images[int(np.argmax(test_data.labels == 7))],
    )
    paths = {plots.NAMES[k]: _interpolate(m, a, b) for k, m in models.items()}
    done(
        "interpolation",
        plots.image_rows(
            out / "interpolation.png", paths, "Straight line in latent space between two test images"
        ),
    )
    done(
        "training_curves",
        plots.training_curves(out / "training_curves.png", {k: r.metrics for k, r in runs.items()}),
    )
    explorer = {
        kind: ExplorerModel(kind, models[kind], train_codes[kind], codes[kind]["test"]) for kind in models
    }
    done("explorer", write_explorer(out, explorer, train_data.labels, train_data.images, classes, judge))
    steps.close()
    return figures


def judge_examples(
    judge: Judge, test_data: Dataset, measured: dict, *, key: jax.Array, count: int = 10
) -> dict[str, np.ndarray]:
    """A few images of each kind in the validation table, for the report's figure."""
    from jaxvae.judge import negatives

    picks = np.asarray(jax.random.choice(key, len(test_data.images), (count,), replace=False))
    rows = {"real test images": test_data.images[picks]}
    rows |= {
        f"{plots.NAMES[k]} reconstructions": m["reconstruction_images"][picks] for k, m in measured.items()
    }
    negative = negatives(jax.random.fold_in(key, 1), test_data.images, test_data.labels, count)
    rows |= {k: v[:count] for k, v in negative.items()}
    return rows


def add_demo_command(commands: Any) -> None:
    """Register ``jaxvae demo`` on the CLI's subcommands."""

    parser = commands.add_parser(
        "demo",
        help="train an AE and a VAE with a 2-D latent and write an HTML report comparing them",
        description="Build and validate a judge of 'is this a digit' (taught by auxiliary decoders that "
        "are not judged), train an autoencoder and a VAE with a 2-D latent, measure both (generators "
        "under several samplers, holes in the latent maps), decide a verdict on each claim of the "
        "AE-versus-VAE story, and write OUT/index.html, the figures and OUT/metrics.json. Each "
        "training run keeps its run directory in OUT; the same command run again resumes them.",
    )
    add_config_flags(parser, DemoConfig)
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"a fast smoke run: {', '.join(f'{k}={v}' for k, v in QUICK.items())}, "
        "for each of these flags left at its default",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")

    def handler(args: argparse.Namespace) -> int:
        config = config_from_args(DemoConfig, args)
        if args.quick:
            config = quick(config)
        validate_demo(config)
        metrics = run_demo(config, progress=not args.no_progress)
        print(format_tables(metrics))
        print(f"\nReport: {Path(config.out) / 'index.html'}")
        return 0

    parser.set_defaults(handler=handler)


def quick(config: Any, settings: dict[str, Any] = QUICK) -> Any:
    """``config`` (a config dataclass) with the ``--quick`` ``settings`` wherever it has its default."""
    default = type(config)()
    return replace(config, **{k: v for k, v in settings.items() if getattr(config, k) == getattr(default, k)})


def validate_demo(config: DemoConfig) -> None:
    """Reject bad settings in one line before any work."""
    TrainConfig(
        epochs=config.epochs, batch_size=config.batch_size, dataset=config.dataset or "mnist"
    ).validate()
    require_counts(config, ("classifier_epochs", "judge_decoder_epochs", "grid_size", "seeds", "samples"))
