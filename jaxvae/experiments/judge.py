"""Build a data set's judge from the recipe, validate it, and write it with its provenance.

``run_judge_build`` is what ``jaxvae judge build`` runs: the judge of ``jaxvae.study.judge_cache``
(its auxiliary decoders trained, its classifier trained and its threshold fixed, all cached like an
experiment's), validated on the test split like every experiment's (``validate_judge``), written to
``OUT/judge.npz`` with ``OUT/provenance.json`` (``jaxvae.study.shipped``): the recipe, the settings,
the data's digest, the validation table, the machine and versions, the time it took and the file's
SHA-256. ``scripts/ship_judge.py`` puts such a folder into the package as the shipped judge.
"""

from __future__ import annotations

import hashlib
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import flax
import jax

from jaxvae import __version__
from jaxvae.data import DATASET_HELP
from jaxvae.runs.files import checked_npz, write_bytes, write_json
from jaxvae.runs.folder import claim
from jaxvae.study.judge import fit_for_use
from jaxvae.study.judge_cache import JUDGE_DECODERS, JUDGE_FILE, JUDGE_RECIPE, data_digest, judge_arrays
from jaxvae.study.phases import Phases
from jaxvae.study.shipped import PROVENANCE_FILE
from jaxvae.study.study import StudyConfig, load_study_data, study_judge, validate_judge


@dataclass(frozen=True)
class JudgeConfig:
    """Settings of ``jaxvae judge build``; every field is a flag."""

    dataset: str | None = field(default=None, metadata={"help": f"{DATASET_HELP} (default: mnist)"})
    data_dir: str | None = field(default=None, metadata={"help": "directory of IDX files"})
    seed: int = field(default=0, metadata={"help": "seed of the judge (its decoders, decoys and classifier)"})
    batch_size: int = field(default=128, metadata={"help": "images per step of the auxiliary decoders"})
    classifier_epochs: int = field(default=12, metadata={"help": "epochs of the classifier"})
    judge_decoder_epochs: int = field(default=5, metadata={"help": "epochs of each auxiliary decoder"})
    out: str = field(default="judge", metadata={"help": "folder for judge.npz and provenance.json"})

    def validate(self) -> JudgeConfig:
        """Reject bad settings in one line before any work (the study's checks, batch size included)."""
        self.study().check_counts()
        return self

    def study(self) -> StudyConfig:
        """The study settings that build this judge (never the shipped one)."""
        return StudyConfig(
            dataset=self.dataset,
            data_dir=self.data_dir,
            seed=self.seed,
            batch_size=self.batch_size,
            classifier_epochs=self.classifier_epochs,
            judge_decoder_epochs=self.judge_decoder_epochs,
            judge="build",
        )


def machine() -> dict[str, Any]:
    """What the judge was built on: the processor, its threads, the device JAX ran on, the system."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    return {
        "cpu": cpu,
        "threads": os.cpu_count(),
        "device": jax.devices()[0].device_kind,
        "system": platform.platform(),
    }


def run_judge_build(config: JudgeConfig, *, progress: bool = True) -> dict[str, Any]:
    """Build (or load from the cache) and validate the judge of ``config``, and write it to
    ``config.out`` with its provenance; returns provenance.json's content."""
    began = time.perf_counter()
    config = config.validate()
    with claim(config.out) as out:
        phases = Phases()
        with phases("data"):
            data = load_study_data(config.dataset, config.data_dir)
        judge, decoders, _ = study_judge(config.study(), data, progress=progress, phases=phases)
        with phases("judge"):
            validation, accuracy, _ = validate_judge(judge, data.test, seed=config.seed)
        payload = checked_npz(*judge_arrays(judge, decoders))
        write_bytes(out / JUDGE_FILE, payload)
        provenance = {
            "dataset": data.name,
            "recipe": JUDGE_RECIPE,
            "settings": {k: v for k, v in asdict(config).items() if k not in ("data_dir", "out")},
            "decoders": [list(d) for d in JUDGE_DECODERS],
            "data_sha256": data_digest(data.train),
            "threshold": judge.threshold,
            "calibration": judge.calibration,
            "test_accuracy": accuracy,
            "validation": validation,
            "fit": fit_for_use(validation),
            "built": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": machine(),
            "versions": {"jaxvae": __version__, "jax": jax.__version__, "flax": flax.__version__},
            "phases": dict(phases.seconds),
            "seconds": time.perf_counter() - began,
            "sha256": hashlib.sha256(payload).hexdigest(),
        }
        write_json(out / PROVENANCE_FILE, provenance)
    return provenance
