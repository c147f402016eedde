"""The one training loop that a single run and an ensemble both run.

Start or resume from the newest checkpoint, then per epoch: one compiled epoch, one host sync for
its per-step losses, a check that they are finite, the test split, a row per run, the rows written,
a checkpoint every N epochs. What differs between a single run and an ensemble (its compiled epoch,
its evaluation, its files) comes in as functions.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import jax
import numpy as np
from tqdm.auto import tqdm

from jaxvae.data import Dataset, prepare_pixels
from jaxvae.errors import ConfigError, TrainingError, WriteError
from jaxvae.losses import LossTerms
from jaxvae.runs.checkpoint import intact_note, latest_checkpoint, remove_checkpoints, restore_checkpoint
from jaxvae.runs.config import TrainConfig
from jaxvae.runs.parallel import to_host
from jaxvae.sources import load_dataset
from jaxvae.train import TrainState

logger = logging.getLogger(__name__)

EVAL_STREAM = 2**31 - 1  # the test split's key: fold_in(key(seed), EVAL_STREAM), the same for every run
Rows = list[list[dict[str, Any]]]  # per run, one row per epoch


@dataclass(frozen=True)
class RunResult:
    """What a finished run leaves in memory (the run directory holds the same on disk)."""

    state: TrainState
    metrics: list[dict[str, Any]]
    run_dir: Path


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
            f"from 1); nothing from epoch {epoch} was saved, and {intact_note(run_dir)} (try a smaller --lr)"
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


@contextlib.contextmanager
def noting_checkpoints(run_dir: Path) -> Iterator[None]:
    """Add to a ``WriteError`` (a full disk) what of ``run_dir``'s checkpoints is intact."""
    try:
        yield
    except WriteError as e:
        raise WriteError(f"{e}; {intact_note(run_dir)}") from None


def restore_or_start(
    run_dir: Path,
    initial: TrainState,
    *,
    resume: bool,
    changed_settings: Callable[[dict[str, Any]], list[str]],
    may_remove: bool = True,
    before_restore: Callable[[], None] | None = None,
) -> tuple[TrainState, bool]:
    """The state to train from, and whether it was restored.

    With ``resume``, the newest checkpoint in ``run_dir`` if there is one (``before_restore`` runs
    first and may refuse it; a warning names the settings ``changed_settings`` finds changed against
    the checkpoint's config); else ``initial``. Without ``resume``, the checkpoints there are removed
    (only where ``may_remove``: in a multi-process run, by process 0 alone).
    """
    if not resume:
        if may_remove and remove_checkpoints(run_dir):
            logger.warning("starting %s over: removed the checkpoints of its earlier run", run_dir)
        return initial, False
    if latest_checkpoint(run_dir) is None:
        return initial, False
    if before_restore is not None:
        before_restore()
    state, saved = restore_checkpoint(run_dir, initial)
    changed = changed_settings(saved)
    if changed:
        logger.warning("resuming %s with changed settings: %s", run_dir, ", ".join(changed))
    return state, True


class EpochFunctions(NamedTuple):
    """What differs in the loop's compute between a single run and an ensemble: ``train``, one
    compiled epoch returning the per-step loss terms (leaves [steps], or [runs, steps] for an
    ensemble); ``evaluate``, the test loss terms; ``steps``, each run's optimizer step count."""

    train: Callable[[TrainState], tuple[TrainState, LossTerms]]
    evaluate: Callable[[TrainState], LossTerms]
    steps: Callable[[TrainState], np.ndarray]


class EpochRows(NamedTuple):
    """The loop's rows: ``rows`` per run (appended to), the fields every row carries besides the loss
    terms (``likelihood`` and ``fields``), the runs' names (None for a single run) and ``write``,
    which writes all rows after every epoch."""

    rows: Rows
    likelihood: str
    fields: dict[str, Any]
    names: Sequence[str] | None
    write: Callable[[Rows], None]


class EpochBar(NamedTuple):
    """The progress bar: its label, whether to show it and the losses it shows after each epoch."""

    desc: str
    show: bool
    postfix: Callable[[Rows], dict[str, str]]


def run_epochs(
    state: TrainState,
    compute: EpochFunctions,
    log: EpochRows,
    bar: EpochBar,
    *,
    run_dir: Path,
    epochs: tuple[int, int],
    save: Callable[[TrainState], Any],
    checkpoint_every: int,
    after_epoch: Callable[[TrainState, int], None] | None = None,
) -> TrainState:
    """Train from epoch ``epochs[0]`` to ``epochs[1]``, appending one row per run and epoch to
    ``log.rows`` and writing them after every epoch; ``save`` writes a checkpoint every
    ``checkpoint_every`` epochs and after the last; ``after_epoch(state, epoch)``, if given, runs
    after the rows are written (it films the codes). A loss that is not finite stops training before
    anything of that epoch is written.
    """
    start, end = epochs
    single = log.names is None
    shown = tqdm(
        range(start, end), desc=bar.desc, unit="epoch", disable=not bar.show, initial=start, total=end
    )
    for epoch in shown:
        began = time.perf_counter()
        state, step_terms = compute.train(state)
        step_terms = to_host(step_terms)  # the one host sync per epoch
        seconds = time.perf_counter() - began
        test_terms = to_host(compute.evaluate(state))
        last_steps = compute.steps(state)  # one transfer for every run's step count
        for i, run in enumerate(log.rows):

            def of_run(t: Any, i: int = i) -> Any:
                return t if single else t[i]

            try:
                check_finite(
                    of_run(step_terms.total), epoch=epoch + 1, last_step=int(last_steps[i]), run_dir=run_dir
                )
            except TrainingError as e:
                if log.names is None:
                    raise
                raise TrainingError(f"{log.names[i]}: {e}") from None
            row = {"epoch": epoch + 1, "likelihood": log.likelihood, "seconds": seconds, **log.fields}
            row |= terms_dict(jax.tree.map(lambda t: float(np.mean(of_run(t))), step_terms), "train")
            row |= terms_dict(jax.tree.map(of_run, test_terms), "test")
            run.append(row)
        log.write(log.rows)
        if after_epoch is not None:
            after_epoch(state, epoch + 1)
        shown.set_postfix(bar.postfix(log.rows))
        if (epoch + 1) % checkpoint_every == 0 or epoch + 1 == end:
            save(state)
    shown.close()
    return state


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
