"""Training as a film: codes recorded after every epoch, equal to the final model's, kept on resume."""

import dataclasses

import numpy as np
import pytest

import jaxvae
from jaxvae.ensemble import member
from jaxvae.models import encode
from jaxvae.runs.config import EnsembleConfig
from jaxvae.runs.ensemble_run import train_ensemble
from jaxvae.runs.film import FILM_IMAGES, Recorder, film_indices, read_film


@pytest.fixture(scope="module")
def subset():
    train_data, test_data = jaxvae.load_bundled("train"), jaxvae.load_bundled("test")
    return train_data._replace(images=train_data.images[:600], labels=train_data.labels[:600]), test_data


def config(tmp_path, epochs):
    train = jaxvae.TrainConfig(
        model=jaxvae.ModelSpec("vae"), dataset="mnist_5k", epochs=epochs, batch_size=100, out=str(tmp_path)
    )
    return EnsembleConfig(train, (0, 1, 2), (1.0, 1.0, 1.0))


def test_film_has_a_frame_per_epoch_and_ends_at_the_final_codes(tmp_path, subset):
    result = train_ensemble(config(tmp_path, 3), data=subset, progress=False, film=(0, 2))
    film = read_film(tmp_path)
    assert film is not None
    assert list(film.epochs) == [1, 2, 3] and list(film.runs) == [0, 2]
    assert film.codes.shape == (3, 2, 600, 2)
    images = subset[0].images[film.indices]
    for position, run in enumerate(film.runs):
        final = np.asarray(encode(member(result.states, run).model, images).mean)
        np.testing.assert_array_equal(film.run(position)[-1], final)
    assert not np.array_equal(film.codes[0], film.codes[-1])  # the codes moved while training


@pytest.mark.slow
def test_resumed_film_equals_the_uninterrupted_one(tmp_path, subset):
    train_ensemble(config(tmp_path / "whole", 4), data=subset, progress=False, film=(1,))
    train_ensemble(config(tmp_path / "parts", 2), data=subset, progress=False, film=(1,))
    longer = dataclasses.replace(config(tmp_path / "parts", 4))
    train_ensemble(longer, data=subset, progress=False, film=(1,))
    whole, parts = read_film(tmp_path / "whole"), read_film(tmp_path / "parts")
    assert whole is not None and parts is not None
    np.testing.assert_array_equal(whole.epochs, parts.epochs)
    np.testing.assert_array_equal(whole.codes, parts.codes)


def test_a_resume_drops_the_frames_after_its_checkpoint(tmp_path, subset):
    train_ensemble(config(tmp_path, 3), data=subset, progress=False, film=(0,))
    film = read_film(tmp_path)
    assert film is not None
    recorder = Recorder(tmp_path, [0], subset[0].images[film.indices], film.indices)
    recorder.resume(2)
    assert recorder.epochs == [1, 2]
    np.testing.assert_array_equal(np.stack(recorder.frames), film.codes[:2])
    other = Recorder(tmp_path, [1], subset[0].images[film.indices], film.indices)
    other.resume(2)  # a film of other runs is not continued
    assert other.epochs == [] and other.frames == []


def test_subsample_is_fixed_and_sized():
    first, again = film_indices(60000), film_indices(60000)
    np.testing.assert_array_equal(first, again)
    assert len(first) == FILM_IMAGES and len(np.unique(first)) == FILM_IMAGES
    assert np.all(np.diff(first) > 0) and first[-1] < 60000
    np.testing.assert_array_equal(film_indices(500), np.arange(500))


def test_unreadable_film_is_ignored_with_a_warning(tmp_path, caplog):
    (tmp_path / "film.npz").write_bytes(b"not a zip")
    assert read_film(tmp_path) is None
    assert "cannot be read" in caplog.text
