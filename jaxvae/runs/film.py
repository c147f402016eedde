"""Training as a film: the codes of a fixed training subsample, recorded after every epoch.

An ensemble that is filmed keeps ``film.npz`` in its run folder: for the filmed runs (by their
index in the ensemble), each one's codes (the AE's code, the VAE's posterior mean) of the same
``FILM_IMAGES`` training images after each epoch, and the RMS of their posteriors' sigma (0 for a
deterministic model): how wide the noise on the codes is against how far they spread. The file is
rewritten whole after every epoch; a resumed ensemble keeps the frames up to the epoch it resumes
from, so an interrupted run's film equals an uninterrupted one's.
"""

from __future__ import annotations

import io
import logging
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from jaxvae.ensemble import member
from jaxvae.models import encode
from jaxvae.runs.files import write_bytes
from jaxvae.train import TrainState

logger = logging.getLogger(__name__)

FILM_FILE = "film.npz"
FILM_IMAGES = 10_000  # the size of the filmed subsample (all images when there are fewer)
FILM_SEED = 0  # the subsample is the same for every run, model and seed


def film_indices(num_images: int, size: int = FILM_IMAGES) -> np.ndarray:
    """The sorted indices of the filmed subsample of a training set of ``num_images`` images."""
    if num_images <= size:
        return np.arange(num_images)
    return np.sort(np.random.default_rng(FILM_SEED).choice(num_images, size, replace=False))


@dataclass(frozen=True)
class Film:
    """A recording: ``codes`` [frames, filmed runs, images, latent] after each of ``epochs``
    [frames], of the training images ``indices``, for the ensemble's runs ``runs``; ``sigmas``
    [frames, filmed runs], the root mean square of the posteriors' sigma over those images and axes
    (0 for a deterministic model)."""

    epochs: np.ndarray
    codes: np.ndarray
    indices: np.ndarray
    runs: np.ndarray
    sigmas: np.ndarray

    def run(self, i: int) -> np.ndarray:
        """The frames of filmed run ``i`` (its position in ``runs``): [frames, images, latent]."""
        return self.codes[:, i]


def read_film(run_dir: str | Path) -> Film | None:
    """The film in ``run_dir``, or None when there is none or it cannot be read (a warning says so)."""
    path = Path(run_dir) / FILM_FILE
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as f:
            # films from before the sigmas were recorded have none: zeros, as for an autoencoder
            sigmas = f["sigmas"] if "sigmas" in f else np.zeros(f["codes"].shape[:2], np.float32)
            film = Film(f["epochs"], f["codes"], f["indices"], f["runs"], sigmas)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as e:
        logger.warning("%s cannot be read (%s); the film starts again from this epoch", path, e)
        return None
    shapes = film.codes.shape[:2] == film.sigmas.shape == (len(film.epochs), len(film.runs))
    if not shapes or film.codes.shape[2] != len(film.indices):
        logger.warning("%s has inconsistent shapes; the film starts again from this epoch", path)
        return None
    return film


@dataclass
class Recorder:
    """Films runs ``runs`` of an ensemble into ``run_dir``: call it with the stacked state after
    each epoch. ``images`` are the filmed training images [n, 28, 28] (on the device)."""

    run_dir: Path
    runs: Sequence[int]
    images: jax.Array
    indices: np.ndarray
    epochs: list[int] = field(default_factory=list)
    frames: list[np.ndarray] = field(default_factory=list)
    sigmas: list[np.ndarray] = field(default_factory=list)

    def resume(self, start: int) -> None:
        """Keep the frames of a film already in ``run_dir`` up to epoch ``start`` (a matching one)."""
        film = read_film(self.run_dir)
        same = film is not None and list(film.runs) == list(self.runs)
        if film is None or not same or not np.array_equal(film.indices, self.indices):
            return
        kept = film.epochs <= start
        self.epochs = [int(e) for e in film.epochs[kept]]
        self.frames = list(film.codes[kept])
        self.sigmas = list(film.sigmas[kept])

    def __call__(self, states: TrainState, epoch: int) -> None:
        posteriors = [encode(member(states, i).model, self.images) for i in self.runs]
        codes = [p.mean for p in posteriors]
        sigmas = [0.0 if p.logvar is None else jnp.sqrt(jnp.mean(jnp.exp(p.logvar))) for p in posteriors]
        codes, sigmas = jax.device_get((codes, sigmas))  # one transfer for the epoch's frame
        self.epochs.append(epoch)
        self.frames.append(np.stack(codes).astype(np.float32))
        self.sigmas.append(np.asarray(sigmas, np.float32))
        buffer = io.BytesIO()
        np.savez(
            buffer,
            epochs=np.asarray(self.epochs, np.int32),
            codes=np.stack(self.frames),
            indices=self.indices,
            runs=np.asarray(self.runs, np.int32),
            sigmas=np.stack(self.sigmas),
        )
        write_bytes(self.run_dir / FILM_FILE, buffer.getvalue())
