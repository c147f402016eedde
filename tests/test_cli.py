import json
import os
import subprocess
import sys

import jax
import numpy as np
import pytest

import jaxvae
from jaxvae.cli import main


def test_train_writes_run_dir_and_model_loads_back(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(
        [
            "train",
            "--model",
            "vae",
            "--dataset",
            "mnist_5k",
            "--epochs",
            "2",
            "--batch-size",
            "200",
            "--out",
            str(out),
            "--no-progress",
        ]
    )
    assert code == 0
    assert "vae on mnist_5k (continuous pixels): test loss" in capsys.readouterr().out
    config = json.loads((out / "config.json").read_text())
    assert config["epochs"] == 2 and config["batch_size"] == 200
    metrics = json.loads((out / "metrics.json").read_text())
    assert [m["epoch"] for m in metrics] == [1, 2]
    for key in ("train_total", "test_total", "test_reconstruction", "test_kl", "seconds"):
        assert np.isfinite(metrics[-1][key])
    model, loaded_config = jaxvae.load_model(out)
    assert isinstance(model, jaxvae.VAE) and loaded_config.epochs == 2
    test = jaxvae.load_bundled("test").images
    reloaded = jaxvae.evaluate(model, test, key=jax.random.fold_in(jax.random.key(0), 2**31 - 1))
    np.testing.assert_allclose(reloaded.total, metrics[-1]["test_total"], rtol=1e-5)


def test_rerun_resumes_from_checkpoint(tmp_path):
    args = [
        "train",
        "--model",
        "ae",
        "--dataset",
        "mnist_5k",
        "--batch-size",
        "500",
        "--out",
        str(tmp_path),
        "--no-progress",
    ]
    assert main([*args, "--epochs", "1"]) == 0
    assert main([*args, "--epochs", "2"]) == 0
    resumed = jaxvae.load_model(tmp_path)[0]
    assert main([*args, "--epochs", "2", "--out", str(tmp_path / "straight"), "--restart"]) == 0
    straight = jaxvae.load_model(tmp_path / "straight")[0]
    for a, b in zip(jax.tree.leaves(resumed), jax.tree.leaves(straight), strict=True):
        np.testing.assert_array_equal(a, b)
    assert len(json.loads((tmp_path / "metrics.json").read_text())) == 2


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--epochs", "0"], "epochs must be a positive integer"),
        (["--batch-size", "-1"], "batch_size must be a positive integer"),
        (["--latent-dim", "0"], "latent_dim must be a positive integer"),
        (["--batch-size", "5000"], "larger than the training set"),
        (["--data-dir", "/nonexistent", "--dataset", "mnist"], "mnist/train is not available"),
    ],
)
def test_bad_input_is_one_line_no_traceback(tmp_path, capsys, flags, message):
    code = main(["train", "--dataset", "mnist_5k", "--out", str(tmp_path / "r"), "--no-progress", *flags])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and "Traceback" not in err
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--seeds", "0"], "seeds must be a positive integer"),
        (["--grid-size", "0"], "grid_size must be a positive integer"),
        (["--epochs", "0"], "epochs must be a positive integer"),
    ],
)
def test_bad_demo_input_is_one_line_before_any_work(tmp_path, capsys, flags, message):
    code = main(["demo", "--dataset", "mnist_5k", "--out", str(tmp_path / "r"), "--no-progress", *flags])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err and err.count("\n") == 1
    assert not (tmp_path / "r").exists()


def test_unwritable_output_directory(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["train", "--dataset", "mnist_5k", "--out", str(blocker / "run")]) == 2
    assert "is not writable" in capsys.readouterr().err


def test_console_script_help_runs():
    result = subprocess.run(
        [sys.executable, "-m", "jaxvae.cli", "train", "--help"], capture_output=True, text=True, check=True
    )
    assert "--latent-dim" in result.stdout and "--beta" in result.stdout


def test_compiled_programs_are_cached_on_disk_and_reused(tmp_path):
    def run(out: str, *flags: str) -> list[dict]:
        unset = ("JAXVAE_NO_COMPILE_CACHE", "JAX_COMPILATION_CACHE_DIR")
        env = {k: v for k, v in os.environ.items() if k not in unset}
        env["JAXVAE_CACHE_DIR"] = str(tmp_path / "cache")
        command = [sys.executable, "-m", "jaxvae.cli", *flags, "train", "--dataset", "mnist_5k"]
        command += ["--epochs", "1", "--no-progress", "--out", str(tmp_path / out)]
        subprocess.run(command, env=env, capture_output=True, text=True, check=True)
        epochs = json.loads((tmp_path / out / "metrics.json").read_text())
        return [{k: v for k, v in epoch.items() if k != "seconds"} for epoch in epochs]

    xla = tmp_path / "cache" / "xla"
    uncached = run("a", "--no-compile-cache")
    assert not xla.exists()
    first = run("b")
    assert len(list(xla.iterdir())) > 0  # executables written
    second = run("c")  # and read back: the same program gives the same numbers
    assert first == second == uncached
