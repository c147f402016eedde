#!/usr/bin/env python3
"""What a judge does with the degenerate images a decoder makes far from its codes.

    python scripts/judge_blind_spots.py                      # the default demo's judge, full MNIST
    python scripts/judge_blind_spots.py --classifier-epochs 2 --judge-decoder-epochs 1   # --quick's

Loads the judge of these settings from jaxvae's cache (building it there, as ``jaxvae demo`` would,
when it is not there yet), prints its validation table on the test split, then its reject rate on
5,000 images of each degenerate kind made from the test split (``jaxvae.study.degenerate``), against
the same 95% reject target. Nothing here is judged: no trained model's images are scored.
"""

from __future__ import annotations

import argparse

import jax
import numpy as np

from jaxvae.study.degenerate import degenerate_images
from jaxvae.study.judge import TARGETS, validate
from jaxvae.study.study import StudyConfig, load_study_data, study_judge


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    defaults = StudyConfig()
    parser.add_argument("--dataset", default="mnist", help="dataset (default: mnist)")
    parser.add_argument("--classifier-epochs", type=int, default=defaults.classifier_epochs)
    parser.add_argument("--judge-decoder-epochs", type=int, default=defaults.judge_decoder_epochs)
    parser.add_argument("--seed", type=int, default=defaults.seed, help="the judge's seed")
    parser.add_argument("--count", type=int, default=5000, help="images of each degenerate kind")
    args = parser.parse_args()
    config = StudyConfig(
        dataset=args.dataset,
        classifier_epochs=args.classifier_epochs,
        judge_decoder_epochs=args.judge_decoder_epochs,
        seed=args.seed,
    )
    data = load_study_data(args.dataset, None)
    judge, _ = study_judge(config, data)
    test = data.test
    print(
        f"{args.dataset} judge (seed {args.seed}, classifier {args.classifier_epochs} epochs, "
        f"decoders {args.judge_decoder_epochs}), threshold {judge.threshold:.2f}"
    )
    for row in validate(judge, test.images, test.labels, {}, key=jax.random.key(args.seed)):
        print(f"  {row['kind']:<28} {row['action']} {row['rate']:6.1%}  (target {row['target']:.0%})")
    made = degenerate_images(jax.random.key(args.seed + 1), test.images, args.count)
    for kind, images in made.items():
        rate = float(np.mean(~judge.accepts(images)))
        print(f"  {kind:<28} reject {rate:6.1%}  (target {TARGETS['reject']:.0%})")


if __name__ == "__main__":
    main()
