"""``jaxvae sweep``: ``jaxvae.experiments.sweep.run_sweep`` with its settings as flags."""

from __future__ import annotations

from typing import Any

from jaxvae.commands.flags import add_experiment_flags, run_experiment
from jaxvae.experiments.sweep import QUICK, SweepConfig, run_sweep
from jaxvae.report.sweep_page import sweep_tables


def add_command(commands: Any) -> None:
    parser = commands.add_parser(
        "sweep",
        help="VAEs over a grid of KL weights (beta), one program: how much overlap fills the space?",
        description="Train a 2-D VAE for every beta (and seed) as one ensemble, measure each with the demo's "
        "validated judge and measures (empty share of the code box, prior samples' generation measures, "
        "held-out -ELBO, reconstruction and KL), grade each by the demo's rules for 'fills the space' and "
        "'prior samples decode like reconstructions', and write OUT/index.html, OUT/metrics.json and "
        "the figures. The same command run again resumes the ensemble.",
    )
    add_experiment_flags(parser, SweepConfig, QUICK)
    parser.set_defaults(handler=lambda args: run_experiment(args, SweepConfig, run_sweep, sweep_tables))
