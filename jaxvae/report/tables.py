"""The tables the pages and terminal summaries share: cells of a measure's runs, the judge's
validation, the generator and map measures, the judge's fields and the phases, as text and as HTML."""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from typing import Any

from jaxvae.data import noun
from jaxvae.study.phases import phase_rows
from jaxvae.study.records import Measures
from jaxvae.study.shipped import describe_source
from jaxvae.study.verdicts import (
    EMPTY_RATIO,
    FILLED_FAR,
    GENERATES,
    pct,
)

NOT_FIT = " (measure not fit)"


def verdict_class(verdict: str) -> str:
    """The CSS class of a verdict: its grade ("undecided (3 runs: ...)" is "undecided")."""
    return verdict.split(" (")[0].replace(" ", "-")


def graded(verdict: str, fit: bool) -> tuple[str, str]:
    """A verdict as a page shows it, and its CSS class: as it is under a judge fit for use; under
    one that missed a target, marked "(measure not fit)" and greyed, for it decides nothing."""
    return (verdict, verdict_class(verdict)) if fit else (verdict + NOT_FIT, "not-fit")


def cell(values: list[Any], fmt: str) -> str:
    """The mean of ``values`` (None left out) and, for several runs, each run's value in brackets."""
    present = [v for v in values if v is not None]
    if not present:
        return "n/a"
    mean = fmt.format(sum(present) / len(present))
    if len(values) == 1:
        return mean
    each = ("n/a" if v is None else fmt.format(v).rstrip("%") for v in values)
    return f"{mean} ({' / '.join(each)})"


