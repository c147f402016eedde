"""``jaxvae eval RUN_DIR``: ``jaxvae.experiments.heldout.evaluate_run`` with its settings as flags."""

from __future__ import annotations

import argparse
from typing import Any

from jaxvae.commands.flags import add_config_flags, config_from_args
from jaxvae.experiments import heldout
from jaxvae.experiments.heldout import EvalConfig, evaluate_run, format_result


def add_command(commands: Any) -> None:
    parser = commands.add_parser(
        "eval",
        help="held-out -ELBO, IWAE-k bounds and (2-D latent) exact -log p(x) of a trained VAE",
        description=heldout.__doc__,
    )
    parser.add_argument(
        "run_dir",
        help="a run directory written by jaxvae train (or a demo's REPORT/runs_vae/runs/seed0_beta1)",
    )
    add_config_flags(parser, EvalConfig)
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    config = config_from_args(EvalConfig, args)
    print(format_result(evaluate_run(args.run_dir, config, progress=not args.no_progress)))
    return 0
