"""``jaxvae judge build``: ``jaxvae.experiments.judge.run_judge_build`` with its settings as flags."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from jaxvae.commands.flags import add_config_flags, config_from_args
from jaxvae.experiments.judge import JudgeConfig, run_judge_build
from jaxvae.report.tables import text_table, validation_rows


def add_command(commands: Any) -> None:
    parser = commands.add_parser(
        "judge",
        help="build a data set's judge from the recipe (MNIST's ships with jaxvae)",
        description='The judge scores every picture the experiments make ("is this a digit?"). '
        "MNIST's ships inside jaxvae, so the demo, the ablation and the sweep train nothing else on "
        "MNIST; other data sets build theirs from the recipe and cache it.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    build = actions.add_parser(
        "build",
        help="build and validate a judge, and write it with its provenance",
        description="Build a judge from the recipe (eight auxiliary decoders, then the classifier and "
        "its threshold; cached, so a second build loads it), validate it on the test split, and write "
        "OUT/judge.npz and OUT/provenance.json (recipe, settings, data digest, validation table, "
        "machine, SHA-256). scripts/ship_judge.py makes such a folder the judge jaxvae ships.",
    )
    add_config_flags(build, JudgeConfig)
    build.add_argument("--no-progress", action="store_true", help="no progress bars")
    build.set_defaults(handler=_build)


def _build(args: argparse.Namespace) -> int:
    config = config_from_args(JudgeConfig, args).validate()
    provenance = run_judge_build(config, progress=not args.no_progress)
    rows = validation_rows({"validation": provenance["validation"]})
    print(
        f"The judge of {provenance['dataset']} (recipe {provenance['recipe']}, threshold "
        f"{provenance['threshold']:.2f}, class accuracy {provenance['test_accuracy']:.1%}): "
        + ("fit for use, every target met" if provenance["fit"] else "NOT fit: some targets missed")
    )
    print(text_table(["kind", "judge should", "rate", "target", "met"], rows))
    print(f"\nJudge: {Path(config.out) / 'judge.npz'} (SHA-256 {provenance['sha256'][:12]}, provenance.json)")
    return 0
