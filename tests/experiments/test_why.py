"""``jaxvae why`` end to end (--quick, the bundled subset): the report, the rules, resume after kill -9."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest
from helpers import with_test_compile_cache

from jaxvae.study.records import Answer, Scores, measures_from_json
from jaxvae.study.why import KINDS, agreement, like_the_vae

ARGS = [
    sys.executable,
    "-m",
    "jaxvae.commands.cli",
    "why",
    "--quick",
    "--dataset",
    "mnist_5k",
    "--no-progress",
]


def _numbers(metrics):
    """metrics.json without what differs between two equal runs: wall times, phases, the folder."""
    if isinstance(metrics, dict):
        return {
            k: _numbers(v) for k, v in metrics.items() if "seconds" not in k and k not in ("phases", "out")
        }
    if isinstance(metrics, list):
        return [_numbers(v) for v in metrics]
    return metrics


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("why_cache")


@pytest.fixture(scope="module")
def why_report(tmp_path_factory, cache):
    """One quick ablation, in its own process (as the interrupted one below), with a shared cache."""
    out = tmp_path_factory.mktemp("why")
    env = with_test_compile_cache({**os.environ, "JAXVAE_CACHE_DIR": str(cache)})
    done = subprocess.run([*ARGS, "--out", str(out)], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return out, done.stdout


def test_quick_why_writes_a_report_with_every_kind_measured_and_decided(why_report):
    out, stdout = why_report
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["seeds"] == [0, 1] and [set(run) for run in metrics["runs"]] == [set(KINDS)] * 2
    for run in metrics["runs"]:
        for kind in KINDS:
            m = run[kind]
            assert set(m["other_samplers"]) == {
                "GMM fitted to the codes (K = 10)",
                "midpoints of test-code pairs",
            }
            holes = m["prior_holes"]
            assert 0 <= holes["hole_mass"] <= 1
            assert isinstance(m["fills_space"], bool) and m["posterior_empty_ratio"] > 0
    for run in metrics["runs"]:  # the typed records read back exactly what metrics.json holds
        assert {k: measures_from_json(m).to_json() for k, m in run.items()} == run
    assert [Answer.from_json(a).to_json() for a in metrics["answers"]] == metrics["answers"]
    assert [len(a["runs"]) for a in metrics["answers"]] == [2, 2, 2]
    for a in metrics["answers"]:
        assert a["verdict"] == agreement(a["runs"])
    assert set(metrics["races"]) == {"noisy_ae", "vae"}
    for race in metrics["races"].values():
        assert race["epochs"] == [1, 2] and all(len(r) == 2 and min(r) > 0 for r in race["runs"])
    page = (out / "index.html").read_text()
    for name in re.findall(r'src="([^"]+)"', page):
        assert (out / name).is_file()
    assert "Ghosh et al." in page and any(v in page for v in ("holds", "undecided"))
    assert "Answers (decided run by run)" in stdout and "Where the time went" in stdout


def test_an_unfit_measure_greys_every_answer(why_report):
    from jaxvae.report.why_page import why_html, why_tables

    out, _ = why_report
    metrics = json.loads((out / "metrics.json").read_text())
    answers = len(metrics["answers"])
    for fit in (True, False):
        metrics["judge"]["fit"] = fit
        page, text = why_html(metrics), why_tables(metrics)
        assert page.count("(measure not fit)") == (0 if fit else answers)
        assert page.count('<tr class="not-fit">') == (0 if fit else answers)
        assert text.count("(measure not fit)") == (0 if fit else answers)
        assert ("so it decides nothing" in page) != fit


def test_verdicts_hold_only_when_every_run_agrees():
    assert agreement([True, True, True]) == "holds"
    assert agreement([False, False]) == "does not hold"
    assert agreement([True, False, True]) == "undecided (2 of 3 runs)"

    def scores(accepted, coverage, missing):
        unread = {"precision": 0.5, "recall": 0.0, "density": 1.0, "frechet": 9.0, "class_entropy_bits": 3.0}
        return Scores(accepted=accepted, coverage=coverage, missing_classes=missing, **unread)

    vae = scores(0.8, 0.5, [7])
    assert like_the_vae(scores(0.75, 0.46, [7]), vae)
    assert not like_the_vae(scores(0.7, 0.5, []), vae)
    assert not like_the_vae(scores(0.9, 0.5, [3]), vae)


@pytest.mark.slow
def test_why_killed_mid_training_then_rerun_ends_as_one_never_stopped(why_report, cache, tmp_path):
    straight, _ = why_report
    killed = tmp_path / "killed"
    env = {**os.environ, "JAXVAE_CACHE_DIR": str(cache)}
    process = subprocess.Popen([*ARGS, "--out", str(killed)], env=env, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 600
    while not (killed / "runs_rae" / "checkpoints" / "1").exists():
        assert process.poll() is None, process.stderr.read().decode()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL
    rerun = subprocess.run([*ARGS, "--out", str(killed)], env=env, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    resumed, never_stopped = (json.loads((d / "metrics.json").read_text()) for d in (killed, straight))
    assert _numbers(resumed) == _numbers(never_stopped)


def test_the_demo_page_links_a_why_report_and_states_its_answers(why_report, tmp_path):
    from jaxvae.experiments.demo import why_summary
    from jaxvae.report.demo_page import why_paragraph

    out, _ = why_report
    summary = why_summary(out, tmp_path / "report")
    assert (
        summary["page"].endswith("index.html")
        and (tmp_path / "report" / summary["page"]).resolve() == (out / "index.html").resolve()
    )
    paragraph = why_paragraph(summary)
    for answer in summary["answers"]:
        assert answer["verdict"] in paragraph
    assert why_summary(tmp_path / "nothing", tmp_path) is None and "jaxvae why" in why_paragraph(None)


@pytest.mark.slow
def test_a_conv_why_at_latent_3_prints_and_writes_its_generation_table(cache, tmp_path, monkeypatch, capsys):
    """At a latent size other than 2 only the generation measures are taken: the terminal table and
    the page leave out the maps' rows (once a row of labels without values broke the printout), and
    both name the networks."""
    from jaxvae.commands.cli import main

    monkeypatch.setenv("JAXVAE_CACHE_DIR", str(cache))
    out = tmp_path / "why3"
    small = ["--arch", "conv", "--channels", "8", "16", "--dense-dims", "32"]  # the code path, cheaply
    assert main([*ARGS[3:], "--seeds", "1", "--latent-dim", "3", *small, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Networks: conv 28x28x1-14x14x8-7x7x16-32-3" in printed and "GMM decodes accepted" in printed
    assert "empty share of the code box" not in printed
    page = (out / "index.html").read_text()
    assert "networks conv 28x28x1-14x14x8-7x7x16-32-3" in page and "Measured for 2-D latents only." in page
