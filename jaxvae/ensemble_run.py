"""Training an ensemble (``jaxvae.ensemble``) end to end: data in, run directory out.

The run directory of an ensemble holds ``ensemble.json`` (its ``EnsembleConfig``),
``metrics.json`` (every run's per-epoch rows, rewritten each epoch) and ``checkpoints/`` (the
stacked state), so that the same call resumes an interrupted ensemble: each run then ends
bitwise equal to the uninterrupted ensemble's. When training finishes, each run is also written
as an ordinary run directory in ``runs/``, which ``jaxvae.load_model``, ``jaxvae eval`` and
``jaxvae explore`` read like any other.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from jaxvae.checkpoint import latest_checkpoint, remove_checkpoints, restore_checkpoint, save_checkpoint
from jaxvae.config import EnsembleConfig, TrainConfig
from jaxvae.data import Dataset
from jaxvae.ensemble import create_train_states, member, train_ensemble_epoch
from jaxvae.errors import ConfigError, TrainingError
from jaxvae.evaluation import evaluate
from jaxvae.losses import LossTerms
from jaxvae.models import Model
from jaxvae.run import RunResult, check_finite, load_splits, prepare_run_dir, terms_dict, write_json
from jaxvae.train import TrainState

logger = logging.getLogger(__name__)

ENSEMBLE_FILE = "ensemble.json"
RUNS_DIR = "runs"


@dataclass(frozen=True)
class EnsembleResult:
    """A trained ensemble: the stacked state, and each run as a single run's result."""

    states: TrainState
    runs: list[RunResult]
    run_dir: Path


def member_dir(run_dir: str | Path, config: EnsembleConfig, i: int) -> Path:
    """Where run ``i`` of the ensemble is written as an ordinary run directory."""
    return Path(run_dir) / RUNS_DIR / f"seed{config.seeds[i]}_beta{config.betas[i]:g}"


def initial_states(config: EnsembleConfig) -> TrainState:
    """The stacked state the ensemble starts from; run ``i`` equals ``initial_state(config.member(i))``."""
    train = config.train
    keys = jax.vmap(jax.random.key)(jnp.asarray(config.seeds))
    return create_train_states(
        train.model,
        keys,
        train.optimizer(),
        latent_dim=train.latent_dim,
        hidden_dims=train.hidden_dims,
        dtype=train.dtype,
    )


@jax.jit
def evaluate_runs(models: Model, images: jax.Array, keys: jax.Array, betas: jax.Array) -> LossTerms:
    """``evaluate`` of every run, one compiled call: each leaf of the result is [runs]."""
    return jax.vmap(lambda model, key, beta: evaluate(model, images, key=key, beta=beta))(models, keys, betas)


def read_ensemble(run_dir: str | Path) -> EnsembleConfig | None:
    """The ``EnsembleConfig`` an ensemble directory was started with, or None if it holds none."""
    path = Path(run_dir) / ENSEMBLE_FILE
    if not path.exists():
        return None
    try:
        return EnsembleConfig.from_dict(json.loads(path.read_text()))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError, ConfigError) as e:
        raise ConfigError(f"{path}: not a valid ensemble configuration ({e})") from None


def started_with(config: EnsembleConfig) -> bool:
    """Whether ``config.train.out`` holds an ensemble started with ``config``, finished or not (wherever
    the folder was when it started: ``out`` is not compared)."""
    saved = read_ensemble(config.train.out)
    if saved is None:
        return False
    return dataclasses.replace(saved, train=dataclasses.replace(saved.train, out=config.train.out)) == config


