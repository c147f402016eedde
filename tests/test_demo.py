import itertools
import json
import re
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxvae
from jaxvae.classifier import train_classifier
from jaxvae.cli import main
from jaxvae.measures import (
    cell_centres,
    class_entropy_bits,
    empty_fraction,
    in_empty_cell,
    occupancy,
    top_probability,
    validate_judge,
)


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    args = ["demo", "--quick", "--seeds", "2", "--dataset", "mnist_5k", "--out", str(out), "--no-progress"]
    assert main(args) == 0
    return out


def test_quick_demo_writes_a_consistent_report(quick_report):
    page = (quick_report / "index.html").read_text()
    referenced = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert len(referenced) >= 9
    for name in referenced:
        assert "://" not in name and (quick_report / name).is_file(), name
    metrics = json.loads((quick_report / "metrics.json").read_text())
    assert metrics["dataset"] == "mnist_5k" and metrics["seed"] == 0 and metrics["seeds"] == [0, 1]
    assert 0.5 < metrics["classifier_test_accuracy"] <= 1
    assert [run["seed"] for run in metrics["runs"]] == [0, 1]
    for run, kind in itertools.product(metrics["runs"], ("ae", "vae")):
        m = run["models"][kind]
        for group in ("grid_plausible", "prior_plausible"):
            values = [m[group][t] for t in ("0.5", "0.9", "0.99")]
            assert all(0 <= v <= 1 for v in values)
            assert values[0] >= values[1] >= values[2]  # a stricter threshold passes fewer
        assert 0 <= m["empty_fraction"] <= 1
        assert 0 <= m["occupied_plausible"]["0.9"] <= 1 and 0 <= m["prior_in_empty"] <= 1
        assert m["empty_plausible"] is None or 0 <= m["empty_plausible"]["0.9"] <= 1
        assert 0 <= m["prior_class_entropy_bits"] <= np.log2(10) + 1e-9
        assert sum(m["prior_class_counts"]) == m["num_prior_samples"] == 10_000
        assert 0 <= m["reconstruction_plausible"]["0.9"] <= 1
    assert set(metrics["judge"]) == {"real_digits", "two_digit_blends", "uniform_noise", "blank"}
    assert (quick_report / "run_vae_seed1" / "metrics.json").is_file()


def test_rerunning_the_demo_resumes_its_runs_instead_of_training_again(quick_report, tmp_path):
    out = tmp_path / "report"
    shutil.copytree(quick_report, out)
    run_metrics = {p.parent.name: p.read_text() for p in out.glob("run_*/metrics.json")}
    args = ["demo", "--quick", "--seeds", "2", "--dataset", "mnist_5k", "--out", str(out), "--no-progress"]
    assert main(args) == 0
    # nothing retrained: each run's per-epoch record (with its timings) is as the first demo left it
    assert {p.parent.name: p.read_text() for p in out.glob("run_*/metrics.json")} == run_metrics
    first, again = (json.loads((d / "metrics.json").read_text())["runs"] for d in (quick_report, out))
    assert again == first


def test_quick_demo_summary_is_the_mean_over_seeds(quick_report):
    metrics = json.loads((quick_report / "metrics.json").read_text())
    rows = {row["measure"]: row for row in metrics["summary"]}
    prior = rows["prior samples plausible (p >= 0.9)"]
    for kind in ("ae", "vae"):
        each = [run["models"][kind]["prior_plausible"]["0.9"] for run in metrics["runs"]]
        assert prior[kind] == each
        assert prior[f"{kind}_mean"] == pytest.approx(np.mean(each))
    page = (quick_report / "index.html").read_text()
    assert "seeds 0, 1" in page and "in 2 runs" not in page
    assert re.search(r"VAE higher than AE in [012] of 2 runs", page)


