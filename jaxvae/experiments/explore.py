"""The latent explorer of any trained runs with a 2-D latent (``jaxvae explore``). For MNIST the
page carries the judge that ships with jaxvae, so it shows the judge's verdict and realism on every
decode and drawing, as the demo's report does; other data sets have no judge until a demo builds one."""

from __future__ import annotations

from pathlib import Path

import jax

from jaxvae.errors import ConfigError
from jaxvae.report.explorer import ExplorerModel, write_explorer
from jaxvae.runs.folder import claim
from jaxvae.runs.single import load_model
from jaxvae.sources import class_names, load_dataset
from jaxvae.study.measures import encode_codes, reference
from jaxvae.study.shipped import shipped_judge
from jaxvae.study.streams import Stream, stream_key


def explore_runs(run_dirs: list[str], out: str | Path, data_dir: str | None = None) -> Path:
    """Write the explorer for trained runs with a 2-D latent (``jaxvae train`` run directories);
    returns the page's path. The training split is read from each run's dataset."""
    with claim(out) as target:
        return _write(target, run_dirs, data_dir)


def _write(target: Path, run_dirs: list[str], data_dir: str | None) -> Path:
    models: dict[str, ExplorerModel] = {}
    dataset = None
    for run_dir in run_dirs:
        model, config = load_model(run_dir)
        if config.model.latent_dim != 2:
            latent = config.model.latent_dim
            raise ConfigError(f"{run_dir}: the explorer needs a 2-D latent, this run has {latent}")
        if dataset not in (None, config.dataset):
            raise ConfigError(f"{run_dir}: trained on {config.dataset}, the others on {dataset}")
        dataset = config.dataset
        train = load_dataset(config.dataset, "train", data_dir or config.data_dir)
        test = load_dataset(config.dataset, "test", data_dir or config.data_dir)
        key = jax.random.key(0)
        kind = config.model.kind
        name = kind if kind not in models else Path(run_dir).name
        models[name] = ExplorerModel(
            kind,
            model,
            encode_codes(model, jax.numpy.asarray(train.images), key=key)["mean"],
            encode_codes(model, jax.numpy.asarray(test.images), key=key)["mean"],
        )
    assert dataset is not None
    shipped = shipped_judge(dataset, train)
    judge = None if shipped is None else shipped.judge
    key = stream_key(0, Stream.GENERATIVE_VALIDATION)
    typical = None if judge is None else reference(judge, test.images, test.labels, key=key).typical
    return write_explorer(target, models, train.labels, train.images, class_names(dataset), judge, typical)
