"""The ``jaxvae`` command line: a thin mapping of flags onto the config dataclasses.

Every failure the project anticipates (bad data, bad config, bad checkpoint) is printed as one
``jaxvae: error: ...`` line with exit status 2, never as a traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import typing
from collections.abc import Callable, Sequence
from typing import Any

from jaxvae.config import TrainConfig
from jaxvae.errors import ConfigError, JaxvaeError
from jaxvae.flags import add_config_flags, config_from_args

DESCRIPTION = """\
Autoencoders versus variational autoencoders on MNIST, in JAX.

  jaxvae demo     train both models with a 2-D latent, test the AE-versus-VAE claims, write a report
  jaxvae train    train one model and write its run directory (config, metrics, checkpoints)
  jaxvae explore  a page that decodes any point of trained 2-D latent spaces live in the browser
  jaxvae sweep    VAEs over a grid of KL weights, trained as one program: how much overlap fills the space
  jaxvae eval     held-out -ELBO, IWAE-k bounds and the exact 2-D log-likelihood of a trained VAE

Data: MNIST is read from --data-dir or $JAXVAE_DATA_DIR (the standard IDX files), else from
tensorflow-datasets' cache, else downloaded; --dataset mnist_5k is a real 5,000-digit subset
shipped inside the package.
"""


def _train(args: argparse.Namespace) -> int:
    from jaxvae.distributed import DistributedConfig, initialize
    from jaxvae.run import summarize, train

    config = config_from_args(TrainConfig, args).validate()
    if args.runs < 1:
        raise ConfigError(f"--runs must be a positive integer, got {args.runs}")
    if args.runs > 1:
        return _train_ensemble(config, args)
    initialize(config_from_args(DistributedConfig, args))
    result = train(config, progress=not args.no_progress, resume=not args.restart)
    summary = summarize(result.metrics)
    if not summary:  # resumed a finished run whose metrics.json is gone: nothing was trained or measured
        print(
            f"{result.run_dir} already holds {_count(int(result.state.epoch), 'trained epoch')} and no "
            f"metrics.json; nothing to train (a larger --epochs continues it, --restart starts over)"
        )
        return 0
    print(
        f"{config.model} on {config.dataset} ({config.likelihood} pixels): "
        f"test loss {summary['test_total']:.2f} nats "
        f"(reconstruction {summary['test_reconstruction']:.2f}, KL {summary['test_kl']:.2f}) "
        f"after {_count(int(summary['epochs']), 'epoch')}; {summary['median_epoch_seconds']:.2f} s/epoch "
        f"(first epoch with compile {summary['first_epoch_seconds']:.2f} s); run in {result.run_dir}"
    )
    return 0


def _train_ensemble(config: TrainConfig, args: argparse.Namespace) -> int:
    """``jaxvae train --runs N``: seeds SEED..SEED+N-1 trained together as one program."""
    from jaxvae.config import EnsembleConfig
    from jaxvae.distributed import DistributedConfig, resolve
    from jaxvae.ensemble_run import train_ensemble
    from jaxvae.run import summarize

    if resolve(config_from_args(DistributedConfig, args)).coordinator_address:
        raise ConfigError("--runs trains on one device of one process; it does not combine with several")
    ensemble = EnsembleConfig.of_seeds(config, args.runs)
    result = train_ensemble(ensemble, progress=not args.no_progress, resume=not args.restart)
    summary: dict[str, float] = {}
    for seed, run in zip(ensemble.seeds, result.runs, strict=True):
        summary = summarize(run.metrics)
        if not summary:  # resumed a finished ensemble whose metrics.json is gone
            print(f"{config.model} seed {seed}: nothing trained, no metrics.json; run in {run.run_dir}")
            continue
        print(
            f"{config.model} seed {seed}: test loss {summary['test_total']:.2f} nats "
            f"(reconstruction {summary['test_reconstruction']:.2f}, KL {summary['test_kl']:.2f}); "
            f"run in {run.run_dir}"
        )
    if not summary:
        return 0
    print(
        f"{_count(ensemble.runs, 'run')} in one program: {summary['median_epoch_seconds']:.2f} s per epoch "
        f"of all (first epoch with compile {summary['first_epoch_seconds']:.2f} s); ensemble in "
        f"{result.run_dir}"
    )
    return 0


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


class OneLineParser(argparse.ArgumentParser):
    """Report a bad flag as one ``jaxvae: error:`` line (``--help`` still shows the usage)."""

    def error(self, message: str) -> typing.NoReturn:
        self.exit(2, f"jaxvae: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="jaxvae", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log what jaxvae is doing")
    parser.add_argument(
        "--no-compile-cache",
        action="store_true",
        help="do not keep compiled XLA programs in $JAXVAE_CACHE_DIR/xla (default: keep them, so a "
        "second run compiles in a fraction of the time)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    train = commands.add_parser(
        "train",
        help="train one model (ae or vae) and write its run directory",
        description="Train one model; writes OUT/config.json, OUT/metrics.json and "
        "OUT/checkpoints/. Re-running on an existing OUT resumes from its newest checkpoint.",
    )
    add_config_flags(train, TrainConfig)
    from jaxvae.distributed import DistributedConfig

    hosts = train.add_argument_group(
        "several processes or hosts",
        "Start the same command once per process; all of them train one model together.",
    )
    add_config_flags(hosts, DistributedConfig)
    train.add_argument(
        "--runs",
        type=int,
        default=1,
        metavar="N",
        help="train N runs with seeds SEED, SEED+1, ... together as one compiled program (jax.vmap over "
        "a runs axis; OUT then holds the ensemble, each run's own run directory in OUT/runs/) "
        "(default: 1)",
    )
    train.add_argument(
        "--restart", action="store_true", help="start over: delete the checkpoints already in --out"
    )
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    train.set_defaults(handler=_train)

    from jaxvae.demo import add_demo_command
    from jaxvae.explorer import add_explore_command
    from jaxvae.heldout import add_eval_command

    add_demo_command(commands)
    add_eval_command(commands)
    add_explore_command(commands)
    from jaxvae.sweep import add_sweep_command

    add_sweep_command(commands)

    return parser


def enable_compile_cache(enabled: bool) -> None:
    """Keep XLA's compiled executables on disk (``cache_dir("xla")``), so that a second run of the
    same command skips most compilation. ``$JAX_COMPILATION_CACHE_DIR``, if set, wins;
    ``$JAXVAE_NO_COMPILE_CACHE=1`` turns it off like ``--no-compile-cache``."""
    import jax

    from jaxvae.data import cache_dir

    enabled = enabled and os.environ.get("JAXVAE_NO_COMPILE_CACHE", "") in ("", "0")
    if enabled and not os.environ.get("JAX_COMPILATION_CACHE_DIR"):
        jax.config.update("jax_compilation_cache_dir", str(cache_dir("xla")))


class _OneLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        kind = "warning: " if record.levelno >= logging.WARNING else ""
        return f"jaxvae: {kind}{record.getMessage()}"


def _log_to_stderr(*, verbose: bool) -> None:
    """jaxvae's own log messages as ``jaxvae: ...`` lines on stderr, INFO and up with ``-v``, else
    warnings only. The ``jaxvae`` logger gets its own handler because orbax puts one on the root
    logger when imported, which turns ``logging.basicConfig`` into a no-op."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLineFormatter())
    log = logging.getLogger("jaxvae")
    log.handlers = [handler]  # replaced on every call: in-process callers may have swapped sys.stderr
    log.setLevel(logging.INFO if verbose else logging.WARNING)
    log.propagate = False


