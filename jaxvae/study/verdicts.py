"""One verdict per claim of the project brief, decided by fixed rules from the measured numbers.

Each verdict is ``"holds"``, ``"partly"`` or ``"does not hold"`` when every training run gets that
grade, and ``"undecided (n runs: ...)"`` when they differ. The rules and their constants are
fixed here, before any comparison, and are the same for every dataset and model; they compare a
model's numbers with yardsticks that the same run measures (its own reconstructions of real test
images, an unstructured Gaussian cloud of its codes' spread), not with the other model.

The inputs are the means over the training runs of each model's measures (``jaxvae.study.records``),
as ``{"ae": Measures, "vae": Measures}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from jaxvae.study.records import Measures, Scores, Verdict
from jaxvae.study.samplers import PRIOR

CLUSTER = {"holds": 0.8, "partly": 0.5}  # 5-NN label accuracy of the codes (chance: 0.1 for ten classes)
EMPTY_RATIO = {"holds": 2.0, "partly": 1.25}  # empty share over that of a Gaussian cloud
NONSENSE = {"holds": 0.5, "partly": 0.2}  # share of empty-region decodes the judge rejects
# a sampler "generates" when its decodes are accepted at least this share as often as the model's
# reconstructions of real digits, its coverage is at least this share of theirs, and no class is
# missing (coverage, not recall: recall is near 0 for any 2-D decoder, see jaxvae.study.generative)
GENERATES = 0.9
FILLED_FAR = 0.05  # at most this share of prior draws may land where no training code is near
# claims (vii) and (viii): a decoder extrapolates poorly when its decodes on the rings outside its
# code box (jaxvae.study.far_field) are accepted and realistic much less often than its own
# reconstructions of real digits: by this shortfall, 1 - (their share) / (the reconstructions')
OUTSIDE = ("2x", "4x", "8x")
POORLY = {"holds": 0.5, "partly": 0.2}

CLAIMS = (
    "the AE's codes cluster by class without labels",
    "its map has large empty regions between clusters",
    "decoding points from those regions gives nonsense",
    "the AE cannot generate new images by sampling arbitrary points",
    "the VAE's distributions overlap and fill those regions",
    "any point, or any prior sample, of the VAE decodes to a meaningful image",
    "the AE's decoder extrapolates poorly outside the region of its codes",
    "the VAE's decoder extrapolates poorly outside the region of its codes",
)


def _grade(value: float, cut: dict[str, float]) -> str:
    if value >= cut["holds"]:
        return "holds"
    return "partly" if value >= cut["partly"] else "does not hold"


def generates(sampler: Scores, reference: Scores) -> bool:
    """Whether a sampler's decodes are as good as the model's reconstructions (within ``GENERATES``)
    and cover every class."""
    return (
        sampler.accepted >= GENERATES * reference.accepted
        and sampler.coverage >= GENERATES * reference.coverage
        and not sampler.missing_classes
    )


def empty_ratio(measures: Measures, posterior: bool = False) -> float:
    """A model's empty share of its code box (of one draw per posterior when ``posterior``, else of
    the codes or posterior means) over that of a Gaussian cloud of its spread."""
    empty = measures.posterior_empty_fraction if posterior else measures.empty_fraction
    return empty / max(measures.gaussian_empty_fraction, 1e-9)


def prior_far(measures: Measures) -> float:
    """The share of N(0, I) draws that land far from every training code."""
    far = measures.samplers[PRIOR].far
    if far is None:
        raise ValueError("the N(0, I) scores lack the share of draws far from every code")
    return far


def fills_space(vae: Measures) -> bool:
    """Claim (v)'s rule: one draw from each posterior leaves the code box no emptier than
    ``EMPTY_RATIO["partly"]`` times a Gaussian cloud does, and at most ``FILLED_FAR`` of the prior's
    draws land far from every training code."""
    return empty_ratio(vae, posterior=True) < EMPTY_RATIO["partly"] and prior_far(vae) <= FILLED_FAR


def outside_share(measures: Measures) -> float:
    """The share of a model's decodes on the rings outside its code box (``OUTSIDE``, pooled) that
    the judge accepts and that are realistic."""
    if not measures.far_field:
        raise ValueError("these measures lack the decodes far outside the codes (far_field)")
    return sum(measures.far_field[ring]["both"] for ring in OUTSIDE) / len(OUTSIDE)


def shortfall(measures: Measures) -> float:
    """Claims (vii) and (viii)'s number: how far the decodes outside the code box fall short of the
    model's reconstructions, ``1 - outside_share / (the reconstructions' both share)``; 0 when they
    do as well, 1 when none is accepted and realistic, negative when they do better."""
    reference = measures.far_field["reconstructions"]["both"] if measures.far_field else 0.0
    return 1.0 - outside_share(measures) / max(reference, 1e-9)


def prior_generates(vae: Measures) -> bool:
    """Claim (vi)'s sampler rule: the VAE's N(0, I) draws decode like its reconstructions."""
    return generates(vae.samplers[PRIOR], vae.reconstructions)


def count(n: int, one: str, many: str | None = None) -> str:
    """``n`` and the noun, singular for 1 (``many`` defaults to ``one`` + "s")."""
    return f"{n} {one if n == 1 else (many or one + 's')}"


def pct(x: float | None) -> str:
    """A share as a percentage with one decimal, or "n/a"."""
    return "n/a" if x is None else f"{100 * x:.1f}%"


def verdicts(
    means: Mapping[str, Measures], runs: Sequence[Mapping[str, Measures]] = (), *, classes: int = 10
) -> list[Verdict]:
    """The rows, one per claim: claim, verdict, the numbers (of ``means``) it was decided from and, given the
    ``runs`` (each run's ``{"ae": ..., "vae": ...}``), each run's own grade.

    With runs, a verdict is a grade only when every run has it; otherwise it is "undecided (n runs:
    their grades)": the spread over seeds is wider than the rule's margin, and the means alone would
    hide that. With no runs, it is the grade of the means. ``classes``: how many the data set has (the
    chance level of the label accuracy)."""
    rows = _rows(means, classes)
    if not runs:
        return rows
    graded = [[row.verdict for row in _rows(run, classes)] for run in runs]
    decided = []
    for i, row in enumerate(rows):
        grades = [run[i] for run in graded]
        verdict = (
            grades[0] if len(set(grades)) == 1 else f"undecided ({len(grades)} runs: {', '.join(grades)})"
        )
        decided.append(Verdict(claim=row.claim, verdict=verdict, numbers=row.numbers, runs=grades))
    return decided


def _rows(means: Mapping[str, Measures], classes: int) -> list[Verdict]:
    """The rows decided from one set of measures (the means over runs, or one run's)."""
    ae, vae = means["ae"], means["vae"]
    rows = []

    rows.append(
        (
            _grade(ae.knn_label_accuracy, CLUSTER),
            f"5-NN label accuracy of the AE's test codes {pct(ae.knn_label_accuracy)} "
            f"(chance {100 / classes:.3g}%; holds at >= {pct(CLUSTER['holds'])})",
        )
    )

    ratio = empty_ratio(ae)
    rows.append(
        (
            _grade(ratio, EMPTY_RATIO),
            f"{pct(ae.empty_fraction)} of the AE's code box is empty, against "
            f"{pct(ae.gaussian_empty_fraction)} for a Gaussian cloud of the same spread "
            f"({ratio:.2f}x; holds at >= {EMPTY_RATIO['holds']}x); {pct(ae.between_empty_fraction)} of "
            "the cells between its clusters are empty",
        )
    )

    if ae.between_empty_accepted is None or ae.empty_accepted is None:
        rows.append(("does not hold", "no empty cell of the AE's code box lies between its clusters"))
    else:
        rejected = 1.0 - ae.between_empty_accepted
        rows.append(
            (
                _grade(rejected, NONSENSE),
                f"the judge rejects {pct(rejected)} of the AE's decodes at the empty cells between its "
                f"clusters ({pct(1.0 - ae.empty_accepted)} at all its empty cells, "
                f"{pct(1.0 - ae.occupied_accepted)} at occupied cells; "
                f"holds at >= {pct(NONSENSE['holds'])})",
            )
        )

    works = {name: generates(s, ae.reconstructions) for name, s in ae.samplers.items()}
    generating = sum(works.values())
    detail = "; ".join(
        f"{name}: accepted {pct(s.accepted)}, coverage {s.coverage:.3f}, "
        f"{count(len(s.missing_classes), 'class', 'classes')} missing"
        + (" (generates)" if works[name] else "")
        for name, s in ae.samplers.items()
    )
    grade = "holds" if generating == 0 else ("does not hold" if generating == len(works) else "partly")
    rows.append(
        (
            grade,
            f"{generating} of {len(works)} samplers {'generates' if generating == 1 else 'generate'} "
            "like the AE's reconstructions "
            f"(accepted {pct(ae.reconstructions.accepted)}, coverage "
            f"{ae.reconstructions.coverage:.3f}): {detail}",
        )
    )

    # the claim is about the VAE's distributions, not their means: one draw from each posterior
    vae_ratio = empty_ratio(vae, posterior=True)
    far = prior_far(vae)
    filled = fills_space(vae)
    fills_more = vae_ratio < ratio
    rows.append(
        (
            "holds" if filled else ("partly" if fills_more or far <= FILLED_FAR else "does not hold"),
            f"with one draw from each posterior, {pct(vae.posterior_empty_fraction)} of the VAE's "
            f"code box is empty, {vae_ratio:.2f}x a Gaussian cloud's (AE {ratio:.2f}x; holds below "
            f"{EMPTY_RATIO['partly']}x); {pct(far)} of N(0, I) draws land far from every "
            f"training code (holds at <= {pct(FILLED_FAR)})",
        )
    )

    reference, prior = vae.reconstructions, vae.samplers[PRIOR]
    prior_ok = prior_generates(vae)
    grid_ok = vae.grid_accepted >= GENERATES * reference.accepted
    rows.append(
        (
            "holds" if prior_ok and grid_ok else ("partly" if prior_ok or grid_ok else "does not hold"),
            f"N(0, I) samples accepted {pct(prior.accepted)} (coverage {prior.coverage:.3f}), a grid "
            f"over its code box {pct(vae.grid_accepted)}, against {pct(reference.accepted)} of its "
            f"reconstructions (coverage {reference.coverage:.3f})",
        )
    )
    rows += [_extrapolates(name, m) for name, m in (("AE", ae), ("VAE", vae))]
    return [Verdict(claim=c, verdict=v, numbers=n) for c, (v, n) in zip(CLAIMS, rows, strict=True)]


def _extrapolates(name: str, measures: Measures) -> tuple[str, str]:
    """Claim (vii) (the AE) or (viii) (the VAE): the grade of its ``shortfall`` and its numbers."""
    field, short = measures.far_field, shortfall(measures)
    recon = field["reconstructions"]
    rings = ", ".join(f"{r} {pct(field[r]['both'])}" for r in ("1x", *OUTSIDE))
    return (
        _grade(short, POORLY),
        f"on rings outside the {name}'s code box (at {', '.join(OUTSIDE)} its size) "
        f"{pct(outside_share(measures))} of its decodes are both accepted by the judge and realistic, "
        f"against {pct(recon['both'])} of its reconstructions (accepted {pct(recon['accepted'])}, "
        f"realistic {pct(recon['realistic'])}): {pct(short)} short (holds at >= {pct(POORLY['holds'])}); "
        f"by ring: {rings}",
    )
