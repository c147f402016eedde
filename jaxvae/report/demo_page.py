"""The demo's tables as text (terminal) and HTML (report page), and the page itself.

The page's template and style are package data (``jaxvae/templates``); this module only fills
them from metrics.json's content, so the report says exactly what the numbers say.
"""

from __future__ import annotations

import html
from string import Template
from typing import Any

from jaxvae.data import noun
from jaxvae.report.explorer import explorer_section, read_template
from jaxvae.study.verdicts import pct

# the figures of the report, in order: (key, title, what the picture shows)
SECTIONS = [
    (
        "latent_maps",
        "Latent maps",
        "Every training image encoded to 2 numbers and coloured by its label (the label is used for "
        "colour only). "
        "AE: its code; VAE: its posterior mean.",
    ),
    (
        "grid_ae",
        "Autoencoder: decoding a grid over its code box",
        "The crosses on the left mark the points decoded on the right: an evenly spaced grid over the "
        "0.5-99.5 percentile box of the training codes.",
    ),
    (
        "grid_vae",
        "VAE: decoding a grid at the prior's quantiles",
        "The same for the VAE, at the 5%..95% quantiles of N(0, 1) in each axis.",
    ),
    (
        "holes",
        "The judge's score over each code box",
        "For each point of a 100x100 grid over the code box, the judge's score of the decoded image; the "
        "white line is the judge's threshold, the cyan dots a subsample of the training codes.",
    ),
    (
        "empty_regions",
        "Decodes from the largest empty regions",
        "The largest discs that hold no training code, centred between the clusters (inside the convex "
        "hull of the training codes in the code box, which is dashed), numbered by size, and the decode "
        "at each disc's centre with the judge's verdict.",
    ),
    (
        "by_distance",
        "Acceptance against distance from the data",
        "The share of decodes the judge accepts on a 120x120 grid over twice each code box, binned by the "
        "distance to the nearest training code; the dashed lines mark where 'far' begins for each model.",
    ),
    (
        "samples",
        "Samples",
        "The first 12 draws of each sampler, decoded, with the judge's verdict above each.",
    ),
    (
        "prior_classes",
        "Which classes does each sampler generate?",
        "The class the judge gives each decoded sample (accepted or not), as a share; the ticks span the "
        "training runs.",
    ),
    ("interpolation", "Interpolation", "Decodes along a straight line between the codes of two test images."),
    ("reconstructions", "Reconstructions", "Test images and their reconstructions by each model."),
    ("training_curves", "Training curves", "Loss per epoch on the training and test splits."),
]


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


GENERATOR_COLUMNS = [
    ("accepted", "accepted", "{:.1%}"),
    ("precision", "precision", "{:.3f}"),
    ("recall", "recall", "{:.3f}"),
    ("coverage", "coverage", "{:.3f}"),
    ("frechet", "Fréchet distance", "{:.1f}"),
    ("class_entropy_bits", "class entropy (bits)", "{:.2f}"),
    ("missing", "classes never generated", "{:.1f}"),
    ("far", "far from every code", "{:.1%}"),
]


def generative_validation_rows(metrics: dict[str, Any]) -> list[list[str]]:
    """One row per known set of the generation measures' validation."""
    rows = []
    for row in metrics["generative_validation"]:
        cells = [row["set"]]
        for key, _, fmt in GENERATOR_COLUMNS[:-1]:
            value = len(row["missing_classes"]) if key == "missing" else row[key]
            cells.append(fmt.format(value))
        rows.append(cells)
    return rows


def generator_rows(metrics: dict[str, Any]) -> list[list[str]]:
    """One row per (model, sampler), plus each model's reconstructions: the means over the runs and
    each run's value."""
    rows = []
    names = {"ae": "Autoencoder", "vae": "VAE"}
    for kind in ("ae", "vae"):
        runs = [run["models"][kind] for run in metrics["runs"]]
        sources = [("reconstructions of the test images", [r["reconstructions"] for r in runs])]
        sources += [(name, [r["samplers"][name] for r in runs]) for name in runs[0]["samplers"]]
        for source, values in sources:
            cells = [f"{names[kind]}: {source}"]
            for key, _, fmt in GENERATOR_COLUMNS:
                if key == "missing":
                    cells.append(cell([len(v["missing_classes"]) for v in values], fmt))
                else:
                    cells.append(cell([v.get(key) for v in values], fmt))
            rows.append(cells)
    return rows


MAP_MEASURES = [
    ("test loss (nats; VAE: -ELBO)", lambda m: m["training"]["test_total"], "{:.2f}"),
    ("5-NN label accuracy of the test codes", lambda m: m["knn_label_accuracy"], "{:.1%}"),
    ("empty share of the code box (50x50 cells)", lambda m: m["empty_fraction"], "{:.1%}"),
    ("... with one posterior draw per image", lambda m: m["posterior_empty_fraction"], "{:.1%}"),
    ("... of a Gaussian cloud of the same spread", lambda m: m["gaussian_empty_fraction"], "{:.1%}"),
    (
        "empty share between the clusters (inside the codes' hull)",
        lambda m: m["between_empty_fraction"],
        "{:.1%}",
    ),
    ("accepted decodes at empty cells", lambda m: m["empty_accepted"], "{:.1%}"),
    ("... at empty cells between the clusters", lambda m: m["between_empty_accepted"], "{:.1%}"),
    ("accepted decodes at occupied cells", lambda m: m["occupied_accepted"], "{:.1%}"),
    ("accepted decodes on a 100x100 grid over the box", lambda m: m["grid_accepted"], "{:.1%}"),
    (
        "largest empty disc between the clusters (spacings)",
        lambda m: m["empty_regions"][0]["spacings"] if m["empty_regions"] else None,
        "{:.1f}",
    ),
    ("'far' threshold (spacings)", lambda m: m["far_spacings"], "{:.1f}"),
    (
        "seconds per training epoch of all seeds at once (median)",
        lambda m: m["training"]["median_epoch_seconds"],
        "{:.2f}",
    ),
]


