"""The beta sweep's tables (terminal) and page, filled from its metrics.json content only."""

from __future__ import annotations

import html
from collections.abc import Callable
from string import Template
from typing import Any

import numpy as np

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
from jaxvae.spec import ModelSpec
from jaxvae.study.records import BetaRun, Measures
from jaxvae.study.samplers import PRIOR

Row = tuple[str, Callable[[Measures], Any], str]

MEASURES: list[Row] = [
    (
        "empty share of the code box, one posterior draw per image",
        lambda m: m.posterior_empty_fraction,
        "{:.1%}",
    ),
    ("that share over a Gaussian cloud's (x)", lambda m: m.posterior_empty_ratio, "{:.2f}"),
    ("empty share, posterior means", lambda m: m.empty_fraction, "{:.1%}"),
    ("N(0, I) draws far from every training code", lambda m: m.samplers[PRIOR].far, "{:.1%}"),
    ("N(0, I) decodes accepted", lambda m: m.samplers[PRIOR].accepted, "{:.1%}"),
    ("reconstructions accepted", lambda m: m.reconstructions.accepted, "{:.1%}"),
    ("N(0, I) coverage", lambda m: m.samplers[PRIOR].coverage, "{:.3f}"),
    ("reconstructions coverage", lambda m: m.reconstructions.coverage, "{:.3f}"),
    ("N(0, I) Fréchet distance", lambda m: m.samplers[PRIOR].frechet, "{:.1f}"),
    ("classes N(0, I) never generates", lambda m: len(m.samplers[PRIOR].missing_classes), "{:.1f}"),
    ("5-NN label accuracy of the test codes", lambda m: m.knn_label_accuracy, "{:.1%}"),
    ("test -ELBO at beta = 1 (nats)", lambda m: m.test_total, "{:.2f}"),
    ("its reconstruction term (nats)", lambda m: m.test_reconstruction, "{:.2f}"),
    ("its KL term (nats)", lambda m: m.test_kl, "{:.2f}"),
]
RULES: list[tuple[str, Callable[[Measures], bool | None]]] = [
    ("fills the space (claim (v)'s rule)", lambda m: m.fills_space),
    ("prior samples decode like reconstructions", lambda m: m.prior_generates),
]


def _betas(metrics: dict[str, Any]) -> list[float]:
    return sorted({r["beta"] for r in metrics["runs"]})


def _runs_at(metrics: dict[str, Any], beta: float) -> list[Measures]:
    """The measures of ``beta``'s runs."""
    return [run.measures for run in map(BetaRun.from_json, metrics["runs"]) if run.beta == beta]


def measure_rows(metrics: dict[str, Any]) -> list[list[str]]:
    """(measure, one cell per beta) rows: the mean over the beta's runs and each run's value."""
    rows = [
        [label, *(cell([value(r) for r in _runs_at(metrics, b)], fmt) for b in _betas(metrics))]
        for label, value, fmt in MEASURES
    ]
    for label, rule in RULES:
        cells = []
        for beta in _betas(metrics):
            passed = [bool(rule(m)) for m in _runs_at(metrics, beta)]
            cells.append(
                "yes" if all(passed) else "no" if not any(passed) else f"{sum(passed)} of {len(passed)}"
            )
        rows.append([label, *cells])
    return rows


def answer(metrics: dict[str, Any]) -> str:
    """The sweep's answer in one paragraph, from the rules' results; under a judge not fit for use,
    marked "(measure not fit)": it decides nothing."""
    betas = _betas(metrics)
    grid = ", ".join(f"{b:g}" for b in betas)

    def smallest(key: str, what: str) -> str:
        beta = metrics[key]
        if beta is None:
            return f"no beta of the grid ({grid}) {what}"
        runs = _runs_at(metrics, beta)
        recon = float(np.mean([m.test_reconstruction for m in runs]))
        lead = f"the smallest beta of the grid ({grid}) that {what} is {beta:g}"
        return f"{lead} (reconstruction term {recon:.1f} nats)"

    first = _runs_at(metrics, betas[0])
    base = float(np.mean([m.test_reconstruction for m in first]))
    said = (
        f"By these rules, {smallest('smallest_filling_beta', 'fills the space in every run')}; "
        f"{smallest('smallest_generating_beta', 'samples like it reconstructs in every run')}"
    )
    return (
        f"{graded(said, metrics['judge']['fit'])[0]}. "
        f"At beta {betas[0]:g} the held-out reconstruction term is {base:.1f} nats per image."
    )


