"""``jaxvae why``: ``jaxvae.experiments.why.run_why`` with its settings as flags."""

from __future__ import annotations

from typing import Any

from jaxvae.commands.flags import add_experiment_flags, run_experiment
from jaxvae.experiments.why import QUICK, WhyConfig, run_why
from jaxvae.report.why_page import why_tables


def add_command(commands: Any) -> None:
    parser = commands.add_parser(
        "why",
        help="why does the VAE fill its latent space: the KL's pull, or the noise? (an ablation)",
        description="Train four kinds with the same network once per seed, each as one ensemble: the "
        "autoencoder (neither), the RAE (the pull of the codes to the origin), the noisy autoencoder "
        "(noise on the codes) and the VAE (both). Measure each with the demo's validated judge and "
        "measures, the ex-post mixture sampler, interpolation and prior holes; decide, run by run, "
        "whether the pull alone and the noise alone fill the space and whether an ex-post density makes "
        "a plain autoencoder generate like the VAE; and write OUT/index.html, OUT/metrics.json and the "
        "figures. The same command run again resumes the training.",
    )
    add_experiment_flags(parser, WhyConfig, QUICK)
    parser.set_defaults(handler=lambda args: run_experiment(args, WhyConfig, run_why, why_tables))
