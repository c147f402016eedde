"""``jaxvae demo``: train an AE and a VAE with a 2-D latent, measure both, write an HTML report."""

from __future__ import annotations

import argparse
import html
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from jaxvae import plots
from jaxvae.classifier import THRESHOLDS, Classifier, accuracy, train_classifier
from jaxvae.config import TrainConfig, require_counts
from jaxvae.data import BUNDLED, DATASETS, Dataset, cache_dir, load_dataset
from jaxvae.errors import DataUnavailableError
from jaxvae.latent import decode_grid, grid_points, prior_quantile_grid
from jaxvae.measures import measure_latent_space, validate_judge
from jaxvae.models import decode, encode
from jaxvae.run import RunResult, prepare_run_dir, started_with, summarize, train, write_json

logger = logging.getLogger(__name__)
CLASS_NAMES = {
    "fashion_mnist": [
        "T-shirt",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Boot",
    ],
}


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
    classifier_epochs: int = field(default=8, metadata={"help": "epochs for the judging classifier"})
    batch_size: int = field(default=128, metadata={"help": "images per optimizer step"})
    grid_size: int = field(default=20, metadata={"help": "rows and columns of the decoded latent grids"})
    seed: int = field(default=0, metadata={"help": "seed of the judge and of the first training run"})
    seeds: int = field(
        default=3,
        metadata={
            "help": "independent training runs of each model, with seeds SEED, SEED+1, ...; the report "
            "gives each measure's mean and every run's value (figures: the first run)",
        },
    )
    out: str = field(default="report", metadata={"help": "report folder (index.html, PNGs, metrics.json)"})


QUICK: dict[str, Any] = {"epochs": 2, "classifier_epochs": 2, "grid_size": 12, "seeds": 1}


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


def run_demo(config: DemoConfig, *, progress: bool = True) -> dict[str, Any]:
    """Train both models once per seed, measure, draw and write the report; returns metrics.json's
    content. The judge is trained once (with ``config.seed``) and scores every run; the figures show
    the first seed's models."""
    began = time.perf_counter()
    out = prepare_run_dir(config.out)
    name, train_data, test_data, banner = load_demo_data(config)
    if banner:
        print(f"\n{'!' * 80}\n{banner}\n{'!' * 80}\n", file=sys.stderr)
    key = jax.random.key(config.seed)
    classifier = train_classifier(
        train_data.images,
        train_data.labels,
        key=jax.random.fold_in(key, 1),
        seed=config.seed,
        epochs=config.classifier_epochs,
        cache_dir=cache_dir(name),
        progress=progress,
    )
    classifier_accuracy = accuracy(classifier, test_data.images, test_data.labels)
    judge = validate_judge(classifier, test_data.images, test_data.labels, key=jax.random.fold_in(key, 3))

    images = jnp.asarray(train_data.images), jnp.asarray(test_data.images)  # on the device once
    seeds = [config.seed + i for i in range(config.seeds)]
    runs: list[dict[str, Any]] = []
    figures: dict[str, str] = {}
    metrics: dict[str, Any] = {}
    for seed in seeds:
        suffix = "" if seed == seeds[0] else f"_seed{seed}"
        trained, codes, measured = _train_and_measure(
            config,
            name,
            (train_data, test_data),
            images,
            classifier,
            seed=seed,
            out=out,
            suffix=suffix,
            progress=progress,
        )
        if seed == seeds[0]:
            figures = _draw(out, name, trained, codes, measured, train_data, test_data, config, progress)
        for m in measured.values():
            m.pop("heat")  # drawn above; too large for metrics.json
        runs.append(
            {
                "seed": seed,
                "models": {k: {**m, "training": summarize(trained[k].metrics)} for k, m in measured.items()},
            }
        )
        # the report so far, rewritten after every run: an interrupted demo keeps what it measured
        counts = {
            k: np.array([run["models"][k]["prior_class_counts"] for run in runs]) for k in ("ae", "vae")
        }
        figures["prior_classes"] = plots.prior_classes(out / "prior_classes.png", counts, _classes(name)).name
        metrics = {
            "dataset": name,
            "fallback_banner": banner,
            "seed": config.seed,
            "seeds": [run["seed"] for run in runs],
            "planned_seeds": seeds,
            "config": asdict(config),
            "classifier_test_accuracy": classifier_accuracy,
            "judge": judge,
            "plausible_threshold": 0.9,
            "thresholds": list(THRESHOLDS),
            "runs": runs,
            "summary": summarize_runs(runs),
            "figures": figures,
            "figures_seed": seeds[0],
            "wall_seconds": time.perf_counter() - began,
        }
        write_json(out / "metrics.json", metrics)
        (out / "index.html").write_text(render_html(metrics))
    return metrics


