"""Files of a run folder: written whole or not at all, and checked when read back.

Small files (configs, metrics, pages) are written to a temporary file in the same folder and
renamed over the old one, so that a reader sees the old file or the new one, never half of one;
a failed write removes its temporary file and raises one ``WriteError`` naming the file. Arrays
get a content digest (``digest``) that a reader compares before it trusts them.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import re
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from jaxvae.errors import ConfigError, WriteError

logger = logging.getLogger(__name__)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def os_reason(error: BaseException) -> str:
    """What went wrong at the OS level, in a few words: the strerror of the first ``OSError`` in the
    exception's chain, or of an ``os_error_code`` that tensorstore put in its message; else the
    message's first line."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, OSError) and seen.strerror:
            return seen.strerror
        code = re.search(r"os_error_code='?(\d+)", str(seen))
        if code:
            return os.strerror(int(code.group(1)))
        seen = seen.__cause__ or seen.__context__
    lines = str(error).strip().splitlines() or [type(error).__name__]
    return lines[0][:200]


def write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, with the mode any new file of the user gets (a
    temporary file is created 0600). Raises ``WriteError`` naming ``path`` on any OS error, after
    removing the temporary file; the old ``path``, if any, is left as it was."""
    tmp: str | None = None
    try:
        with tempfile.NamedTemporaryFile("wb", dir=path.parent, delete=False, suffix=".tmp") as f:
            tmp = f.name
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except OSError as e:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise WriteError(f"cannot write {path} ({os_reason(e)})") from None


def write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` as UTF-8, atomically (``write_bytes``)."""
    write_bytes(path, text.encode("utf-8"))


def write_json(path: Path, value: Any) -> None:
    """Write ``value`` as JSON to ``path`` atomically (``write_text``)."""
    write_text(path, json.dumps(value, indent=2))


def digest(array: Any) -> str:
    """The SHA-256 of an array's dtype, shape and bytes (C order), as hex."""
    array = np.ascontiguousarray(np.asarray(array))
    h = hashlib.sha256(f"{array.dtype.str}{array.shape}".encode())
    h.update(array.tobytes())
    return h.hexdigest()


def json_digest(value: Any) -> str:
    """The SHA-256 of ``value``'s canonical JSON (sorted keys), as hex."""
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


def move_aside(path: Path, folder: Path) -> Path:
    """Move ``path`` into ``folder`` (created), under its own name or, if that is taken, with a
    number appended; returns where it went. Nothing is deleted."""
    folder.mkdir(parents=True, exist_ok=True)
    target, n = folder / path.name, 1
    while target.exists():
        n += 1
        target = folder / f"{path.name}.{n}"
    os.replace(path, target)
    return target


def prepare_run_dir(out: str | Path) -> Path:
    """Create ``out`` and check that it is writable, failing in one line before any work.
    ``..`` is resolved in the name first, so ``a/../b`` creates ``b`` and no stray ``a``."""
    run_dir = Path(os.path.normpath(out))
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=run_dir):
            pass
    except OSError as e:
        raise ConfigError(f"output directory {run_dir} is not writable ({e.strerror or e})") from None
    return run_dir


def checked_npz(arrays: list[np.ndarray], meta: dict[str, Any]) -> bytes:
    """The bytes of an ``.npz`` holding ``arrays``, the JSON ``meta`` and their digests, as
    ``load_checked`` reads them."""
    buffer = io.BytesIO()
    digests = [digest(x) for x in arrays] + [json_digest(meta)]
    np.savez(buffer, *arrays, meta=np.array(json.dumps(meta)), digests=np.array(digests))
    return buffer.getvalue()


def save_checked(path: Path, arrays: list[np.ndarray], meta: dict[str, Any], what: str) -> None:
    """Write ``arrays`` and the JSON ``meta`` to the ``.npz`` ``path`` atomically, with their digests
    (a cache: one that cannot be written is a warning naming ``what``, not an error)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_bytes(path, checked_npz(arrays, meta))
    except OSError as e:
        logger.warning("could not write the %s %s (%s)", what, path, os_reason(e))
    except WriteError as e:
        logger.warning("could not write the %s: %s", what, e)


def load_checked(
    path: Path, shapes: list[tuple[int, ...]], what: str
) -> tuple[list[np.ndarray], dict[str, Any]] | None:
    """The arrays and meta that ``save_checked`` wrote to ``path``, if it exists, holds arrays of
    ``shapes`` and matches its digests; else None: after a warning naming ``what``, with a corrupt
    file moved to ``corrupt/`` beside it (a file of other shapes, another architecture's, is left)."""
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = [archive[f"arr_{i}"] for i in range(len(shapes))]
            meta = json.loads(str(archive["meta"])) if "meta" in archive else {}
            saved = [str(d) for d in archive["digests"]] if "digests" in archive else None
        if [a.shape for a in arrays] != [tuple(s) for s in shapes]:
            return None
        if saved is not None and saved[: len(arrays)] != [digest(x) for x in arrays]:
            raise ValueError("its arrays do not match their digests")
        if saved is not None and len(saved) > len(arrays) and saved[-1] != json_digest(meta):
            raise ValueError("its settings do not match their digest")
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, EOFError) as e:
        try:
            moved = f"moved it to {move_aside(path, path.parent / 'corrupt')}"
        except OSError as move_error:
            moved = f"could not move it aside ({os_reason(move_error)})"
        logger.warning("the %s %s is corrupt (%s); %s, making it anew", what, path, e, moved)
        return None
    logger.info("loaded the %s %s", what, path)
    return arrays, meta
