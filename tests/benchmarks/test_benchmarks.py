"""The benchmark harness's own logic (its timings are reported, never tested)."""

import gzip
import json
import re
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxvae
from benchmarks import harness, profile, run
from benchmarks.suites import checkpoint, ensemble, runs_axis, train


@pytest.mark.parametrize(
    ("intervals", "length"),
    [([], 0.0), ([(0, 2), (1, 3)], 3.0), ([(5, 6), (0, 1)], 2.0), ([(0, 10), (2, 3)], 10.0)],
)
def test_merged_length_counts_overlaps_once(intervals, length):
    assert profile.merged_length(intervals) == length


def test_failure_reason_is_the_last_exception_line():
    stderr = "Traceback (most recent call last):\n  File 'x'\nValueError: out of memory\n\nFor simplicity."
    assert harness.failure_reason(stderr) == "ValueError: out of memory"
    assert harness.failure_reason("torch is not installed\n") == "torch is not installed"
    assert harness.failure_reason("") == "no output"


def test_profile_summary_reads_device_activity_from_the_trace(tmp_path, monkeypatch):
    trace = {
        "traceEvents": [
            {"ph": "M", "name": "process_name", "pid": 1, "args": {"name": "/device:GPU:0"}},
            {"ph": "M", "name": "process_name", "pid": 2, "args": {"name": "/host:CPU"}},
            {"ph": "X", "name": "gemm", "pid": 1, "ts": 0, "dur": 4},
            {"ph": "X", "name": "gemm", "pid": 1, "ts": 2, "dur": 4},
            {"ph": "X", "name": "add", "pid": 1, "ts": 10, "dur": 1},
            {"ph": "X", "name": "python", "pid": 2, "ts": 0, "dur": 100},
        ]
    }

    class FakeTrace:  # stands in for jax.profiler.trace: writes a known Perfetto trace
        def __init__(self, log_dir, create_perfetto_trace):
            self.path = Path(log_dir) / "plugins" / "profile" / "run" / "perfetto_trace.json.gz"

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.path.parent.mkdir(parents=True)
            with gzip.open(self.path, "wt") as f:
                json.dump(trace, f)

    monkeypatch.setattr(profile.jax.profiler, "trace", FakeTrace)
    summary = profile.profiled(lambda: None, tmp_path / "case")
    assert summary["profile_device_ops"] == 3  # host events are not device work
    assert summary["profile_device_busy_ms"] == pytest.approx(7e-3)  # [0, 6] and [10, 11] microseconds
    assert summary["profile_top_ops_ms"] == {"gemm": 8e-3, "add": 1e-3}
    assert summary["profile_matmul_ops"] == 2  # a library GEMM kernel, by its name
    assert summary["profile_matmul_busy_ms"] == pytest.approx(6e-3)
    named = profile.profiled(lambda: None, tmp_path / "named", frozenset({"add"}))
    assert named["profile_matmul_busy_ms"] == pytest.approx(7e-3)  # "add" named as a matmul too


def test_matmul_names_are_the_compiled_programs_matrix_multiplications():
    x, w = jnp.ones((128, 784)), jnp.ones((784, 512))
    program = jax.jit(lambda x, w: jax.nn.relu(x @ w) + 1.0).lower(x, w).compile().as_text()
    names = profile.matmul_names(program)
    entry = program[program.index("ENTRY") :]
    in_entry = [n for n in names if re.search(rf"%{re.escape(n)} = ", entry)]
    assert len(in_entry) == 1  # the one dot, whatever the backend made of it (dot, fusion, custom call)
    # as profiled() uses them: trace names and instruction names both with dots as underscores
    wanted = frozenset(n.replace(".", "_") for n in names)
    entry_instructions = re.findall(r"^\s*(?:ROOT\s+)?%?([\w.\-]+) = ", entry, flags=re.M)
    classified = {n for n in entry_instructions if profile.is_matmul(n.replace(".", "_"), wanted)}
    assert classified == set(in_entry) and len(entry_instructions) > 2  # parameters, the dot, the rest
    elementwise = jax.jit(lambda x: jnp.exp(x) * 2.0 + x.sum()).lower(x).compile().as_text()
    assert profile.matmul_names(elementwise) == frozenset()
    assert profile.is_matmul("sm80_xmma_gemm_f32f32_tn", frozenset())
    assert not profile.is_matmul("loop_add_fusion_18", frozenset())


