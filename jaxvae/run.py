"""A whole training run: data in, run directory out (config, per-epoch metrics, checkpoints).

``jaxvae train`` and ``scripts/train.py`` are thin wrappers around :func:`train`. Re-running the
same command on an existing run directory resumes from its newest complete checkpoint.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jax
import numpy as np
from tqdm.auto import tqdm

from jaxvae.checkpoint import latest_checkpoint, remove_checkpoints, restore_checkpoint, save_checkpoint
from jaxvae.config import TrainConfig
from jaxvae.data import Dataset, load_dataset, prepare_pixels
from jaxvae.distributed import is_writer
from jaxvae.errors import CheckpointError, ConfigError, TrainingError
from jaxvae.evaluation import evaluate
from jaxvae.losses import LossTerms
from jaxvae.models import Model
from jaxvae.parallel import batch_sharding, check_divisible, data_mesh, place_training_set, replicate
from jaxvae.train import TrainState, init_train_state, train_epoch

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunResult:
    """What a finished run leaves in memory (the run directory holds the same on disk)."""

    state: TrainState
    metrics: list[dict[str, Any]]
    run_dir: Path


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


def terms_dict(terms: LossTerms, prefix: str) -> dict[str, float]:
    """Loss terms as plain floats, keyed ``<prefix>_total`` etc."""
    return {f"{prefix}_{name}": float(value) for name, value in terms._asdict().items()}


def check_finite(step_losses: np.ndarray, *, epoch: int, last_step: int, run_dir: Path) -> None:
    """Stop with a message naming the epoch and the first step whose loss is not finite."""
    bad = ~np.isfinite(step_losses)
    if bad.any():
        step = last_step - len(step_losses) + 1 + int(np.argmax(bad))
        raise TrainingError(
            f"loss became {step_losses[bad][0]} at epoch {epoch}, step {step} (counting optimizer steps "
            f"from 1); nothing from epoch {epoch} was saved, and the last good checkpoint in "
            f"{run_dir / 'checkpoints'} is intact (try a smaller --lr)"
        )


def load_splits(config: TrainConfig, data: tuple[Dataset, Dataset] | None) -> tuple[Dataset, Dataset]:
    """``(train, test)`` as ``config`` trains on them: loaded unless given, pixels prepared for its
    likelihood, and the batch size checked against the training set."""
    train_data, test_data = data or (
        load_dataset(config.dataset, "train", config.data_dir),
        load_dataset(config.dataset, "test", config.data_dir),
    )
    train_data = train_data._replace(
        images=prepare_pixels(train_data.images, config.likelihood, seed=config.seed, split="train")
    )
    test_data = test_data._replace(
        images=prepare_pixels(test_data.images, config.likelihood, seed=config.seed, split="test")
    )
    if config.batch_size > len(train_data.images):
        size = len(train_data.images)
        raise ConfigError(f"batch_size {config.batch_size} is larger than the training set ({size} images)")
    return train_data, test_data


def initial_state(config: TrainConfig) -> TrainState:
    """The state a run with ``config`` starts from: a function of the seed alone."""
    return init_train_state(
        config.model,
        config.optimizer(),
        key=jax.random.key(config.seed),
        latent_dim=config.latent_dim,
        hidden_dims=config.hidden_dims,
        dtype=config.dtype,
    )


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
        resume: continue from the newest checkpoint in ``config.out`` if there is one; with
            ``resume=False`` the run starts over and deletes the checkpoints already there.
    """
    config.validate()
    run_dir = prepare_run_dir(config.out)
    train_data, test_data = load_splits(config, data)
    optimizer = config.optimizer(steps_per_epoch=len(train_data.images) // config.batch_size)
    state = initial_state(config)
    metrics: list[dict[str, Any]] = []
    metrics_path = run_dir / "metrics.json"
    writer = is_writer()  # in a multi-process run, process 0 alone writes files and shows progress
    if not resume and writer and remove_checkpoints(run_dir):
        logger.warning("starting %s over: removed the checkpoints of its earlier run", run_dir)
    if resume and latest_checkpoint(run_dir) is not None:
        state, saved = restore_checkpoint(run_dir, initial_state(config))
        saved_config = TrainConfig.from_dict(saved).to_dict()
        if saved_config != config.to_dict():
            changed = sorted(k for k, v in saved_config.items() if v != config.to_dict()[k])
            logger.warning("resuming %s with changed settings: %s", run_dir, ", ".join(changed))
        if metrics_path.exists():
            metrics = json.loads(metrics_path.read_text())[: int(state.epoch)]
    if writer:
        (run_dir / "config.json").write_text(config.to_json())

    mesh = data_mesh(config.devices or None)
    check_divisible(config.batch_size, mesh)
    # data parallelism: the state is replicated, and each device computes its slice of every batch
    state, test_images = replicate((state, test_data.images), mesh)
    images = place_training_set(train_data.images, mesh)
    data_sharding = batch_sharding(mesh) if mesh.size > 1 else None
    eval_key = jax.random.fold_in(jax.random.key(config.seed), 2**31 - 1)
    start = int(state.epoch)
    bar = tqdm(
        range(start, config.epochs),
        desc=f"train {config.model} (seed {config.seed})",
        unit="epoch",
        disable=not (progress and writer),
        initial=start,
        total=config.epochs,
    )
    for epoch in bar:
        began = time.perf_counter()
        state, step_terms = train_epoch(
            state,
            images,
            optimizer=optimizer,
            batch_size=config.batch_size,
            beta=config.beta,
            data_sharding=data_sharding,
            binarize=config.likelihood == "dynamic",
        )
        step_terms = jax.device_get(step_terms)  # the one host sync per epoch
        seconds = time.perf_counter() - began
        check_finite(step_terms.total, epoch=epoch + 1, last_step=int(state.step), run_dir=run_dir)
        train_terms = jax.tree.map(lambda t: float(np.mean(t)), step_terms)
        test_terms = evaluate(state.model, test_images, key=eval_key, beta=config.beta)
        row = {"epoch": epoch + 1, "likelihood": config.likelihood, "seconds": seconds}
        row |= terms_dict(train_terms, "train") | terms_dict(jax.device_get(test_terms), "test")
        metrics.append(row)
        if writer:
            write_json(metrics_path, metrics)
        bar.set_postfix(train=f"{row['train_total']:.2f}", test=f"{row['test_total']:.2f}")
        if (epoch + 1) % config.checkpoint_every == 0 or epoch + 1 == config.epochs:
            save_checkpoint(run_dir, state, config, keep=config.keep_checkpoints)
    bar.close()
    return RunResult(state=state, metrics=metrics, run_dir=run_dir)


def summarize(metrics: list[dict[str, Any]]) -> dict[str, float]:
    """Final test loss terms and the median seconds per epoch (compile excluded where possible)."""
    if not metrics:
        return {}
    steady = [m["seconds"] for m in metrics[1:]] or [metrics[0]["seconds"]]
    last = metrics[-1]
    return {
        "epochs": float(last["epoch"]),
        "test_total": last["test_total"],
        "test_reconstruction": last["test_reconstruction"],
        "test_kl": last["test_kl"],
        "first_epoch_seconds": metrics[0]["seconds"],
        "median_epoch_seconds": float(np.median(steady)),
    }


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
    """Load a trained model and its config from a run directory written by ``jaxvae train``."""
    config = read_config(run_dir)
    state, _ = restore_checkpoint(run_dir, initial_state(config), epoch=epoch)
    return state.model, config
