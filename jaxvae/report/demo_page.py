"""The demo's report page and terminal summary, in the story's order (``jaxvae.report.story``).

The page's templates and style are package data (``jaxvae/report/templates``); this module only
fills them from metrics.json's content, so the report says exactly what the numbers say.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from string import Template
from typing import Any

from jaxvae.data import noun
from jaxvae.report.explorer import explorer_section, read_template
from jaxvae.report.story import STEPS, WHY, Step
from jaxvae.study.phases import phase_rows
from jaxvae.study.verdicts import (
    CLUSTER,
    EMPTY_RATIO,
    FILLED_FAR,
    GENERATES,
    NONSENSE,
    empty_ratio,
    generates,
    pct,
)


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


def generator_rows(metrics: dict[str, Any], kinds: Sequence[str] = ("ae", "vae")) -> list[list[str]]:
    """One row per (model, sampler), plus each model's reconstructions: the means over the runs and
    each run's value."""
    rows = []
    names = {"ae": "Autoencoder", "vae": "VAE"}
    for kind in kinds:
        runs = [run["models"][kind] for run in metrics["runs"]]
        sources = [("reconstructions of the test images", [r["reconstructions"] for r in runs])]
        sources += [(name, [r["samplers"][name] for r in runs]) for name in runs[0]["samplers"]]
        others = runs[0].get("other_samplers", {})  # reports from before the ex-post samplers lack them
        sources += [(name, [r["other_samplers"][name] for r in runs]) for name in others]
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