def test_cpu_operations_are_the_xla_compute_threads_events():
    events = [
        {"ph": "M", "name": "process_name", "pid": 1, "args": {"name": "/host:CPU"}},
        {"ph": "M", "name": "thread_name", "pid": 1, "tid": 7, "args": {"name": "tf_XLAEigen/123"}},
        {"ph": "M", "name": "thread_name", "pid": 1, "tid": 8, "args": {"name": "python"}},
        {"ph": "X", "name": "ynn_fusion.12", "pid": 1, "tid": 7, "ts": 0, "dur": 5},
        {"ph": "X", "name": "ThunkExecutor::Execute", "pid": 1, "tid": 7, "ts": 0, "dur": 9},
        {"ph": "X", "name": "end: ynn_fusion.12", "pid": 1, "tid": 7, "ts": 5, "dur": 0},
        {"ph": "X", "name": "copy.3", "pid": 1, "tid": 7, "ts": 6, "dur": 1},
        {"ph": "X", "name": "$train.py:10 step", "pid": 1, "tid": 8, "ts": 0, "dur": 20},
    ]
    assert [e["name"] for e in profile.operation_events(events)] == ["ynn_fusion.12", "copy.3"]


def test_results_name_the_source_commit():
    commit = harness.environment("cpu")["jaxvae_commit"]
    if not (Path(__file__).resolve().parents[2] / ".git").exists():
        pytest.skip("not a git checkout")
    assert re.fullmatch(r"[0-9a-f]{12}(\+dirty)?", commit), commit


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--repeats", "0"], "argument --repeats: must be a positive integer, got 0"),
        (["--batch-sizes", "128", "0"], "argument --batch-sizes: must be a positive integer, got 0"),
        (["--batch-sizes", "70000"], "--batch-sizes: at most 60000"),
        (["--grid-sizes", "0"], "argument --grid-sizes: must be a positive integer"),
        (["--unroll", "0"], "argument --unroll: must be a positive integer"),
        (["--runs", "2", "0"], "argument --runs: must be a positive integer"),
    ],
)
def test_bad_flags_stop_before_any_work(capsys, flags, message):
    with pytest.raises(SystemExit) as exit_info:
        run.main(flags)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and message in err and "Traceback" not in err


