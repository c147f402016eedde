"""A whole training run: data in, run directory out (config, per-epoch metrics, checkpoints).

``jaxvae train`` and ``scripts/train.py`` are thin wrappers around :func:`train`. Re-running the
same command on an existing run directory resumes from its newest complete checkpoint.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jax
import numpy as np
import optax

from jaxvae.data import Dataset
from jaxvae.errors import CheckpointError, ConfigError
from jaxvae.evaluation import evaluate
from jaxvae.models import Model
from jaxvae.runs.checkpoint import restore_checkpoint, save_checkpoint
from jaxvae.runs.config import TrainConfig
from jaxvae.runs.distributed import is_writer
from jaxvae.runs.driver import (
    EVAL_STREAM,
    EpochBar,
    EpochFunctions,
    EpochRows,
    Rows,
    RunResult,
    load_splits,
    noting_checkpoints,
    restore_or_start,
    run_epochs,
)
from jaxvae.runs.files import write_json, write_text
from jaxvae.runs.folder import claim
from jaxvae.runs.parallel import batch_sharding, check_divisible, data_mesh, place_training_set, replicate
from jaxvae.runs.prune import before_training, is_pruned, load_saved_model
from jaxvae.train import TrainState, init_train_state, train_epoch


def initial_state(config: TrainConfig, optimizer: optax.GradientTransformation | None = None) -> TrainState:
    """The state a run with ``config`` starts from: a function of the seed alone. ``optimizer``
    (default: ``config.optimizer()``) fixes only the structure of the optimizer state."""
    return init_train_state(config.model, optimizer or config.optimizer(), key=jax.random.key(config.seed))


def train(
    config: TrainConfig,
    *,
    data: tuple[Dataset, Dataset] | None = None,
    progress: bool = True,
    resume: bool = True,
) -> RunResult:
    """Train ``config.model`` for ``config.epochs`` epochs and write the run directory.

    Args:
        config: the run's settings (validated here, before any work).
        data: ``(train, test)`` splits; loaded from ``config.dataset`` when omitted.
        progress: show a progress bar over epochs with the live loss.
        resume: continue from the newest intact checkpoint in ``config.out`` if there is one; with
            ``resume=False`` the run starts over and deletes the checkpoints already there.

    The run folder is claimed for the whole run (``jaxvae.runs.folder.claim``): a second process
    writing it stops at once with ``FolderInUseError``.
    """
    config.validate()
    writer = is_writer()  # in a multi-process run, process 0 alone writes files and shows progress
    with claim(config.out, lock=writer) as run_dir, noting_checkpoints(run_dir):
        return _train(config, run_dir, data=data, progress=progress and writer, resume=resume, writer=writer)


def _train(
    config: TrainConfig,
    run_dir: Path,
    *,
    data: tuple[Dataset, Dataset] | None,
    progress: bool,
    resume: bool,
    writer: bool,
) -> RunResult:
    train_data, test_data = load_splits(config, data)
    optimizer = config.optimizer(steps_per_epoch=len(train_data.images) // config.batch_size)

    def changed_settings(saved: dict[str, Any]) -> list[str]:
        return config.changed_settings(TrainConfig.from_dict(saved))

    before_training(run_dir, resume=resume)
    state, resumed = restore_or_start(
        run_dir,
        initial_state(config, optimizer),
        resume=resume,
        changed_settings=changed_settings,
        may_remove=writer,
    )
    metrics: list[dict[str, Any]] = []
    metrics_path = run_dir / "metrics.json"
    if resumed and metrics_path.exists():
        metrics = json.loads(metrics_path.read_text())[: int(state.epoch)]
    if writer:
        write_text(run_dir / "config.json", config.to_json())

    mesh = data_mesh(config.devices or None)
    check_divisible(config.batch_size, mesh)
    # data parallelism: the state is replicated, and each device computes its slice of every batch
    state, test_images = replicate((state, test_data.images), mesh)
    images = place_training_set(train_data.images, mesh)
    data_sharding = batch_sharding(mesh) if mesh.size > 1 else None
    eval_key = jax.random.fold_in(jax.random.key(config.seed), EVAL_STREAM)

    def write_rows(rows: Rows) -> None:
        if writer:
            write_json(metrics_path, rows[0])

    state = run_epochs(
        state,
        EpochFunctions(
            train=lambda s: train_epoch(
                s,
                images,
                optimizer=optimizer,
                batch_size=config.batch_size,
                beta=config.beta,
                data_sharding=data_sharding,
                binarize=config.likelihood == "dynamic",
            ),
            evaluate=lambda s: evaluate(s.model, test_images, key=eval_key, beta=config.beta),
            steps=lambda s: np.asarray([int(s.step)]),
        ),
        EpochRows([metrics], config.likelihood, fields={}, names=None, write=write_rows),
        EpochBar(
            f"train {config.model.kind} (seed {config.seed})",
            progress,
            postfix=lambda rows: {
                "train": f"{rows[0][-1]['train_total']:.2f}",
                "test": f"{rows[0][-1]['test_total']:.2f}",
            },
        ),
        run_dir=run_dir,
        epochs=(int(state.epoch), config.epochs),
        save=lambda s: save_checkpoint(run_dir, s, config, keep=config.keep_checkpoints),
        checkpoint_every=config.checkpoint_every,
    )
    return RunResult(state=state, metrics=metrics, run_dir=run_dir)


def read_config(run_dir: str | Path) -> TrainConfig:
    """The validated config of a run directory written by ``jaxvae train``; a ``CheckpointError``
    naming ``config.json`` when it is missing or not a valid config."""
    config_path = Path(run_dir) / "config.json"
    try:
        return TrainConfig.from_dict(json.loads(config_path.read_text())).validate()
    except (FileNotFoundError, NotADirectoryError):
        if (Path(run_dir) / "ensemble.json").exists():
            raise CheckpointError(
                f"{run_dir} is an ensemble of runs trained together; each of its runs is a run "
                f"directory in {Path(run_dir) / 'runs'}"
            ) from None
        raise CheckpointError(f"{config_path}: not found (is {run_dir} a jaxvae run directory?)") from None
    except OSError as e:
        raise CheckpointError(f"{config_path}: cannot read it ({e.strerror or e})") from None
    except (json.JSONDecodeError, UnicodeDecodeError, ConfigError) as e:
        raise CheckpointError(f"{config_path}: not a valid config ({e})") from None


def load_model(run_dir: str | Path, *, epoch: int | None = None) -> tuple[Model, TrainConfig]:
    """Load a trained model and its config from a run directory written by ``jaxvae train`` (or a
    finished run whose training state was pruned: its final model, ``epoch`` None or its last)."""
    config = read_config(run_dir)
    if is_pruned(run_dir):
        model, meta = load_saved_model(run_dir, config)
        if epoch not in (None, meta.get("epoch")):
            raise CheckpointError(
                f"{run_dir}: only the final model (epoch {meta.get('epoch')}) is kept; its checkpoints "
                "were pruned after its experiment finished"
            )
        return model, config
    state, _ = restore_checkpoint(run_dir, initial_state(config), epoch=epoch)
    return state.model, config
