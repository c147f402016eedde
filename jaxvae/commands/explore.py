"""``jaxvae explore RUN_DIR ...``: ``jaxvae.experiments.explore.explore_runs`` as a command."""

from __future__ import annotations

import argparse
from typing import Any

from jaxvae.experiments.explore import explore_runs


def add_command(commands: Any) -> None:
    parser = commands.add_parser(
        "explore",
        help="write a page that decodes any point of trained 2-D latent spaces live in the browser",
        description="Write OUT/explorer.html and OUT/explorer_data.js for one or more run directories "
        "of models with a 2-D latent (jaxvae train --latent-dim 2, or a demo report's "
        "runs_ae/runs/seed0_beta1 and runs_vae/runs/seed0_beta1). The page runs each decoder in "
        "JavaScript and opens offline from file://.",
    )
    parser.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="run directories to explore")
    parser.add_argument("--out", default="explorer", help="folder for the page (default: explorer)")
    parser.add_argument("--data-dir", default=None, help="directory of IDX files (default: each run's)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    page = explore_runs(args.run_dirs, args.out, args.data_dir)
    print(f"Explorer: {page}")
    return 0
