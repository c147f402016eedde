"""The demo's report page and terminal summary, in the story's order (``jaxvae.report.story``).

The page's templates and style are package data (``jaxvae/report/templates``); this module only
fills them from metrics.json's content, so the report says exactly what the numbers say.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from string import Template
from typing import Any

from jaxvae.data import noun
from jaxvae.report.explorer import explorer_section, read_template
from jaxvae.report.story import STEPS, WHY, Step
from jaxvae.report.tables import (
    GENERATOR_COLUMNS,
    VALIDATION_HEADER,
    generative_validation_rows,
    generator_rows,
    graded,
    html_table,
    judge_line,
    map_rows,
    model_means,
    model_runs,
    phase_table,
    text_table,
    validation_rows,
)
from jaxvae.spec import ModelSpec
from jaxvae.study.records import Measures, Verdict
from jaxvae.study.shipped import describe_source
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


def badge(verdict: Verdict, fit: bool) -> str:
    """A claim's verdict as a badge; greyed and marked when the measure was not fit for use."""
    shown, css = graded(verdict.verdict, fit)
    return f'<p><span class="badge {css}">{html.escape(f"claim: {verdict.claim}: {shown}")}</span></p>'


def _figure(metrics: dict[str, Any], key: str) -> str:
    name = html.escape(metrics["figures"][key])
    return f'<img src="{name}" alt="{html.escape(key.replace("_", " "))}">'


def step_details(metrics: dict[str, Any], step: Step, verdicts: Sequence[Verdict]) -> str:
    """The numbers under a step: its verdicts' sentences, its map measures, its generator rows."""
    parts = [f"<p>{html.escape(verdict.numbers)}</p>" for verdict in verdicts]
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
    return bool(step.beside) and step.beside in model_runs(metrics, "ae")[0].other_samplers


def beside_sentence(metrics: dict[str, Any], sampler: str) -> str:
    """What the autoencoder's ``sampler`` (one of its ``other_samplers``, such as the mixture fitted
    to its codes) gives, by the rule of claim (iv) run by run: stated beside that verdict, which stays
    about arbitrary points."""
    passes = [
        generates(run.other_samplers[sampler], run.reconstructions) for run in model_runs(metrics, "ae")
    ]
    means = model_means(metrics, "ae")
    mean, recon = means.other_samplers[sampler], means.reconstructions
    return (
        f"Beside the claim, which is about arbitrary points: the autoencoder's decodes of a {sampler} "
        f"after training are accepted {pct(mean.accepted)} of the time (its reconstructions: "
        f"{pct(recon.accepted)}), with coverage {mean.coverage:.3f} (reconstructions: "
        f"{recon.coverage:.3f}); by the rule that decides 'generates', they generate in "
        f"{sum(passes)} of {len(passes)} runs."
    )


def render_step(metrics: dict[str, Any], number: int, step: Step, details: str | None = None) -> str:
    """One section of the story: figures, the sentence, the verdict's badge, the numbers folded
    (``details``, else ``step_details``)."""
    fit = metrics["judge"]["fit"]
    verdicts = [verdicts_of(metrics)[i] for i in step.claims]
    details = details if details is not None else step_details(metrics, step, verdicts)
    shows = step.shows
    if step.film and "film" in metrics["figures"]:
        shows += " " + step.film.format(film_images=metrics["film_images"])
    section = Template(read_template("step.html")).substitute(
        number=number,
        title=html.escape(step.title),
        figures="".join(_figure(metrics, key) for key in step.figures if key in metrics["figures"]),
        shows=html.escape(shows),
        badge="".join(badge(verdict, fit) for verdict in verdicts),
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


FILL_SETS = {  # the why step's sets of codes: (model, whether one draw per posterior)
    "Autoencoder: codes": ("ae", False),
    "VAE: posterior means": ("vae", False),
    "VAE: one draw per posterior": ("vae", True),
}


def fill_ratios(measures: Sequence[Mapping[str, Measures]]) -> dict[str, list[float]]:
    """How empty each set of codes of the why step leaves its box over a Gaussian cloud of the same
    spread, for each of ``measures`` (each ``{"ae": ..., "vae": ...}``: a run's measures, or the
    means over the runs, which give the verdicts' ratios)."""
    return {
        label: [empty_ratio(m[kind], posterior) for m in measures]
        for label, (kind, posterior) in FILL_SETS.items()
    }


def ratio_cells(metrics: dict[str, Any]) -> dict[str, tuple[float, list[float]]]:
    """Each set's ratio from the means over the runs (as the verdicts compute it) and each run's."""
    kinds = ("ae", "vae")
    mean = fill_ratios([{k: model_means(metrics, k) for k in kinds}])
    each = fill_ratios([{k: Measures.from_json(run["models"][k]) for k in kinds} for run in metrics["runs"]])
    return {label: (mean[label][0], each[label]) for label in FILL_SETS}


def verdicts_of(metrics: dict[str, Any]) -> list[Verdict]:
    """The demo's verdicts, one per claim."""
    return [Verdict.from_json(v) for v in metrics["verdicts"]]


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
    verdicts = verdicts_of(metrics)
    verdict_table = html_table(
        ["claim", "verdict", "the numbers"],
        [(v.claim, graded(v.verdict, fit)[0], v.numbers) for v in verdicts],
        [graded(v.verdict, fit)[1] for v in verdicts],
        text_columns=3,
    )
    validation_figure = _figure(metrics, "judge_examples") if "judge_examples" in metrics["figures"] else ""
    how = Template(read_template("how.html")).substitute(
        noun=noun(metrics["dataset"]),
        threshold=f"{metrics['judge']['threshold']:.2f}",
        judge_source=esc(describe_source(metrics["judge"].get("source"))),
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
        generative_validation=html_table(VALIDATION_HEADER, generative_validation_rows(metrics)),
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
        network=esc(ModelSpec.of_study(metrics["config"]).network()),
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
        f"Networks: {ModelSpec.of_study(metrics['config']).network()}",
        f"The measure (a judge, {judge_line(metrics)}): "
        + ("fit for use, every target met" if fit else "NOT fit: some targets missed; every verdict is void"),
        f"The story (means over seeds {seeds}):",
    ]
    verdicts = verdicts_of(metrics)
    for number, step in enumerate(STEPS, start=1):
        line = f"{number}. {step.title}"
        for v in (verdicts[i] for i in step.claims):
            line += f"\n   {v.claim}: {graded(v.verdict, fit)[0]}\n   {v.numbers}"
        if step.claims:
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
        text_table(VALIDATION_HEADER, generative_validation_rows(metrics)),
        "",
        f"Generators (mean over seeds {seeds}; each seed's value in brackets)",
        text_table(["source", *(c[1] for c in GENERATOR_COLUMNS)], generator_rows(metrics)),
    ]
    if "phases" in metrics:
        parts += ["", "Where the time went (wall seconds)", phase_table(metrics)]
    return "\n".join(parts)
