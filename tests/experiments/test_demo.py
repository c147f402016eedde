import html
import itertools
import json
import re
import shutil

import jax
import numpy as np
import pytest
from helpers import checkpoint_data_files, flip_bytes, write_png_folder

import jaxvae
from jaxvae.commands.cli import main
from jaxvae.report.demo_page import format_tables
from jaxvae.report.story import STEPS, WHY
from jaxvae.study.judge_cache import JUDGE_DECODERS
from jaxvae.study.records import Measures
from jaxvae.study.samplers import GMM
from jaxvae.study.verdicts import generates

QUICK = ["demo", "--quick", "--seeds", "2", "--dataset", "mnist_5k", "--no-progress"]


@pytest.fixture(scope="module")
def quick_cache(tmp_path_factory):
    """The cache of the module's demos (their compiled programs; the judge is the shipped one)."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory, quick_cache):
    out = tmp_path_factory.mktemp("report")
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("JAXVAE_CACHE_DIR", str(quick_cache))
        assert main([*QUICK, "--out", str(out)]) == 0
    return out


@pytest.mark.slow
@pytest.mark.parametrize("form", ["png folder", "npz"])
def test_mnist_as_files_of_your_own_gives_the_built_in_numbers(
    form, quick_report, quick_cache, tmp_path, monkeypatch
):
    """The quick demo's digits written out as PNG files in class folders, or as 16-bit images in an
    .npz: `jaxvae demo --dataset PATH` reads the same data (scored with the same shipped judge) and
    so gives every number of the demo on the built-in mnist_5k."""
    monkeypatch.setenv("JAXVAE_CACHE_DIR", str(quick_cache))
    train, test = jaxvae.load_bundled("train"), jaxvae.load_bundled("test")
    if form == "npz":
        path = tmp_path / "digits.npz"
        wide = {"images": train.images, "test_images": test.images}  # 16 bits: a documented conversion
        np.savez(
            path,
            labels=train.labels,
            test_labels=test.labels,
            **{k: v.astype(np.uint16) * 257 for k, v in wide.items()},
        )
    else:
        path = write_png_folder(tmp_path / "digits", {"train": train, "test": test})
    args = [*QUICK[:-3], "--dataset", str(path), "--no-progress", "--out", str(tmp_path / "report")]
    assert main(args) == 0
    built_in, own = (
        json.loads((d / "metrics.json").read_text()) for d in (quick_report, tmp_path / "report")
    )
    assert own["dataset"] == str(path) and own["judge"] == built_in["judge"]  # the shipped judge, the same
    for key in ("validation", "generative_validation", "runs", "means", "verdicts"):
        assert _numbers(own[key]) == _numbers(built_in[key]), key


def test_quick_demo_writes_a_consistent_report(quick_report):
    page = (quick_report / "index.html").read_text()
    referenced = re.findall(r'(?:src|href)="([^"#]+)"', page)
    assert len(referenced) >= 12
    for name in referenced:
        assert "://" not in name and (quick_report / name).is_file(), name
    metrics = json.loads((quick_report / "metrics.json").read_text())
    assert metrics["dataset"] == "mnist_5k" and metrics["seed"] == 0 and metrics["seeds"] == [0, 1]
    assert 0 < metrics["judge"]["threshold"] < 1 and len(metrics["judge"]["decoders"]) == len(JUDGE_DECODERS)
    kinds = [row["kind"] for row in metrics["validation"]]
    assert kinds[:3] == [
        "real test images",
        "Autoencoder reconstructions of test images",
        "VAE reconstructions of test images",
    ]
    negative = ["uniform noise", "blank images", "two-class blends", "untrained decoders"]
    negative += ["fragments", "dots and dashes", "shrunken digits", "blobs"]
    assert kinds[3:] == [
        *negative,
        "realism: real test images (the other half), its least realistic class",
    ] + [f"realism: {kind}" for kind in negative]
    actions = {row["action"] for row in metrics["validation"]}
    assert actions == {"accept", "reject", "realistic", "not realistic"}
    assert metrics["judge"]["fit"] == all(row["met"] for row in metrics["validation"])
    assert [len(run["models"]["ae"]["samplers"]) for run in metrics["runs"]] == [3, 3]
    for run, kind in itertools.product(metrics["runs"], ("ae", "vae")):
        m = run["models"][kind]
        for scores in [m["reconstructions"], *m["samplers"].values()]:
            for name in ("accepted", "precision", "coverage"):
                assert 0 <= scores[name] <= 1, name
            assert "recall" not in scores  # the known sets' only (generator_scores)
            assert scores["frechet"] >= 0 and 0 <= scores["class_entropy_bits"] <= np.log2(10) + 1e-9
            assert sum(scores["class_counts"]) == metrics["num_samples"] == 500  # capped at the test split
        assert 0 <= m["empty_fraction"] <= 1 and 0 <= m["grid_accepted"] <= 1 and m["spacing"] > 0
        assert sum(m["by_distance"]["count"]) == 120 * 120
        radii = [r["radius"] for r in m["empty_regions"]]
        assert radii == sorted(radii, reverse=True) and len(radii) == 6
    for v in metrics["verdicts"]:  # a grade only when both runs have it
        assert len(v["runs"]) == 2 and set(v["runs"]) <= {"holds", "partly", "does not hold"}
        expected = (
            v["runs"][0] if v["runs"][0] == v["runs"][1] else f"undecided (2 runs: {', '.join(v['runs'])})"
        )
        assert v["verdict"] == expected
    assert (quick_report / "runs_vae" / "runs" / "seed1_beta1" / "metrics.json").is_file()
    phases = metrics["phases"]
    assert list(phases)[:2] == ["data", "judge"] and "judge helpers" not in phases  # nothing but the
    assert metrics["judge"]["source"]["kind"] == "shipped"  # judged models trained: the judge ships
    assert "This report's judge was shipped with jaxvae for mnist (recipe" in page
    assert {"training: Autoencoder", "training: VAE", "measures", "figures", "explorer", "page"} <= set(
        phases
    )
    assert all(s >= 0 for s in phases.values()) and sum(phases.values()) <= metrics["wall_seconds"]
    assert 'id="explorer"' in page and (quick_report / "explorer_data.js").is_file()
    text = page.replace("\n", " ")
    story = [f"{i + 1}. {step.title}" for i, step in enumerate([*STEPS, WHY])]
    positions = [text.index(html.escape(title)) for title in story]
    assert positions == sorted(positions) and positions[-1] < text.index("How we measured")
    assert text.index("was validated first") < positions[0]  # whether the measure is fit: at the top
    assert text.index('id="explorer"') < positions[2]  # the explorer sits next to the maps
    # beside claim (iv), about arbitrary points: the mixture fitted to the AE's codes, run by run
    ae = [Measures.from_json(r["models"]["ae"]) for r in metrics["runs"]]
    passes = [generates(m.other_samplers[GMM], m.reconstructions) for m in ae]
    beside = f"by the rule that decides 'generates', they generate in {sum(passes)} of 2 runs."
    step5 = text[positions[4] : positions[5]]
    assert html.escape(beside) in step5 and "Beside the claim, which is about arbitrary points" in step5
    terminal = format_tables(metrics)
    assert terminal.index(beside) > terminal.index(f"5. {STEPS[4].title}")
    assert terminal.index(beside) < terminal.index(f"6. {STEPS[5].title}")


def test_the_film_has_a_frame_per_epoch_and_ends_at_the_final_map(quick_report):
    from PIL import Image

    from jaxvae.runs.film import read_film

    metrics = json.loads((quick_report / "metrics.json").read_text())
    epochs = metrics["config"]["epochs"]
    with Image.open(quick_report / metrics["figures"]["film"]) as gif:
        assert gif.n_frames == epochs
    train = jaxvae.load_dataset("mnist_5k", "train")
    for kind in ("ae", "vae"):
        film = read_film(quick_report / f"runs_{kind}")
        assert film is not None and list(film.epochs) == list(range(1, epochs + 1))
        model, _ = jaxvae.load_model(quick_report / f"runs_{kind}" / "runs" / "seed0_beta1")
        final = np.asarray(jaxvae.encode(model, train.images[film.indices]).mean)
        np.testing.assert_array_equal(film.run(0)[-1], final)
    assert metrics["film_images"] == len(train.images)  # fewer than 10,000: all of them


def test_an_unfit_measure_greys_every_verdict(quick_report):
    from jaxvae.report.demo_page import format_tables, render_html

    metrics = json.loads((quick_report / "metrics.json").read_text())
    for fit in (True, False):
        metrics["judge"]["fit"] = fit
        page, text = render_html(metrics), format_tables(metrics)
        assert page.count("(measure not fit)") == (0 if fit else 2 * len(metrics["verdicts"]))
        assert text.count("(measure not fit)") == (0 if fit else len(metrics["verdicts"]))
        assert ("is NOT fit for use" in page) != fit


def test_a_finished_report_keeps_each_runs_final_model_and_no_training_state(quick_report):
    assert not list(quick_report.rglob("checkpoints"))  # pruned once the report was written
    models = sorted(p.parent.name for p in quick_report.glob("runs_*/runs/*/model.npz"))
    assert models == ["seed0_beta1", "seed0_beta1", "seed1_beta1", "seed1_beta1"]
    _, config = jaxvae.load_model(quick_report / "runs_vae" / "runs" / "seed1_beta1")
    assert (config.model.kind, config.seed, config.epochs) == ("vae", 1, 2)


@pytest.mark.slow
def test_keep_training_state_keeps_every_checkpoint_and_the_same_numbers(
    quick_report, quick_cache, tmp_path, monkeypatch
):
    monkeypatch.setenv("JAXVAE_CACHE_DIR", str(quick_cache))
    out = tmp_path / "kept"
    assert main([*QUICK, "--keep-training-state", "--out", str(out)]) == 0
    for kind in ("ae", "vae"):
        assert (out / f"runs_{kind}" / "checkpoints" / "2").is_dir()  # the stacked state, to resume
        assert len(list(out.glob(f"runs_{kind}/runs/*/checkpoints/2"))) == 2
    assert not list(out.rglob("model.npz"))
    first, kept = (json.loads((d / "metrics.json").read_text())["runs"] for d in (quick_report, out))
    assert _numbers(kept) == _numbers(first)


def test_report_files_get_the_users_file_mode(quick_report):
    import os

    umask = os.umask(0)
    os.umask(umask)
    for name in ("metrics.json", "index.html", "latent_maps.png"):
        assert (quick_report / name).stat().st_mode & 0o777 == 0o666 & ~umask, name


@pytest.mark.slow
def test_rerunning_the_demo_resumes_its_runs_instead_of_training_again(
    quick_report, quick_cache, tmp_path, monkeypatch
):
    monkeypatch.setenv("JAXVAE_CACHE_DIR", str(quick_cache))  # the judge: cached with the first demo
    out = tmp_path / "report"
    shutil.copytree(quick_report, out)
    run_metrics = {str(p): p.read_text() for p in out.glob("**/metrics.json") if p.parent != out}
    assert len(run_metrics) == 2 + 2 * 2  # the demo's ensembles and their runs (the judge's are cached)
    args = ["demo", "--quick", "--seeds", "2", "--dataset", "mnist_5k", "--out", str(out), "--no-progress"]
    assert main(args) == 0
    # nothing retrained: each run's per-epoch record (with its timings) is as the first demo left it
    assert {str(p): p.read_text() for p in out.glob("**/metrics.json") if p.parent != out} == run_metrics
    first, again = (json.loads((d / "metrics.json").read_text())["runs"] for d in (quick_report, out))
    assert again == first


def test_quick_demo_means_are_over_the_seeds(quick_report):
    metrics = json.loads((quick_report / "metrics.json").read_text())
    for kind in ("ae", "vae"):
        each = [run["models"][kind]["samplers"]["N(0, I)"]["accepted"] for run in metrics["runs"]]
        assert metrics["means"][kind]["samplers"]["N(0, I)"]["accepted"] == pytest.approx(np.mean(each))
        missing = [set(run["models"][kind]["reconstructions"]["missing_classes"]) for run in metrics["runs"]]
        assert metrics["means"][kind]["reconstructions"]["missing_classes"] == sorted(set().union(*missing))
    page = (quick_report / "index.html").read_text()
    assert "seeds 0, 1" in page
    for verdict in metrics["verdicts"]:
        assert html.escape(verdict["numbers"]) in page


def test_table_cells():
    from jaxvae.report.tables import cell

    assert cell([None, 0.25], "{:.1%}") == "25.0% (n/a / 25.0)"
    assert cell([0.5, 0.75], "{:.1%}") == "62.5% (50.0 / 75.0)"
    assert cell([0.5], "{:.2f}") == "0.50" and cell([None], "{:.2f}") == "n/a"


def test_explicit_dataset_never_falls_back(tmp_path, capsys):
    code = main(
        ["demo", "--quick", "--dataset", "mnist", "--data-dir", str(tmp_path), "--out", str(tmp_path / "r")]
    )
    assert code == 2
    assert "mnist/train is not available" in capsys.readouterr().err


def test_default_dataset_is_full_mnist_offline(monkeypatch):
    from jaxvae import sources
    from jaxvae.study.study import load_study_data

    monkeypatch.setattr(sources, "_reachable", lambda url, timeout=5.0: pytest.fail("no download"))
    name, train, test = load_study_data(None, None)
    assert name == "mnist" and len(train.images) == 60000 and len(test.images) == 10000


@pytest.mark.slow
def test_the_judge_accepts_decoded_digits_and_rejects_junk(tmp_path):
    from jaxvae.runs.single import train
    from jaxvae.study.far_field import judged, realism_rows, typical
    from jaxvae.study.judge import build_judge, reconstructions, validate

    train_split, test = jaxvae.load_bundled("train"), jaxvae.load_bundled("test")
    decoders = {}
    for kind, seed in (("ae", 100), ("vae", 101)):
        config = jaxvae.TrainConfig(
            model=jaxvae.ModelSpec(kind), dataset="mnist_5k", epochs=6, seed=seed, out=str(tmp_path / kind)
        )
        decoders[kind] = train(config, data=(train_split, test), progress=False).state.model
    judge = build_judge(
        train_split.images,
        train_split.labels,
        decoders,
        key=jax.random.key(0),
        seed=0,
        epochs=8,
        progress=False,
    )
    # 4,500 training digits teach less than 60,000: the full-MNIST judge meets its targets (README)
    assert 0 < judge.threshold < 1 and min(judge.calibration.values()) > 0.5
    recon = {"ae": reconstructions(decoders["ae"], test.images)}
    rows = {
        row["kind"]: row["rate"]
        for row in validate(judge, test.images, test.labels, recon, key=jax.random.key(1))
    }
    assert rows["real test images"] > 0.9 and rows["ae"] > 0.5
    assert rows["uniform noise"] > 0.95 and rows["blank images"] > 0.95 and rows["untrained decoders"] > 0.95
    assert rows["two-class blends"] > 0.5
    # the degenerate kinds, taught as decoys: a small judge rejects most of each
    for kind in ("fragments", "dots and dashes", "shrunken digits", "blobs"):
        assert rows[kind] > 0.7, kind
    # its realism score: held-out real digits realistic far more often than blends or fragments
    features = judge.features(test.images)
    reference = typical(features, test.labels, key=jax.random.key(2))
    realism = {
        row["kind"]: row["rate"]
        for row in realism_rows(judge, reference, test.images, test.labels, key=jax.random.key(3))
    }
    assert realism["realism: real test images (the other half), its least realistic class"] > 0.25
    held_out = test.images[reference.held_out]
    real = float(np.mean(judged(judge, reference, held_out)[1] >= 1))  # every class together
    assert 1 - realism["realism: two-class blends"] < real  # real > blends: this small judge's order
    for kind in ("fragments", "untrained decoders"):
        assert 1 - realism[f"realism: {kind}"] < 0.5 * real, kind


@pytest.mark.slow
def test_an_interrupted_demo_keeps_the_report_of_the_runs_it_finished(tmp_path, monkeypatch):
    from jaxvae.experiments import demo
    from jaxvae.study.study import Study

    real_measure, calls = Study.measure, []

    def measure_until_seed_1(study, model, kind, seed):  # the seeds train together, then are measured
        calls.append(kind)
        if len(calls) == 3:  # seed 1's autoencoder
            raise KeyboardInterrupt
        return real_measure(study, model, kind, seed)

    monkeypatch.setattr(Study, "measure", measure_until_seed_1)
    config = demo.DemoConfig(dataset="mnist_5k", seeds=2, out=str(tmp_path)).quick()
    assert config.seeds == 2 and config.epochs == demo.QUICK["epochs"]
    with pytest.raises(KeyboardInterrupt):
        demo.run_demo(config, progress=False)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["seeds"] == [0] and metrics["planned_seeds"] == [0, 1]
    page = (tmp_path / "index.html").read_text()
    assert "Partial report: 1 of 2 planned training runs finished" in page
    for name in re.findall(r'(?:src|href)="([^"#]+)"', page):
        assert (tmp_path / name).is_file(), name


def test_mean_over_runs_skips_runs_without_a_value():
    from jaxvae.study.records import mean_over_runs

    runs = [
        {"a": 1.0, "b": None, "c": {"missing_classes": [1], "d": 2.0}, "e": [1, 2]},
        {"a": 3.0, "b": 0.5, "c": {"missing_classes": [3], "d": 4.0}, "e": [3]},
        {"a": 5.0, "b": None, "c": {"missing_classes": [], "d": None}, "e": []},
    ]
    assert mean_over_runs(runs) == {"a": 3.0, "b": 0.5, "c": {"missing_classes": [1, 3], "d": 3.0}}
    assert mean_over_runs([{"x": None}, {"x": None}]) == {"x": None}


def test_the_typed_records_read_back_exactly_what_metrics_json_holds(quick_report):
    from jaxvae.study.records import Verdict

    metrics = json.loads((quick_report / "metrics.json").read_text())
    for measures in [
        *(run["models"][k] for run in metrics["runs"] for k in ("ae", "vae")),
        *metrics["means"].values(),
    ]:
        assert Measures.from_json(measures).to_json() == measures
        assert list(Measures.from_json(measures).to_json()) == list(measures)  # and in the same order
    assert [Verdict.from_json(v).to_json() for v in metrics["verdicts"]] == metrics["verdicts"]
    assert "box" in metrics["runs"][0]["models"]["ae"] and "box" not in metrics["means"]["ae"]  # a run's


def test_generative_validation_halves_are_random_even_when_the_split_is_sorted(quick_report):
    metrics = json.loads((quick_report / "metrics.json").read_text())
    real, one_class, *negatives = metrics["generative_validation"]
    noise = next(row for row in negatives if row["set"] == "uniform noise")
    # the bundled test split is sorted by class: halves in file order would share no class
    assert real["missing_classes"] == [] and real["coverage"] > one_class["coverage"]
    assert noise["precision"] < 0.05 and real["precision"] > 0.5
    assert {row["set"] for row in negatives} >= {"two-class blends", "fragments", "blobs"}


def _numbers(metrics):
    """metrics.json without what may differ between equal runs: timings and the output folder."""
    if isinstance(metrics, dict):
        return {
            k: _numbers(v) for k, v in metrics.items() if "seconds" not in k and k not in ("out", "phases")
        }
    if isinstance(metrics, list):
        return [_numbers(v) for v in metrics]
    return metrics


@pytest.mark.slow
def test_a_demo_killed_three_times_with_a_corrupt_helper_checkpoint_ends_as_one_never_stopped(
    two_built_demos, tmp_path
):
    """Kill the demo early (a helper decoder saved), in the middle (the judge trained) and late (the
    judged VAEs training), corrupt a helper's only checkpoint and the cached judge, and rerun: the
    numbers are those of a demo that was never stopped (the first of two_built_demos). All in fresh
    processes, this one with its own cache."""
    import os
    import signal
    import subprocess
    import sys
    import time

    args = [sys.executable, "-m", "jaxvae.commands.cli", "demo", "--quick", "--dataset", "mnist_5k"]
    args += ["--seeds", "1", "--judge", "build", "--no-progress"]
    killed, straight = tmp_path / "killed", two_built_demos[0] / "a"
    env = {**os.environ, "JAXVAE_CACHE_DIR": str(tmp_path / "cache_killed")}
    markers = [
        lambda: any((tmp_path / "cache_killed").glob("mnist_5k/judges/*/decoders_ae2/checkpoints/1")),
        lambda: any((tmp_path / "cache_killed").glob("mnist_5k/classifier-*.npz")),
        lambda: (killed / "runs_vae" / "checkpoints" / "1").exists(),
    ]
    for reached in markers:
        process = subprocess.Popen([*args, "--out", str(killed)], env=env, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 600
        while not reached():
            assert process.poll() is None, process.stderr.read().decode()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        assert process.wait() == -signal.SIGKILL
    assert not (killed / "metrics.json").exists()  # killed before the first run was measured
    (helper,) = (tmp_path / "cache_killed").glob("mnist_5k/judges/*/decoders_vae2")
    flip_bytes(checkpoint_data_files(helper, 1)[0])
    flip_bytes(helper.parent / "judge.npz")  # and the cached judge: it must be built again
    rerun = subprocess.run([*args, "--out", str(killed)], env=env, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    assert "the judge cache" in rerun.stderr and "is corrupt" in rerun.stderr
    assert (helper.parent / "corrupt" / "judge.npz").exists()  # set aside, not deleted
    assert f"{helper}: none of its checkpoints is intact; training it again" in rerun.stderr
    resumed, never_stopped = (json.loads((d / "metrics.json").read_text()) for d in (killed, straight))
    assert _numbers(resumed) == _numbers(never_stopped)


@pytest.fixture(scope="module")
def two_built_demos(tmp_path_factory):
    """Two quick demos into different folders, started 3 s apart on one empty cache, each building
    its judge (--judge build), in their own processes: (folder, what the second printed)."""
    import os
    import subprocess
    import sys
    import time

    root = tmp_path_factory.mktemp("built")
    args = [sys.executable, "-m", "jaxvae.commands.cli", *QUICK, "--seeds", "1", "--judge", "build"]
    env = {**os.environ, "JAXVAE_CACHE_DIR": str(root / "cache")}
    with open(root / "first.err", "w") as err:
        first = subprocess.Popen([*args, "--out", str(root / "a")], env=env, stderr=err)
        time.sleep(3)
        second = subprocess.run([*args, "--out", str(root / "b")], env=env, capture_output=True)
        assert first.wait() == 0, (root / "first.err").read_text()
    assert second.returncode == 0, second.stderr.decode()
    return root, second.stderr.decode()


@pytest.mark.slow
def test_two_demos_at_once_share_the_cache_the_second_waits_for_the_judge(two_built_demos):
    """The second demo waits for the first to build the judge, says so once, then uses it: both end
    with the same numbers, and neither writes a judge into its report."""
    root, said = two_built_demos
    assert said.count("waiting for another jaxvae process") == 1 and "to finish building the judge in" in said
    a, b = (json.loads((root / d / "metrics.json").read_text()) for d in ("a", "b"))
    assert _numbers(a) == _numbers(b) and a["judge"]["decoders"] == b["judge"]["decoders"]
    assert "judge helpers" in a["phases"] and a["judge"]["source"]["kind"] == "built"
    assert not (root / "a" / "judge").exists() and not (root / "b" / "judge").exists()  # not in a report


def test_a_conv_demo_names_its_networks_and_keeps_apart_from_the_mlp_demo(
    quick_cache, tmp_path, monkeypatch, capsys
):
    """``--arch conv`` with the folders left at their defaults writes report_conv (and links why_conv),
    so an MLP demo's runs are neither resumed nor overwritten; the page, the terminal and metrics.json
    name the networks, and the explorer decodes the conv models (its data says so)."""
    monkeypatch.setenv("JAXVAE_CACHE_DIR", str(quick_cache))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "keep.txt").write_text("an MLP demo's folder")
    assert main([*QUICK[:3], "1", *QUICK[4:], "--arch", "conv"]) == 0
    out = tmp_path / "report_conv"
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["config"]["arch"] == "conv" and metrics["config"]["why"] == "why_conv"
    assert (tmp_path / "report" / "keep.txt").read_text() == "an MLP demo's folder"
    network = "conv 28x28x1-14x14x16-7x7x32-256-2"
    assert f"networks {network}" in (out / "index.html").read_text()
    assert f"Networks: {network}" in capsys.readouterr().out
    explorer = (out / "explorer_data.js").read_text()
    assert explorer.count('"arch": "conv"') == 4  # each model's decoder and encoder
    config = jaxvae.load_model(out / "runs_vae" / "runs" / "seed0_beta1")[1]
    assert config.model.arch == "conv"


def test_each_experiment_names_its_default_folders_for_the_architecture():
    from jaxvae.experiments.demo import DemoConfig
    from jaxvae.experiments.sweep import SweepConfig
    from jaxvae.experiments.why import WhyConfig

    assert (DemoConfig().validate().out, DemoConfig().validate().why) == ("report", "why")
    conv = DemoConfig(arch="conv").validate()
    assert (conv.out, conv.why) == ("report_conv", "why_conv")
    assert DemoConfig(arch="conv", out="mine").validate().out == "mine"  # a folder given is kept
    assert WhyConfig(arch="conv").validate().out == "why_conv"
    assert SweepConfig(arch="conv").validate().out == "sweep_conv"
    with pytest.raises(jaxvae.ConfigError, match="--channels sizes the conv networks"):
        DemoConfig(channels=(8, 8)).validate()