def test_summary_cells_and_verdict():
    runs = [
        {"models": {"ae": {"empty_plausible": None}, "vae": {"empty_plausible": {"0.9": 0.5}}}},
        {"models": {"ae": {"empty_plausible": {"0.9": 0.25}}, "vae": {"empty_plausible": {"0.9": 0.75}}}},
    ]
    from jaxvae.demo import MEASURES, _cell, summarize_runs, verdict

    label = "decodes plausible (p >= 0.9): empty cells"
    measures = [m for m in MEASURES if m[0] == label]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("jaxvae.demo.MEASURES", measures)
        (row,) = summarize_runs(runs)
    assert row["ae"] == [None, 0.25] and row["ae_mean"] == 0.25  # a run without empty cells is left out
    assert row["vae_mean"] == 0.5 * (0.5 + 0.75)
    assert _cell(row, "ae") == "25.0% (n/a / 25.0)" and _cell(row, "vae") == "62.5% (50.0 / 75.0)"
    summary = [
        {
            "measure": "prior samples plausible (p >= 0.9)",
            "format": "{:.1%}",
            "ae": [0.4, 0.2, 0.1],
            "vae": [0.3, 0.3, 0.3],
            "ae_mean": 0.7 / 3,
            "vae_mean": 0.3,
        },
        {
            "measure": "empty fraction of bounding box",
            "format": "{:.1%}",
            "ae": [0.2, 0.2, 0.2],
            "vae": [0.1, 0.3, 0.1],
            "ae_mean": 0.2,
            "vae_mean": 0.5 / 3,
        },
    ]
    lines = verdict({"summary": summary, "runs": [{}, {}, {}]})
    assert lines[0].startswith("prior samples plausible (p >= 0.9): VAE higher than AE in 2 of 3 runs")
    assert lines[1].startswith("empty fraction of bounding box: VAE smaller than AE in 2 of 3 runs")


def test_explicit_dataset_never_falls_back(tmp_path, capsys):
    code = main(
        ["demo", "--quick", "--dataset", "mnist", "--data-dir", str(tmp_path), "--out", str(tmp_path / "r")]
    )
    assert code == 2
    assert "mnist/train is not available" in capsys.readouterr().err


def test_default_dataset_falls_back_loudly(tmp_path, monkeypatch):
    from jaxvae import data, demo

    monkeypatch.setattr(data, "_reachable", lambda url, timeout=5.0: False)
    monkeypatch.setattr(data, "_load_tfds_prepared", lambda name, split: None)
    name, train, _, banner = demo.load_demo_data(demo.DemoConfig())
    assert name == "mnist_5k" and len(train.images) == 4500
    assert banner and "bundled subset" in banner and "--data-dir" in banner


def test_plausibility_separates_digits_from_noise_blanks_and_blends():
    train, test = jaxvae.load_bundled("train"), jaxvae.load_bundled("test")
    classifier = train_classifier(train.images, train.labels, key=jax.random.key(0), epochs=8, progress=False)
    scores = validate_judge(classifier, test.images, test.labels, key=jax.random.key(1))
    assert scores["real_digits"]["0.9"] > 0.6
    assert scores["uniform_noise"]["0.9"] < 0.05 and scores["blank"]["0.5"] == 0
    assert scores["two_digit_blends"]["0.9"] < 0.25
    real, _ = top_probability(classifier, jnp.asarray(test.images))
    noise, _ = top_probability(classifier, jax.random.uniform(jax.random.key(2), (500, 28, 28)))
    assert np.mean(real) > np.mean(noise) + 0.5


def test_measure_helpers():
    assert class_entropy_bits(np.arange(1000) % 10) == pytest.approx(np.log2(10))
    assert class_entropy_bits(np.zeros(50, int)) == 0
    z = np.array([[0.1, 0.1], [0.9, 0.9]])
    assert empty_fraction(z, ((0, 1), (0, 1)), cells=2) == 0.5
    # the cell layout of occupancy, cell_centres and in_empty_cell agree
    box = ((0.0, 1.0), (0.0, 1.0))
    counts = occupancy(z, box, 2)
    centres = cell_centres(box, 2).reshape(-1, 2)
    assert in_empty_cell(centres, counts, box).tolist() == (counts.reshape(-1) == 0).tolist()
    assert in_empty_cell(np.array([[2.0, 0.5], [-1.0, 0.5]]), counts, box).all()  # outside the box


def test_an_interrupted_demo_keeps_the_report_of_the_runs_it_finished(tmp_path, monkeypatch):
    from jaxvae import demo

    real_train = demo.train

    def train_until_seed_1(config, **kwargs):
        if config.seed == 1:
            raise KeyboardInterrupt
        return real_train(config, **kwargs)

    monkeypatch.setattr(demo, "train", train_until_seed_1)
    config = demo.quick(demo.DemoConfig(dataset="mnist_5k", seeds=2, out=str(tmp_path)))
    assert config.seeds == 2 and config.epochs == demo.QUICK["epochs"]
    with pytest.raises(KeyboardInterrupt):
        demo.run_demo(config, progress=False)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["seeds"] == [0] and metrics["planned_seeds"] == [0, 1]
    page = (tmp_path / "index.html").read_text()
    assert "Partial report: 1 of 2 planned training runs finished" in page
    for name in re.findall(r'(?:src|href)="([^"]+)"', page):
        assert (tmp_path / name).is_file(), name
