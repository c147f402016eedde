#!/usr/bin/env python3
"""Where the demo's measures phase spends its time, function by function, against its floor.

    python benchmarks/measures_profile.py REPORT [--seed 0] [--out ROWS.jsonl]

Measures the first run's AE and VAE of a finished demo report (``REPORT/runs_<kind>/runs/...``, the
models the demo measured) exactly as the demo does (``Study.measure``), plus the measures run once per
demo (the judge's validation and the generation measures' known answers), under ``cProfile``, and
prints each named Python function's cumulative seconds and share of the whole. Every call of the
compiled array functions (the judge's classifier passes, encodes and decodes, the k-NN distance
programs, the Fréchet distance) is timed until its result is ready, counted with its shapes, and its
FLOPs taken from XLA's cost analysis of that call: their sum over the float32 matmul peak measured
in the same run is the floor of the array work. Everything else (scikit-learn's mixture fit, SciPy's
Delaunay and k-d tree, host copies) has no floor here and shows up as the gap. On the CPU, calls are
made synchronous for the profile, so that each compiled call's time is its caller's.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: the repository, not benchmarks/ (whose profile.py
    sys.path[0] = str(Path(__file__).resolve().parents[1])  # would hide the standard library's)

import argparse
import cProfile
import importlib
import json
import pstats
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import jax
import numpy as np

from benchmarks.harness import environment
from benchmarks.suites.peak import float32_peak
from jaxvae.experiments.demo import DemoConfig
from jaxvae.runs.single import load_model
from jaxvae.study.measures import validate_generative
from jaxvae.study.streams import Stream, stream_key
from jaxvae.study.study import Study

# the compiled functions whose calls are counted, by the modules that call them
COUNTED = {
    "the measures' program (decodes, classifier, k-NN, Fréchet)": [("jaxvae.study.decodes", "judge_decodes")],
    "classifier pass": [("jaxvae.study.judge", "read_images")],
    "encode": [("jaxvae.study.measures", "encode")],
    "k-NN distances": [("jaxvae.study.measures", n) for n in ("manifold_scores", "knn_radii")],
    "Fréchet distance": [("jaxvae.study.measures", "frechet_distance")],
}
# the functions whose cumulative time the table shows (module, name), in the order of the table
PROFILED = [
    ("jaxvae/study/study.py", "run_codes"),
    ("jaxvae/study/decodes.py", "judge_sets"),
    ("jaxvae/study/measures.py", "sampler_draws"),
    ("jaxvae/study/samplers.py", "sample_latents"),
    ("jaxvae/study/samplers.py", "fit_mixture"),
    ("jaxvae/study/measures.py", "sampler_scores"),
    ("jaxvae/study/far_field.py", "far_field"),
    ("jaxvae/study/holes.py", "code_map"),
    ("jaxvae/study/holes.py", "between_clusters"),
    ("jaxvae/study/holes.py", "largest_empty_regions"),
    ("jaxvae/study/measures.py", "knn_label_accuracy"),
    ("jaxvae/study/measures.py", "validate_generative"),
    ("jaxvae/study/measures.py", "generator_scores"),
    ("jaxvae/study/judge.py", "read"),
]


KNN_PROGRAMS = (
    "knn_radii",
    "in_manifold",
    "realism",
    "precision_recall",
    "density_coverage",
    "manifold_scores",
)


def knn_flops(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> float:
    """The FLOPs of the distance matrix products of one call of a k-NN program: 2 per multiply-add
    of each [rows, D] x [D, columns] product (the top-k and comparisons that follow are not counted).
    ``knn_radii(points)``; ``in_manifold`` and ``realism(queries, points, ...)``;
    ``precision_recall``, ``density_coverage`` and ``manifold_scores(real, generated,
    real_radii=...)`` (with ``recall=False``, no generated radii), whose real radii, when not given,
    take one more [real, real] product."""
    first = args[0].shape[0]
    second = args[1].shape[0] if len(args) > 1 else first
    if name in ("knn_radii", "in_manifold", "realism"):
        products = [(first, second)]
    else:
        products = {
            "precision_recall": [(second, second), (second, first), (first, second)],  # radii, both ways
            "density_coverage": [(first, second)],
            # the generated radii (for recall only), then one matrix for all four
            "manifold_scores": ([(second, second)] if kwargs.get("recall", True) else []) + [(first, second)],
        }[name]
        products += [] if kwargs.get("real_radii") is not None else [(first, first)]
    return float(sum(2 * rows * cols * args[0].shape[1] for rows, cols in products))


def _cost(fn: Callable[..., Any], *args: Any) -> float:
    """XLA's FLOP count of one call of ``fn`` (jitted here) on abstract ``args``."""
    cost = jax.jit(fn).lower(*args).compile().cost_analysis()
    return float((cost[0] if isinstance(cost, list) else cost).get("flops", 0.0))


