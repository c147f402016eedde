"""``jaxvae demo``: ``jaxvae.experiments.demo.run_demo`` with its settings as flags."""

from __future__ import annotations

from typing import Any

from jaxvae.commands.flags import add_experiment_flags, run_experiment
from jaxvae.experiments.demo import QUICK, DemoConfig, run_demo
from jaxvae.report.demo_page import format_tables


def add_command(commands: Any) -> None:
    parser = commands.add_parser(
        "demo",
        help="train an AE and a VAE with a 2-D latent and write an HTML report comparing them",
        description="Build and validate a judge of 'is this a digit' (taught by auxiliary decoders that "
        "are not judged), train an autoencoder and a VAE with a 2-D latent, measure both (generators "
        "under several samplers, holes in the latent maps), decide a verdict on each claim of the "
        "AE-versus-VAE story, and write OUT/index.html, the figures and OUT/metrics.json. Each "
        "training run keeps its run directory in OUT; the same command run again resumes them. Once the "
        "report is written, each run keeps only its final model (OUT/runs_*/runs/*/model.npz), unless "
        "--keep-training-state; run again, the command measures those models without training.",
    )
    add_experiment_flags(parser, DemoConfig, QUICK)
    parser.set_defaults(handler=lambda args: run_experiment(args, DemoConfig, run_demo, format_tables))
