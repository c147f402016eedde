"""``jaxvae eval``: the held-out likelihood of a trained run, end to end."""

import json

import pytest
from helpers import write_split

import jaxvae
from jaxvae.commands.cli import main


@pytest.mark.slow
def test_eval_command_on_a_dynamically_binarized_run(tmp_path, capsys):
    run = tmp_path / "run"
    train_args = [
        "train",
        "--dataset",
        "mnist_5k",
        "--epochs",
        "2",
        "--batch-size",
        "100",
        "--likelihood",
        "dynamic",
    ]
    assert main([*train_args, "--out", str(run), "--no-progress"]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert all(row["likelihood"] == "dynamic" for row in metrics)
    eval_args = [
        "--ks",
        "1",
        "10",
        "--num-images",
        "100",
        "--quadrature-images",
        "20",
        "--max-resolution",
        "64",
    ]
    assert main(["eval", str(run), *eval_args, "--no-progress"]) == 0
    result = json.loads((run / "likelihood.json").read_text())
    assert result["likelihood"] == "dynamic" and result["iwae"]["num_images"] == 100
    assert result["iwae"]["nll_iwae"]["10"] < result["iwae"]["nll_iwae"]["1"] + 0.5
    assert result["exact"]["nll_exact"] < result["exact"]["nll_iwae_same_images"]["10"] + 0.1
    assert "dynamic pixels" in capsys.readouterr().out


@pytest.mark.slow
def test_eval_reads_the_test_split_from_data_dir(tmp_path, capsys):

    for split in ("train", "test"):
        bundled = jaxvae.load_bundled(split)
        write_split(tmp_path / "trained_from", split, images=bundled.images, labels=bundled.labels)
    run = tmp_path / "run"
    trained_from = str(tmp_path / "trained_from")
    train_args = ["train", "--dataset", "mnist", "--data-dir", trained_from, "--epochs", "1"]
    assert main([*train_args, "--out", str(run), "--no-progress"]) == 0
    (tmp_path / "trained_from").rename(tmp_path / "moved")
    small = ["--ks", "1", "--num-images", "50", "--quadrature-images", "10", "--max-resolution", "32"]
    assert main(["eval", str(run), *small, "--no-progress"]) == 2  # the run's own folder is gone
    assert "trained_from" in capsys.readouterr().err
    assert main(["eval", str(run), *small, "--data-dir", str(tmp_path / "moved"), "--no-progress"]) == 0
    assert json.loads((run / "likelihood.json").read_text())["eval"]["data_dir"] == str(tmp_path / "moved")


def test_autoencoder_has_no_likelihood(tmp_path, capsys):
    assert (
        main(["train", "--model", "ae", "--dataset", "mnist_5k", "--epochs", "1", "--out", str(tmp_path)])
        == 0
    )
    assert main(["eval", str(tmp_path), "--no-progress"]) == 2
    assert "defines no p(x)" in capsys.readouterr().err
