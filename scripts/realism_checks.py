#!/usr/bin/env python3
"""What the realism score says about real digits, class by class, and about real digits restyled.

    python scripts/realism_checks.py                  # the default demo's judge, full MNIST

Loads the judge of the default settings from jaxvae's cache (building it there, as `jaxvae demo`
would, when it is not there yet) and scores the held-out half of the test split (the half that
realism is not measured against) with the realism score two ways: against the real digits of the
class the judge reads in each image (what the demo uses), and against all real digits at once (the
score of Kynkäänniemi et al. as published). Then the same held-out digits binarized (every pixel
above half set to full ink, the rest to none) and saturated (doubled, clipped). Prints, per set, the
judge's accepted share and the realistic share (realism >= 1) of each score. No trained model's
images are scored.
"""

from __future__ import annotations

import argparse

import numpy as np

from jaxvae.study.far_field import REALISTIC, judged
from jaxvae.study.generative import knn_radii, realism
from jaxvae.study.measures import PR_K, reference
from jaxvae.study.streams import Stream, stream_key
from jaxvae.study.study import StudyConfig, load_study_data, study_judge


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="mnist", help="dataset (default: mnist)")
    parser.add_argument("--seed", type=int, default=StudyConfig().seed, help="the judge's seed")
    args = parser.parse_args()
    config = StudyConfig(dataset=args.dataset, seed=args.seed)
    data = load_study_data(args.dataset, None)
    judge, _, _ = study_judge(config, data)
    test = data.test
    real = reference(judge, test.images, test.labels, key=stream_key(args.seed, Stream.GENERATIVE_VALIDATION))
    typical = real.typical
    held, labels = test.images[typical.held_out], test.labels[typical.held_out]
    pooled_radii = knn_radii(typical.features, k=PR_K)  # k-NN radii among all classes

    def row(name: str, images: np.ndarray) -> None:
        accepted, by_class = judged(judge, typical, images)
        pooled = np.asarray(realism(judge.features(images), typical.features, pooled_radii))
        print(
            f"{name:<34} accepted {np.mean(accepted):6.1%}   realistic: within its class "
            f"{np.mean(by_class >= REALISTIC):6.1%}, against all classes {np.mean(pooled >= REALISTIC):6.1%}"
        )

    print(f"{args.dataset}: realism of the held-out half of the test split ({len(held):,} images)")
    row("held-out real test images", held)
    for c in np.unique(labels):
        row(f"  of class {c}", held[labels == c])
    row("binarized (> half: full ink)", np.where(held > 127, 255, 0).astype(np.uint8))
    row("saturated (doubled, clipped)", np.clip(held.astype(np.int32) * 2, 0, 255).astype(np.uint8))


if __name__ == "__main__":
    main()