def _train_and_measure(
    config: DemoConfig,
    name: str,
    data: tuple[Dataset, Dataset],
    images: tuple[jax.Array, jax.Array],
    classifier: Classifier,
    *,
    seed: int,
    out: Path,
    suffix: str,
    progress: bool,
) -> tuple[dict[str, RunResult], dict[str, np.ndarray], dict[str, dict[str, Any]]]:
    """One training run of each model with ``seed``: (runs, codes of the training images, measures).
    ``images`` are the train and test images of ``data``, already on the device."""
    train_images, test_images = images
    trained, codes, measured = {}, {}, {}
    for kind in ("ae", "vae"):
        train_config = TrainConfig(
            model=kind,
            dataset=name,
            epochs=config.epochs,
            batch_size=config.batch_size,
            seed=seed,
            out=str(out / f"run_{kind}{suffix}"),
        )
        # a run directory left by the same command (say, a demo stopped part-way) is resumed, which
        # gives the same model as training again; one left by other settings is started over
        resume = started_with(train_config)
        trained[kind] = train(train_config, data=data, progress=progress, resume=resume)
        model = trained[kind].state.model
        codes[kind] = np.asarray(encode(model, train_images).mean)
        measured[kind] = measure_latent_space(
            model,
            classifier,
            codes[kind],
            key=jax.random.fold_in(jax.random.key(seed), 2),
            test_images=test_images,
        )
    return trained, codes, measured


def _classes(dataset: str) -> list[str]:
    return CLASS_NAMES.get(dataset, [str(i) for i in range(10)])