def sweep_tables(metrics: dict[str, Any]) -> str:
    """What the terminal prints after a sweep."""
    fit = (
        "fit for use"
        if metrics["judge"]["fit"]
        else "NOT fit: some targets missed; read every number with it"
    )
    header = ["measure", *(f"beta {b:g}" for b in _betas(metrics))]
    return "\n".join(
        [
            f"Networks: {ModelSpec.of_study(metrics['config']).network()}",
            f"Validation of the judge ({judge_line(metrics)}; {fit})",
            text_table(["kind", "judge should", "rate", "target", "met"], validation_rows(metrics)),
            "",
            "Each beta (mean over its runs; each run's value in brackets)",
            text_table(header, measure_rows(metrics)),
            "",
            answer(metrics),
            *(
                ["", "Where the time went (wall seconds)", phase_table(metrics)]
                if "phases" in metrics
                else []
            ),
        ]
    )


def sweep_html(metrics: dict[str, Any]) -> str:
    """The sweep's self-contained page, in the demo report's style; under a judge not fit for use,
    the answer and the rules' rows are greyed."""
    esc = html.escape
    rule_class = "" if metrics["judge"]["fit"] else "not-fit"
    rows = measure_rows(metrics)
    config = metrics["config"]
    seeds = config["seeds"]
    first = config["seed"]
    runs = f"{seeds} runs per beta (seeds {first}..{first + seeds - 1})" if seeds > 1 else f"seed {first}"
    captions = {
        "curves": "Against beta: the empty share of the code box (50 x 50 cells over its 0.5-99.5 percentile "
        "box) for one posterior draw per image, for the posterior means and for a Gaussian cloud of the same "
        "spread, and the share of N(0, I) draws far from every training code (left); the judge's accepted "
        "share and the coverage of N(0, I) decodes against the model's reconstructions (middle); the "
        "held-out reconstruction and KL terms and the -ELBO at beta = 1 (right). Lines are means over each "
        "beta's runs, dots each run.",
        "maps": "Each beta's first run: the posterior means of the training images coloured by label (top) "
        "and its decodes of a grid at the N(0, 1) quantiles 5%..95% (bottom).",
        "film": "Training as a film: each beta's first run, the posterior means of the same "
        f"{metrics.get('film_images', 0):,} training images after every epoch, on axes fixed per beta, "
        "with that epoch's test loss (at the run's own beta).",
    }
    figures = "".join(
        f'<p>{esc(captions[key])}</p><img src="{esc(name)}" alt="{esc(key)}">'
        for key, name in metrics["figures"].items()
    )
    return Template(read_template("sweep.html")).substitute(
        css=read_template("report.css"),
        dataset=esc(metrics["dataset"]),
        epochs=config["epochs"],
        network=esc(ModelSpec.of_study(config).network()),
        runs=esc(runs),
        **judge_fields(metrics),
        answer=esc(answer(metrics)),
        answer_class="answer" if metrics["judge"]["fit"] else "answer not-fit",
        table=html_table(
            ["measure", *(f"beta {b:g}" for b in _betas(metrics))],
            rows,
            [rule_class if label in dict(RULES) else "" for label, *_ in rows],
        ),
        runs_note="<p>Each cell gives the mean over the beta's runs and, in brackets, each run's value.</p>"
        if seeds > 1
        else "",
        figures=figures,
        wall=f"{metrics['wall_seconds']:.0f}",
    )
