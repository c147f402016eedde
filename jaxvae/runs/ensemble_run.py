"""Training an ensemble (``jaxvae.ensemble``) end to end: data in, run directory out.

The run directory of an ensemble holds ``ensemble.json`` (its ``EnsembleConfig``),
``metrics.json`` (every run's per-epoch rows, rewritten each epoch) and ``checkpoints/`` (the
stacked state), so that the same call resumes an interrupted ensemble: each run then ends
bitwise equal to the uninterrupted ensemble's. When training finishes, each run is also written
as an ordinary run directory in ``runs/``, which ``jaxvae.load_model``, ``jaxvae eval`` and
``jaxvae explore`` read like any other.

The runs are spread over the visible devices (``jaxvae.runs.parallel.runs_mesh``), and over the
devices of every process of a ``jax.distributed`` run: each process trains its share of the runs,
and process 0 writes the files.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh

from jaxvae.data import Dataset
from jaxvae.ensemble import create_train_states, member, train_ensemble_epoch
from jaxvae.errors import ConfigError
from jaxvae.evaluation import evaluate
from jaxvae.losses import LossTerms
from jaxvae.models import Model
from jaxvae.runs.checkpoint import NoIntactCheckpointError, remove_checkpoints, save_checkpoint
from jaxvae.runs.config import EnsembleConfig, TrainConfig
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
from jaxvae.runs.files import prepare_run_dir, write_json, write_text
from jaxvae.runs.film import Recorder, film_indices
from jaxvae.runs.folder import claim
from jaxvae.runs.parallel import gather, replicate, runs_mesh, split_runs, to_host
from jaxvae.runs.prune import before_training, finished_runs, member_dirs
from jaxvae.train import TrainState

logger = logging.getLogger(__name__)

ENSEMBLE_FILE = "ensemble.json"


@dataclass(frozen=True)
class EnsembleResult:
    """A trained ensemble: the stacked state, and each run as a single run's result."""

    states: TrainState
    runs: list[RunResult]
    run_dir: Path


def member_dir(run_dir: str | Path, config: EnsembleConfig, i: int) -> Path:
    """Where run ``i`` of the ensemble is written as an ordinary run directory."""
    return member_dirs(run_dir, config)[i]


def initial_states(
    config: EnsembleConfig, optimizer: optax.GradientTransformation | None = None
) -> TrainState:
    """The stacked state the ensemble starts from; run ``i`` equals ``initial_state(config.member(i))``.
    ``optimizer`` (default: ``config.train.optimizer()``) fixes only the optimizer state's structure."""
    train = config.train
    keys = jax.vmap(jax.random.key)(jnp.asarray(config.seeds))
    return create_train_states(train.model, keys, optimizer or train.optimizer())


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
    film: Sequence[int] = (),
    devices_per_run: int = 1,
) -> EnsembleResult:
    """Train every run of ``config`` together for ``config.train.epochs`` epochs into ``config.train.out``.

    Args:
        config: the shared settings and each run's seed and beta (validated here, before any work).
        data: ``(train, test)`` splits; loaded from ``config.train.dataset`` when omitted.
        progress: show a progress bar over epochs.
        resume: continue from the newest checkpoint of the same ensemble in the run directory; a
            directory holding an ensemble of other runs is an error. With ``resume=False`` the
            ensemble starts over and deletes the checkpoints there.
        film: the runs (indices into the ensemble) whose codes of a fixed training subsample are
            recorded after every epoch into ``film.npz`` (``jaxvae.runs.film``).
        devices_per_run: devices that split each run's batches; the runs are spread over
            ``config.train.devices // devices_per_run`` groups of them (``runs_mesh``; devices 0:
            as many as divide the runs).

    The run folder is claimed for the whole run (``jaxvae.runs.folder.claim``).
    """
    config.validate()
    mesh = runs_mesh(config.runs, config.train.devices, per_run=devices_per_run)
    if film and jax.process_count() > 1:
        raise ConfigError("filming the codes is for one process; train without film across processes")
    writer = is_writer()  # across processes, process 0 alone writes files and shows progress
    with claim(config.train.out, lock=writer) as run_dir, noting_checkpoints(run_dir):
        return _train_ensemble(
            config, run_dir, mesh, data=data, progress=progress and writer, resume=resume, film=film
        )


def train_owned(
    config: EnsembleConfig,
    data: tuple[Dataset, Dataset],
    *,
    progress: bool = True,
    film: Sequence[int] = (),
) -> list[RunResult]:
    """Train an ensemble whose folder is the caller's to rewrite (an experiment's): resume it when the
    folder holds the same ensemble, else start it over; and start over when none of its checkpoints
    is intact, which gives the same models as training again. A folder holding the same ensemble
    finished and pruned (``jaxvae.runs.prune``) is read back without training. Returns the runs in
    ``config``'s order; ``film``: the runs to film (``train_ensemble``)."""
    resume = started_with(config)
    if resume:
        with claim(config.train.out) as run_dir:
            finished = finished_runs(run_dir, config)
        if finished is not None:
            return finished
    try:
        return train_ensemble(config, data=data, progress=progress, resume=resume, film=film).runs
    except NoIntactCheckpointError:
        logger.warning(
            "%s: none of its checkpoints is intact; training it again from the start", config.train.out
        )
        return train_ensemble(config, data=data, progress=progress, resume=False, film=film).runs