def _draw(
    out: Path,
    name: str,
    runs: dict,
    codes: dict,
    measured: dict,
    train_data: Dataset,
    test_data: Dataset,
    config: DemoConfig,
    progress: bool,
) -> dict[str, str]:
    classes = _classes(name)
    models = {kind: run.state.model for kind, run in runs.items()}
    figures: dict[str, str] = {}
    steps = tqdm(total=8, desc="draw figures", disable=not progress)

    def done(key: str, path: Path) -> None:
        figures[key] = path.name
        steps.update()

    done("latent_maps", plots.latent_maps(out / "latent_maps.png", codes, train_data.labels, classes))
    for kind, model in models.items():
        if kind == "ae":
            box = measured[kind]["box"]
            grid = grid_points(tuple(box[0]), tuple(box[1]), config.grid_size)
            title = "decoded grid over the data's bounding box"
        else:
            grid = prior_quantile_grid(config.grid_size)
            title = "decoded grid at prior quantiles 5%..95%"
        images = np.asarray(decode_grid(model, jnp.asarray(grid)))
        done(
            f"grid_{kind}",
            plots.grid_decodes(
                out / f"grid_{kind}.png", kind, images, grid, codes[kind], train_data.labels, title
            ),
        )
    done(
        "holes",
        plots.holes(
            out / "holes.png",
            {k: m["heat"] for k, m in measured.items()},
            {k: m["box"] for k, m in measured.items()},
            codes,
        ),
    )
    originals = test_data.images[:12]
    rows = {"original": originals / 255.0}
    rows |= {
        plots.NAMES[k]: np.asarray(jax.nn.sigmoid(decode(m, encode(m, jnp.asarray(originals)).mean)))
        for k, m in models.items()
    }
    done(
        "reconstructions",
        plots.image_rows(out / "reconstructions.png", rows, "Test images and reconstructions"),
    )
    z = jax.random.normal(jax.random.key(config.seed + 7), (12, 2))
    samples = {plots.NAMES[k]: np.asarray(jax.nn.sigmoid(decode(m, z))) for k, m in models.items()}
    done(
        "samples",
        plots.image_rows(
            out / "samples.png", samples, "The same 12 samples z ~ N(0, I) decoded by each model"
        ),
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
    steps.close()
    return figures


SECTIONS = [
    (
        "latent_maps",
        "Latent maps",
        "Every training image encoded to 2 numbers and coloured by its label (the label is used for colour only). "
        "The autoencoder's clusters are separated by empty space; the VAE's KL term pulls its codes into one "
        "round, filled cloud around the origin.",
    ),
    (
        "grid_ae",
        "Autoencoder: decoding a grid over its latent map",
        "The crosses on the left mark the points decoded on the right. Points between and outside the clusters "
        "have no training image near them, and their decodes are blurry or not digits.",
    ),
    (
        "grid_vae",
        "VAE: decoding a grid at the prior's quantiles",
        "The same for the VAE, over the region where the prior N(0, I) puts 90% of its mass in each axis: "
        "nearly every point decodes to a digit, and neighbouring points to similar digits.",
    ),
    (
        "holes",
        "Where are the holes?",
        "For each point of a dense grid over the data's bounding box, the classifier's top probability for "
        "the decoded image. Dark regions decode to images the classifier cannot call a digit.",
    ),
    (
        "samples",
        "Samples from the prior",
        "The same 12 draws z ~ N(0, I), decoded by each model. Only the VAE was trained so that this works.",
    ),
    (
        "prior_classes",
        "Which digits does each model imagine?",
        "The class the judge gives each of the 10,000 decoded prior samples (plausible or not), as a share; "
        "the ticks span the training runs. An even spread means every digit is generated.",
    ),
    ("interpolation", "Interpolation", "Decodes along a straight line between the codes of two test digits."),
    ("reconstructions", "Reconstructions", "Test images and their reconstructions by each model."),
    ("training_curves", "Training curves", "Loss per epoch on the training and test splits."),
]


Measure = tuple[str, Callable[[dict[str, Any]], float | None], str]


def _plausible(group: str, threshold: str) -> Callable[[dict[str, Any]], float | None]:
    return lambda m: m[group][threshold]


# (label, value of one model's measures, format): the rows of the summary table
MEASURES: list[Measure] = [
    ("test loss (nats; VAE: -ELBO)", lambda m: m["training"]["test_total"], "{:.2f}"),
    *(
        (f"{label} (p >= {t})", _plausible(group, t), "{:.1%}")
        for group, label in (
            ("reconstruction_plausible", "test reconstructions plausible"),
            ("prior_plausible", "prior samples plausible"),
            ("grid_plausible", "bounding-box grid plausible"),
        )
        for t in ("0.9", "0.5", "0.99")
    ),
    ("empty fraction of bounding box", lambda m: m["empty_fraction"], "{:.1%}"),
    (
        "decodes plausible (p >= 0.9): empty cells",
        lambda m: m["empty_plausible"]["0.9"] if m["empty_plausible"] else None,
        "{:.1%}",
    ),
    ("decodes plausible (p >= 0.9): occupied cells", lambda m: m["occupied_plausible"]["0.9"], "{:.1%}"),
    ("prior samples landing in empty cells", lambda m: m["prior_in_empty"], "{:.1%}"),
    ("class entropy of prior samples (bits, max 3.32)", lambda m: m["prior_class_entropy_bits"], "{:.2f}"),
    ("seconds per epoch (median)", lambda m: m["training"]["median_epoch_seconds"], "{:.2f}"),
]


def summarize_runs(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each summary measure for both models: every run's value (``None`` where a run has none,
    e.g. no empty cell) and the mean over the runs that have one."""
    rows = []
    for label, value, fmt in MEASURES:
        row: dict[str, Any] = {"measure": label, "format": fmt}
        for kind in ("ae", "vae"):
            values = [value(run["models"][kind]) for run in runs]
            present = [v for v in values if v is not None]
            row[kind] = values
            row[f"{kind}_mean"] = float(np.mean(present)) if present else None
        rows.append(row)
    return rows


def _cell(row: dict[str, Any], kind: str) -> str:
    """One table cell: the mean alone for one run; for several, "mean (run 1 / run 2 / ...)", the
    runs' values without the unit."""
    fmt = row["format"]
    mean = "n/a" if row[f"{kind}_mean"] is None else fmt.format(row[f"{kind}_mean"])
    if len(row[kind]) == 1:
        return mean
    each = ("n/a" if v is None else fmt.format(v).rstrip("%") for v in row[kind])
    return f"{mean} ({' / '.join(each)})"


def summary_rows(metrics: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(measure, AE, VAE) rows shared by the terminal table and the HTML report."""
    return [(row["measure"], _cell(row, "ae"), _cell(row, "vae")) for row in metrics["summary"]]


def verdict(metrics: dict[str, Any]) -> list[str]:
    """The two comparisons the demo exists to make, counted over the runs."""
    rows = {row["measure"]: row for row in metrics["summary"]}
    n = len(metrics["runs"])
    lines = []
    for label, better, word in (
        ("prior samples plausible (p >= 0.9)", np.greater, "higher"),
        ("empty fraction of bounding box", np.less, "smaller"),
    ):
        row = rows[label]
        wins = int(np.sum(better(row["vae"], row["ae"])))
        lines.append(
            f"{label}: VAE {word} than AE in {wins} of {n} run{'s' * (n > 1)} "
            f"(mean {row['format'].format(row['vae_mean'])} vs {row['format'].format(row['ae_mean'])})"
        )
    return lines


def format_table(metrics: dict[str, Any]) -> str:
    """The summary as a fixed-width text table for the terminal, then the verdict lines."""
    rows = [("measure", "AE", "VAE"), *summary_rows(metrics)]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = [f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:>{widths[2]}}" for r in rows]
    lines.insert(1, "-" * len(lines[0]))
    if len(metrics["seeds"]) > 1:
        lines.insert(0, f"mean over seeds {_seed_list(metrics['seeds'])} (each seed's value in brackets)")
    return "\n".join([*lines, "", *verdict(metrics)])


def _seed_list(seeds: list[int]) -> str:
    return ", ".join(map(str, seeds))


def render_html(metrics: dict[str, Any]) -> str:
    """A self-contained page: inline CSS, images from the same folder, no remote resources."""
    esc = html.escape
    table = "".join(
        f"<tr><td>{esc(a)}</td><td>{esc(b)}</td><td>{esc(c)}</td></tr>" for a, b, c in summary_rows(metrics)
    )
    banner = f'<p class="banner">{esc(metrics["fallback_banner"])}</p>' if metrics["fallback_banner"] else ""
    seeds = metrics["seeds"]
    if len(seeds) == 1:
        runs = f"seed {seeds[0]}"
        cells = ""
    else:
        runs = f"{len(seeds)} training runs of each model (seeds {_seed_list(seeds)}; figures from seed {seeds[0]})"
        cells = (
            "<p>Each cell gives the mean over the runs and, in brackets, each run's value in seed order. "
            "The judge was trained once, with the first seed, and scores every run.</p>"
        )
    if len(seeds) < len(metrics["planned_seeds"]):
        banner += (
            f'<p class="banner">Partial report: {len(seeds)} of {len(metrics["planned_seeds"])} planned training '
            "runs finished; the demo is still running or was stopped.</p>"
        )
    verdicts = "".join(f"<li>{esc(line)}</li>" for line in verdict(metrics))
    figures = "".join(
        f'<h2>{esc(title)}</h2><p>{esc(text)}</p><img src="{esc(metrics["figures"][key])}" alt="{esc(title)}">'
        for key, title, text in SECTIONS
        if key in metrics["figures"]
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>jaxvae: autoencoder versus VAE</title>
<style>body{{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;line-height:1.45}}
img{{max-width:100%}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 10px}}
td:nth-child(n+2){{text-align:right}}.banner{{background:#fff3cd;border:2px solid #d39e00;padding:1em;font-weight:bold}}</style>
</head><body>
<h1>Why an autoencoder cannot imagine and a VAE can</h1>
{banner}
<p>Dataset <b>{esc(metrics["dataset"])}</b>, {runs}, {metrics["config"]["epochs"]} epochs per model,
2-D latent, MLP 784-512-256-2. Both models were trained only to reconstruct (the VAE with its KL term);
labels colour the maps and train the judging classifier, nothing else.</p>
<h2>Measured</h2>
<table><tr><th>measure</th><th>Autoencoder</th><th>VAE</th></tr>{table}</table>
{cells}<ul>{verdicts}</ul>
<p>A decoded image is <i>plausible</i> when a digit classifier trained on the same training split
(test accuracy {100 * metrics["classifier_test_accuracy"]:.2f}%) gives one digit a probability of at least 0.9.
The classifier has an eleventh class, "not a digit", trained on noise, blank images and superpositions of two
different digits, with every training image randomly blurred so that a decoder's smooth output is not penalised
for its blur. 0.9 is the main threshold because on held-out data it accepts most real digits and rejects almost
all noise and two-digit blends (see metrics.json: <code>judge</code>); 0.5 and 0.99 show whether the comparison
hinges on that choice. Read the fractions against the reconstructions rows: how many of each model's reconstructions of
real test digits pass, the best a decoder with a 2-D bottleneck does here.
The empty fraction is the share of 50x50 cells over the 0.5-99.5 percentile box of the codes that hold no
training code (a radius of half a cell, 1% of the box side).</p>
{figures}
<p>All numbers: <a href="metrics.json">metrics.json</a>. Made by <code>jaxvae demo</code> in {metrics["wall_seconds"]:.0f} s.</p>
</body></html>
"""


def add_demo_command(commands: Any) -> None:
    """Register ``jaxvae demo`` on the CLI's subcommands."""
    from jaxvae.cli import add_config_flags, config_from_args

    parser = commands.add_parser(
        "demo",
        help="train an AE and a VAE with a 2-D latent and write an HTML report comparing them",
        description="Train an autoencoder and a VAE with a 2-D latent, measure how much of each latent "
        "space decodes to plausible digits, and write OUT/index.html, the figures and OUT/metrics.json. "
        "Each training run keeps its run directory in OUT; the same command run again resumes them.",
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
        print(format_table(metrics))
        print(f"\nReport: {Path(config.out) / 'index.html'}")
        return 0

    parser.set_defaults(handler=handler)


def quick(config: DemoConfig) -> DemoConfig:
    """``config`` with the ``--quick`` settings wherever it has the default value."""
    default = DemoConfig()
    return replace(config, **{k: v for k, v in QUICK.items() if getattr(config, k) == getattr(default, k)})


def validate_demo(config: DemoConfig) -> None:
    """Reject bad settings in one line before any work."""
    TrainConfig(
        epochs=config.epochs, batch_size=config.batch_size, dataset=config.dataset or "mnist"
    ).validate()
    require_counts(config, ("classifier_epochs", "grid_size", "seeds"))
