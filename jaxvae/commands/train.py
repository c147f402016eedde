"""``jaxvae train``: one run, or ``--runs N`` seeds as one program (``jaxvae.runs``)."""

from __future__ import annotations

import argparse
from typing import Any

from jaxvae.commands.flags import add_config_flags, config_from_args
from jaxvae.errors import ConfigError
from jaxvae.runs.config import EnsembleConfig, TrainConfig
from jaxvae.runs.distributed import DistributedConfig, initialize, is_writer
from jaxvae.runs.driver import summarize
from jaxvae.runs.ensemble_run import train_ensemble
from jaxvae.runs.single import train
from jaxvae.study.verdicts import count


def add_command(commands: Any) -> None:
    parser = commands.add_parser(
        "train",
        help="train one model (ae, vae, rae or noisy_ae) and write its run directory",
        description="Train one model; writes OUT/config.json, OUT/metrics.json and "
        "OUT/checkpoints/. Re-running on an existing OUT resumes from its newest checkpoint.",
    )
    add_config_flags(parser, TrainConfig)
    hosts = parser.add_argument_group(
        "several processes or hosts",
        "Start the same command once per process; all of them train one model together.",
    )
    add_config_flags(hosts, DistributedConfig)
    parser.add_argument(
        "--runs",
        type=int,
        default=1,
        metavar="N",
        help="train N runs with seeds SEED, SEED+1, ... together as one compiled program (on an "
        "accelerator jax.vmap over a runs axis; on a CPU, where that was slower, the runs take turns "
        "inside the program); OUT then holds the ensemble, each run's own run directory in OUT/runs/ "
        "(default: 1). Over several devices (--devices) each holds whole runs; across processes "
        "(--coordinator-address) each process trains its share",
    )
    parser.add_argument(
        "--devices-per-run",
        type=int,
        default=1,
        metavar="K",
        help="with --runs: K devices split each run's batches (a runs x data mesh: --devices / K groups "
        "of K, each training its share of the runs) (default: 1)",
    )
    parser.add_argument(
        "--restart", action="store_true", help="start over: delete the checkpoints already in --out"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    config = config_from_args(TrainConfig, args).validate()
    if args.runs < 1:
        raise ConfigError(f"--runs must be a positive integer, got {args.runs}")
    if args.devices_per_run != 1 and args.runs == 1:
        raise ConfigError("--devices-per-run is for --runs N; one run splits its batches over --devices")
    if args.runs > 1:
        return _run_ensemble(config, args)
    initialize(config_from_args(DistributedConfig, args))
    result = train(config, progress=not args.no_progress, resume=not args.restart)
    summary = summarize(result.metrics)
    if not summary:  # resumed a finished run whose metrics.json is gone: nothing was trained or measured
        print(
            f"{result.run_dir} already holds {count(int(result.state.epoch), 'trained epoch')} and no "
            f"metrics.json; nothing to train (a larger --epochs continues it, --restart starts over)"
        )
        return 0
    print(
        f"{config.model.kind} on {config.dataset} ({config.likelihood} pixels): "
        f"test loss {summary['test_total']:.2f} nats "
        f"(reconstruction {summary['test_reconstruction']:.2f}, KL {summary['test_kl']:.2f}) "
        f"after {count(int(summary['epochs']), 'epoch')}; {summary['median_epoch_seconds']:.2f} s/epoch "
        f"(first epoch with compile {summary['first_epoch_seconds']:.2f} s); run in {result.run_dir}"
    )
    return 0


def _run_ensemble(config: TrainConfig, args: argparse.Namespace) -> int:
    """``jaxvae train --runs N``: seeds SEED..SEED+N-1 trained together as one program."""
    initialize(config_from_args(DistributedConfig, args))
    ensemble = EnsembleConfig.of_seeds(config, args.runs)
    result = train_ensemble(
        ensemble,
        progress=not args.no_progress,
        resume=not args.restart,
        devices_per_run=args.devices_per_run,
    )
    if not is_writer():
        return 0
    summary: dict[str, float] = {}
    for seed, run in zip(ensemble.seeds, result.runs, strict=True):
        summary = summarize(run.metrics)
        if not summary:  # resumed a finished ensemble whose metrics.json is gone
            print(f"{config.model.kind} seed {seed}: nothing trained, no metrics.json; run in {run.run_dir}")
            continue
        print(
            f"{config.model.kind} seed {seed}: test loss {summary['test_total']:.2f} nats "
            f"(reconstruction {summary['test_reconstruction']:.2f}, KL {summary['test_kl']:.2f}); "
            f"run in {run.run_dir}"
        )
    if not summary:
        return 0
    print(
        f"{count(ensemble.runs, 'run')} in one program: {summary['median_epoch_seconds']:.2f} s per epoch "
        f"of all (first epoch with compile {summary['first_epoch_seconds']:.2f} s); ensemble in "
        f"{result.run_dir}"
    )
    return 0
