"""A finished ensemble kept small: each run's final model, without the training state.

While an ensemble trains, its folder holds what resuming needs: the stacked state of every run
(parameters and optimizer moments) in ``checkpoints/``, and, once it has finished, each run's own
folder in ``runs/`` with its last checkpoint. Once the experiment that trained it has used it, only
the models are needed. ``prune_ensemble`` writes each run's parameters to ``runs/<run>/model.npz``
(with the digests of its arrays and config, ``jaxvae.runs.files.checked_npz``) and removes the
checkpoints: about a third of a run's checkpoint, and none of the stacked ones.

A pruned ensemble is finished: ``finished_runs`` loads its runs back (an experiment run again on
its folder measures them without training), ``jaxvae.load_model`` reads a pruned run like any
other, and training it further is refused in one line (``refuse_pruned``), since the optimizer's
state it would continue from is gone.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxvae.errors import CheckpointError, ConfigError, WriteError
from jaxvae.models import Model
from jaxvae.runs.checkpoint import CHECKPOINT_DIR, latest_checkpoint, remove_checkpoints
from jaxvae.runs.config import EnsembleConfig, TrainConfig
from jaxvae.runs.driver import RunResult
from jaxvae.runs.files import checked_npz, load_checked, os_reason, write_bytes
from jaxvae.train import TrainState, init_train_state

MODEL_FILE = "model.npz"
RUNS_DIR = "runs"
logger = logging.getLogger(__name__)


def member_dirs(run_dir: str | Path, config: EnsembleConfig) -> list[Path]:
    """Where each run of the ensemble is written as an ordinary run directory, in ``config``'s order."""
    return [
        Path(run_dir) / RUNS_DIR / f"seed{seed}_beta{beta:g}"
        for seed, beta in zip(config.seeds, config.betas, strict=True)
    ]


def _template(config: TrainConfig) -> Model:
    """A model of ``config``'s shapes, for the arrays of a saved one to fill."""
    return init_train_state(config.model, config.optimizer(), key=jax.random.key(config.seed)).model


def save_model(run_dir: Path, state: TrainState, config: TrainConfig) -> Path:
    """Write the parameters of ``state``'s model to ``run_dir/model.npz`` atomically, with their
    digests, the run's config and its epoch and step counts; ``WriteError`` if it cannot be written."""
    path = run_dir / MODEL_FILE
    leaves = [np.asarray(x) for x in jax.tree.leaves(state.model)]
    meta = {"config": config.to_dict(), "epoch": int(state.epoch), "step": int(state.step)}
    try:
        write_bytes(path, checked_npz(leaves, meta))
    except OSError as e:
        raise WriteError(f"cannot write {path} ({os_reason(e)})") from None
    return path


def load_saved_model(run_dir: str | Path, config: TrainConfig) -> tuple[Model, dict[str, Any]]:
    """The model ``save_model`` wrote to ``run_dir`` and its meta (config, epoch, step), checked
    against their digests; a ``CheckpointError`` naming the file when it is missing, damaged or
    another model's."""
    path = Path(run_dir) / MODEL_FILE
    template = _template(config)
    leaves, treedef = jax.tree.flatten(template)
    loaded = load_checked(path, [np.shape(x) for x in leaves], "final model")
    if loaded is None:
        raise CheckpointError(
            f"{path}: the run's final model is missing, damaged or another model's, and its training "
            "state was pruned after its experiment finished; run the experiment again into a new folder"
        )
    arrays, meta = loaded
    values = [jnp.asarray(a, x.dtype) for a, x in zip(arrays, leaves, strict=True)]
    model = jax.tree.unflatten(treedef, values)
    return model, meta


def is_pruned(run_dir: str | Path) -> bool:
    """Whether ``run_dir`` is a run (or, for an ensemble, holds runs) whose checkpoints were pruned."""
    folder = Path(run_dir)
    if latest_checkpoint(folder) is not None:
        return False
    return (folder / MODEL_FILE).exists() or any((folder / RUNS_DIR).glob(f"*/{MODEL_FILE}"))


def refuse_pruned(run_dir: str | Path) -> None:
    """A ``ConfigError`` when ``run_dir`` was pruned: there is no training state to continue from."""
    if is_pruned(run_dir):
        raise ConfigError(
            f"{run_dir} holds finished runs whose training state was pruned (only their final models "
            "are kept); train into another folder, or run the experiment with --keep-training-state"
        )


def before_training(run_dir: str | Path, *, resume: bool) -> None:
    """What training into ``run_dir`` must do about pruned runs there: refuse to resume them
    (``refuse_pruned``), or, starting over, remove their final models with their checkpoints."""
    if resume:
        refuse_pruned(run_dir)
        return
    folder = Path(run_dir)
    for path in (folder / MODEL_FILE, *(folder / RUNS_DIR).glob(f"*/{MODEL_FILE}")):
        path.unlink(missing_ok=True)


def finished_runs(run_dir: str | Path, config: EnsembleConfig) -> list[RunResult] | None:
    """The runs of the pruned ensemble in ``run_dir``, if it holds ``config``'s runs pruned after
    ``config.train.epochs`` epochs; else None (train as usual). The states hold the final models
    and their epoch and step counts; their optimizer state is empty (it was pruned)."""
    dirs = member_dirs(run_dir, config)
    if latest_checkpoint(run_dir) is not None or not all((d / MODEL_FILE).exists() for d in dirs):
        return None
    runs = []
    for i, folder in enumerate(dirs):
        single = config.member(i, str(folder))
        try:
            metrics = json.loads((folder / "metrics.json").read_text())
        except (OSError, json.JSONDecodeError, UnicodeDecodeError) as e:
            raise CheckpointError(f"{folder / 'metrics.json'}: cannot read it ({e})") from None
        model, meta = load_saved_model(folder, single)
        if meta.get("epoch") != config.train.epochs:
            raise ConfigError(
                f"{run_dir} holds runs pruned after {meta.get('epoch')} epochs, not {config.train.epochs}; "
                "their training state is gone, so they cannot train on: write to another folder"
            )
        state = TrainState(
            model=model,
            opt_state=(),
            key=jax.random.key(single.seed),
            step=jnp.asarray(meta["step"], jnp.int32),
            epoch=jnp.asarray(meta["epoch"], jnp.int32),
        )
        runs.append(RunResult(state=state, metrics=metrics, run_dir=folder))
    return runs


def prune_ensemble(run_dir: str | Path, config: EnsembleConfig, runs: list[RunResult]) -> None:
    """Keep only each run's final model: write every ``model.npz`` first, then remove the stacked
    checkpoints and each run's (an interruption leaves either the checkpoints or the models)."""
    dirs = member_dirs(run_dir, config)
    for i, (folder, run) in enumerate(zip(dirs, runs, strict=True)):
        save_model(folder, run.state, config.member(i, str(folder)))
    for folder in (Path(run_dir), *dirs):
        if (folder / CHECKPOINT_DIR).exists():
            remove_checkpoints(folder)
    logger.info("pruned %s: kept each run's final model", run_dir)
