"""One writer per run folder, and no empty folder left behind by a command that failed.

``claim(out)`` creates the folder, takes an advisory lock on ``out/.jaxvae.lock`` (``fcntl.flock``)
for as long as the ``with`` block runs, and writes the holder's PID and command line into the
lock file. A second writer stops at once with a ``FolderInUseError`` naming the folder and the
holder. The lock dies with its process, so a run killed with SIGKILL never blocks the next one.
If the block fails and the folders it created hold nothing (but the lock file), they are removed.

``shared(path, what)`` is the other kind of lock: for what several commands share in the cache (a
data set's judge), where the second command waits for the first to finish building it, saying so
once, and then uses what the first built.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from jaxvae.errors import FolderInUseError
from jaxvae.runs.files import prepare_run_dir

LOCK_FILE = ".jaxvae.lock"
logger = logging.getLogger(__name__)


def _missing_folders(path: Path) -> list[Path]:
    """``path`` and its ancestors that do not exist yet, deepest first."""
    missing = []
    while not path.exists() and path != path.parent:
        missing.append(path)
        path = path.parent
    return missing


def _holder(lock: Path) -> str:
    """Who holds ``lock``, as its lock file says: ``PID n: command``."""
    try:
        pid, _, command = lock.read_text().partition("\n")
    except OSError:
        return "another process"
    return f"PID {pid.strip()}: {command.strip()}" if pid.strip() else "another process"


def _command_line() -> str:
    try:
        return Path("/proc/self/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "python"


@contextlib.contextmanager
def claim(out: str | Path, *, lock: bool = True) -> Iterator[Path]:
    """Create ``out`` (``prepare_run_dir``) and hold its lock (unless ``lock`` is false: in a
    multi-process run only process 0 writes, so only it locks) for the ``with`` block."""
    created = _missing_folders(Path(os.path.normpath(out)))
    run_dir = prepare_run_dir(out)
    handle = _lock(run_dir) if lock else None
    try:
        yield run_dir
    except BaseException:
        _release(handle)
        handle = None
        _remove_if_empty(created)
        raise
    finally:
        _release(handle)


def _lock(run_dir: Path) -> IO[bytes]:
    """Hold the lock of ``run_dir`` (the returned open file), or raise ``FolderInUseError``."""
    path = run_dir / LOCK_FILE
    handle = open(path, "a+b", buffering=0)  # noqa: SIM115 - held open while the folder is claimed
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise FolderInUseError(
            f"{run_dir} is in use by another jaxvae process ({_holder(path)}); wait for it to "
            "finish, or write to another folder"
        ) from None
    _write_holder(handle)
    return handle


def _write_holder(handle: IO[bytes]) -> None:
    """Write this process's PID and command line into the lock file it holds, for ``_holder``."""
    with contextlib.suppress(OSError):  # who holds it is for the message only (a full disk is told later)
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n{_command_line()}\n".encode())


def _release(handle: IO[bytes] | None) -> None:
    if handle is not None:
        handle.close()  # closing the file releases the flock


def _remove_if_empty(created: list[Path]) -> None:
    """Remove the folders a failed command created, deepest first, while they hold nothing else
    than a lock file."""
    for folder in created:
        with contextlib.suppress(OSError):
            if [p.name for p in folder.iterdir()] == [LOCK_FILE]:
                (folder / LOCK_FILE).unlink()
            folder.rmdir()


@contextlib.contextmanager
def shared(path: Path, what: str) -> Iterator[None]:
    """Hold the lock file ``path`` for the ``with`` block, waiting for another process that holds
    it (logged once, naming ``what`` and the holder) instead of failing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b", buffering=0) as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            logger.warning("waiting for another jaxvae process (%s) to finish %s", _holder(path), what)
            fcntl.flock(handle, fcntl.LOCK_EX)
        _write_holder(handle)
        yield
