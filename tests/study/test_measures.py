"""The judge's threshold rule, the latent-map geometry and the verdict rules, on hand-made inputs."""

from dataclasses import replace

import numpy as np
import pytest

from jaxvae.study.holes import (
    acceptance_by_distance,
    code_map,
    distance_in_spacings,
    far_share,
    largest_empty_regions,
)
from jaxvae.study.judge import choose_threshold, fit_for_use, rates
from jaxvae.study.measures import cell_centres, empty_fraction, occupancy
from jaxvae.study.records import Measures, Scores
from jaxvae.study.samplers import sample_latents
from jaxvae.study.verdicts import CLAIMS, generates, verdicts


def test_threshold_maximises_the_worst_rate():
    scores = {
        "real": np.array([0.9, 0.8, 0.7, 0.6]),
        "junk": np.array([0.1, 0.2, 0.3, 0.55]),
    }
    positive = {"real"}
    assert rates(scores, 0.5, positive) == {"real": 1.0, "junk": 0.75}
    # (0.55, 0.6] accepts every digit and rejects all junk; ties go to the lowest such threshold
    assert choose_threshold(scores, positive) == 0.56
    # no threshold separates these: the best worst rate is 3 of 4, first reached at 0.31
    overlapping = {"real": scores["real"], "junk": np.array([0.1, 0.2, 0.3, 0.65])}
    assert choose_threshold(overlapping, positive) == 0.31
    assert fit_for_use([{"met": True}, {"met": True}]) and not fit_for_use([{"met": True}, {"met": False}])


def test_spacing_far_threshold_and_empty_regions():
    rng = np.random.default_rng(0)
    # two dense clusters with an empty band between them
    left = rng.uniform([0, 0], [1, 1], size=(4000, 2))
    right = rng.uniform([3, 0], [4, 1], size=(4000, 2))
    train = np.concatenate([left, right])
    test = np.concatenate([rng.uniform([0, 0], [1, 1], (500, 2)), rng.uniform([3, 0], [4, 1], (500, 2))])
    codes = code_map(train, test)
    # the median nearest-neighbour distance of a uniform cloud of density 4000: sqrt(ln 2 / (pi 4000))
    assert codes.spacing == pytest.approx(np.sqrt(np.log(2) / (np.pi * 4000)), rel=0.05)
    assert 1 < codes.far < 5
    gap = np.array([[2.0, 0.5]])
    assert distance_in_spacings(codes, gap)[0] == pytest.approx(1.0 / codes.spacing, rel=0.02)
    assert far_share(codes, test) == pytest.approx(0.01, abs=0.011)
    assert far_share(codes, np.repeat(gap, 10, axis=0)) == 1.0
    regions = largest_empty_regions(codes, ((0.0, 4.0), (0.0, 1.0)), count=3)
    assert regions[0]["x"] == pytest.approx(2.0, abs=0.05) and regions[0]["radius"] == pytest.approx(
        1.0, abs=0.05
    )
    assert [r["radius"] for r in regions] == sorted((r["radius"] for r in regions), reverse=True)
    for a, b in ((0, 1), (0, 2), (1, 2)):  # the discs are disjoint
        ra, rb = regions[a], regions[b]
        assert np.hypot(ra["x"] - rb["x"], ra["y"] - rb["y"]) >= ra["radius"] + rb["radius"] - 0.03


def test_acceptance_by_distance_bins():
    curve = acceptance_by_distance(
        np.array([0.1, 0.2, 3.0, 3.0, 50.0]),
        np.array([1, 1, 1, 0, 0]),
        np.array([0, 1, 10, 100]),
        realistic=np.array([1, 0, 0, 0, 1]),
    )
    assert curve["accepted"] == [1.0, 0.5, 0.0] and curve["count"] == [2, 2, 1]
    assert curve["realistic"] == [0.5, 0.0, 1.0]
    assert acceptance_by_distance(np.array([0.5]), np.array([1]), np.array([0, 1, 2]))["accepted"] == [
        1.0,
        None,
    ]


def test_cell_helpers_and_samplers():
    z = np.array([[0.1, 0.1], [0.9, 0.9]])
    assert empty_fraction(z, ((0, 1), (0, 1)), cells=2) == 0.5
    counts = occupancy(z, ((0.0, 1.0), (0.0, 1.0)), 2)
    centres = cell_centres(((0.0, 1.0), (0.0, 1.0)), 2)
    # row 0 is the top: the cell holding (0.9, 0.9) is top right
    assert counts.tolist() == [[0, 1], [1, 0]] and centres[0, 1].tolist() == [0.75, 0.75]
    import jax

    codes = np.random.default_rng(0).normal([5.0, -3.0], [2.0, 0.5], size=(20_000, 2))
    key = jax.random.key(0)
    box = sample_latents("uniform over the code box", codes, 5000, key=key)
    lo, hi = np.percentile(codes, [0.5, 99.5], axis=0)
    assert (box >= lo).all() and (box <= hi).all()
    fitted = sample_latents("Gaussian fitted to the codes", codes, 20_000, key=key)
    np.testing.assert_allclose(fitted.mean(0), [5.0, -3.0], atol=0.05)
    np.testing.assert_allclose(fitted.std(0), [2.0, 0.5], rtol=0.03)
    prior = sample_latents("N(0, I)", codes, 20_000, key=key)
    np.testing.assert_allclose(prior.std(0), [1.0, 1.0], rtol=0.03)


