"""Checkpoints with orbax: atomic, last-K kept, arrays and JSON only (nothing is unpickled), and
checked against a digest of their content before they are trusted.

A checkpoint holds every leaf of a ``TrainState`` (the PRNG key as raw key data) under index
names, plus JSON: each leaf's tree path, shape and dtype (the manifest), the training config, and
the SHA-256 of each array and of the config and manifest, computed when it was written.

Restoring builds a fresh state from the config and checks the manifest against it first, so a
checkpoint from another architecture gives a clear error rather than garbage; then it compares
every restored array and the JSON with their digests, so flipped bits or a truncated file never
load silently. The newest checkpoint that fails this check (or cannot be read at all) is named in a
warning and moved aside to ``checkpoints_corrupt/`` (never deleted), and the next newest is tried;
with none intact, one ``CheckpointError`` names the run folder. Checkpoints written before digests
existed are restored with the manifest check alone.

Writing one that fails (a full disk) removes its partial folder and raises one ``WriteError``
that says which earlier checkpoints are intact, having checked them.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jax
import numpy as np
import orbax.checkpoint as ocp

from jaxvae.errors import CheckpointError, ConfigError, WriteError
from jaxvae.runs.config import EnsembleConfig, TrainConfig
from jaxvae.runs.distributed import is_writer
from jaxvae.runs.files import digest, json_digest, move_aside, os_reason
from jaxvae.train import TrainState

CHECKPOINT_DIR = "checkpoints"
CORRUPT_DIR = "checkpoints_corrupt"  # where checkpoints that fail their digests are moved
logger = logging.getLogger(__name__)
logging.getLogger("absl").setLevel(logging.WARNING)


class CorruptCheckpointError(CheckpointError):
    """One checkpoint cannot be read or does not match its digests (not: is for another model)."""


class NoIntactCheckpointError(CheckpointError):
    """A run folder holds checkpoints, but none of them is intact; the message names the folder."""


@contextlib.contextmanager
def _quiet_orbax() -> Iterator[None]:
    """Orbax logs each failure of a save or a read several times, with tracebacks, on the ``absl``
    logger; the one error raised here says it once."""
    absl = logging.getLogger("absl")
    level = absl.level
    absl.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        absl.setLevel(level)


def _flatten(state: TrainState) -> tuple[list[str], list[Any], Any]:
    state = state._replace(key=jax.random.key_data(state.key))
    with_paths, treedef = jax.tree_util.tree_flatten_with_path(state)
    paths = [jax.tree_util.keystr(path) for path, _ in with_paths]
    return paths, [leaf for _, leaf in with_paths], treedef


def _manifest(paths: list[str], leaves: list[Any]) -> list[list[Any]]:
    return [[p, list(np.shape(x)), str(np.asarray(x).dtype)] for p, x in zip(paths, leaves, strict=True)]


def _manager(run_dir: str | Path, keep: int = 2) -> ocp.CheckpointManager:
    options = ocp.CheckpointManagerOptions(max_to_keep=keep, create=True, cleanup_tmp_directories=True)
    return ocp.CheckpointManager(Path(run_dir).absolute() / CHECKPOINT_DIR, options=options)


def save_checkpoint(
    run_dir: str | Path, state: TrainState, config: TrainConfig | EnsembleConfig, *, keep: int = 2
) -> int:
    """Save ``state`` as checkpoint number ``state.epoch`` under ``run_dir/checkpoints``, with the
    digests of its arrays, config and manifest.

    An ensemble's state (every leaf with a leading runs axis, ``jaxvae.ensemble``) is saved the same
    way, with its ``EnsembleConfig``; its epoch counter is the same for every run.

    Orbax writes into a temporary folder and renames it when complete, so a crash mid-write
    leaves no checkpoint that restore would pick up. A failed write (a full disk) removes that
    folder and raises ``WriteError``. Returns the checkpoint's number.
    """
    paths, leaves, _ = _flatten(state)
    epoch = int(np.max(state.epoch))
    arrays = {f"{i:04d}": np.asarray(x) for i, x in enumerate(leaves)}
    meta: dict[str, Any] = {"config": config.to_dict(), "manifest": _manifest(paths, leaves)}
    meta["digests"] = {"meta": _meta_digest(meta), "arrays": [digest(x) for x in arrays.values()]}
    try:
        with _quiet_orbax(), _manager(run_dir, keep) as manager:
            manager.save(
                epoch,
                args=ocp.args.Composite(arrays=ocp.args.StandardSave(arrays), meta=ocp.args.JsonSave(meta)),
                force=True,
            )
            manager.wait_until_finished()
    except Exception as e:  # orbax wraps the OS error in one of many types
        _remove_partial(run_dir)
        folder = Path(run_dir) / CHECKPOINT_DIR
        raise WriteError(f"cannot write checkpoint {epoch} in {folder} ({os_reason(e)})") from None
    return epoch


def _meta_digest(meta: dict[str, Any]) -> str:
    return json_digest({"config": meta["config"], "manifest": meta["manifest"]})


def _remove_partial(run_dir: str | Path) -> None:
    """Remove the temporary folders of a checkpoint whose write failed."""
    for partial in (Path(run_dir) / CHECKPOINT_DIR).glob("*.orbax-checkpoint-tmp*"):
        shutil.rmtree(partial, ignore_errors=True)


def checkpoint_epochs(run_dir: str | Path) -> list[int]:
    """The numbers of the complete checkpoints in ``run_dir``, oldest first."""
    if not (Path(run_dir) / CHECKPOINT_DIR).is_dir():
        return []
    with _manager(run_dir) as manager:
        return sorted(manager.all_steps())


def latest_checkpoint(run_dir: str | Path) -> int | None:
    """The number of the newest complete checkpoint in ``run_dir``, or None."""
    epochs = checkpoint_epochs(run_dir)
    return epochs[-1] if epochs else None


def remove_checkpoints(run_dir: str | Path) -> bool:
    """Delete every checkpoint in ``run_dir``; returns whether there were any.

    A run that starts over must: orbax refuses to save a step that exists, and an older run's
    later steps would be what an interrupted new run resumes from.
    """
    folder = Path(run_dir) / CHECKPOINT_DIR
    if not folder.exists():
        return False
    try:
        shutil.rmtree(folder)
    except OSError as e:
        raise CheckpointError(
            f"{folder}: cannot remove the earlier run's checkpoints ({e.strerror or e})"
        ) from None
    return True


def restore_checkpoint(
    run_dir: str | Path,
    template: TrainState,
    *,
    epoch: int | None = None,
) -> tuple[TrainState, dict[str, Any]]:
    """Restore checkpoint ``epoch`` (default: the newest intact one) into the structure of
    ``template``, its content checked against its digests.

    Returns the state and the config dict saved with it. Without ``epoch``, a newest checkpoint
    that is unreadable or fails its digests is named in a warning, moved to ``checkpoints_corrupt/``
    and the one before it is tried.

    Raises:
        CheckpointError: no checkpoint, or one for a different architecture; with ``epoch``, that one
            corrupt (``CorruptCheckpointError``); without, none intact (``NoIntactCheckpointError``).
    """
    paths, leaves, treedef = _flatten(template)
    expected = _manifest(paths, leaves)
    if epoch is not None:
        meta, values = _read(run_dir, epoch, expected)
    else:
        epochs = checkpoint_epochs(run_dir)
        if not epochs:
            raise CheckpointError(f"{Path(run_dir) / CHECKPOINT_DIR}: no complete checkpoint found")
        for candidate in reversed(epochs):
            try:
                meta, values = _read(run_dir, candidate, expected)
                break
            except CorruptCheckpointError as e:
                _set_aside(run_dir, candidate, e)
        else:
            raise NoIntactCheckpointError(
                f"{run_dir}: none of its checkpoints is intact (epochs {_listing(epochs)}, set aside in "
                f"{Path(run_dir) / CORRUPT_DIR}); start the run over (jaxvae train --restart), or train "
                "into another folder"
            )
    state = jax.tree.unflatten(treedef, [jax.numpy.asarray(v) for v in values])
    return state._replace(key=jax.random.wrap_key_data(state.key)), meta["config"]


def _read(
    run_dir: str | Path, epoch: int, expected: list[Any] | None
) -> tuple[dict[str, Any], list[np.ndarray]]:
    """Checkpoint ``epoch``'s JSON and arrays, checked against its digests and, if given, against the
    ``expected`` manifest (a mismatch there is another model, not corruption)."""
    where = Path(run_dir) / CHECKPOINT_DIR / str(epoch)
    try:
        with _quiet_orbax(), _manager(run_dir) as manager:
            meta = manager.restore(epoch, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))["meta"]
            digests = meta.get("digests")
            if digests is not None and digests.get("meta") != _meta_digest(meta):
                raise CorruptCheckpointError(f"{where}: its config or manifest does not match its digest")
            if expected is not None and meta["manifest"] != expected:
                raise CheckpointError(_mismatch(run_dir, epoch, meta, expected))
            manifest = meta["manifest"]
            targets = {f"{i:04d}": np.zeros(s, d) for i, (_, s, d) in enumerate(manifest)}
            restored = manager.restore(
                epoch, args=ocp.args.Composite(arrays=ocp.args.StandardRestore(targets))
            )["arrays"]
    except CheckpointError:
        raise
    except Exception as e:  # orbax raises many types for truncated or corrupt files
        raise CorruptCheckpointError(f"{where}: cannot read checkpoint ({type(e).__name__}: {e})") from None
    values = [np.asarray(restored[f"{i:04d}"]) for i in range(len(manifest))]
    if digests is not None:
        for (path, _, _), value, saved in zip(manifest, values, digests["arrays"], strict=True):
            if digest(value) != saved:
                raise CorruptCheckpointError(
                    f"{where}: the content of {path or 'the state'} does not match its digest (the files "
                    "changed after they were written)"
                )
    return meta, values


def verify_checkpoint(run_dir: str | Path, epoch: int) -> None:
    """Read checkpoint ``epoch`` whole and check it against its digests; ``CorruptCheckpointError``
    if it fails."""
    _read(run_dir, epoch, None)


def _set_aside(run_dir: str | Path, epoch: int, error: CheckpointError) -> None:
    """Warn about a corrupt checkpoint and move it out of the checkpoints folder (process 0 alone)."""
    if not is_writer():
        return
    source = Path(run_dir) / CHECKPOINT_DIR / str(epoch)
    try:
        moved = move_aside(source, Path(run_dir) / CORRUPT_DIR)
    except OSError as e:
        logger.warning(
            "%s; could not move it aside (%s); trying the checkpoint before it", error, os_reason(e)
        )
        return
    logger.warning("%s; moved it to %s, trying the checkpoint before it", error, moved)


def intact_note(run_dir: str | Path) -> str:
    """What of ``run_dir``'s checkpoints is intact, each read and checked against its digests: for
    a message after a failure."""
    folder = Path(run_dir) / CHECKPOINT_DIR
    epochs = checkpoint_epochs(run_dir)
    if not epochs:
        return "no checkpoint had been saved yet"
    intact = []
    for epoch in epochs:
        with contextlib.suppress(CheckpointError):
            verify_checkpoint(run_dir, epoch)
            intact.append(epoch)
    if not intact:
        return f"no checkpoint in {folder} is intact"
    if len(intact) == 1:
        return f"the checkpoint of epoch {intact[0]} in {folder} is intact"
    return f"the checkpoints of epochs {_listing(intact)} in {folder} are intact"


def _listing(numbers: list[int]) -> str:
    return ", ".join(str(n) for n in numbers)


def _mismatch(run_dir: str | Path, epoch: int, meta: dict[str, Any], expected: list[Any]) -> str:
    saved = _architecture(meta["config"]) if "config" in meta else "?"
    for got, want in zip(meta.get("manifest", []), expected, strict=False):
        if got != want:
            return (
                f"{Path(run_dir) / CHECKPOINT_DIR / str(epoch)}: checkpoint is for a different model "
                f"({saved}); first difference at {want[0]}: saved {got[1]} {got[2]}, "
                f"expected {want[1]} {want[2]}"
            )
    return f"{Path(run_dir) / CHECKPOINT_DIR / str(epoch)}: checkpoint is for a different model ({saved})"


def _architecture(config: dict[str, Any]) -> dict[str, Any] | str:
    """What a saved config says the parameters' shapes are (an ensemble's includes its runs)."""
    try:
        if "train" in config:
            return EnsembleConfig.from_dict(config).architecture()
        return TrainConfig.from_dict(config).architecture()
    except ConfigError:  # an unreadable config still deserves the mismatch message
        return "?"
