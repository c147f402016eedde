"""Each degenerate kind is what its recipe says, on real digits."""

import jax
import numpy as np
import pytest
from scipy import ndimage

from jaxvae.sources import load_bundled
from jaxvae.study.degenerate import (
    FRAGMENT_SHARE,
    MAX_STROKE_LENGTH,
    MAX_STROKES,
    SHRUNK_SIZES,
    blobs,
    degenerate_images,
    dots_and_dashes,
    fragments,
    ink,
    shrunken,
)

KEY = jax.random.key(0)


@pytest.fixture(scope="module")
def digits():
    return load_bundled("test").images[:200]


def test_fragments_keep_a_fifth_of_the_ink_in_one_place(digits):
    cut = fragments(KEY, digits)
    kept, whole = ink(cut), ink(digits)
    assert (kept == np.maximum(np.floor(FRAGMENT_SHARE * whole), 1)).all()  # less than a quarter
    assert ((cut > 0) <= (digits > 0)).all()  # nothing drawn that was not there
    rows, cols = np.nonzero(cut[0])
    assert max(np.ptp(rows), np.ptp(cols)) < 20  # one piece of the digit, not a thinned copy of it


def test_dots_and_dashes_are_a_few_pixels_of_ink():
    dots = dots_and_dashes(KEY, 300)
    counts = ink(dots)
    assert (counts >= 1).all() and (counts <= MAX_STROKES * MAX_STROKE_LENGTH).all()
    assert len(np.unique(counts)) > 5  # of many lengths and counts


def test_shrunken_digits_fit_in_a_few_pixels_anywhere(digits):
    small = shrunken(KEY, digits)
    corners = set()
    for image in small:
        rows, cols = np.nonzero(image)
        assert np.ptp(rows) < max(SHRUNK_SIZES) and np.ptp(cols) < max(SHRUNK_SIZES)
        corners.add((rows.min() // 7, cols.min() // 7))
    assert len(corners) >= 10  # placed all over the frame
    assert np.median(ink(small)) < np.median(ink(digits)) / 5


def test_blobs_merge_strokes_and_close_holes(digits):
    merged = blobs(KEY, digits)
    assert (ink(merged) >= 2 * ink(digits)).all()
    assert np.mean([holes(image) == 0 for image in merged]) >= 0.9  # the widest 0s keep a pinhole
    assert np.mean([holes(image) > 0 for image in digits]) > 0.3  # as 0, 6, 8 and 9 have


def holes(image: np.ndarray) -> int:
    """The pieces of background that do not reach the frame's edge."""
    pieces, count = ndimage.label(image <= 127)
    edge = np.unique(np.concatenate([pieces[0], pieces[-1], pieces[:, 0], pieces[:, -1]]))
    return count - len(set(edge) - {0})


def test_degenerate_images_are_fixed_by_the_key(digits):
    first, again = degenerate_images(KEY, digits, 50), degenerate_images(KEY, digits, 50)
    other = degenerate_images(jax.random.key(1), digits, 50)
    assert set(first) == {"fragments", "dots and dashes", "shrunken digits", "blobs"}
    for kind in first:
        assert first[kind].shape == (50, 28, 28) and first[kind].dtype == np.uint8
        np.testing.assert_array_equal(first[kind], again[kind])
        assert not np.array_equal(first[kind], other[kind])