def _generator(accepted, coverage, missing=(), far=0.0):
    return Scores(
        accepted=accepted,
        precision=0.5,
        recall=0.0,
        density=1.0,
        coverage=coverage,
        frechet=10.0,
        class_entropy_bits=3.0,
        missing_classes=list(missing),
        far=far,
    )


def _measures(**numbers):
    """Measures with the numbers the verdicts read, the rest set to values no rule reads."""
    unread = {"num_samples": 100, "spacing": 0.1, "far_spacings": 3.0, "by_distance": {}}
    return Measures(**{"between_empty_fraction": 0.0, "between_empty_accepted": None} | unread | numbers)


def _far(reconstructions: float, *rings: float) -> dict[str, dict[str, float]]:
    """A far field: the reconstructions' accepted-and-realistic share, then the rings' at 1x, 2x,
    4x and 8x the box (the accepted and realistic shares, which no rule reads, set to the same)."""
    shares = [reconstructions, *rings]
    keys = ("reconstructions", "1x", "2x", "4x", "8x")
    return {k: {"accepted": v, "realistic": v, "both": v} for k, v in zip(keys, shares, strict=True)}


def _means():
    """A hand-made pair of models for which every claim of the project brief holds."""
    reference = _generator(0.95, 0.5)
    ae = _measures(
        knn_label_accuracy=0.9,
        between_empty_fraction=0.2,
        empty_fraction=0.4,
        posterior_empty_fraction=0.4,
        gaussian_empty_fraction=0.1,
        empty_accepted=0.3,
        between_empty_accepted=0.2,
        occupied_accepted=0.9,
        grid_accepted=0.6,
        reconstructions=reference,
        far_field=_far(0.8, 0.7, 0.3, 0.2, 0.1),  # outside: 0.2 of 0.8, 75% short
        samplers={
            "N(0, I)": _generator(0.5, 0.1, [1]),
            "uniform over the code box": _generator(0.6, 0.3),
            "Gaussian fitted to the codes": _generator(0.9, 0.2),
        },
    )
    vae = _measures(
        knn_label_accuracy=0.7,
        empty_fraction=0.3,  # its posterior means leave gaps, its posterior draws do not
        posterior_empty_fraction=0.11,
        gaussian_empty_fraction=0.1,
        empty_accepted=0.9,
        occupied_accepted=0.95,
        grid_accepted=0.94,
        reconstructions=reference,
        far_field=_far(0.6, 0.6, 0.3, 0.3, 0.0),  # outside: 0.2 of 0.6, 67% short
        samplers={"N(0, I)": _generator(0.93, 0.48, far=0.01)},
    )
    return {"ae": ae, "vae": vae}


def test_verdicts_when_every_claim_holds():
    rows = verdicts(_means())
    assert [r.claim for r in rows] == list(CLAIMS)
    assert [r.verdict for r in rows] == ["holds"] * 8
    assert "90.0%" in rows[0].numbers and "4.00x" in rows[1].numbers
    assert "20.0% of its decodes are both accepted" in rows[6].numbers and "75.0% short" in rows[6].numbers


def test_verdicts_follow_the_numbers():
    ae, vae = _means().values()
    every_sampler_generates = {name: _generator(0.95, 0.5) for name in ae.samplers}  # as reconstruction
    ae = replace(
        ae,
        knn_label_accuracy=0.6,
        empty_fraction=0.1,  # no emptier than an unstructured cloud
        between_empty_accepted=0.95,  # its empty cells between clusters decode to digits
        samplers=every_sampler_generates,
        far_field=_far(0.8, 0.8, 0.9, 0.8, 0.7),  # outside as good as its reconstructions
    )
    vae = replace(
        vae,
        samplers={"N(0, I)": _generator(0.93, 0.48, far=0.2)},
        posterior_empty_fraction=0.3,
        grid_accepted=0.5,
        far_field=_far(0.6, 0.6, 0.5, 0.4, 0.3),  # 0.4 of 0.6 outside: a third short
    )
    means = {"ae": ae, "vae": vae}
    rows = {r.claim: r.verdict for r in verdicts(means)}
    assert list(rows.values()) == [
        "partly",
        "does not hold",
        "does not hold",
        "does not hold",
        "does not hold",
        "partly",
        "does not hold",
        "partly",
    ]
    one_fails = ae.samplers | {"N(0, I)": _generator(0.95, 0.5, [1])}  # one sampler of three fails
    partial = {"ae": replace(ae, samplers=one_fails), "vae": vae}
    assert verdicts(partial)[3].verdict == "partly"
    narrow = {"N(0, I)": _generator(0.93, 0.1, far=0.2)}  # neither prior samples nor the grid pass
    partial["vae"] = replace(vae, samplers=narrow)
    assert verdicts(partial)[5].verdict == "does not hold"
    assert generates(_generator(0.9, 0.5), _generator(0.95, 0.5))
    assert not generates(_generator(0.9, 0.5, [3]), _generator(0.95, 0.5))
    assert not generates(_generator(0.8, 0.5), _generator(0.95, 0.5))


def test_a_verdict_is_a_grade_only_when_every_run_has_it():
    good = _means()
    bad = good | {"ae": replace(good["ae"], knn_label_accuracy=0.3)}  # a third right: does not hold
    rows = verdicts(good, [good, bad])
    assert rows[0].runs == ["holds", "does not hold"]
    assert rows[0].verdict == "undecided (2 runs: holds, does not hold)"
    assert [r.verdict for r in verdicts(good, [good, good])] == [r.verdict for r in verdicts(good)]
