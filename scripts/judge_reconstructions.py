#!/usr/bin/env python3
"""How well trained runs reconstruct the test digits, and how many of those reconstructions the
judge that ships with jaxvae accepts.

    python scripts/judge_reconstructions.py RUN_DIR [RUN_DIR ...]

For each run (a `jaxvae train` folder, or a demo's `runs_*/runs/*`): its network, parameters, the
test loss it reports (reconstruction term) and the share of its test reconstructions (decoded
posterior means) the shipped MNIST judge accepts. It separates two reasons a judge can reject a
network's reconstructions: the network reconstructs badly (a higher loss), or it renders digits in a
way the judge was not taught (a loss like the MLP's, and still rejected).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jax
import numpy as np

import jaxvae
from jaxvae.study.judge import reconstructions
from jaxvae.study.shipped import load_shipped


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", help="run folders")
    args = parser.parse_args()
    judge = load_shipped("mnist").judge
    print("run | network | parameters | test reconstruction (nats) | reconstructions accepted")
    for run in args.runs:
        model, config = jaxvae.load_model(run)
        test = jaxvae.load_dataset(config.dataset, "test", config.data_dir)
        loss = jaxvae.evaluate(model, test.images, key=jax.random.key(0)).reconstruction
        accepted = judge.accepts(reconstructions(model, test.images))
        spec = config.model
        network = spec.network()
        parameters = sum(int(np.prod(x.shape)) for x in jax.tree.leaves(model))
        print(f"{run} | {spec.kind} {network} | {parameters:,} | {float(loss):.1f} | {np.mean(accepted):.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