def train_ensemble(
    config: EnsembleConfig,
    *,
    data: tuple[Dataset, Dataset] | None = None,
    progress: bool = True,
    resume: bool = True,
) -> EnsembleResult:
    """Train every run of ``config`` together for ``config.train.epochs`` epochs into ``config.train.out``.

    Args:
        config: the shared settings and each run's seed and beta (validated here, before any work).
        data: ``(train, test)`` splits; loaded from ``config.train.dataset`` when omitted.
        progress: show a progress bar over epochs.
        resume: continue from the newest checkpoint of the same ensemble in the run directory; a
            directory holding an ensemble of other runs is an error. With ``resume=False`` the
            ensemble starts over and deletes the checkpoints there.
    """
    config.validate()
    train = config.train
    run_dir = prepare_run_dir(train.out)
    # the runs' seed, for a likelihood that binarizes with it (validate() allows only one then)
    train_data, test_data = load_splits(config.member(0, train.out), data)
    optimizer = train.optimizer(steps_per_epoch=len(train_data.images) // train.batch_size)
    states = initial_states(config)
    metrics: list[list[dict[str, Any]]] = [[] for _ in config.seeds]
    metrics_path = run_dir / "metrics.json"
    saved = read_ensemble(run_dir)
    if not resume:
        if remove_checkpoints(run_dir):
            logger.warning("starting %s over: removed the checkpoints of its earlier run", run_dir)
    elif latest_checkpoint(run_dir) is not None:
        if saved is None or (saved.seeds, saved.betas) != (config.seeds, config.betas):
            raise ConfigError(
                f"{run_dir} holds the checkpoints of other runs than these (seeds {list(config.seeds)}, "
                f"betas {list(config.betas)}); choose another output directory or start over"
            )
        if saved.train.to_dict() | {"out": train.out} != train.to_dict():
            changed = sorted(k for k, v in saved.train.to_dict().items() if v != train.to_dict()[k])
            logger.warning("resuming %s with changed settings: %s", run_dir, ", ".join(changed))
        states, _ = restore_checkpoint(run_dir, states)
        if metrics_path.exists():
            done = int(states.epoch[0])
            metrics = [run["metrics"][:done] for run in json.loads(metrics_path.read_text())]
    write_json(run_dir / ENSEMBLE_FILE, config.to_dict())

    images, test_images = jax.device_put((train_data.images, test_data.images))
    betas = jnp.asarray(config.betas, jnp.float32)
    seeds = jnp.asarray(config.seeds)
    eval_keys = jax.vmap(lambda s: jax.random.fold_in(jax.random.key(s), 2**31 - 1))(seeds)  # as train()
    start = int(states.epoch[0])
    bar = tqdm(
        range(start, train.epochs),
        desc=f"train {config.runs} {train.model} runs as one program",
        unit="epoch",
        disable=not progress,
        initial=start,
        total=train.epochs,
    )
    for epoch in bar:
        began = time.perf_counter()
        states, step_terms = train_ensemble_epoch(
            states,
            images,
            optimizer=optimizer,
            batch_size=train.batch_size,
            betas=betas,
            binarize=train.likelihood == "dynamic",
        )
        step_terms = jax.device_get(step_terms)  # the one host sync per epoch
        seconds = time.perf_counter() - began
        test_terms = jax.device_get(evaluate_runs(states.model, test_images, eval_keys, betas))
        steps = np.asarray(states.step)  # one transfer for every run's step count
        for i in range(config.runs):
            try:
                check_finite(step_terms.total[i], epoch=epoch + 1, last_step=int(steps[i]), run_dir=run_dir)
            except TrainingError as e:
                raise TrainingError(
                    f"run {i} (seed {config.seeds[i]}, beta {config.betas[i]:g}): {e}"
                ) from None
            row = {"epoch": epoch + 1, "likelihood": train.likelihood, "seconds": seconds}
            row |= {"runs_in_program": config.runs}
            row |= terms_dict(jax.tree.map(lambda t, i=i: float(np.mean(t[i])), step_terms), "train")
            row |= terms_dict(jax.tree.map(lambda t, i=i: t[i], test_terms), "test")
            metrics[i].append(row)
        write_json(metrics_path, _metrics_file(config, metrics))
        bar.set_postfix(test=" ".join(f"{run[-1]['test_total']:.1f}" for run in metrics))
        if (epoch + 1) % train.checkpoint_every == 0 or epoch + 1 == train.epochs:
            save_checkpoint(run_dir, states, config, keep=train.keep_checkpoints)
    bar.close()
    runs = [_write_member(run_dir, config, i, member(states, i), metrics[i]) for i in range(config.runs)]
    return EnsembleResult(states=states, runs=runs, run_dir=run_dir)


def _metrics_file(config: EnsembleConfig, metrics: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return [
        {"seed": seed, "beta": beta, "metrics": rows}
        for seed, beta, rows in zip(config.seeds, config.betas, metrics, strict=True)
    ]


def _write_member(
    run_dir: Path, config: EnsembleConfig, i: int, state: TrainState, metrics: list[dict[str, Any]]
) -> RunResult:
    """Run ``i`` as an ordinary run directory: its config, its metrics, its last checkpoint."""
    out = prepare_run_dir(member_dir(run_dir, config, i))
    single: TrainConfig = config.member(i, str(out))
    (out / "config.json").write_text(single.to_json())
    write_json(out / "metrics.json", metrics)
    remove_checkpoints(out)  # an earlier write of this run (orbax does not overwrite a step)
    save_checkpoint(out, state, single, keep=1)
    return RunResult(state=state, metrics=metrics, run_dir=out)