def map_rows(metrics: dict[str, Any]) -> list[tuple[str, ...]]:
    """(measure, AE, VAE) rows of the latent-map table."""
    return [
        (label, *(cell([value(run["models"][k]) for run in metrics["runs"]], fmt) for k in ("ae", "vae")))
        for label, value, fmt in MAP_MEASURES
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


def format_tables(metrics: dict[str, Any]) -> str:
    """Everything the terminal prints after a demo: validation, verdicts, generators, maps."""
    fit = (
        "fit for use"
        if metrics["judge"]["fit"]
        else "NOT fit: some targets missed; read every number with it"
    )
    seeds = ", ".join(map(str, metrics["seeds"]))
    parts = [
        f"Validation of the judge (threshold {metrics['judge']['threshold']:.2f}; {fit})",
        text_table(["kind", "judge should", "rate", "target", "met"], validation_rows(metrics)),
        "",
        f"Verdicts (means over seeds {seeds})",
        text_table(["claim", "verdict"], [(v["claim"], v["verdict"]) for v in metrics["verdicts"]]),
        *(f"  {i + 1}. {v['numbers']}" for i, v in enumerate(metrics["verdicts"])),
        "",
        "Validation of the generation measures (each set against the other half of the test images)",
        text_table(["set", *(c[1] for c in GENERATOR_COLUMNS[:-1])], generative_validation_rows(metrics)),
        "",
        f"Generators (mean over seeds {seeds}; each seed's value in brackets)",
        text_table(["source", *(c[1] for c in GENERATOR_COLUMNS)], generator_rows(metrics)),
        "",
        "Latent maps",
        text_table(["measure", "AE", "VAE"], map_rows(metrics)),
    ]
    return "\n".join(parts)


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


def render_html(metrics: dict[str, Any]) -> str:
    """A self-contained page: inline CSS, images from the same folder, no remote resources."""
    esc = html.escape
    seeds = metrics["seeds"]
    if len(seeds) == 1:
        runs = f"one training run of each model (seed {seeds[0]})"
        note = ""
    else:
        listed = ", ".join(map(str, seeds))
        runs = f"{len(seeds)} training runs of each model (seeds {listed}; figures from seed {seeds[0]})"
        note = (
            "<p>Each cell gives the mean over the runs and, in brackets, each run's value in seed order.</p>"
        )
    banner = f'<p class="banner">{esc(metrics["fallback_banner"])}</p>' if metrics["fallback_banner"] else ""
    if len(seeds) < len(metrics["planned_seeds"]):
        banner += (
            f'<p class="banner">Partial report: {len(seeds)} of {len(metrics["planned_seeds"])} planned '
            "training "
            "runs finished; the demo is still running or was stopped.</p>"
        )
    fit = metrics["judge"]["fit"]
    validation = html_table(
        ["kind", "a fit judge should", "rate", "target", "met"],
        validation_rows(metrics),
        ["" if r["met"] else "does-not-hold" for r in metrics["validation"]],
    )
    verdict_rows = [(v["claim"], v["verdict"], v["numbers"]) for v in metrics["verdicts"]]
    verdict_table = html_table(
        ["claim", "verdict", "the numbers"],
        verdict_rows,
        [v["verdict"].replace(" ", "-") for v in metrics["verdicts"]],
        text_columns=3,
    )
    figures = "".join(
        f"<h3>{esc(title)}</h3><p>{esc(text)}</p>"
        f'<img src="{esc(metrics["figures"][key])}" alt="{esc(title)}">'
        for key, title, text in SECTIONS
        if key in metrics["figures"]
    )
    explorer = ""
    if "explorer" in metrics["figures"]:
        explorer = explorer_section() + (
            f'<p>The explorer on its own page: <a href="{esc(metrics["figures"]["explorer"])}">'
            f"{esc(metrics['figures']['explorer'])}</a>.</p>"
        )
    validation_figure = (
        f'<img src="{esc(metrics["figures"]["judge_examples"])}" alt="judge examples">'
        if "judge_examples" in metrics["figures"]
        else ""
    )
    return Template(read_template("report.html")).substitute(
        css=read_template("report.css"),
        noun=noun(metrics["dataset"]),
        banner=banner,
        dataset=esc(metrics["dataset"]),
        runs=esc(runs),
        epochs=metrics["config"]["epochs"],
        threshold=f"{metrics['judge']['threshold']:.2f}",
        accuracy=pct(metrics["judge"]["test_accuracy"]),
        decoders=len(metrics["judge"]["decoders"]),
        fit_class="met" if fit else "unmet",
        fit_text="every target met"
        if fit
        else "some targets missed (rows in red); read every number below with it",
        validation=validation,
        validation_figure=validation_figure,
        verdicts=verdict_table,
        samples=f"{metrics['num_samples']:,}",
        real=f"{metrics['num_test_images']:,}",
        generative_validation=html_table(
            ["set", *(c[1] for c in GENERATOR_COLUMNS[:-1])], generative_validation_rows(metrics)
        ),
        generators=html_table(["source", *(c[1] for c in GENERATOR_COLUMNS)], generator_rows(metrics)),
        measures=html_table(["measure", "Autoencoder", "VAE"], map_rows(metrics)),
        runs_note=note,
        figures=figures,
        explorer=explorer,
        wall=f"{metrics['wall_seconds']:.0f}",
    )
