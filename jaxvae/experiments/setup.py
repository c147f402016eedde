"""What the demo and the sweep do first: load the data (saying so loudly when it fell back to the
bundled subset), build the judge, validate it on the test split, and put the real test images in its
feature space for the generator measures."""

from __future__ import annotations

from typing import Any, NamedTuple

from jaxvae.study.classifier import accuracy
from jaxvae.study.experiment import Stream, StudyConfig, StudyData, load_study_data, make_judge, stream_key
from jaxvae.study.judge import Judge, fit_for_use, validate
from jaxvae.study.measures import Reference, reference
from jaxvae.study.phases import Phases


class StudySetup(NamedTuple):
    """The data, the judge and what every judged run is compared against."""

    data: StudyData
    judge: Judge
    decoder_names: list[str]  # the auxiliary decoders that taught the judge
    validation: list[dict[str, Any]]  # the judge's validation table, before any judged model's rows
    judge_accuracy: float  # of its digit classes on the test split
    real: Reference  # the real test images in the judge's feature space
    num_samples: int  # draws of each sampler: the setting, at most the test split's size


def set_up(config: StudyConfig, *, progress: bool = True, phases: Phases | None = None) -> StudySetup:
    """Load ``config``'s data and build (or load from the cache) and validate its judge."""
    phases = phases or Phases()
    with phases("data"):
        data = load_study_data(config.dataset, config.data_dir)
    test = data.test
    judge, decoder_names = make_judge(config, data, progress=progress, phases=phases)
    validation_key = stream_key(config.seed, Stream.VALIDATION)
    with phases("judge"):  # its validation and the real images in its feature space
        return StudySetup(
            data=data,
            judge=judge,
            decoder_names=decoder_names,
            validation=validate(judge, test.images, test.labels, {}, key=validation_key),
            judge_accuracy=accuracy(judge.classifier, test.images, test.labels),
            real=reference(judge, test.images),
            num_samples=min(config.samples, len(test.images)),
        )


def judge_metrics(setup: StudySetup, validation: list[dict[str, Any]]) -> dict[str, Any]:
    """metrics.json's ``judge``: its threshold, calibration, decoders, accuracy, and whether the full
    ``validation`` table (with the judged models' reconstructions rows) says it is fit for use."""
    return {
        "threshold": setup.judge.threshold,
        "calibration": setup.judge.calibration,
        "decoders": setup.decoder_names,
        "test_accuracy": setup.judge_accuracy,
        "fit": fit_for_use(validation),
    }
