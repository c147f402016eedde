"""Checkpoints with orbax: atomic, last-K kept, arrays and JSON only (nothing is unpickled).

A checkpoint holds every leaf of a ``TrainState`` (the PRNG key as raw key data) under index
names, plus a JSON manifest of each leaf's tree path, shape and dtype and the training config.
Restoring builds a fresh state from the config and checks the manifest against it first, so a
checkpoint from another architecture gives a clear error rather than garbage.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

import jax
import numpy as np
import orbax.checkpoint as ocp

from jaxvae.errors import CheckpointError, ConfigError
from jaxvae.runs.config import EnsembleConfig, TrainConfig
from jaxvae.train import TrainState

CHECKPOINT_DIR = "checkpoints"
logging.getLogger("absl").setLevel(logging.WARNING)


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
    """Save ``state`` as checkpoint number ``state.epoch`` under ``run_dir/checkpoints``.

    An ensemble's state (every leaf with a leading runs axis, ``jaxvae.ensemble``) is saved the same
    way, with its ``EnsembleConfig``; its epoch counter is the same for every run.

    Orbax writes into a temporary folder and renames it when complete, so a crash mid-write
    leaves no checkpoint that restore would pick up. Returns the checkpoint's number.
    """
    paths, leaves, _ = _flatten(state)
    epoch = int(np.max(state.epoch))
    meta = {"config": config.to_dict(), "manifest": _manifest(paths, leaves)}
    arrays = {f"{i:04d}": np.asarray(x) for i, x in enumerate(leaves)}
    with _manager(run_dir, keep) as manager:
        manager.save(
            epoch,
            args=ocp.args.Composite(arrays=ocp.args.StandardSave(arrays), meta=ocp.args.JsonSave(meta)),
            force=True,
        )
        manager.wait_until_finished()
    return epoch


def latest_checkpoint(run_dir: str | Path) -> int | None:
    """The number of the newest complete checkpoint in ``run_dir``, or None."""
    if not (Path(run_dir) / CHECKPOINT_DIR).is_dir():
        return None
    with _manager(run_dir) as manager:
        return manager.latest_step()


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
    """Restore checkpoint ``epoch`` (default: newest) into the structure of ``template``.

    Returns the state and the config dict saved with it.

    Raises:
        CheckpointError: no checkpoint, a corrupt one, or one for a different architecture.
    """
    epoch = latest_checkpoint(run_dir) if epoch is None else epoch
    if epoch is None:
        raise CheckpointError(f"{Path(run_dir) / CHECKPOINT_DIR}: no complete checkpoint found")
    paths, leaves, treedef = _flatten(template)
    expected = _manifest(paths, leaves)
    try:
        with _manager(run_dir) as manager:
            meta = manager.restore(epoch, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))["meta"]
            if meta["manifest"] != expected:
                raise CheckpointError(_mismatch(run_dir, epoch, meta, expected))
            targets = {f"{i:04d}": np.zeros(s, d) for i, (_, s, d) in enumerate(expected)}
            restored = manager.restore(
                epoch, args=ocp.args.Composite(arrays=ocp.args.StandardRestore(targets))
            )["arrays"]
    except CheckpointError:
        raise
    except Exception as e:  # orbax raises many types for truncated or corrupt files
        raise CheckpointError(
            f"{Path(run_dir) / CHECKPOINT_DIR / str(epoch)}: cannot read checkpoint ({type(e).__name__}: {e})"
        ) from None
    values = [np.asarray(restored[f"{i:04d}"]) for i in range(len(expected))]
    state = jax.tree.unflatten(treedef, values)
    state = jax.tree.map(jax.numpy.asarray, state)
    return state._replace(key=jax.random.wrap_key_data(state.key)), meta["config"]


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
