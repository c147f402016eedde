"""The degenerate images a decoder makes far from its codes, made by fixed recipes with a known answer.

Decoding far outside the region of its codes, a decoder does not make noise: it makes the remains
of a digit. A stroke thins to a faint dash, shrinks to a dot, or smears into a saturated blob. None
of these is a digit, so a judge fit to say whether an image is one must reject them. Each recipe
starts from real images (never from a judged model's decodes) and is random only through ``key``:

- ``fragments``: a real digit with most of its ink erased: the ink within a disc around one of its
  ink pixels, the disc holding ``FRAGMENT_SHARE`` of the ink (a fifth), everything else blank.
- ``dots and dashes``: a blank image with one to three strokes of one to five pixels, anywhere.
- ``shrunken digits``: a real digit scaled down to ``SHRUNK_SIZES`` pixels across (4 to 7), placed
  anywhere in the frame.
- ``blobs``: a real digit dilated by a square of side 7 or 9 and saturated (its ink doubled), so that
  its strokes merge and its holes close (all but the widest zeros' pinholes).

Images are uint8 [N, 28, 28], as the judge reads them; "ink" is a pixel above half intensity.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from jaxvae.models import to_uint8

SIDE = 28
FRAGMENT_SHARE = 0.2
SHRUNK_SIZES = (4, 5, 6, 7)
BLOB_RADII = (3, 4)
MAX_STROKES, MAX_STROKE_LENGTH = 3, 5
INK = 0.5  # in [0, 1]: what counts as ink


def ink(images: np.ndarray) -> np.ndarray:
    """The ink pixels (above half intensity) of each uint8 image [N, 28, 28], counted: [N]."""
    return np.sum(np.asarray(images) > 255 * INK, axis=(1, 2))


def _fragment(key: jax.Array, x: jax.Array) -> jax.Array:
    """One image [28, 28] in [0, 1] cut to the disc around a random ink pixel that holds
    ``FRAGMENT_SHARE`` of its ink."""
    inked = (x > INK).ravel()
    p = jnp.where(inked.sum() > 0, inked / jnp.maximum(inked.sum(), 1), 1.0 / (SIDE * SIDE))
    seed = jax.random.choice(key, SIDE * SIDE, p=p)
    rows, cols = jnp.divmod(jnp.arange(SIDE * SIDE), SIDE)
    distance = jnp.hypot(rows - seed // SIDE, cols - seed % SIDE).astype(jnp.float32)
    keep = jnp.maximum(jnp.floor(FRAGMENT_SHARE * inked.sum()).astype(jnp.int32), 1)
    # the ``keep`` nearest ink pixels (ties broken by position), and the fainter pixels inside them
    order = jnp.argsort(jnp.where(inked, distance, jnp.inf), stable=True)
    rank = jnp.zeros(SIDE * SIDE, jnp.int32).at[order].set(jnp.arange(SIDE * SIDE, dtype=jnp.int32))
    radius = distance[order[keep - 1]]
    kept = (inked & (rank < keep)) | (~inked & (distance < radius))
    return jnp.where(kept, x.ravel(), 0.0).reshape(SIDE, SIDE)


def _strokes(key: jax.Array) -> jax.Array:
    """One blank image [28, 28] with one to ``MAX_STROKES`` strokes of one to ``MAX_STROKE_LENGTH``
    pixels, each in one of the eight directions, at full intensity."""
    count_key, start_key, direction_key, length_key = jax.random.split(key, 4)
    strokes = jax.random.randint(count_key, (), 1, MAX_STROKES + 1)
    start = jax.random.randint(start_key, (MAX_STROKES, 2), 0, SIDE)
    directions = jnp.array([[0, 1], [1, 0], [1, 1], [1, -1], [0, -1], [-1, 0], [-1, -1], [-1, 1]])
    step = directions[jax.random.randint(direction_key, (MAX_STROKES,), 0, len(directions))]
    length = jax.random.randint(length_key, (MAX_STROKES, 1), 1, MAX_STROKE_LENGTH + 1)
    t = jnp.arange(MAX_STROKE_LENGTH)[None, :, None]
    points = jnp.clip(start[:, None, :] + t * step[:, None, :], 0, SIDE - 1)  # [strokes, length, 2]
    drawn = (t[..., 0] < length) & (jnp.arange(MAX_STROKES)[:, None] < strokes)
    image = jnp.zeros((SIDE, SIDE)).at[points[..., 0], points[..., 1]].max(drawn.astype(jnp.float32))
    return image


def _shrunk(key: jax.Array, x: jax.Array, size: int) -> jax.Array:
    """One image [28, 28] scaled down to ``size`` pixels across (area-weighted, so strokes fade
    rather than vanish) and placed at a random position."""
    small = jax.image.resize(x, (size, size), method="linear", antialias=True)
    small = small / jnp.maximum(small.max(), 1e-6) * x.max()  # as dark as the digit it came from
    corner = jax.random.randint(key, (2,), 0, SIDE - size + 1)
    return jax.lax.dynamic_update_slice(jnp.zeros((SIDE, SIDE)), small, (corner[0], corner[1]))


def _blob(key: jax.Array, x: jax.Array) -> jax.Array:
    """One image [28, 28] dilated by a square of side 2r + 1 (r one of ``BLOB_RADII``) and
    saturated: its ink doubled, clipped to 1."""
    radius = jnp.asarray(BLOB_RADII)[jax.random.randint(key, (), 0, len(BLOB_RADII))]
    dilated = [
        jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (2 * r + 1, 2 * r + 1), (1, 1), "SAME")
        for r in BLOB_RADII
    ]
    chosen = jnp.select([radius == r for r in BLOB_RADII], dilated)
    return jnp.clip(2.0 * chosen, 0.0, 1.0)


@jax.jit
def _fragments(key: jax.Array, x: jax.Array) -> jax.Array:
    return jax.vmap(_fragment)(jax.random.split(key, len(x)), x)


@jax.jit
def _blobs(key: jax.Array, x: jax.Array) -> jax.Array:
    return jax.vmap(_blob)(jax.random.split(key, len(x)), x)


@partial(jax.jit, static_argnames="size")
def _shrunks(keys: jax.Array, x: jax.Array, size: int) -> jax.Array:
    return jax.vmap(partial(_shrunk, size=size))(keys, x)


@partial(jax.jit, static_argnames="count")
def _dots(key: jax.Array, count: int) -> jax.Array:
    return jax.vmap(_strokes)(jax.random.split(key, count))


def _pixels(images: np.ndarray) -> jax.Array:
    return jnp.asarray(images, jnp.float32) / 255.0


def fragments(key: jax.Array, images: np.ndarray) -> np.ndarray:
    """Each uint8 image [N, 28, 28] cut to the disc around one of its ink pixels that holds
    ``FRAGMENT_SHARE`` of its ink."""
    return to_uint8(_fragments(key, _pixels(images)))


def dots_and_dashes(key: jax.Array, count: int) -> np.ndarray:
    """``count`` blank uint8 images with one to three strokes of one to five pixels each."""
    return to_uint8(_dots(key, count))


def shrunken(key: jax.Array, images: np.ndarray) -> np.ndarray:
    """Each uint8 image [N, 28, 28] scaled down to one of ``SHRUNK_SIZES`` pixels across, anywhere."""
    size_key, place_key = jax.random.split(key)
    sizes = np.asarray(jax.random.choice(size_key, jnp.asarray(SHRUNK_SIZES), (len(images),)))
    out = np.zeros((len(images), SIDE, SIDE), np.float32)
    for size in SHRUNK_SIZES:  # one compiled program per size (and batch size)
        rows = np.flatnonzero(sizes == size)
        if len(rows):
            keys = jax.random.split(jax.random.fold_in(place_key, size), len(rows))
            out[rows] = np.asarray(_shrunks(keys, _pixels(images[rows]), size=size))
    return to_uint8(out)


def blobs(key: jax.Array, images: np.ndarray) -> np.ndarray:
    """Each uint8 image [N, 28, 28] dilated by a square of side 2r + 1 (r one of ``BLOB_RADII``)
    and saturated."""
    return to_uint8(_blobs(key, _pixels(images)))


def degenerate_images(key: jax.Array, images: np.ndarray, count: int) -> dict[str, np.ndarray]:
    """``count`` images of each degenerate kind, uint8 [count, 28, 28], from the real ``images``
    [N, 28, 28] uint8 (a random ``count`` of them, with repeats when N < count)."""
    pick_key, fragment_key, dot_key, shrink_key, blob_key = jax.random.split(key, 5)
    chosen = images[
        np.asarray(jax.random.choice(pick_key, len(images), (count,), replace=count > len(images)))
    ]
    return {
        "fragments": fragments(fragment_key, chosen),
        "dots and dashes": dots_and_dashes(dot_key, count),
        "shrunken digits": shrunken(shrink_key, chosen),
        "blobs": blobs(blob_key, chosen),
    }
