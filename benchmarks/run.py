#!/usr/bin/env python3
"""jaxvae benchmarks: training and decoding throughput on any JAX backend, beside peers.

    python benchmarks/run.py                       # every suite on JAX's default backend
    python benchmarks/run.py --backend gpu --suites train grid
    python benchmarks/run.py --suites peers --batch-sizes 128

Suites
  peak   the device's measured matmul peak (float32 and bfloat16), for the compute floor
  train  AE and VAE, each batch size, a whole epoch as one compiled scan versus a jitted step
         driven from a Python loop, float32 versus bfloat16 compute; the MLP and (--archs conv)
         the conv networks, their convolutions in XLA's form and/or as patches times a dense layer
  grid   decode_grid over 100x100 and 1000x1000 latent grids
  iwae   importance-weighted bound evaluation, k = 100 and 1000, 100 images
  checkpoint  save and restore of the default VAE's checkpoint and the digests restore checks,
         beside one epoch at batch 128
  scaling  VAE data-parallel training on 1, 2, 4 and 8 devices where they exist: weak scaling
         (128 images per device) and strong scaling (a global batch of 1024 split across them),
         images/s and efficiency against one device. Fake CPU devices
         (JAX_NUM_CPU_DEVICES=4) share the same cores: they check that it runs, not its speed
  ensemble  N VAE runs (N = --runs: 1, 2, 4, 8, 16, and 64 on an accelerator) trained as one program,
         jax.vmap over a runs axis in groups of --groups runs, at each batch size: epoch time,
         images/s over all runs, and the ratio to N epochs of one run alone, the two timed in
         alternation in the same process (below 1: the runs axis pays)
  runs_axis  N VAE runs (--runs; default 8, and 64 on an accelerator) spread over 1, 2, 4, 8 and all
         visible devices (each device holding whole runs): epoch time, images/s, speedup over one
         device, and on the most devices each run's distance to its run alone after one epoch
  peers  the same VAE, data, optimizer and batch size in PyTorch eager and torch.compile (if torch
         is installed) and in the Flax-example style with an un-jitted step, each in its own
         subprocess; reports images/s, ratios and each one's loss after the timed epochs

Timing: steady state is the median (and min) over --repeats epochs after a warm-up epoch,
``block_until_ready`` after each; compile time is measured alone with ``lower().compile()``.
Every case is one JSON line in --out, tagged with the device, versions, XLA flags and threads;
a summary table is printed. Nothing here passes or fails: speed is reported, never asserted.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: python benchmarks/run.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jax

from benchmarks.harness import (
    EPOCH_IMAGES,
    Bench,
    channel_pair,
    dense_widths,
    environment,
    group_size,
    positive_int,
    training_images,
)
from benchmarks.suites import checkpoint, ensemble, grid, iwae, peak, peers, runs_axis, scaling, train
from jaxvae.conv import default_form
from jaxvae.errors import DataError, DataUnavailableError

SUITES = {"peak": peak, "train": train, "grid": grid, "iwae": iwae, "checkpoint": checkpoint}
SUITES |= {"scaling": scaling, "ensemble": ensemble, "runs_axis": runs_axis}
SUITES["peers"] = peers  # last: it reuses the train suite's row when there is one


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", default=None, help="cpu, gpu or tpu (default: JAX's default backend)")
    parser.add_argument(
        "--suites",
        nargs="+",
        default=list(SUITES),
        choices=list(SUITES),
    )
    parser.add_argument("--models", nargs="+", default=["ae", "vae"], choices=["ae", "vae"])
    parser.add_argument(
        "--archs",
        nargs="+",
        default=["mlp"],
        choices=["mlp", "conv"],
        help="networks of the train suite: mlp and/or conv (jaxvae.spec; default: mlp)",
    )
    parser.add_argument(
        "--conv-forms",
        nargs="+",
        default=None,
        choices=["xla", "patches"],
        help="how the conv networks run their convolutions (jaxvae.conv): XLA's own ops and/or patches "
        "times a dense layer (default: the faster on the backend, jaxvae.conv.default_form)",
    )
    parser.add_argument(
        "--conv-channels",
        nargs="+",
        type=channel_pair,
        default=[(16, 32)],
        metavar="A,B",
        help="the conv networks' two widths, each as A,B (default: 16,32, the default of jaxvae.spec)",
    )
    parser.add_argument(
        "--conv-dense",
        nargs="+",
        type=dense_widths,
        default=[(256,)],
        metavar="N[,N...]",
        help="the conv networks' dense hidden layers, each as N or N,N (0: none; default: 256, the "
        "default of jaxvae.spec)",
    )
    parser.add_argument("--batch-sizes", nargs="+", type=positive_int, default=[128, 1024, 8192])
    parser.add_argument(
        "--dtypes", nargs="+", default=["float32", "bfloat16"], choices=["float32", "bfloat16"]
    )
    parser.add_argument("--loops", nargs="+", default=["scan", "step"], choices=["scan", "step"])
    parser.add_argument(
        "--unroll",
        nargs="+",
        type=positive_int,
        default=[1],
        help="steps per iteration of the scan loop (lax.scan unroll); several values compare them",
    )
    parser.add_argument(
        "--matmul-precision",
        default="float32",
        choices=["float32", "tensorfloat32", "bfloat16"],
        help="float32 matmul passes, for JAX and the torch peer alike (default: float32, i.e. no TF32 "
        "on GPUs; tensorfloat32 is JAX's GPU default)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="also run one epoch of each training case (and of each ensemble and its run alone) under "
        "jax.profiler, leave the Perfetto trace in DIR and report device busy time, the time matrix "
        "multiplications alone kept it busy (and that against the compute floor) and the costliest "
        "device operations",
    )
    parser.add_argument(
        "--runs",
        nargs="+",
        type=positive_int,
        default=None,
        help="runs per program of the ensemble and runs_axis suites (default: 1 2 4 8 16 and 8, and 64 "
        "on an accelerator)",
    )
    parser.add_argument(
        "--groups",
        nargs="+",
        type=group_size,
        default=[None],
        metavar="G",
        help="runs per kernel in the ensemble suite: 'default' (the library's choice: all runs on an "
        "accelerator, one on a CPU), 'all' or a number; several compare them (default: default). The "
        "table marks a group other than the default with '!'",
    )
    parser.add_argument("--grid-sizes", nargs="+", type=positive_int, default=[100, 1000])
    parser.add_argument(
        "--repeats", type=positive_int, default=5, help="timed repeats after one warm-up (default: 5)"
    )
    parser.add_argument("--data-dir", help="MNIST IDX folder (default: $JAXVAE_DATA_DIR, else the package's)")
    parser.add_argument("--out", help="append one JSON line per case to this file")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if max(args.batch_sizes) > EPOCH_IMAGES:
        parser.error(f"--batch-sizes: at most {EPOCH_IMAGES} (the images in an epoch)")
    backend = args.backend or jax.default_backend()
    args.conv_forms = args.conv_forms or [default_form(backend)]
    try:
        device = jax.devices(backend)[0]
    except RuntimeError as e:
        print(f"benchmarks: error: backend {backend!r} is not available ({e})", file=sys.stderr)
        return 2
    # explicit, so that GPUs do not silently use TF32 (JAX's default there) unless asked to
    jax.config.update("jax_default_matmul_precision", args.matmul_precision)
    env = environment(backend)
    try:
        host_images, source = training_images(args.data_dir)
    except (DataError, DataUnavailableError) as e:
        print(f"benchmarks: error: {e}", file=sys.stderr)
        return 2
    env["data"] = source
    print(f"{env['device_kind']} x{env['device_count']} ({backend}); jax {env['jax']}, flax {env['flax']}")
    print(f"training data: {source}")
    with jax.default_device(device):
        bench = Bench(args, backend, device, env, host_images, jax.device_put(host_images, device))
        for name, suite in SUITES.items():
            if name in args.suites:
                suite.run(bench)
    return 0


if __name__ == "__main__":
    sys.exit(main())
