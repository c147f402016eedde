import json
import logging
import os
import re
import subprocess
import sys

import jax
import numpy as np
import pytest
from helpers import assert_trees_equal

import jaxvae
from jaxvae.commands.cli import main
from jaxvae.runs.checkpoint import latest_checkpoint


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


@pytest.mark.slow
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
    assert_trees_equal(resumed, straight)
    assert len(json.loads((tmp_path / "metrics.json").read_text())) == 2


def test_restart_in_a_used_run_directory_starts_over(tmp_path, capsys):
    args = ["train", "--model", "ae", "--dataset", "mnist_5k", "--batch-size", "500", "--no-progress"]
    assert main([*args, "--out", str(tmp_path), "--epochs", "2"]) == 0
    assert main([*args, "--out", str(tmp_path), "--epochs", "1", "--restart"]) == 0
    assert "removed the checkpoints of its earlier run" in capsys.readouterr().err
    # the earlier run's epoch-2 checkpoint is gone: an interrupted restart cannot resume from it
    assert latest_checkpoint(tmp_path) == 1
    assert [m["epoch"] for m in json.loads((tmp_path / "metrics.json").read_text())] == [1]


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


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--num-images", "-1"], "num_images must be 0 (all) or a positive count, got -1"),
        (["--quadrature-images", "-3"], "quadrature_images must be 0 (all) or a positive count"),
        (["--max-resolution", "16"], "max_resolution must be at least 32"),
        (["--tolerance", "0"], "tolerance must be a positive number"),
        (["--ks", "0", "10"], "ks must be positive sample counts"),
        (["--k-chunk", "0"], "k_chunk must be a positive integer"),
    ],
)
def test_bad_eval_input_is_one_line_before_any_work(tmp_path, capsys, flags, message):
    code = main(["eval", str(tmp_path / "not-a-run"), "--no-progress", *flags])  # checked before reading it
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1


@pytest.mark.parametrize(
    ("config_json", "message"),
    [
        (None, "config.json: not found"),  # the run directory is a file
        ("directory", "config.json: cannot read it"),
        ("[1, 2]", "not a valid config (a configuration is a mapping of settings, got list)"),
        ('{"latent_dim": "two"}', "not a valid config (latent_dim must be of type integer, got 'two')"),
        ('{"hidden_dims": [512, 0]}', "not a valid config (hidden_dims must be positive integers"),
    ],
)
def test_broken_run_directory_is_one_line(tmp_path, capsys, config_json, message):
    run_dir = tmp_path / "run"
    if config_json is None:
        run_dir.write_text("x")
    elif config_json == "directory":
        (run_dir / "config.json").mkdir(parents=True)
    else:
        run_dir.mkdir()
        (run_dir / "config.json").write_text(config_json)
    code = main(["eval", str(run_dir), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1


def test_verbose_flag_shows_info_lines(tmp_path, capsys):
    for flags, shown in (([], False), (["-v"], True)):
        main([*flags, "eval", str(tmp_path)])
        logging.getLogger("jaxvae.sources").info("probe")
        assert ("jaxvae: probe" in capsys.readouterr().err) is shown


def test_unwritable_output_directory(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["train", "--dataset", "mnist_5k", "--out", str(blocker / "run")]) == 2
    assert "is not writable" in capsys.readouterr().err


def test_console_script_help_runs():
    result = subprocess.run(
        [sys.executable, "-m", "jaxvae.commands.cli", "train", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "--latent-dim" in result.stdout and "--beta" in result.stdout


# runs the command and prints how many compiled programs it read from the persistent cache
COUNT_CACHE_HITS = """
import sys, jax.monitoring
hits = []
jax.monitoring.register_event_listener(
    lambda event, **kw: hits.append(1) if event == "/jax/compilation_cache/cache_hits" else None
)
from jaxvae.commands.cli import main
code = main(sys.argv[1:])
print("cache hits:", len(hits))
sys.exit(code)
"""


@pytest.mark.slow
def test_compiled_programs_are_cached_on_disk_and_reused(tmp_path):
    def run(out: str, *flags: str) -> tuple[list[dict], int]:
        unset = ("JAXVAE_NO_COMPILE_CACHE", "JAX_COMPILATION_CACHE_DIR")
        env = {k: v for k, v in os.environ.items() if k not in unset}
        env["JAXVAE_CACHE_DIR"] = str(tmp_path / "cache")
        # JAX keeps only programs that took at least a second to compile, and on a fast CPU none of
        # this run's do: keep them all, so the test sees the cache on any machine
        env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
        command = [sys.executable, "-c", COUNT_CACHE_HITS, *flags, "train", "--dataset", "mnist_5k"]
        command += ["--epochs", "1", "--no-progress", "--out", str(tmp_path / out)]
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
        hits = int(re.search(r"cache hits: (\d+)", result.stdout).group(1))
        epochs = json.loads((tmp_path / out / "metrics.json").read_text())
        return [{k: v for k, v in epoch.items() if k != "seconds"} for epoch in epochs], hits

    xla = tmp_path / "cache" / "xla"
    uncached, uncached_hits = run("a", "--no-compile-cache")
    assert not xla.exists() and uncached_hits == 0
    first, first_hits = run("b")
    written = len(list(xla.iterdir()))
    assert written > 0 and first_hits == 0  # executables written, none there to read
    second, second_hits = run("c")
    assert second_hits > 0  # read back from the cache, not compiled again
    assert len(list(xla.iterdir())) == written
    assert first == second == uncached  # and the same programs give the same numbers
