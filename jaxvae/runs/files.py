"""Files of a run directory: creating it, and writing JSON that a reader never sees half of."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from jaxvae.errors import ConfigError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_json(path: Path, value: Any) -> None:
    """Write JSON atomically: a reader sees the old file or the new one, never half of one. The
    file gets the mode any new file of the user gets (a temporary file is created 0600)."""
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as f:
        json.dump(value, f, indent=2)
    os.chmod(f.name, 0o666 & ~_umask())
    os.replace(f.name, path)


def prepare_run_dir(out: str | Path) -> Path:
    """Create ``out`` and check that it is writable, failing in one line before any work."""
    run_dir = Path(out)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=run_dir):
            pass
    except OSError as e:
        raise ConfigError(f"output directory {run_dir} is not writable ({e.strerror or e})") from None
    return run_dir