def _without_closed_loop_noise(hook: Callable[[Any], object]) -> Callable[[Any], object]:
    """``sys.unraisablehook`` minus one message. When orbax fails to read a corrupt checkpoint,
    tensorstore reads still in flight complete after ``asyncio.run`` has closed its event loop, and
    each one's callback prints a "RuntimeError: Event loop is closed" traceback under the
    one-line error that already names the checkpoint."""

    if getattr(hook, "without_closed_loop_noise", False):  # main() ran before in this process
        return hook

    def hook_without_noise(unraisable: Any) -> object:
        error = unraisable.exc_value
        if isinstance(error, RuntimeError) and str(error) == "Event loop is closed":
            return None
        return hook(unraisable)

    hook_without_noise.without_closed_loop_noise = True  # type: ignore[attr-defined]
    return hook_without_noise


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``jaxvae`` console script."""
    sys.unraisablehook = _without_closed_loop_noise(sys.unraisablehook)
    parser = build_parser()
    args = parser.parse_args(argv)
    _log_to_stderr(verbose=args.verbose)
    enable_compile_cache(not args.no_compile_cache)
    try:
        return int(args.handler(args))
    except JaxvaeError as e:
        print(f"jaxvae: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("jaxvae: interrupted; completed checkpoints are kept", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
