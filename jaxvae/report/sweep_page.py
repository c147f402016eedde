"""The beta sweep's tables (terminal) and page, filled from its metrics.json content only."""

from __future__ import annotations

import html
from collections.abc import Callable
from string import Template
from typing import Any

from jaxvae.report.explorer import read_template
from jaxvae.report.tables import cell, html_table, judge_fields, phase_table, text_table, validation_rows

Row = tuple[str, Callable[[dict[str, Any]], Any], str]

PRIOR = "N(0, I)"
MEASURES: list[Row] = [
    (
        "empty share of the code box, one posterior draw per image",
        lambda r: r["posterior_empty_fraction"],
        "{:.1%}",
    ),
    ("that share over a Gaussian cloud's (x)", lambda r: r["posterior_empty_ratio"], "{:.2f}"),
    ("empty share, posterior means", lambda r: r["empty_fraction"], "{:.1%}"),
    ("N(0, I) draws far from every training code", lambda r: r["samplers"][PRIOR]["far"], "{:.1%}"),
    ("N(0, I) decodes accepted", lambda r: r["samplers"][PRIOR]["accepted"], "{:.1%}"),
    ("reconstructions accepted", lambda r: r["reconstructions"]["accepted"], "{:.1%}"),
    ("N(0, I) coverage", lambda r: r["samplers"][PRIOR]["coverage"], "{:.3f}"),
    ("reconstructions coverage", lambda r: r["reconstructions"]["coverage"], "{:.3f}"),
    ("N(0, I) Fréchet distance", lambda r: r["samplers"][PRIOR]["frechet"], "{:.1f}"),
    ("classes N(0, I) never generates", lambda r: len(r["samplers"][PRIOR]["missing_classes"]), "{:.1f}"),
    ("5-NN label accuracy of the test codes", lambda r: r["knn_label_accuracy"], "{:.1%}"),
    ("test -ELBO at beta = 1 (nats)", lambda r: r["test_total"], "{:.2f}"),
    ("its reconstruction term (nats)", lambda r: r["test_reconstruction"], "{:.2f}"),
    ("its KL term (nats)", lambda r: r["test_kl"], "{:.2f}"),
]
RULES = [
    ("fills the space (claim (v)'s rule)", "fills_space"),
    ("prior samples decode like reconstructions", "prior_generates"),
]


def _betas(metrics: dict[str, Any]) -> list[float]:
    return sorted({r["beta"] for r in metrics["runs"]})


def _runs_at(metrics: dict[str, Any], beta: float) -> list[dict[str, Any]]:
    return [r for r in metrics["runs"] if r["beta"] == beta]


def measure_rows(metrics: dict[str, Any]) -> list[list[str]]:
    """(measure, one cell per beta) rows: the mean over the beta's runs and each run's value."""
    rows = [
        [label, *(cell([value(r) for r in _runs_at(metrics, b)], fmt) for b in _betas(metrics))]
        for label, value, fmt in MEASURES
    ]
    for label, key in RULES:
        cells = []
        for beta in _betas(metrics):
            passed = [r[key] for r in _runs_at(metrics, beta)]
            cells.append(
                "yes" if all(passed) else "no" if not any(passed) else f"{sum(passed)} of {len(passed)}"
            )
        rows.append([label, *cells])
    return rows


def answer(metrics: dict[str, Any]) -> str:
    """The sweep's answer in one paragraph, from the rules' results."""
    betas = _betas(metrics)
    grid = ", ".join(f"{b:g}" for b in betas)

    def smallest(key: str, what: str) -> str:
        beta = metrics[key]
        if beta is None:
            return f"no beta of the grid ({grid}) {what}"
        runs = _runs_at(metrics, beta)
        recon = sum(r["test_reconstruction"] for r in runs) / len(runs)
        lead = f"the smallest beta of the grid ({grid}) that {what} is {beta:g}"
        return f"{lead} (reconstruction term {recon:.1f} nats)"

    first = _runs_at(metrics, betas[0])
    base = sum(r["test_reconstruction"] for r in first) / len(first)
    return (
        f"By these rules, {smallest('smallest_filling_beta', 'fills the space in every run')}; "
        f"{smallest('smallest_generating_beta', 'samples like it reconstructs in every run')}. "
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
            f"Validation of the judge (threshold {metrics['judge']['threshold']:.2f}; {fit})",
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
    """The sweep's self-contained page, in the demo report's style."""
    esc = html.escape
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
        runs=esc(runs),
        **judge_fields(metrics),
        answer=esc(answer(metrics)),
        table=html_table(["measure", *(f"beta {b:g}" for b in _betas(metrics))], measure_rows(metrics)),
        runs_note="<p>Each cell gives the mean over the beta's runs and, in brackets, each run's value.</p>"
        if seeds > 1
        else "",
        figures=figures,
        wall=f"{metrics['wall_seconds']:.0f}",
    )
