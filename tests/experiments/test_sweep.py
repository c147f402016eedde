"""``jaxvae sweep``: VAEs over a beta grid as one ensemble, measured and reported."""

import json
import re
import shutil

import pytest

from jaxvae.commands.cli import main
from jaxvae.experiments.sweep import smallest_beta
from jaxvae.study.records import BetaRun, Measures
from jaxvae.study.verdicts import fills_space, prior_generates

ARGS = ["sweep", "--quick", "--dataset", "mnist_5k", "--beta", "0", "1", "--seeds", "2", "--no-progress"]


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory):
    out, cache = tmp_path_factory.mktemp("sweep"), tmp_path_factory.mktemp("sweep_cache")
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("JAXVAE_CACHE_DIR", str(cache))
        assert main([*ARGS, "--out", str(out)]) == 0
    return out


def test_sweep_trains_every_beta_and_seed_and_measures_each(sweep_dir):
    metrics = json.loads((sweep_dir / "metrics.json").read_text())
    runs = metrics["runs"]
    assert [(r["beta"], r["seed"]) for r in runs] == [(0.0, 0), (0.0, 1), (1.0, 0), (1.0, 1)]
    for run in runs:
        assert 0 <= run["posterior_empty_fraction"] <= 1 and 0 <= run["samplers"]["N(0, I)"]["accepted"] <= 1
        assert run["test_total"] == pytest.approx(run["test_reconstruction"] + run["test_kl"], rel=1e-5)
        measures = Measures.from_json(run)
        assert BetaRun.from_json(run).to_json() == run  # the typed record reads back the whole row
        assert run["fills_space"] == fills_space(measures)
        assert run["prior_generates"] == prior_generates(measures)
        assert run["training"]["epochs"] == 2
    # without a KL term in training, nothing holds the posteriors near N(0, I)
    for seed in (0, 1):
        kl = {r["beta"]: r["test_kl"] for r in runs if r["seed"] == seed}
        assert kl[0.0] > kl[1.0]
    assert metrics["smallest_filling_beta"] == smallest_beta(list(map(BetaRun.from_json, runs)), fills_space)
    kinds = [row["kind"] for row in metrics["validation"]]
    assert kinds[1:3] == [
        "VAE (beta 0) reconstructions of test images",
        "VAE (beta 1) reconstructions of test images",
    ]
    assert [len(row["rate"]) for row in metrics["validation"][1:3]] == [2, 2]
    assert {"judge", "training: VAEs", "measures", "figures", "page"} <= set(metrics["phases"])
    assert "judge helpers" not in metrics["phases"] and metrics["judge"]["source"]["kind"] == "shipped"
    # every run is an ordinary run directory of the ensemble
    assert len(list((sweep_dir / "runs" / "runs").glob("seed*_beta*/config.json"))) == 4


def test_sweep_page_shows_the_answer_and_every_figure(sweep_dir):
    page = (sweep_dir / "index.html").read_text()
    referenced = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert {"sweep_curves.png", "sweep_maps.png", "sweep_film.gif", "metrics.json"} <= set(referenced)
    for name in referenced:
        assert "://" not in name and (sweep_dir / name).is_file(), name
    assert "By these rules," in page and "beta 0" in page and "beta 1" in page
    assert page.index("The measure, validated first") < page.index("The answer")


def test_sweep_films_each_betas_first_run(sweep_dir):
    from PIL import Image

    from jaxvae.runs.film import read_film

    film = read_film(sweep_dir / "runs")
    assert film is not None and list(film.runs) == [0, 2]  # seed 0 at beta 0 and at beta 1
    assert list(film.epochs) == [1, 2]
    with Image.open(sweep_dir / "sweep_film.gif") as gif:
        assert gif.n_frames == 2


@pytest.mark.slow
def test_rerunning_a_sweep_resumes_instead_of_training_again(sweep_dir, tmp_path):
    out = tmp_path / "sweep"
    shutil.copytree(sweep_dir, out)
    before = (out / "runs" / "metrics.json").read_text()
    assert main([*ARGS, "--out", str(out)]) == 0
    assert (out / "runs" / "metrics.json").read_text() == before


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--beta", "-1"], "beta must be a non-negative number"),
        (["--beta", "1", "1"], "same seed and beta"),
        (["--seeds", "0"], "seeds must be a positive integer"),
    ],
)
def test_bad_sweeps_are_one_line_errors(tmp_path, capsys, flags, message):
    assert main(["sweep", "--dataset", "mnist_5k", *flags, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "metrics.json").exists()


def test_an_unfit_measure_greys_the_answer(sweep_dir):
    from jaxvae.report.sweep_page import RULES, sweep_html, sweep_tables

    metrics = json.loads((sweep_dir / "metrics.json").read_text())
    for fit in (True, False):
        metrics["judge"]["fit"] = fit
        page, text = sweep_html(metrics), sweep_tables(metrics)
        assert page.count("(measure not fit)") == text.count("(measure not fit)") == (0 if fit else 1)
        assert ('<p class="answer not-fit">' in page) != fit
        assert page.count('<tr class="not-fit">') == (0 if fit else len(RULES))


def test_smallest_beta_needs_every_run_of_a_beta():
    def run(beta: float, passes: bool) -> BetaRun:
        return BetaRun(0, beta, passes)  # type: ignore[arg-type]  # the rule reads nothing else

    runs = [run(0.3, True), run(0.1, True), run(0.1, False), run(1.0, True)]
    assert smallest_beta(runs, bool) == 0.3
    assert smallest_beta([run(1.0, False)], bool) is None
