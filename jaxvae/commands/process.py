"""What every ``jaxvae`` command sets up in its process: one-line log messages on stderr, the
on-disk cache of compiled programs, and quiet asyncio leftovers of orbax."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from typing import Any


def enable_compile_cache(enabled: bool) -> None:
    """Keep XLA's compiled executables on disk (``cache_dir("xla")``), so that a second run of the
    same command skips most compilation. ``$JAX_COMPILATION_CACHE_DIR``, if set, wins;
    ``$JAXVAE_NO_COMPILE_CACHE=1`` turns it off like ``--no-compile-cache``."""
    import jax

    from jaxvae.sources import cache_dir

    enabled = enabled and os.environ.get("JAXVAE_NO_COMPILE_CACHE", "") in ("", "0")
    if enabled and not os.environ.get("JAX_COMPILATION_CACHE_DIR"):
        jax.config.update("jax_compilation_cache_dir", str(cache_dir("xla")))


class _OneLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        kind = "warning: " if record.levelno >= logging.WARNING else ""
        return f"jaxvae: {kind}{record.getMessage()}"


def log_to_stderr(*, verbose: bool) -> None:
    """jaxvae's own log messages as ``jaxvae: ...`` lines on stderr, INFO and up with ``-v``, else
    warnings only. The ``jaxvae`` logger gets its own handler because orbax puts one on the root
    logger when imported, which turns ``logging.basicConfig`` into a no-op."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLineFormatter())
    log = logging.getLogger("jaxvae")
    log.handlers = [handler]  # replaced on every call: in-process callers may have swapped sys.stderr
    log.setLevel(logging.INFO if verbose else logging.WARNING)
    log.propagate = False


def without_closed_loop_noise(hook: Callable[[Any], object]) -> Callable[[Any], object]:
    """``sys.unraisablehook`` minus one message. When orbax fails to read a corrupt checkpoint,
    tensorstore reads still in flight complete after ``asyncio.run`` has closed its event loop, and
    each one's callback prints a "RuntimeError: Event loop is closed" traceback under the
    one-line error that already names the checkpoint."""

    if getattr(hook, "without_closed_loop_noise", False):  # main() ran before in this process
        return hook

    def hook_without_noise(unraisable: Any) -> object:
        error = unraisable.exc_value
        if isinstance(error, RuntimeError) and str(error) == "Event loop is closed":
            return None
        return hook(unraisable)

    hook_without_noise.without_closed_loop_noise = True  # type: ignore[attr-defined]
    return hook_without_noise