def program_flops(args: tuple[Any, ...], kwargs: dict[str, Any]) -> float:
    """The FLOPs of one ``judge_decodes(model, classifier, real, test_images, points, ...)``, whose
    loops (over chunks of images, over sets) XLA's cost analysis counts once: each chunk's networks
    (the reconstruction's encode and decode, the points' decode, the classifier) by the cost analysis
    of one chunk times the chunks, the distance products of the sets' k-NN and of realism
    (``knn_flops``), and the Fréchet distance of each set by its cost analysis."""
    from jaxvae.models import decode, encode
    from jaxvae.study.classifier import read_images
    from jaxvae.study.generative import frechet_distance

    model, classifier, real, test_images, points = args
    chunk = kwargs.get("chunk", 1000)
    count, num_points = test_images.shape[0], points.shape[0]
    chunks = (-(-count // chunk), -(-num_points // chunk))
    images = jax.ShapeDtypeStruct((chunk, 28, 28), np.uint8)
    z = jax.ShapeDtypeStruct((chunk, points.shape[1]), np.float32)
    networks = chunks[0] * _cost(lambda m, x: decode(m, encode(m, x).mean), model, images)
    networks += chunks[1] * _cost(decode, model, z)
    networks += sum(chunks) * _cost(read_images, classifier, images)
    features = real.features.shape
    sets = [count] + [kwargs["draws"]] * kwargs["samplers"]
    knn = sum(
        knn_flops(
            "manifold_scores",
            (real.features, jax.ShapeDtypeStruct((m, features[1]), np.float32)),
            {"recall": False, "real_radii": real.radii},
        )
        for m in sets
    )
    queries = real.typical.held_out.shape[0] + num_points - kwargs["realism_from"]
    knn += 2 * queries * real.typical.features.shape[0] * features[1]
    frechet = sum(
        _cost(frechet_distance, real.features, jax.ShapeDtypeStruct((m, features[1]), np.float32))
        for m in sets
    )
    return networks + knn + frechet


def _abstract(tree: Any) -> Any:
    return jax.tree.map(
        lambda x: jax.ShapeDtypeStruct(np.shape(x), np.asarray(x).dtype) if _is_array(x) else x, tree
    )


def _is_array(x: Any) -> bool:
    return isinstance(x, (jax.Array, np.ndarray))


def _signature(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    shapes = [f"{tuple(x.shape)}" for x in jax.tree.leaves((args, kwargs)) if _is_array(x)]
    return ",".join(shapes)


class Counter:
    """Wraps compiled functions in their callers' modules and keeps one abstract call per shape."""

    def __init__(self) -> None:
        self.calls: dict[tuple[str, str, str], list[Any]] = {}  # (group, name, shapes) -> [count, fn, args]
        self.seconds: dict[str, float] = defaultdict(float)  # group -> time in its calls, results ready
        self.restore: list[Callable[[], None]] = []

    def wrap(self, group: str, module_name: str, name: str) -> None:
        module = importlib.import_module(module_name)
        original = getattr(module, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            key = (group, name, _signature(args, kwargs))
            if key not in self.calls:
                self.calls[key] = [0, original, _abstract((args, kwargs))]
            self.calls[key][0] += 1
            began = time.perf_counter()
            result = jax.block_until_ready(original(*args, **kwargs))
            self.seconds[group] += time.perf_counter() - began
            return result

        setattr(module, name, counted)
        self.restore.append(lambda: setattr(module, name, original))

    def flops(self) -> dict[str, float]:
        """Each group's FLOPs over every counted call: XLA's cost analysis of each shape, but for the
        k-NN programs, whose distances run in a ``lax.map`` (a scan, whose body the cost analysis
        counts once): their distance matrix products, counted here (``knn_flops``)."""
        total: dict[str, float] = defaultdict(float)
        for (group, name, _), (count, fn, (args, kwargs)) in self.calls.items():
            if name in KNN_PROGRAMS:
                total[group] += count * knn_flops(name, args, kwargs)
                continue
            if name == "judge_decodes":
                total[group] += count * program_flops(args, kwargs)
                continue
            static = {k: v for k, v in kwargs.items() if not isinstance(v, jax.ShapeDtypeStruct)}
            dynamic = {k: v for k, v in kwargs.items() if isinstance(v, jax.ShapeDtypeStruct)}
            cost = fn.lower(*args, **dynamic, **static).compile().cost_analysis()
            cost = cost[0] if isinstance(cost, list) else cost
            total[group] += count * float(cost.get("flops", 0.0))
        return dict(total)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("report", type=Path, help="a finished demo's --out folder")
    parser.add_argument("--seed", type=int, default=None, help="the run to measure (default: the first)")
    parser.add_argument("--out", type=Path, help="append the JSON row to this file")
    args = parser.parse_args(argv)
    # each compiled call returns when its work is done, so that its time is its own function's
    # rather than that of the first later line that waits for its result (CPU only)
    jax.config.update("jax_cpu_enable_async_dispatch", False)
    try:
        saved = json.loads((args.report / "metrics.json").read_text())
    except (OSError, json.JSONDecodeError) as e:
        print(f"measures_profile: error: {args.report / 'metrics.json'}: {e}", file=sys.stderr)
        return 2
    seed = saved["seeds"][0] if args.seed is None else args.seed
    settings = {k: v for k, v in saved["config"].items() if k in DemoConfig.__dataclass_fields__}
    settings.pop("model", None)
    with tempfile.TemporaryDirectory() as scratch:
        config = DemoConfig(**{**settings, "out": scratch, "judge": "shipped"})
        study = Study.open(config, Path(scratch), progress=False)
        models = {
            kind: load_model(args.report / f"runs_{kind}" / "runs" / f"seed{seed}_beta1")[0]
            for kind in ("ae", "vae")
        }
        test = study.data.test
        for kind, model in models.items():  # compile first: the demo compiles once for all its runs
            study.measure(model, kind, seed)
        counter = Counter()
        for group, names in COUNTED.items():
            for module_name, name in names:
                counter.wrap(group, module_name, name)
        profile = cProfile.Profile()
        peak_before = float32_peak()
        began = time.perf_counter()
        profile.enable()
        key = stream_key(config.seed, Stream.GENERATIVE_VALIDATION)
        validate_generative(study.judge, study.real, test.images, test.labels, key=key)
        for kind, model in models.items():
            study.measure(model, kind, seed)
        profile.disable()
        wall = time.perf_counter() - began
        peak = max(peak_before, float32_peak())
        for undo in counter.restore:
            undo()
        flops = counter.flops()
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    cumulative: dict[str, float] = {}
    for (path, _, name), (_, _, _, cum, _) in stats.items():
        for want_path, want_name in PROFILED:
            if path.endswith(want_path) and name == want_name:
                label = f"{want_name} ({want_path.split('/')[-1]})"
                cumulative[label] = cumulative.get(label, 0.0) + cum
    floors = {group: f / (peak * 1e9) for group, f in flops.items()}
    row = {
        **environment(jax.default_backend()),
        "suite": "measures_profile",
        "report": str(args.report),
        "arch": saved["config"].get("arch", "mlp"),
        "runs_measured": len(models),
        "wall_seconds": wall,
        "peak_gflop_per_s": peak,
        "functions_seconds": cumulative,
        "array_seconds": dict(counter.seconds),
        "array_gflop": {g: f / 1e9 for g, f in flops.items()},
        "array_floor_seconds": floors,
        "floor_seconds": sum(floors.values()),
    }
    print(
        f"measures of {len(models)} runs (+ the once-per-demo known answers): {wall:.1f} s; "
        f"peak {peak:.0f} GFLOP/s"
    )
    print(f"{'function (cumulative, nested calls overlap)':<48} {'s':>8} {'share':>7}")
    for name, seconds in sorted(cumulative.items(), key=lambda item: -item[1]):
        print(f"{name:<48} {seconds:8.2f} {seconds / wall:7.1%}")
    print(f"{'compiled calls (timed, results ready)':<40} {'s':>8} {'share':>7} {'GFLOP':>8} {'floor s':>8}")
    for group, f in sorted(flops.items(), key=lambda item: -counter.seconds[item[0]]):
        took = counter.seconds[group]
        print(f"{group:<40} {took:8.2f} {took / wall:7.1%} {f / 1e9:8.1f} {floors[group]:8.2f}")
    print(
        f"{'all compiled calls':<40} {sum(counter.seconds.values()):8.2f} "
        f"{sum(counter.seconds.values()) / wall:7.1%}"
    )
    print(
        f"floor of the array work: {row['floor_seconds']:.2f} s = "
        f"{row['floor_seconds'] / wall:.1%} of the wall time"
    )
    if args.out:
        with args.out.open("a") as f:
            f.write(json.dumps(row) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