def test_a_data_dir_without_mnist_is_an_error_not_random_digits(tmp_path, capsys):
    assert run.main(["--suites", "grid", "--data-dir", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert "mnist/train is not available" in captured.err and "decode_grid" not in captured.out


@pytest.mark.slow
def test_ensemble_suite_rows_report_the_ratio_to_runs_alone(monkeypatch, tmp_path):
    images = jnp.asarray(np.random.default_rng(0).integers(0, 256, (512, 28, 28), np.uint8))
    # the epochs' clock: the ensemble's first epoch, then (run alone, ensemble) pairs
    clock = iter([9.0, 1.0, 2.2, 2.0, 3.0, 1.0, 2.0])

    def fake_seconds(fn):
        fn()
        return next(clock)

    monkeypatch.setattr(ensemble, "seconds", fake_seconds)
    row = ensemble.bench_ensemble(images, 2, 128, 3)
    assert row["suite"] == "ensemble" and row["runs"] == 2 and row["batch_size"] == 128
    assert row["group"] == "default" and row["group_size"] == 1  # the default on a CPU
    assert row["first_epoch_s"] == 9.0 and row["epoch_median_ms"] == pytest.approx(2200.0)
    assert row["single_run_epoch_ms"] == pytest.approx(1000.0)
    # each ensemble epoch against the single-run epoch timed just before it: 1.1, 0.75, 1.0
    assert row["ratio_to_n_single_runs"] == pytest.approx(1.0)
    assert row["ratio_of_fastest_epochs"] == pytest.approx(2.0 / (2 * 1.0))  # fastest 2.0 s and 1.0 s
    assert row["images_per_s"] == pytest.approx(2 * 512 / 2.2)
    assert np.isfinite(row["final_train_loss"])
    monkeypatch.undo()
    forced = ensemble.bench_ensemble(
        images, 3, 256, 1, group_size=harness.group_size("all"), profile_dir=tmp_path
    )
    assert (forced["group"], forced["group_size"]) == ("all", 3)
    # one more epoch of each under the profiler: per-run matmul time of the ensemble and of one run alone
    assert forced["profile_together_matmul_ms_per_run"] > 0 and forced["profile_alone_matmul_ms_per_run"] > 0
    assert (tmp_path / "ensemble-b256-runs3-together-groupall").is_dir()


def test_checkpoint_suite_times_save_restore_and_digests_of_the_whole_state():
    images = jnp.asarray(np.random.default_rng(0).integers(0, 256, (512, 28, 28), np.uint8))
    row = checkpoint.bench_checkpoint(images, 1)
    state = jaxvae.initial_state(jaxvae.TrainConfig(model=jaxvae.ModelSpec("vae")))
    leaves = jax.tree.leaves(state._replace(key=jax.random.key_data(state.key)))
    assert row["checkpoint_bytes"] == sum(np.asarray(x).nbytes for x in leaves)  # Adam's moments included
    for name in ("save_median_ms", "restore_median_ms", "digests_median_ms", "epoch_median_ms"):
        assert row[name] > 0


def test_groups_flag_takes_default_or_a_positive_count(capsys):
    assert harness.group_size("default") is None and harness.group_size("4") == 4
    assert harness.group_size("all") >= 2**30
    with pytest.raises(SystemExit):
        run.main(["--groups", "0"])
    assert "argument --groups: must be a positive integer, got 0" in capsys.readouterr().err


@pytest.mark.slow
def test_runs_axis_suite_spreads_runs_over_devices_and_each_equals_its_run_alone():
    images = np.random.default_rng(0).integers(0, 256, (512, 28, 28), np.uint8)
    row = runs_axis.bench_runs_axis(images, 4, 4, 128, 1)
    assert (row["suite"], row["runs"], row["devices"]) == ("runs_axis", 4, 4)
    assert row["epoch_median_ms"] > 0 and row["images_per_s"] == pytest.approx(
        4 * 512 / (row["epoch_median_ms"] / 1e3)
    )
    # same start, one epoch: spread over 4 devices or alone, each run ends where it would alone
    assert runs_axis.distance_to_alone(images, 4, 4, 128) < 1e-4


def test_train_suite_rows_of_the_conv_networks_in_both_forms():
    """The same epoch in both forms (the same function, so the same loss), each row naming its
    network, form, FLOPs per image and parameter count."""
    images = jnp.asarray(np.random.default_rng(0).integers(0, 256, (256, 28, 28), np.uint8))
    rows = {
        form: train.bench_train(
            "vae", 128, "float32", "scan", images, 1, jax.devices()[0], arch="conv", form=form
        )
        for form in ("xla", "patches")
    }
    assert rows["xla"]["final_train_loss"] == pytest.approx(rows["patches"]["final_train_loss"], rel=1e-4)
    for form, row in rows.items():
        assert (row["arch"], row["conv_form"], row["parameters"]) == ("conv", form, 823_397)
        assert row["network"] == "conv 28x28x1-14x14x16-7x7x32-256-2"
        assert row["flop_per_image"] > 0 and row["epoch_median_ms"] > 0
    bare = train.bench_train(
        "vae", 128, "float32", "scan", images, 1, jax.devices()[0], arch="conv", dense=()
    )
    assert (bare["parameters"], bare["network"]) == (27_941, "conv 28x28x1-14x14x16-7x7x32-2")
    mlp = train.bench_train("vae", 128, "float32", "scan", images, 1, jax.devices()[0])
    assert (mlp["arch"], mlp["conv_form"]) == ("mlp", None) and mlp["parameters"] > 1_000_000


def test_the_demo_rows_training_floor_counts_every_step_of_every_epoch_and_seed():
    from benchmarks import demo_row

    config = {"epochs": 2, "seeds": 3, "batch_size": 100}
    flops = demo_row.training_flops(config, 1000)
    # twice the epochs or the seeds, twice the FLOPs; a partial last batch is not trained on
    assert demo_row.training_flops(config | {"epochs": 4}, 1000) == pytest.approx(2 * flops)
    assert demo_row.training_flops(config | {"seeds": 6}, 1050) == pytest.approx(2 * flops)
    # as a report's metrics.json holds it: its tuples read back as lists
    assert demo_row.training_flops(config | {"arch": "mlp", "channels": [16, 32]}, 1000) == flops
    # a step of an MLP at batch 100: at least the FLOPs of its forward matmuls and their weight
    # gradients (2 + 2 per weight and image), for 10 steps, 2 epochs, 3 seeds and both models
    weights = 784 * 512 + 512 * 256 + 256 * 4 + 2 * 256 + 256 * 512 + 512 * 784
    assert flops > 4 * weights * 100 * 10 * 2 * 3 * 2


def test_the_measures_profile_counts_the_k_nn_distance_products_a_scan_hides():
    from benchmarks.measures_profile import knn_flops

    real, generated = jnp.zeros((300, 8)), jnp.zeros((100, 8))
    radii = jnp.zeros(300)
    assert knn_flops("knn_radii", (real,), {}) == 2 * 300 * 300 * 8
    assert knn_flops("in_manifold", (generated, real, radii), {}) == 2 * 100 * 300 * 8
    # the generated points' radii, then each set against the other's balls; the real radii if not given
    given = knn_flops("precision_recall", (real, generated), {"real_radii": radii})
    assert given == 2 * 8 * (100 * 100 + 2 * 100 * 300)
    assert knn_flops("precision_recall", (real, generated), {}) == given + 2 * 300 * 300 * 8
    assert knn_flops("density_coverage", (real, generated), {"real_radii": radii}) == 2 * 300 * 100 * 8
    # all four from the real-by-generated matrix and the generated radii
    assert knn_flops("manifold_scores", (real, generated), {"real_radii": radii}) == 2 * 8 * (
        100 * 100 + 300 * 100
    )
    # without recall, the real-by-generated matrix alone
    without = {"real_radii": radii, "recall": False}
    assert knn_flops("manifold_scores", (real, generated), without) == 2 * 8 * 300 * 100


def test_the_measures_profile_counts_every_chunk_of_the_measures_program():
    from flax import nnx

    from benchmarks.measures_profile import _abstract, _cost, program_flops
    from jaxvae.models import decode, make_model
    from jaxvae.study.classifier import Classifier, read_images
    from jaxvae.study.decodes import Reference
    from jaxvae.study.far_field import Typical

    model, classifier = make_model("ae", key=jax.random.key(0)), Classifier(rngs=nnx.Rngs(0))
    halves = np.arange(50), np.arange(50)
    typical = Typical(jnp.zeros((50, 256)), jnp.zeros(50, jnp.int32), jnp.zeros(50), *halves)
    real = Reference(jnp.zeros((100, 256)), jnp.zeros(100), typical)
    settings = {"samplers": 2, "draws": 600, "realism_from": 1200}

    def flops(points: int) -> float:
        args = (model, classifier, real, jnp.zeros((100, 28, 28), jnp.uint8), jnp.zeros((points, 2)))
        return program_flops(*_abstract((args, settings)))

    # 1000 more points outside the realism sets: one more chunk of decodes and of the classifier, and
    # their realism (the points from realism_from on are scored for it)
    chunk = _cost(decode, model, jnp.zeros((1000, 2))) + _cost(
        read_images, classifier, jnp.zeros((1000, 28, 28), jnp.uint8)
    )
    assert flops(3000) - flops(2000) == pytest.approx(chunk + 2 * 1000 * 50 * 256, rel=1e-9)
