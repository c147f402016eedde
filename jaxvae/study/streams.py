"""The named random streams of a study: no two uses of one seed share a key."""

from __future__ import annotations

import enum

import jax


class Stream(enum.IntEnum):
    """The random streams of an experiment: ``stream_key(seed, stream)`` is
    ``fold_in(key(seed), stream)``, so that no two uses of one seed share a key."""

    JUDGE = 1  # the judge's calibration split, decoys and classifier (the experiment's seed)
    MEASURES = 2  # the samplers' draws of one run (the run's seed)
    VALIDATION = 3  # the negatives of the judge's validation table (the experiment's seed)
    CODES = 4  # one posterior draw per image of one run (the run's seed)
    EXAMPLES = 5  # the images of the judge-examples figure (the experiment's seed)
    GENERATIVE_VALIDATION = 6  # the halves and noise of the generator measures' validation
    HELD_OUT = 7  # the noise of a run's held-out -ELBO (the run's seed)


def stream_key(seed: int, stream: Stream) -> jax.Array:
    """The key of ``stream`` for ``seed``."""
    return jax.random.fold_in(jax.random.key(seed), int(stream))
