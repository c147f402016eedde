"""Why does the VAE fill its latent space? The answers, decided per run by rules fixed here.

The VAE's KL term pulls the codes towards the origin and keeps each posterior wide (noise on the
code). The ablation (``jaxvae why``) trains four kinds that take the two apart: the autoencoder
(neither), the RAE (the pull), the noisy autoencoder (the noise) and the VAE (both), and asks:

- does the pull alone fill the space?  (the RAE, by claim (v)'s rule ``fills_space``)
- does the noise alone?                 (the noisy autoencoder, by the same rule)
- does an ex-post density make a plain autoencoder generate like the VAE?  (the AE's 10-Gaussian
  mixture sampler against the VAE's N(0, I) draws of the same seed, by ``like_the_vae``)

Each question is decided run by run (run i of each kind has seed i). A verdict is "holds" or
"does not hold" only when every run is on the same side; otherwise "undecided (n of N runs)":
the spread over seeds is wider than the rule's margin. These rules were fixed before any run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from jaxvae.study.records import Answer, Generation, Measures, Scores
from jaxvae.study.samplers import GMM, PRIOR
from jaxvae.study.verdicts import GENERATES, fills_space

KINDS = ("ae", "rae", "noisy_ae", "vae")  # neither, the pull, the noise, both
PULL = {"ae": False, "rae": True, "noisy_ae": False, "vae": True}
NOISE = {"ae": False, "rae": False, "noisy_ae": True, "vae": True}


def like_the_vae(sampler: Scores, vae_prior: Scores) -> bool:
    """Whether a sampler's decodes are as good as the VAE's N(0, I) decodes: accepted and coverage at
    least ``GENERATES`` of theirs, and no class missing that they have."""
    return (
        sampler.accepted >= GENERATES * vae_prior.accepted
        and sampler.coverage >= GENERATES * vae_prior.coverage
        and set(sampler.missing_classes) <= set(vae_prior.missing_classes)
    )


def agreement(passes: Sequence[bool]) -> str:
    """ "holds" when every run passes, "does not hold" when none does, else "undecided (n of N runs)"."""
    if all(passes):
        return "holds"
    if not any(passes):
        return "does not hold"
    return f"undecided ({sum(passes)} of {len(passes)} runs)"


Run = Mapping[str, Measures | Generation]  # one run of each kind: its measures


def _fills(kind: str) -> Callable[[Run], bool | None]:
    """Claim (v)'s rule on ``kind``'s run, or None without the maps' measures (a latent size but 2)."""

    def rule(run: Run) -> bool | None:
        measures = run[kind]
        return fills_space(measures) if isinstance(measures, Measures) else None

    return rule


QUESTIONS: list[tuple[str, Callable[[Run], bool | None]]] = [
    ("Does the pull alone (the RAE) fill the space?", _fills("rae")),
    ("Does the noise alone (the noisy autoencoder) fill the space?", _fills("noisy_ae")),
    (
        "Does an ex-post density (a 10-Gaussian mixture fitted to its codes) make a plain autoencoder "
        "generate like the VAE?",
        lambda run: like_the_vae(run["ae"].other_samplers[GMM], run["vae"].samplers[PRIOR]),
    ),
]


def answers(runs: Sequence[Run]) -> list[Answer]:
    """Each question's verdict over ``runs`` (per run: kind -> its measures) and each run's answer;
    a question whose measures were not taken (the maps' measures, at a latent size other than 2)
    is left out."""
    decided = []
    for question, rule in QUESTIONS:
        passes = [rule(run) for run in runs]
        if any(p is None for p in passes):
            continue
        said = [bool(p) for p in passes]
        decided.append(Answer(question=question, runs=said, verdict=agreement(said)))
    return decided


def race(codes: np.ndarray, sigmas: np.ndarray) -> np.ndarray:
    """The codes' race against the noise, per frame of a film: the RMS spread of the codes
    [frames, images, d] about their mean, per axis, over the RMS posterior sigma [frames]. Large:
    the noise no longer matters to where the codes are."""
    spread = np.sqrt(np.mean(np.square(codes - codes.mean(axis=1, keepdims=True)), axis=(1, 2)))
    return spread / np.maximum(sigmas, 1e-12)
