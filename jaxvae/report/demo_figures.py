"""The demo's figures of one run of each model (the first seed's), and its explorer page."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from jaxvae.data import Dataset, noun
from jaxvae.latent import decode_grid, grid_points, prior_quantile_grid
from jaxvae.models import Model, decode, encode
from jaxvae.report import plots
from jaxvae.report.demo_page import fill_ratios
from jaxvae.report.explorer import ExplorerModel, write_explorer
from jaxvae.report.film import panels_of, write_film
from jaxvae.runs.driver import RunResult
from jaxvae.runs.film import Film
from jaxvae.sources import class_names
from jaxvae.spec import MODEL_NAMES as NAMES
from jaxvae.study.far_field import Typical
from jaxvae.study.judge import Judge, negatives
from jaxvae.study.measures import Measured
from jaxvae.study.phases import Phases
from jaxvae.study.records import Measures, of_a_run
from jaxvae.study.streams import Stream, stream_key
from jaxvae.study.study import RunMeasures, StudyData

FIGURES = 13  # figures drawn by draw_demo_figures, the explorer aside (its progress bar's total)


def interpolate(model: Model, a: np.ndarray, b: np.ndarray, steps: int = 12) -> np.ndarray:
    """Decoded pixel means along the straight line between the codes (posterior means) of ``a``
    and ``b`` [28, 28]: [steps, 28, 28]."""
    za, zb = encode(model, jnp.stack([a, b])).mean
    t = jnp.linspace(0.0, 1.0, steps)[:, None]
    return np.asarray(jax.nn.sigmoid(decode(model, (1 - t) * za[None] + t * zb[None])))


def judge_examples(
    judge: Judge, test: Dataset, measured: Mapping[str, Measured], *, key: jax.Array, count: int = 10
) -> dict[str, np.ndarray]:
    """A few images of each kind in the judge's validation table, for the report's figure."""
    picks = np.asarray(jax.random.choice(key, len(test.images), (count,), replace=False))
    rows = {"real test images": test.images[picks]}
    rows |= {
        f"{plots.NAMES[k]} reconstructions": m.pictures.reconstruction_images[picks]
        for k, m in measured.items()
    }
    negative = negatives(jax.random.fold_in(key, 1), test.images, test.labels, count)
    return rows | {k: v[:count] for k, v in negative.items()}


def draw_demo_figures(
    out: Path,
    data: StudyData,
    trained: Mapping[str, RunResult],
    measured: Mapping[str, RunMeasures],
    judge: Judge,
    *,
    grid_size: int,
    seed: int,
    films: Mapping[str, Film | None] | None = None,
    typical: Typical | None = None,
    progress: bool = True,
    phases: Phases | None = None,
) -> dict[str, str]:
    """Draw every figure of one run of each model (``trained`` and ``measured`` keyed by kind) into
    ``out``, and write the explorer; returns each figure's file name by its key in the report.
    ``films``: each kind's recording of training (``jaxvae.runs.film``), drawn as an animation and
    given to the explorer's epoch slider when every kind has one. ``typical``: the real images the
    explorer's realism score is measured against. ``phases`` times the figures and the explorer."""
    phases = phases or Phases()
    with phases("figures"):
        figures = _draw(
            out,
            data,
            trained,
            measured,
            judge,
            grid_size=grid_size,
            seed=seed,
            films=films,
            progress=progress,
        )
    with phases("explorer"):
        models = {kind: run.state.model for kind, run in trained.items()}
        filmed = every_film(films)
        explorer = {
            kind: ExplorerModel(
                kind,
                models[kind],
                measured[kind].codes["train"],
                measured[kind].codes["test"],
                filmed[kind] if filmed else None,
            )
            for kind in models
        }
        classes = class_names(data.name)
        train = data.train
        figures["explorer"] = write_explorer(
            out, explorer, train.labels, train.images, classes, judge, typical
        ).name
    return figures


def draw_summary_figures(
    out: Path, runs: Sequence[Mapping[str, Measures]], means: Mapping[str, Measures], classes: list[str]
) -> dict[str, str]:
    """The figures of all the demo's runs so far (each run's measures of each model, and their
    ``means``): the classes each sampler draws, run by run, and how empty each set of codes leaves
    its box, run by run and from the means (as the verdicts compute it). Returns each figure's file
    name by its key."""
    counts = {
        f"{plots.NAMES[k]}: {sampler}": np.array([run[k].samplers[sampler].class_counts for run in runs])
        for k in ("ae", "vae")
        for sampler in runs[0][k].samplers
    }
    mean = {label: ratios[0] for label, ratios in fill_ratios([means]).items()}
    each = fill_ratios(runs)
    return {
        "prior_classes": plots.prior_classes(out / "prior_classes.png", counts, classes).name,
        "empty_ratios": plots.empty_ratios(out / "empty_ratios.png", mean, each).name,
    }


def every_film(films: Mapping[str, Film | None] | None) -> Mapping[str, Film | None] | None:
    """``films`` when every model has one (the film and the slider show the models side by side)."""
    return films if films and all(f is not None for f in films.values()) else None


