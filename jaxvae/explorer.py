"""The latent explorer: decode any point of a 2-D latent space live, in the browser.

``write_explorer`` exports each model's decoder (float32 weights, base64) and its training codes to
``explorer_data.js`` and writes ``explorer.html`` beside it; the report's ``index.html`` embeds the
same explorer. The page's script (``templates/explorer.js``) runs the decoder's forward pass in
plain JavaScript: nothing is fetched, so the page works from ``file://`` offline.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

import numpy as np

from jaxvae.holes import code_map
from jaxvae.judge import Judge
from jaxvae.measures import bounding_box
from jaxvae.models import Model

DATA_FILE = "explorer_data.js"
PAGE_FILE = "explorer.html"
SHOWN_IMAGES = 2000  # training images carried in the page, to show the nearest one
NAMES = {"ae": "Autoencoder", "vae": "VAE"}


@dataclass(frozen=True)
class ExplorerModel:
    """What the page needs of one trained model with a 2-D latent."""

    kind: str
    model: Model
    train_codes: np.ndarray  # [N, 2]
    test_codes: np.ndarray  # [M, 2], fixes the "far" threshold


def _b64(array: np.ndarray, dtype: str) -> str:
    return base64.b64encode(np.ascontiguousarray(array, dtype=dtype).tobytes()).decode("ascii")


def decoder_layers(model: Model) -> list[dict[str, Any]]:
    """The decoder's dense layers as ``{"in", "out", "kernel", "bias"}`` (float32, base64, kernel
    row-major [in, out]): y = relu(x @ kernel + bias) between layers, logits after the last."""
    return [_dense(layer) for layer in model.decoder.layers]


def _dense(layer: Any) -> dict[str, Any]:
    kernel = np.asarray(layer.kernel[...], np.float32)
    return {
        "in": kernel.shape[0],
        "out": kernel.shape[1],
        "kernel": _b64(kernel, "<f4"),
        "bias": _b64(layer.bias[...], "<f4"),
    }


def judge_weights(judge: Judge) -> dict[str, Any]:
    """The judge's network for the page: its two patch convolutions and two dense layers (float32,
    base64; ``jaxvae.classifier.Classifier``) and its threshold."""
    c = judge.classifier
    layers = {"conv1": c.conv1.dense, "conv2": c.conv2.dense, "hidden": c.hidden, "out": c.out}
    return {"threshold": judge.threshold, **{name: _dense(layer) for name, layer in layers.items()}}


def explorer_data(
    models: Mapping[str, ExplorerModel],
    labels: np.ndarray,
    images: np.ndarray,
    class_names: list[str],
    judge: Judge | None = None,
) -> dict[str, Any]:
    """The JSON the page reads: per model its decoder, codes and spacing; the labels; a fixed
    subsample of ``SHOWN_IMAGES`` training images (uint8, base64) with their indices; and, if given,
    the judge, whose verdict the page then shows for each decode."""
    shown = np.sort(np.random.default_rng(0).permutation(len(images))[: min(SHOWN_IMAGES, len(images))])
    out: dict[str, Any] = {
        "classes": class_names,
        "labels": _b64(labels, "u1"),
        "count": len(labels),
        "shown": _b64(shown, "<i4"),
        "images": _b64(images[shown], "u1"),
        "models": {},
        "judge": judge_weights(judge) if judge is not None else None,
    }
    for name, m in models.items():
        index = code_map(m.train_codes, m.test_codes)
        out["models"][name] = {
            "kind": m.kind,
            "title": NAMES.get(m.kind, m.kind),
            "layers": decoder_layers(m.model),
            "codes": _b64(m.train_codes, "<f4"),
            "box": [list(side) for side in bounding_box(m.train_codes)],
            "spacing": index.spacing,
            "far": index.far,
        }
    return out


def read_template(name: str) -> str:
    """A template file shipped in the package (``jaxvae/templates``)."""
    return resources.files("jaxvae").joinpath("templates", name).read_text(encoding="utf-8")


def explorer_section() -> str:
    """The explorer's HTML fragment (with its style and script inline), for ``index.html``."""
    return Template(read_template("explorer.html")).substitute(
        css=read_template("explorer.css"),
        js=read_template("explorer.js"),
        data_file=DATA_FILE,
        shown=f"{SHOWN_IMAGES:,}",
    )


def write_explorer(
    out: Path,
    models: Mapping[str, ExplorerModel],
    labels: np.ndarray,
    images: np.ndarray,
    class_names: list[str],
    judge: Judge | None = None,
) -> Path:
    """Write ``out/explorer_data.js`` and the standalone ``out/explorer.html``; returns the page."""
    data = json.dumps(explorer_data(models, labels, images, class_names, judge))
    (out / DATA_FILE).write_text(f"window.JAXVAE_EXPLORER = {data};\n", encoding="utf-8")
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>jaxvae: latent explorer</title>'
        f"</head><body>\n{explorer_section()}\n</body></html>\n"
    )
    path = out / PAGE_FILE
    path.write_text(page, encoding="utf-8")
    return path


def explore_runs(run_dirs: list[str], out: str | Path, data_dir: str | None = None) -> Path:
    """Write the explorer for trained runs with a 2-D latent (``jaxvae train`` run directories);
    returns the page's path. The training split is read from each run's dataset."""
    import jax

    from jaxvae.data import class_names, load_dataset
    from jaxvae.errors import ConfigError
    from jaxvae.measures import encode_codes
    from jaxvae.run import load_model, prepare_run_dir

    target = prepare_run_dir(out)
    models: dict[str, ExplorerModel] = {}
    dataset = None
    for run_dir in run_dirs:
        model, config = load_model(run_dir)
        if config.latent_dim != 2:
            raise ConfigError(f"{run_dir}: the explorer needs a 2-D latent, this run has {config.latent_dim}")
        if dataset not in (None, config.dataset):
            raise ConfigError(f"{run_dir}: trained on {config.dataset}, the others on {dataset}")
        dataset = config.dataset
        train = load_dataset(config.dataset, "train", data_dir or config.data_dir)
        test = load_dataset(config.dataset, "test", data_dir or config.data_dir)
        key = jax.random.key(0)
        name = config.model if config.model not in models else Path(run_dir).name
        models[name] = ExplorerModel(
            config.model,
            model,
            encode_codes(model, jax.numpy.asarray(train.images), key=key)["mean"],
            encode_codes(model, jax.numpy.asarray(test.images), key=key)["mean"],
        )
    assert dataset is not None
    return write_explorer(target, models, train.labels, train.images, class_names(dataset))


def add_explore_command(commands: Any) -> None:
    """Register ``jaxvae explore`` on the CLI's subcommands."""
    import argparse

    parser = commands.add_parser(
        "explore",
        help="write a page that decodes any point of trained 2-D latent spaces live in the browser",
        description="Write OUT/explorer.html and OUT/explorer_data.js for one or more run directories "
        "of models with a 2-D latent (jaxvae train --latent-dim 2, or the run_ae and run_vae folders of "
        "a demo report). The page runs each decoder in JavaScript and opens offline from file://.",
    )
    parser.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="run directories to explore")
    parser.add_argument("--out", default="explorer", help="folder for the page (default: explorer)")
    parser.add_argument("--data-dir", default=None, help="directory of IDX files (default: each run's)")

    def handler(args: argparse.Namespace) -> int:
        page = explore_runs(args.run_dirs, args.out, args.data_dir)
        print(f"Explorer: {page}")
        return 0

    parser.set_defaults(handler=handler)
