"""The pull-against-noise ablation's tables (terminal) and page, filled from its metrics.json only."""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path
from string import Template
from typing import Any

import numpy as np

from jaxvae.report import plots
from jaxvae.report.explorer import read_template
from jaxvae.report.tables import (
    cell,
    graded,
    html_table,
    judge_fields,
    judge_line,
    phase_table,
    text_table,
    validation_rows,
)
from jaxvae.spec import MODEL_NAMES, ModelSpec
from jaxvae.study.records import Answer, Generation, Measures, measures_from_json
from jaxvae.study.samplers import GAUSSIAN, GMM, MIDPOINTS, PRIOR
from jaxvae.study.why import KINDS, NOISE, PULL

Row = tuple[str, Callable[[Measures], Any], str]  # (label, value of a run's measures, format)
AnyRow = tuple[str, Callable[[Measures | Generation], Any], str]  # a row for any latent size

GENERATION: list[AnyRow] = [
    ("test loss (nats; VAE: -ELBO)", lambda m: m.training["test_total"], "{:.2f}"),
    ("N(0, I) decodes accepted", lambda m: m.samplers[PRIOR].accepted, "{:.1%}"),
    ("GMM decodes accepted", lambda m: m.other_samplers[GMM].accepted, "{:.1%}"),
    ("reconstructions accepted", lambda m: m.reconstructions.accepted, "{:.1%}"),
]
MAPS: list[Row] = [  # the maps' measures: 2-D latents only
    ("5-NN label accuracy of the test codes", lambda m: m.knn_label_accuracy, "{:.1%}"),
    ("empty share of the code box, one draw per image", lambda m: m.posterior_empty_fraction, "{:.1%}"),
    ("that share over a Gaussian cloud's (x)", lambda m: m.posterior_empty_ratio, "{:.2f}"),
    ("N(0, I) draws far from every training code", lambda m: m.samplers[PRIOR].far, "{:.1%}"),
    ("fills the space (claim (v)'s rule; share of runs)", lambda m: float(bool(m.fills_space)), "{:.0%}"),
    ("decodes at the empty cells accepted", lambda m: m.empty_accepted, "{:.1%}"),
]
HOLES: list[Row] = [
    ("prior mass in holes", lambda m: m.prior_holes["hole_mass"], "{:.1%}"),
    (
        "decodes in holes accepted (prior-weighted)",
        lambda m: m.prior_holes["accepted_in_holes"],
        "{:.1%}",
    ),
    (
        "decodes elsewhere accepted (prior-weighted)",
        lambda m: m.prior_holes["accepted_elsewhere"],
        "{:.1%}",
    ),
]
COLUMNS = [
    ("frechet", "FD", "{:.1f}"),
    ("accepted", "accepted", "{:.1%}"),
    ("coverage", "coverage", "{:.3f}"),
]


def _of(metrics: dict[str, Any], kind: str) -> list[Measures | Generation]:
    """Each run's measures of ``kind``."""
    return [measures_from_json(run[kind]) for run in metrics["runs"]]


def _kinds(metrics: dict[str, Any]) -> list[str]:
    return [k for k in KINDS if k in metrics["runs"][0]]


def _maps(metrics: dict[str, Any]) -> dict[str, list[Measures]]:
    """Each kind's runs' measures when they include the maps' (a 2-D latent), else nothing."""
    runs = {k: _of(metrics, k) for k in _kinds(metrics)}
    if not all(isinstance(m, Measures) for values in runs.values() for m in values):
        return {}
    return {k: [m for m in values if isinstance(m, Measures)] for k, values in runs.items()}


def measure_rows(metrics: dict[str, Any], rows: list[Row]) -> list[list[str]]:
    """(measure, one cell per kind) rows of the maps' measures: the mean over the runs and each
    run's value; none when they were not taken (a latent size other than 2)."""
    maps = _maps(metrics)
    if not maps:
        return []
    return [
        [label, *(cell([value(m) for m in runs], fmt) for runs in maps.values())]
        for label, value, fmt in rows
    ]


def generation_measure_rows(metrics: dict[str, Any]) -> list[list[str]]:
    """The rows of ``GENERATION``, then those of ``MAPS`` when the maps' measures were taken."""
    kinds = _kinds(metrics)
    rows = [
        [label, *(cell([value(m) for m in _of(metrics, k)], fmt) for k in kinds)]
        for label, value, fmt in GENERATION
    ]
    return rows + measure_rows(metrics, MAPS)


def generation_rows(metrics: dict[str, Any]) -> list[list[str]]:
    """Ghosh et al.'s Table 1 in the judge's measures: per kind, FD / accepted / coverage of the
    reconstructions, N (N(0, I) for the VAE, a fitted Gaussian otherwise), the GMM and Interp."""
    rows = []
    for kind in _kinds(metrics):
        runs = _of(metrics, kind)
        prior = PRIOR if kind == "vae" else GAUSSIAN
        sources = [
            [r.reconstructions for r in runs],
            [r.samplers[prior] for r in runs],
            [r.other_samplers[GMM] for r in runs],
            [r.other_samplers[MIDPOINTS] for r in runs],
        ]
        cells = [
            cell([getattr(v, key) for v in values], fmt) for values in sources for key, _, fmt in COLUMNS
        ]
        rows.append([MODEL_NAMES[kind], *cells])
    return rows


