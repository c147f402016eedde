"""The IDX file format of MNIST and Fashion-MNIST: bytes to uint8 arrays, every malformed file a
one-line ``DataError`` (a wrong magic number, an unsupported type, truncated or excess data, bad
gzip)."""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from jaxvae.errors import DataError


def read_bytes(path: Path) -> bytes:
    """A file's bytes, gunzipped when its name ends in ``.gz``; a ``DataError`` when unreadable."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from None
    if path.suffix == ".gz":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:
            raise DataError(f"{path}: not a valid gzip file ({e})") from None
    return raw


def parse_idx(data: bytes, *, name: str = "<bytes>", ndim: int | None = None) -> np.ndarray:
    """Parse IDX bytes holding unsigned bytes (type 0x08) into a uint8 array; with ``ndim``, the
    magic number must announce that many dimensions (3 for images, 1 for labels).

    Raises:
        DataError: on a wrong magic number, an unsupported type, or truncated or excess data.
    """
    if len(data) < 4:
        raise DataError(f"{name}: too short for an IDX header ({len(data)} bytes)")
    zero, dtype_code, ndim_code = struct.unpack(">HBB", data[:4])
    if zero != 0 or ndim_code == 0:
        raise DataError(f"{name}: wrong magic number 0x{data[:4].hex()} (not an IDX file)")
    if dtype_code != 0x08:
        raise DataError(f"{name}: IDX element type 0x{dtype_code:02x} unsupported (need 0x08 uint8)")
    if ndim is not None and ndim_code != ndim:
        raise DataError(
            f"{name}: wrong magic number 0x{data[:4].hex()}: it announces {ndim_code} dimensions, this "
            f"file needs {ndim} (magic 0x000008{ndim:02x})"
        )
    header_end = 4 + 4 * ndim_code
    if len(data) < header_end:
        raise DataError(f"{name}: truncated IDX header")
    shape = struct.unpack(f">{ndim_code}I", data[4:header_end])
    if 0 in shape:  # also keeps numpy from refusing shapes like (0, 2**32 - 1, 2**32 - 1)
        raise DataError(f"{name}: IDX shape {shape} holds no data")
    expected = math.prod(shape)
    actual = len(data) - header_end
    if actual < expected:
        raise DataError(f"{name}: truncated data: {actual} bytes for shape {shape} ({expected} needed)")
    if actual > expected:
        raise DataError(f"{name}: {actual - expected} unexpected bytes after the data of shape {shape}")
    return np.frombuffer(data, dtype=np.uint8, offset=header_end).reshape(shape)


def read_idx(path: str | os.PathLike[str], *, ndim: int | None = None) -> np.ndarray:
    """Read an IDX file (raw, or gzip when the name ends in ``.gz``) into a uint8 array; ``ndim``
    as in ``parse_idx``."""
    path = Path(path)
    return parse_idx(read_bytes(path), name=str(path), ndim=ndim)


def parse_idx_gz(payload: bytes, *, name: str) -> bytes:
    """Decompress and validate a downloaded ``.gz`` IDX payload; returns the raw bytes."""
    try:
        raw = gzip.decompress(payload)
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f"{name}.gz: downloaded file is not valid gzip ({e})") from None
    parse_idx(raw, name=name)
    return raw