def validation_rows(metrics: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """(kind, what a fit measure does, rate, target, met) for the validation table."""
    rows = []
    for row in metrics["validation"]:
        rate = row["rate"] if isinstance(row["rate"], list) else [row["rate"]]
        met = "yes" if row["met"] else "NO"
        rows.append((row["kind"], row["action"], cell(rate, "{:.1%}"), f">= {pct(row['target'])}", met))
    return rows


# a judged model's generators (recall is not measured for them: jaxvae.study.measures.generator_scores)
GENERATOR_COLUMNS = [
    ("accepted", "accepted", "{:.1%}"),
    ("precision", "precision", "{:.3f}"),
    ("coverage", "coverage", "{:.3f}"),
    ("frechet", "Fréchet distance", "{:.1f}"),
    ("class_entropy_bits", "class entropy (bits)", "{:.2f}"),
    ("missing", "classes never generated", "{:.1f}"),
    ("far", "far from every code", "{:.1%}"),
]
# the generation measures' sets of known answers, recall included
VALIDATION_COLUMNS = [*GENERATOR_COLUMNS[:2], ("recall", "recall", "{:.3f}"), *GENERATOR_COLUMNS[2:-1]]
VALIDATION_HEADER = ["set", *(c[1] for c in VALIDATION_COLUMNS)]


def generative_validation_rows(metrics: dict[str, Any]) -> list[list[str]]:
    """One row per known set of the generation measures' validation (``VALIDATION_HEADER``)."""
    rows = []
    for row in metrics["generative_validation"]:
        cells = [row["set"]]
        for key, _, fmt in VALIDATION_COLUMNS:
            value = len(row["missing_classes"]) if key == "missing" else row[key]
            cells.append(fmt.format(value))
        rows.append(cells)
    return rows


def model_runs(metrics: dict[str, Any], kind: str) -> list[Measures]:
    """Each of the demo's runs' measures of the model ``kind``."""
    return [Measures.from_json(run["models"][kind]) for run in metrics["runs"]]


def model_means(metrics: dict[str, Any], kind: str) -> Measures:
    """The means over the demo's runs of the measures of the model ``kind``."""
    return Measures.from_json(metrics["means"][kind])


def generator_rows(metrics: dict[str, Any], kinds: Sequence[str] = ("ae", "vae")) -> list[list[str]]:
    """One row per (model, sampler), plus each model's reconstructions: the means over the runs and
    each run's value."""
    rows = []
    names = {"ae": "Autoencoder", "vae": "VAE"}
    for kind in kinds:
        runs = model_runs(metrics, kind)
        sources = [("reconstructions of the test images", [r.reconstructions for r in runs])]
        sources += [(name, [r.samplers[name] for r in runs]) for name in runs[0].samplers]
        sources += [(name, [r.other_samplers[name] for r in runs]) for name in runs[0].other_samplers]
        for source, values in sources:
            cells = [f"{names[kind]}: {source}"]
            for key, _, fmt in GENERATOR_COLUMNS:
                if key == "missing":
                    cells.append(cell([len(v.missing_classes) for v in values], fmt))
                else:
                    cells.append(cell([getattr(v, key) for v in values], fmt))
            rows.append(cells)
    return rows


FAR_FIELD_KEYS = ("reconstructions", "1x", "2x", "4x", "8x")
FAR_FIELD_ROWS = (
    "reconstructions accepted and realistic",
    *(f"decodes accepted and realistic, ring at {r} the box" for r in FAR_FIELD_KEYS[1:]),
)
MAP_MEASURES: list[tuple[str, Callable[[Measures], Any], str]] = [
    ("test loss (nats; VAE: -ELBO)", lambda m: m.training["test_total"], "{:.2f}"),
    ("5-NN label accuracy of the test codes", lambda m: m.knn_label_accuracy, "{:.1%}"),
    ("empty share of the code box (50x50 cells)", lambda m: m.empty_fraction, "{:.1%}"),
    ("... with one posterior draw per image", lambda m: m.posterior_empty_fraction, "{:.1%}"),
    ("... of a Gaussian cloud of the same spread", lambda m: m.gaussian_empty_fraction, "{:.1%}"),
    (
        "empty share between the clusters (inside the codes' hull)",
        lambda m: m.between_empty_fraction,
        "{:.1%}",
    ),
    ("accepted decodes at empty cells", lambda m: m.empty_accepted, "{:.1%}"),
    ("... at empty cells between the clusters", lambda m: m.between_empty_accepted, "{:.1%}"),
    ("accepted decodes at occupied cells", lambda m: m.occupied_accepted, "{:.1%}"),
    ("accepted decodes on a 100x100 grid over the box", lambda m: m.grid_accepted, "{:.1%}"),
    (
        "largest empty disc between the clusters (spacings)",
        lambda m: m.empty_regions[0]["spacings"] if m.empty_regions else None,
        "{:.1f}",
    ),
    ("'far' threshold (spacings)", lambda m: m.far_spacings, "{:.1f}"),
    *(
        (label, lambda m, ring=ring: m.far_field[ring]["both"] if m.far_field else None, "{:.1%}")
        for label, ring in zip(FAR_FIELD_ROWS, FAR_FIELD_KEYS, strict=True)
    ),
    (
        "seconds per training epoch of all seeds at once (median)",
        lambda m: m.training["median_epoch_seconds"],
        "{:.2f}",
    ),
]


def map_rows(metrics: dict[str, Any], labels: Sequence[str] | None = None) -> list[tuple[str, ...]]:
    """(measure, AE, VAE) rows of the latent-map table: every measure, or those named in ``labels``."""
    runs = {k: model_runs(metrics, k) for k in ("ae", "vae")}
    return [
        (label, *(cell([value(m) for m in runs[k]], fmt) for k in ("ae", "vae")))
        for label, value, fmt in MAP_MEASURES
        if labels is None or label in labels
    ]


def text_table(header: list[str], rows: list[Any]) -> str:
    """A fixed-width text table: the first column left-aligned, the rest right-aligned."""
    table = [list(header), *[list(r) for r in rows]]
    widths = [max(len(str(r[i])) for r in table) for i in range(len(header))]
    lines = [
        "  ".join(
            str(c).ljust(w) if i == 0 else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in table
    ]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def html_table(
    header: list[str], rows: list[Any], classes: list[str] | None = None, *, text_columns: int = 1
) -> str:
    """A table whose first ``text_columns`` columns are text and the rest right-aligned numbers."""
    esc = html.escape
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        cls = f' class="{classes[i]}"' if classes else ""
        cells = "".join(
            f"<td>{esc(str(c))}</td>" if j < text_columns else f'<td class="num">{_number(str(c))}</td>'
            for j, c in enumerate(row)
        )
        body.append(f"<tr{cls}>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _number(cell: str) -> str:
    """A numeric cell: the mean, and each run's values (the bracket ``cell`` adds) small below it."""
    mean, bracket, each = cell.partition(" (")
    if not bracket:
        return html.escape(cell)
    return f"{html.escape(mean)}<br><small>({html.escape(each)}</small>"


def judge_line(metrics: dict[str, Any]) -> str:
    """The terminal's name for a report's judge: where it came from and its threshold."""
    return f"{describe_source(metrics['judge'].get('source'))}, threshold {metrics['judge']['threshold']:.2f}"


def judge_fields(metrics: dict[str, Any]) -> dict[str, Any]:
    """The fields every experiment's page fills the same way: the judge, its validation table, and
    the constants of the rules its verdicts use."""
    fit = metrics["judge"]["fit"]
    return {
        "noun": noun(metrics["dataset"]),
        "threshold": f"{metrics['judge']['threshold']:.2f}",
        "judge_source": html.escape(describe_source(metrics["judge"].get("source"))),
        "accuracy": pct(metrics["judge"]["test_accuracy"]),
        "fit_class": "met" if fit else "unmet",
        "fit_text": "every target met"
        if fit
        else "some targets missed (rows in red), so it decides nothing: every answer below is greyed "
        'and marked "measure not fit"; read every number below with it',
        "validation": html_table(
            ["kind", "a fit judge should", "rate", "target", "met"],
            validation_rows(metrics),
            ["" if r["met"] else "does-not-hold" for r in metrics["validation"]],
        ),
        "empty_ratio": EMPTY_RATIO["partly"],
        "far": pct(FILLED_FAR),
        "generates": pct(GENERATES),
    }


def phase_table(metrics: dict[str, Any]) -> str:
    """The phases of an experiment's wall time (metrics.json's ``phases``) as a text table."""
    return text_table(["phase", "seconds", "share"], phase_rows(metrics["phases"], metrics["wall_seconds"]))