def generation_header() -> list[str]:
    sources = ("reconstructions", "N", "GMM", "Interp.")
    return ["model", *(f"{s}: {name}" for s in sources for _, name, _ in COLUMNS)]


def answer_rows(metrics: dict[str, Any]) -> list[list[str]]:
    """(question, verdict, each run's answer) rows; under a judge not fit for use, each verdict is
    marked "(measure not fit)"."""
    seeds, fit = metrics["seeds"], metrics["judge"]["fit"]
    return [
        [
            a.question,
            graded(a.verdict, fit)[0],
            ", ".join(f"seed {s}: {'yes' if r else 'no'}" for s, r in zip(seeds, a.runs, strict=True)),
        ]
        for a in map(Answer.from_json, metrics["answers"])
    ]


def why_tables(metrics: dict[str, Any]) -> str:
    """The terminal summary: the judge's fitness, the answers, the measures per kind, the phases."""
    kinds = [MODEL_NAMES[k] for k in _kinds(metrics)]
    fit = "every target met" if metrics["judge"]["fit"] else "some targets missed"
    config = metrics["config"]
    parts = [
        f"Networks: {ModelSpec.of_study(config, latent_dim=int(config['latent_dim'])).network()}",
        f"Validation of the judge ({judge_line(metrics)}; {fit})",
        text_table(["kind", "judge should", "rate", "target", "met"], validation_rows(metrics)),
        "",
        "Answers (decided run by run)",
        text_table(["question", "verdict", "runs"], answer_rows(metrics)),
        "",
        "The four kinds (mean over runs; each run's value in brackets)",
        text_table(["measure", *kinds], generation_measure_rows(metrics) + measure_rows(metrics, HOLES)),
        "",
        "Generation (Ghosh et al. Table 1's columns, the judge's measures)",
        text_table(generation_header(), generation_rows(metrics)),
    ]
    if "phases" in metrics:
        parts += ["", "Where the time went (wall seconds)", phase_table(metrics)]
    return "\n".join(parts)


def why_html(metrics: dict[str, Any]) -> str:
    """The ablation's self-contained page, in the demo report's style."""
    esc = html.escape
    config = metrics["config"]
    seeds = metrics["seeds"]
    runs = f"{len(seeds)} runs each (seeds {seeds[0]}..{seeds[-1]})" if len(seeds) > 1 else f"seed {seeds[0]}"
    kinds = _kinds(metrics)
    items = "".join(
        f"<li><b>{esc(MODEL_NAMES[k])}</b>: {'the pull' if PULL[k] else 'no pull'}, "
        f"{'noise' if NOISE[k] else 'no noise'}</li>"
        for k in kinds
    )
    captions = {
        "maps": "The first seed's codes of every training image (posterior means), coloured by label: "
        "no pull on the left, the pull on the right; no noise above, noise below.",
        "race": "Per epoch, for each run with noise: how far its codes spread (RMS about their mean) over "
        "how wide its posteriors are (RMS sigma). A ratio that keeps growing means the encoder scales its "
        "codes up until the noise no longer matters.",
    }
    figures = "".join(
        f'<p>{esc(captions[key])}</p><img src="{esc(name)}" alt="{esc(key)}">'
        for key, name in metrics["figures"].items()
    )
    answers = html_table(
        ["question", "verdict", "each run"],
        answer_rows(metrics),
        [graded(a.verdict, metrics["judge"]["fit"])[1] for a in map(Answer.from_json, metrics["answers"])],
    )
    return Template(read_template("why.html")).substitute(
        css=read_template("report.css"),
        dataset=esc(metrics["dataset"]),
        epochs=config["epochs"],
        runs=esc(runs),
        kinds=f"<ul>{items}</ul>",
        **judge_fields(metrics),
        answers=answers,
        table=html_table(["measure", *(MODEL_NAMES[k] for k in kinds)], generation_measure_rows(metrics)),
        generation=html_table(generation_header(), generation_rows(metrics)),
        holes=html_table(["measure", *(MODEL_NAMES[k] for k in kinds)], measure_rows(metrics, HOLES))
        if measure_rows(metrics, HOLES)
        else "<p>Measured for 2-D latents only.</p>",
        latent=config["latent_dim"],
        network=esc(ModelSpec.of_study(config, latent_dim=int(config["latent_dim"])).network()),
        figures=figures,
        wall=f"{metrics['wall_seconds']:.0f}",
        phases=f"<pre>{esc(phase_table(metrics))}</pre>" if "phases" in metrics else "",
    )


def draw_why_figures(
    out: Path,
    maps: dict[str, np.ndarray],
    races: dict[str, dict[str, Any]],
    labels: np.ndarray,
    classes: list[str],
) -> dict[str, str]:
    """The ablation's figures, where it has what they draw: the first run's codes of each kind
    (``maps``, at latent 2) and the codes' race against the noise (``races``). Returns each figure's
    file name by its key in the report."""
    figures = {}
    if maps:
        figures["maps"] = plots.latent_maps_2x2(out / "why_maps.png", maps, labels, classes).name
    if races:
        figures["race"] = plots.race(out / "why_race.png", races).name
    return figures
