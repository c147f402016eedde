"""How many seeds a verdict needs before it stops flipping between sets of seeds.

A verdict over n training runs is a grade only when all n runs have it, else "undecided"
(``jaxvae.study.verdicts``, ``jaxvae.study.why``). Given a pool of N runs with each run's grade, the
share of the C(N, n) ways to pick n of them whose verdict is grade g is C(k_g, n) / C(N, n), where
k_g runs have g. That share is the U-statistic of "n runs all have g": an unbiased estimate of the
chance that n fresh seeds give verdict g, whatever the grades' distribution over seeds. The rest of
the picks are "undecided".

A claim's verdict is *stable* at n seeds when one outcome takes at least ``STABLE`` of the picks.
The seed count is the smallest n from which on every claim is stable at every count up to half the
pool (so that two disjoint picks exist): from there on, no verdict flips between sets of seeds.
Both rules are fixed here, before the pool's grades were read.

Under the all-runs rule a claim whose runs disagree becomes *more* often undecided as n grows, and
a claim whose runs all agree is stable at every n: more seeds never turn a split into a grade, they
make the split visible every time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from fractions import Fraction
from math import comb
from typing import Any

STABLE = Fraction(9, 10)  # share of n-seed picks that must give one verdict
UNDECIDED = "undecided"


def verdict_shares(grades: Sequence[str], n: int) -> dict[str, Fraction]:
    """Each verdict's share of the ways to pick ``n`` of the runs (each run's grade in ``grades``),
    exactly: a grade's share is that of the picks whose runs all have it; ``UNDECIDED`` takes the
    rest. Outcomes with no pick are left out."""
    if not 1 <= n <= len(grades):
        raise ValueError(f"cannot pick {n} of {len(grades)} runs")
    picks = comb(len(grades), n)
    shares = {g: Fraction(comb(k, n), picks) for g, k in Counter(grades).items() if k >= n}
    rest = 1 - sum(shares.values(), Fraction(0))
    if rest:
        shares[UNDECIDED] = rest
    return shares


def most_common(grades: Sequence[str], n: int) -> tuple[str, Fraction]:
    """The verdict that most ``n``-run picks give, and its share of the picks (exact: a share equal
    to ``STABLE`` counts as stable, whatever floats would round it to)."""
    shares = verdict_shares(grades, n)
    verdict = max(shares, key=lambda g: shares[g])
    return verdict, shares[verdict]


def seed_count(claims: Mapping[str, Sequence[str]], stable: Fraction = STABLE) -> int | None:
    """The smallest n from which on, up to half the pool, every claim's most common n-run verdict
    takes at least ``stable`` of the picks: past it no verdict flips; None when even half the pool
    leaves one unstable."""
    sizes = {len(grades) for grades in claims.values()}
    if len(sizes) != 1:
        raise ValueError(f"every claim needs the same runs; got pools of {sorted(sizes)}")
    chosen = None
    for n in range(sizes.pop() // 2, 0, -1):
        if not all(most_common(grades, n)[1] >= stable for grades in claims.values()):
            break
        chosen = n
    return chosen


def stability_table(claims: Mapping[str, Sequence[str]]) -> list[dict[str, Any]]:
    """Per claim, its grades' counts over the pool and, for each n up to half the pool, the most
    common n-run verdict and its share."""
    rows = []
    for claim, grades in claims.items():
        by_n = {n: most_common(grades, n) for n in range(1, len(grades) // 2 + 1)}
        rows.append({"claim": claim, "counts": dict(Counter(grades)), "by_n": by_n})
    return rows


def passes_as_grades(passes: Sequence[bool]) -> list[str]:
    """The ablation's per-run answers (``jaxvae.study.why``) as grades."""
    return ["holds" if p else "does not hold" for p in passes]