def map_rows(metrics: dict[str, Any], labels: Sequence[str] | None = None) -> list[tuple[str, ...]]:
    """(measure, AE, VAE) rows of the latent-map table: every measure, or those named in ``labels``."""
    return [
        (label, *(cell([value(run["models"][k]) for run in metrics["runs"]], fmt) for k in ("ae", "vae")))
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


def judge_fields(metrics: dict[str, Any]) -> dict[str, Any]:
    """The fields every experiment's page fills the same way: the judge, its validation table, and
    the constants of the rules its verdicts use."""
    fit = metrics["judge"]["fit"]
    return {
        "noun": noun(metrics["dataset"]),
        "threshold": f"{metrics['judge']['threshold']:.2f}",
        "accuracy": pct(metrics["judge"]["test_accuracy"]),
        "fit_class": "met" if fit else "unmet",
        "fit_text": "every target met"
        if fit
        else "some targets missed (rows in red); read every number below with it",
        "validation": html_table(
            ["kind", "a fit judge should", "rate", "target", "met"],
            validation_rows(metrics),
            ["" if r["met"] else "does-not-hold" for r in metrics["validation"]],
        ),
        "empty_ratio": EMPTY_RATIO["partly"],
        "far": pct(FILLED_FAR),
        "generates": pct(GENERATES),
    }


def verdict_class(verdict: str) -> str:
    """The CSS class of a verdict: its grade ("undecided (3 runs: ...)" is "undecided")."""
    return verdict.split(" (")[0].replace(" ", "-")


def badge(verdict: dict[str, Any], fit: bool) -> str:
    """A claim's verdict as a badge; greyed and marked when the measure was not fit for use."""
    esc = html.escape
    if not fit:
        return (
            f'<p><span class="badge not-fit">claim: {esc(verdict["claim"])}: {esc(verdict["verdict"])} '
            "(measure not fit)</span></p>"
        )
    css = verdict_class(verdict["verdict"])
    return (
        f'<p><span class="badge {css}">claim: {esc(verdict["claim"])}: {esc(verdict["verdict"])}</span></p>'
    )


def _figure(metrics: dict[str, Any], key: str) -> str:
    name = html.escape(metrics["figures"][key])
    return f'<img src="{name}" alt="{html.escape(key.replace("_", " "))}">'


def step_details(metrics: dict[str, Any], step: Step, verdict: dict[str, str] | None) -> str:
    """The numbers under a step: its verdict's sentence, its map measures, its generator rows."""
    parts = []
    if verdict is not None:
        parts.append(f"<p>{html.escape(verdict['numbers'])}</p>")
    if has_beside(metrics, step):
        parts.append(f"<p>{html.escape(beside_sentence(metrics, step.beside))}</p>")
    if step.measures:
        parts.append(html_table(["measure", "Autoencoder", "VAE"], map_rows(metrics, step.measures)))
    if step.generators:
        header = ["source", *(c[1] for c in GENERATOR_COLUMNS)]
        parts.append(html_table(header, generator_rows(metrics, step.generators)))
    return "".join(parts)


def has_beside(metrics: dict[str, Any], step: Step) -> bool:
    """Whether ``step`` states a sampler beside its verdict and the report measured it (reports from
    before the ex-post samplers did not)."""
    return bool(step.beside) and step.beside in metrics["runs"][0]["models"]["ae"].get("other_samplers", {})


def beside_sentence(metrics: dict[str, Any], sampler: str) -> str:
    """What the autoencoder's ``sampler`` (one of its ``other_samplers``, such as the mixture fitted
    to its codes) gives, by the rule of claim (iv) run by run: stated beside that verdict, which stays
    about arbitrary points."""
    runs = [run["models"]["ae"] for run in metrics["runs"]]
    passes = [generates(run["other_samplers"][sampler], run["reconstructions"]) for run in runs]
    mean, recon = metrics["means"]["ae"]["other_samplers"][sampler], metrics["means"]["ae"]["reconstructions"]
    return (
        f"Beside the claim, which is about arbitrary points: the autoencoder's decodes of a {sampler} "
        f"after training are accepted {pct(mean['accepted'])} of the time (its reconstructions: "
        f"{pct(recon['accepted'])}), with coverage {mean['coverage']:.3f} (reconstructions: "
        f"{recon['coverage']:.3f}); by the rule that decides 'generates', they generate in "
        f"{sum(passes)} of {len(passes)} runs."
    )


def render_step(metrics: dict[str, Any], number: int, step: Step, details: str | None = None) -> str:
    """One section of the story: figures, the sentence, the verdict's badge, the numbers folded
    (``details``, else ``step_details``)."""
    fit = metrics["judge"]["fit"]
    verdict = metrics["verdicts"][step.claim] if step.claim is not None else None
    details = details if details is not None else step_details(metrics, step, verdict)
    shows = step.shows
    if step.film and "film" in metrics["figures"]:
        shows += " " + step.film.format(film_images=metrics["film_images"])
    section = Template(read_template("step.html")).substitute(
        number=number,
        title=html.escape(step.title),
        figures="".join(_figure(metrics, key) for key in step.figures if key in metrics["figures"]),
        shows=html.escape(shows),
        badge=badge(verdict, fit) if verdict is not None else "",
        details=details or "<p>No numbers for this step.</p>",
    )
    if step.explorer and "explorer" in metrics["figures"]:
        page = html.escape(metrics["figures"]["explorer"])
        section += explorer_section() + f'<p>The explorer on its own page: <a href="{page}">{page}</a>.</p>'
    return section


def why_paragraph(why: dict[str, Any] | None) -> str:
    """The answers of the pull-against-noise ablation (``jaxvae why``), linked, or how to get them."""
    if why is None:
        return (
            "<p>Which of the two fills the space is what <code>jaxvae why</code> measures: an autoencoder "
            "with the pull alone (an RAE) and one with the noise alone, beside the AE and the VAE. No "
            "report of it was found beside this one (the demo's <code>--why</code> folder).</p>"
        )
    answers = "; ".join(f"{a['question']} {a['verdict']}" for a in why["answers"])
    page = html.escape(why["page"])
    return (
        f'<p class="answer">The ablation (<a href="{page}">{page}</a>: the AE, an RAE with the pull alone, '
        f"an autoencoder with the noise alone and the VAE, {why['seeds']} runs each, "
        f"{why['latent_dim']}-D latents) answers, run by run: {html.escape(answers)}.</p>"
    )


FILL_SETS = {  # the why step's sets of codes: (model, the empty share used)
    "Autoencoder: codes": ("ae", "empty_fraction"),
    "VAE: posterior means": ("vae", "empty_fraction"),
    "VAE: one draw per posterior": ("vae", "posterior_empty_fraction"),
}


def fill_ratios(measures: list[dict[str, Any]]) -> dict[str, list[float]]:
    """How empty each set of codes of the why step leaves its box over a Gaussian cloud of the same
    spread, for each of ``measures`` (each ``{"ae": ..., "vae": ...}``: a run's measures, or the
    means over the runs, which give the verdicts' ratios)."""
    return {label: [empty_ratio(m[kind], key) for m in measures] for label, (kind, key) in FILL_SETS.items()}


def ratio_cells(metrics: dict[str, Any]) -> dict[str, tuple[float, list[float]]]:
    """Each set's ratio from the means over the runs (as the verdicts compute it) and each run's."""
    mean = fill_ratios([metrics["means"]])
    each = fill_ratios([run["models"] for run in metrics["runs"]])
    return {label: (mean[label][0], each[label]) for label in FILL_SETS}


def rules_text() -> str:
    """The verdicts' rules and their constants, in one sentence each."""
    return (
        f"(i) holds when the 5-NN label accuracy of the AE's test codes is at least {pct(CLUSTER['holds'])}, "
        f"partly from {pct(CLUSTER['partly'])}; (ii) holds when the AE's code box is at least "
        f"{EMPTY_RATIO['holds']}x as empty as a Gaussian cloud of the same spread, partly from "
        f"{EMPTY_RATIO['partly']}x; (iii) holds when the judge rejects at least {pct(NONSENSE['holds'])} of "
        f"the decodes at empty cells between the clusters, partly from {pct(NONSENSE['partly'])}; a sampler "
        f"generates when its decodes are accepted at least {GENERATES:.0%} as often as the model's "
        f"reconstructions, its coverage is at least {GENERATES:.0%} of theirs and no class is missing; "
        "(iv) holds when no AE sampler generates, partly when some do; (v) holds when one draw from each "
        f"VAE posterior leaves the box less than {EMPTY_RATIO['partly']}x as empty as a Gaussian cloud "
        f"and at most {pct(FILLED_FAR)} of N(0, I) draws land far from every training code; (vi) holds "
        "when the VAE's N(0, I) sampler generates and its grid's decodes are accepted at least "
        f"{GENERATES:.0%} as often as its reconstructions."
    )


def render_html(metrics: dict[str, Any]) -> str:
    """A self-contained page in the story's order: inline CSS, images from the same folder, no
    remote resources."""
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
    banner = ""
    if len(seeds) < len(metrics["planned_seeds"]):
        banner = (
            f'<p class="banner">Partial report: {len(seeds)} of {len(metrics["planned_seeds"])} planned '
            "training runs finished; the demo is still running or was stopped.</p>"
        )
    fit = metrics["judge"]["fit"]
    story = "".join(render_step(metrics, i + 1, step) for i, step in enumerate(STEPS))
    ratios = [
        (k, f"{mean:.2f}" + (f" ({' / '.join(f'{v:.2f}' for v in each)})" if len(each) > 1 else ""))
        for k, (mean, each) in ratio_cells(metrics).items()
    ]
    story += render_step(
        metrics,
        len(STEPS) + 1,
        WHY,
        why_paragraph(metrics.get("why"))
        + html_table(["codes", "empty share over a Gaussian cloud's"], ratios),
    )
    verdict_table = html_table(
        ["claim", "verdict", "the numbers"],
        [
            (v["claim"], v["verdict"] if fit else f"{v['verdict']} (measure not fit)", v["numbers"])
            for v in metrics["verdicts"]
        ],
        [verdict_class(v["verdict"]) if fit else "not-fit" for v in metrics["verdicts"]],
        text_columns=3,
    )
    validation_figure = _figure(metrics, "judge_examples") if "judge_examples" in metrics["figures"] else ""
    how = Template(read_template("how.html")).substitute(
        noun=noun(metrics["dataset"]),
        threshold=f"{metrics['judge']['threshold']:.2f}",
        accuracy=pct(metrics["judge"]["test_accuracy"]),
        decoders=len(metrics["judge"]["decoders"]),
        fit_class="met" if fit else "unmet",
        fit_short="fit for use: every target met" if fit else "not fit: some targets missed (rows in red)",
        validation=html_table(
            ["kind", "a fit judge should", "rate", "target", "met"],
            validation_rows(metrics),
            ["" if r["met"] else "does-not-hold" for r in metrics["validation"]],
        ),
        validation_figure=validation_figure,
        samples=f"{metrics['num_samples']:,}",
        real=f"{metrics['num_test_images']:,}",
        generative_validation=html_table(
            ["set", *(c[1] for c in GENERATOR_COLUMNS[:-1])], generative_validation_rows(metrics)
        ),
        generators=html_table(["source", *(c[1] for c in GENERATOR_COLUMNS)], generator_rows(metrics)),
        rules=esc(rules_text()),
        measures=html_table(["measure", "Autoencoder", "VAE"], map_rows(metrics)),
        runs_note=note,
    )
    fit_text = (
        'The measure every verdict uses, a judge of "is this a digit?", was validated first and is '
        'fit for use: it met every target (<a href="#how">how we measured</a>).'
        if fit
        else 'The measure every verdict uses, a judge of "is this a digit?", was validated first and '
        'is NOT fit for use: it missed some targets (<a href="#how">how we measured</a>), so every '
        'verdict below is greyed and marked "measure not fit".'
    )
    return Template(read_template("report.html")).substitute(
        css=read_template("report.css"),
        banner=banner,
        dataset=esc(metrics["dataset"]),
        runs=esc(runs),
        epochs=metrics["config"]["epochs"],
        fit_class="met" if fit else "unmet",
        fit_text=fit_text.replace("digit", noun(metrics["dataset"])),
        story=story,
        verdicts=verdict_table,
        how=how,
        wall=f"{metrics['wall_seconds']:.0f}",
    )


def format_tables(metrics: dict[str, Any]) -> str:
    """What the terminal prints after a demo, in the story's order: each step's verdict and numbers,
    then how it was measured (the judge's validation and the generators)."""
    fit = metrics["judge"]["fit"]
    seeds = ", ".join(map(str, metrics["seeds"]))
    parts = [
        f"The measure (a judge, threshold {metrics['judge']['threshold']:.2f}): "
        + ("fit for use, every target met" if fit else "NOT fit: some targets missed; every verdict is void"),
        f"The story (means over seeds {seeds}):",
    ]
    for i, step in enumerate(STEPS):
        line = f"{i + 1}. {step.title}"
        if step.claim is not None:
            v = metrics["verdicts"][step.claim]
            line += f": {v['verdict']}{'' if fit else ' (measure not fit)'}\n   {v['numbers']}"
            if has_beside(metrics, step):
                line += f"\n   {beside_sentence(metrics, step.beside)}"
        elif step.measures:
            rows = map_rows(metrics, step.measures)
            line += ": " + "; ".join(f"{r[0]}: AE {r[1]}, VAE {r[2]}" for r in rows)
        parts.append(line)
    ratios = {k: mean for k, (mean, _) in ratio_cells(metrics).items()}
    parts.append(
        f"{len(STEPS) + 1}. Why: empty share over a Gaussian cloud's: "
        + "; ".join(f"{k} {v:.2f}x" for k, v in ratios.items())
    )
    parts += [
        "",
        "How we measured: the judge's validation",
        text_table(["kind", "judge should", "rate", "target", "met"], validation_rows(metrics)),
        "",
        "Validation of the generation measures (each set against the other half of the test images)",
        text_table(["set", *(c[1] for c in GENERATOR_COLUMNS[:-1])], generative_validation_rows(metrics)),
        "",
        f"Generators (mean over seeds {seeds}; each seed's value in brackets)",
        text_table(["source", *(c[1] for c in GENERATOR_COLUMNS)], generator_rows(metrics)),
    ]
    if "phases" in metrics:
        parts += ["", "Where the time went (wall seconds)", phase_table(metrics)]
    return "\n".join(parts)


def phase_table(metrics: dict[str, Any]) -> str:
    """The phases of an experiment's wall time (metrics.json's ``phases``) as a text table."""
    return text_table(["phase", "seconds", "share"], phase_rows(metrics["phases"], metrics["wall_seconds"]))