def _train_ensemble(
    config: EnsembleConfig,
    run_dir: Path,
    mesh: Mesh,
    *,
    data: tuple[Dataset, Dataset] | None,
    progress: bool,
    resume: bool,
    film: Sequence[int],
) -> EnsembleResult:
    train = config.train
    # the runs' seed, for a likelihood that binarizes with it (validate() allows only one then)
    train_data, test_data = load_splits(config.member(0, train.out), data)
    optimizer = train.optimizer(steps_per_epoch=len(train_data.images) // train.batch_size)
    saved = read_ensemble(run_dir)

    def same_runs() -> None:
        if saved is None or (saved.seeds, saved.betas) != (config.seeds, config.betas):
            raise ConfigError(
                f"{run_dir} holds the checkpoints of other runs than these (seeds {list(config.seeds)}, "
                f"betas {list(config.betas)}); choose another output directory or start over"
            )

    before_training(run_dir, resume=resume)

    def changed_settings(_: dict[str, Any]) -> list[str]:
        assert saved is not None  # same_runs() ran first
        return train.changed_settings(saved.train)

    states, resumed = restore_or_start(
        run_dir,
        initial_states(config, optimizer),
        resume=resume,
        changed_settings=changed_settings,
        may_remove=is_writer(),
        before_restore=same_runs,
    )
    metrics: Rows = [[] for _ in config.seeds]
    metrics_path = run_dir / "metrics.json"
    if resumed and metrics_path.exists():
        done = int(states.epoch[0])
        metrics = [run["metrics"][:done] for run in json.loads(metrics_path.read_text())]
    writer = is_writer()
    if writer:
        write_json(run_dir / ENSEMBLE_FILE, config.to_dict())

    start = int(states.epoch[0])  # before the runs are split: indexing a split axis is a collective
    images, test_images = replicate((jnp.asarray(train_data.images), jnp.asarray(test_data.images)), mesh)
    seeds = jnp.asarray(config.seeds)
    eval_keys = jax.vmap(lambda s: jax.random.fold_in(jax.random.key(s), EVAL_STREAM))(seeds)
    # each device group holds its own runs, and with them their betas and test keys
    states, betas, eval_keys = split_runs((states, jnp.asarray(config.betas, jnp.float32), eval_keys), mesh)

    def write_rows(rows: Rows) -> None:
        if writer:
            write_json(metrics_path, _metrics_file(config, rows))

    recorder = None
    if film:
        indices = film_indices(len(train_data.images))
        recorder = Recorder(run_dir, list(film), jnp.asarray(train_data.images[indices]), indices)
        recorder.resume(start)
    pairs = zip(config.seeds, config.betas, strict=True)
    names = [f"run {i} (seed {s}, beta {b:g})" for i, (s, b) in enumerate(pairs)]
    states = run_epochs(
        states,
        EpochFunctions(
            train=lambda s: train_ensemble_epoch(
                s,
                images,
                optimizer=optimizer,
                batch_size=train.batch_size,
                betas=betas,
                binarize=train.likelihood == "dynamic",
                mesh=mesh if mesh.size > 1 else None,  # one device: the one-device program itself
            ),
            evaluate=lambda s: evaluate_runs(s.model, test_images, eval_keys, betas),
            steps=lambda s: np.asarray(to_host(s.step)),
        ),
        EpochRows(
            metrics,
            train.likelihood,
            fields={"runs_in_program": config.runs, "devices": mesh.size},
            names=names,
            write=write_rows,
        ),
        EpochBar(
            f"train {config.runs} {train.model.kind} runs as one program{_on(mesh)}",
            progress,
            postfix=lambda rows: {"test": " ".join(f"{run[-1]['test_total']:.1f}" for run in rows)},
        ),
        run_dir=run_dir,
        epochs=(start, train.epochs),
        save=lambda s: save_checkpoint(run_dir, to_host(s), config, keep=train.keep_checkpoints),
        checkpoint_every=train.checkpoint_every,
        after_epoch=None if recorder is None else lambda s, epoch: recorder(gather(s), epoch),
    )
    # the runs back on one device (or, across processes, in every process: each takes part in the saves)
    states = gather(states)
    runs = [_write_member(run_dir, config, i, member(states, i), metrics[i]) for i in range(config.runs)]
    return EnsembleResult(states=states, runs=runs, run_dir=run_dir)


def _on(mesh: Mesh) -> str:
    """How the runs are spread, for the progress bar: nothing on one device."""
    groups, per_run = mesh.shape["runs"], mesh.shape["data"]
    if mesh.size == 1:
        return ""
    split = f", each run's batches split over {per_run}" if per_run > 1 else ""
    return f" on {mesh.size} devices ({groups} groups of runs{split})"


def _metrics_file(config: EnsembleConfig, metrics: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return [
        {"seed": seed, "beta": beta, "metrics": rows}
        for seed, beta, rows in zip(config.seeds, config.betas, metrics, strict=True)
    ]


def _write_member(
    run_dir: Path, config: EnsembleConfig, i: int, state: TrainState, metrics: list[dict[str, Any]]
) -> RunResult:
    """Run ``i`` as an ordinary run directory: its config, its metrics, its last checkpoint (written by
    process 0; every process takes part in the checkpoint's save)."""
    out = member_dir(run_dir, config, i)
    single: TrainConfig = config.member(i, str(out))
    if is_writer():
        prepare_run_dir(out)
        write_text(out / "config.json", single.to_json())
        write_json(out / "metrics.json", metrics)
        remove_checkpoints(out)  # an earlier write of this run (orbax does not overwrite a step)
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils

        multihost_utils.sync_global_devices(f"jaxvae: {out} prepared")
    save_checkpoint(out, state, single, keep=1)
    return RunResult(state=state, metrics=metrics, run_dir=out)
