"""The judge that ships with jaxvae: checked on load, of the current recipe, MNIST's only, and what
a rebuild from the recipe on this machine agrees with."""

import json
import shutil
from importlib import resources

import jax
import numpy as np
import pytest

import jaxvae
from jaxvae.commands.cli import main
from jaxvae.data import Dataset
from jaxvae.errors import DataError
from jaxvae.study.judge import negatives
from jaxvae.study.judge_cache import JUDGE_DECODERS, JUDGE_RECIPE, data_digest
from jaxvae.study.shipped import load_shipped, shipped_judge


@pytest.fixture(scope="module")
def shipped():
    return load_shipped("mnist")


def test_the_shipped_judge_is_of_the_current_recipe_built_on_mnist_and_fit(shipped):
    """When the recipe changes, this fails until the judge is rebuilt and shipped again
    (scripts/ship_judge.py)."""
    p = shipped.provenance
    assert p["recipe"] == JUDGE_RECIPE
    assert p["data_sha256"] == data_digest(jaxvae.load_dataset("mnist", "train"))
    assert shipped.judge.threshold == p["threshold"] and shipped.judge.calibration == p["calibration"]
    assert p["fit"] and all(row["met"] for row in p["validation"])
    assert len(shipped.decoders) == len(JUDGE_DECODERS)
    assert {"machine", "versions", "seconds", "peak_gflop_per_s", "settings"} <= set(p)


def test_a_damaged_or_missing_shipped_judge_is_one_line_that_says_reinstall(tmp_path):
    folder = tmp_path / "mnist"
    shutil.copytree(str(resources.files("jaxvae").joinpath("_bundled/judges/mnist")), folder)
    assert load_shipped("mnist", folder).judge.threshold > 0  # the copy loads
    data = bytearray((folder / "judge.npz").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / "judge.npz").write_bytes(bytes(data))
    with pytest.raises(
        DataError, match=r"for mnist is damaged: judge.npz fails its SHA-256; reinstall jaxvae"
    ):
        load_shipped("mnist", folder)
    (folder / "provenance.json").unlink()
    with pytest.raises(
        DataError, match="is missing or unreadable .*; reinstall jaxvae, or pass --judge build"
    ):
        load_shipped("mnist", folder)


def test_the_shipped_judge_scores_mnist_and_its_subset_and_nothing_else():
    train = jaxvae.load_dataset("mnist_5k", "train")
    assert shipped_judge("mnist_5k", train) is not None
    assert shipped_judge("fashion_mnist", train) is None
    other = Dataset(np.zeros((10, 28, 28), np.uint8), np.arange(10, dtype=np.int32))
    assert shipped_judge("mnist", other) is None  # MNIST files that are not the ones it was built on


def test_an_unknown_judge_is_refused_in_one_line(capsys):
    assert main(["demo", "--judge", "mine", "--out", "never"]) == 2
    assert "--judge must be one of shipped, build, not 'mine'" in capsys.readouterr().err


@pytest.mark.slow
def test_judge_build_writes_a_judge_that_loads_like_the_shipped_one(tmp_path, capsys):
    out = tmp_path / "judge"
    flags = ["--dataset", "mnist_5k", "--classifier-epochs", "1", "--judge-decoder-epochs", "1"]
    assert main(["judge", "build", *flags, "--no-progress", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "The judge of mnist_5k (recipe" in printed and "real test images" in printed
    provenance = json.loads((out / "provenance.json").read_text())
    built = load_shipped("mnist_5k", out)
    assert built.judge.threshold == provenance["threshold"] and built.provenance == provenance
    assert provenance["settings"]["classifier_epochs"] == 1 and provenance["dataset"] == "mnist_5k"
    assert "judge helpers" in provenance["phases"]  # built, not loaded from the package


@pytest.mark.slow
def test_the_recipe_rebuilt_here_agrees_with_the_shipped_judge(shipped, tmp_path):
    """Rebuild MNIST's judge from scratch (an empty cache) with the shipped one's settings, as a user
    does (`jaxvae judge build`, in its own process): every validation target met, and the same
    accept/reject decision on at least 98% of each validation set."""
    import os
    import subprocess
    import sys

    out, env = tmp_path / "judge", {**os.environ, "JAXVAE_CACHE_DIR": str(tmp_path / "cache")}
    command = [sys.executable, "-m", "jaxvae.commands.cli", "judge", "build", "--no-progress"]
    done = subprocess.run([*command, "--out", str(out)], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    rebuilt = json.loads((out / "provenance.json").read_text())
    assert rebuilt["fit"], rebuilt["validation"]
    judge = load_shipped("mnist", out).judge
    test = jaxvae.load_dataset("mnist", "test")
    sets = {"real test images": test.images}
    sets |= negatives(jax.random.key(0), test.images, test.labels, 5000)
    for name, images in sets.items():
        agree = np.mean(judge.accepts(images) == shipped.judge.accepts(images))
        assert agree >= 0.98, (name, agree)