def _draw(
    out: Path,
    data: StudyData,
    trained: Mapping[str, RunResult],
    measured: Mapping[str, RunMeasures],
    judge: Judge,
    *,
    grid_size: int,
    seed: int,
    films: Mapping[str, Film | None] | None,
    progress: bool,
) -> dict[str, str]:
    """Every figure of ``draw_demo_figures`` but the explorer."""
    train, test = data.train, data.test
    classes = class_names(data.name)
    models = {kind: run.state.model for kind, run in trained.items()}
    codes = {kind: m.codes["train"] for kind, m in measured.items()}
    numbers = {kind: m.measured.numbers for kind, m in measured.items()}
    pictures = {kind: m.measured.pictures for kind, m in measured.items()}
    figures: dict[str, str] = {}
    filmed = every_film(films)
    bar = tqdm(total=FIGURES + bool(filmed), desc="draw figures", disable=not progress)

    def done(key: str, path: Path) -> None:
        figures[key] = path.name
        bar.update()

    done("latent_maps", plots.latent_maps(out / "latent_maps.png", codes, train.labels, classes))
    if filmed:
        done("film", draw_film(out / "film.gif", filmed, trained, train.labels, classes))
    for kind, model in models.items():
        if kind == "ae":
            (x0, x1), (y0, y1) = of_a_run(numbers[kind].box, "box")
            grid = grid_points((x0, x1), (y0, y1), grid_size)
            title = "decoded grid over the code box"
        else:
            grid = prior_quantile_grid(grid_size)
            title = "decoded grid at prior quantiles 5%..95%"
        images = np.asarray(decode_grid(model, jnp.asarray(grid)))
        path = out / f"grid_{kind}.png"
        done(f"grid_{kind}", plots.grid_decodes(path, kind, images, grid, codes[kind], train.labels, title))
    boxes = {k: of_a_run(n.box, "box") for k, n in numbers.items()}
    heat = {k: p.heat for k, p in pictures.items()}
    done("holes", plots.holes(out / "holes.png", heat, boxes, codes, judge.threshold, noun(data.name)))
    done(
        "empty_regions",
        plots.empty_regions(
            out / "empty_regions.png",
            codes,
            train.labels,
            {k: of_a_run(n.empty_regions, "empty_regions") for k, n in numbers.items()},
            {k: p.region_images for k, p in pictures.items()},
            boxes,
            {k: p.hull for k, p in pictures.items()},
        ),
    )
    done(
        "by_distance",
        plots.acceptance_by_distance(
            out / "by_distance.png",
            {k: n.by_distance for k, n in numbers.items()},
            {k: n.far_spacings for k, n in numbers.items()},
        ),
    )
    done(
        "rays",
        plots.far_rays(
            out / "rays.png",
            {k: p.rays.images for k, p in pictures.items()},
            {k: p.rays.accepted for k, p in pictures.items()},
            {k: p.rays.realism for k, p in pictures.items()},
            next(iter(pictures.values())).rays.factors,
        ),
    )
    for kind, p in pictures.items():
        title = f"{plots.NAMES[kind]}: the first 12 draws of each sampler, decoded"
        done(f"samples_{kind}", _judged_grid(out / f"samples_{kind}.png", p.samples, judge, title))
    examples = judge_examples(
        judge, test, {k: m.measured for k, m in measured.items()}, key=stream_key(seed, Stream.EXAMPLES)
    )
    done(
        "judge_examples",
        _judged_grid(out / "judge_examples.png", examples, judge, "Examples of each validation kind"),
    )
    rows = {"original": test.images[:12] / 255.0}
    rows |= {plots.NAMES[k]: p.reconstruction_images[:12] / 255.0 for k, p in pictures.items()}
    done(
        "reconstructions",
        plots.image_rows(out / "reconstructions.png", rows, "Test images and reconstructions"),
    )
    a, b = (test.images[int(np.argmax(test.labels == digit))] for digit in (1, 7))
    paths = {plots.NAMES[k]: interpolate(model, a, b) for k, model in models.items()}
    title = "Straight line in latent space between two test images"
    done("interpolation", plots.image_rows(out / "interpolation.png", paths, title))
    curves = {k: run.metrics for k, run in trained.items()}
    done("training_curves", plots.training_curves(out / "training_curves.png", curves))
    bar.close()
    return figures


def draw_film(
    path: Path,
    films: Mapping[str, Film | None],
    trained: Mapping[str, RunResult],
    labels: np.ndarray,
    class_names: list[str],
) -> Path:
    """The films of the models side by side, each frame with its epoch and each model's test loss."""
    panels = []
    for kind, film in films.items():
        assert film is not None
        name = "test -ELBO" if kind == "vae" else "test loss"
        panels += panels_of(film, [NAMES[kind]], [trained[kind].metrics], name)
    first = next(f for f in films.values() if f is not None)
    return write_film(path, panels, labels[first.indices], [int(e) for e in first.epochs], class_names)


def _judged_grid(path: Path, rows: dict[str, Any], judge: Judge, title: str) -> Path:
    accepted = {k: judge.accepts(v) for k, v in rows.items()}
    return plots.example_grid(path, rows, accepted, f"{title} (above each: does the judge accept it?)")
