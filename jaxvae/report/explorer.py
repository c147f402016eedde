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

from jaxvae.conv import block_kernel_transposed
from jaxvae.models import MLP, VAE, ConvDecoder, ConvEncoder, Model, NoisyAE
from jaxvae.runs.files import write_text
from jaxvae.runs.film import Film
from jaxvae.spec import MODEL_NAMES
from jaxvae.study.far_field import Typical
from jaxvae.study.holes import code_map
from jaxvae.study.judge import Judge
from jaxvae.study.measures import bounding_box
from jaxvae.study.verdicts import OUTSIDE

DATA_FILE = "explorer_data.js"
PAGE_FILE = "explorer.html"
SHOWN_IMAGES = 2000  # training images carried in the page, to show the nearest one


@dataclass(frozen=True)
class ExplorerModel:
    """What the page needs of one trained model with a 2-D latent."""

    kind: str
    model: Model
    train_codes: np.ndarray  # [N, 2]
    test_codes: np.ndarray  # [M, 2], fixes the "far" threshold
    film: Film | None = None  # its codes of a training subsample after every epoch (one filmed run)


def _b64(array: np.ndarray, dtype: str) -> str:
    return base64.b64encode(np.ascontiguousarray(array, dtype=dtype).tobytes()).decode("ascii")


def decoder_weights(model: Model) -> dict[str, Any]:
    """The decoder for the page's script, each layer ``{"in", "out", "kernel", "bias"}`` (float32,
    base64, kernel row-major [in, out]). An MLP's: ``{"arch": "mlp", "layers": [...]}``, y = relu(x @
    kernel + bias) between layers, logits after the last. A conv network's: ``{"arch": "conv",
    "layers": [...], "transposed": [...]}``: the dense layers to 7x7 maps (ReLU after each), then
    each transposed convolution as the dense layer from an input pixel's 2x2 patch (rows s, s + 1,
    columns t, t + 1, zero beyond the edge; row, column, channel) to its 2x2 block of outputs (row,
    column, channel), with one bias per output channel (``jaxvae.conv.block_kernel_transposed``)."""
    decoder = model.decoder
    if isinstance(decoder, ConvDecoder):
        transposed = [
            {
                "in": 4 * conv.kernel.shape[3],
                "out": 4 * conv.kernel.shape[2],
                "kernel": _b64(np.asarray(block_kernel_transposed(conv.kernel[...])), "<f4"),
                "bias": _b64(np.asarray(conv.bias[...]), "<f4"),
            }
            for conv in decoder.convs
        ]
        return {"arch": "conv", "layers": _dense_layers(decoder.dense), "transposed": transposed}
    return {"arch": "mlp", "layers": _dense_layers(decoder)}


def encoder_weights(model: Model) -> dict[str, Any]:
    """The encoder for the page's script, its layers as in ``decoder_weights``. An MLP's:
    ``{"arch": "mlp", "layers": [...]}``; a conv network's: ``{"arch": "conv", "convs": [...],
    "layers": [...]}`` (the dense layers after the convolutions, perhaps none), each 4x4 stride-2
    convolution (zero padding 2 before, 1 after) as the dense layer from an output pixel's 4x4 patch of
    inputs (row, column, channel) to its channels. ReLU follows every layer but the last; with
    ``"heads"`` (a VAE: ``{"mean", "logvar"}``) it follows the last too, and the two heads give the
    posterior's mean and log-variance. ``"logvar"``: a noisy autoencoder's fixed log-variance (None: a
    point code)."""
    network = model.trunk if isinstance(model, VAE) else model.encoder
    if isinstance(network, ConvEncoder):
        convs = [
            {
                "in": 16 * conv.kernel.shape[2],
                "out": conv.kernel.shape[3],
                "kernel": _b64(np.asarray(conv.kernel[...]).reshape(-1, conv.kernel.shape[3]), "<f4"),
                "bias": _b64(np.asarray(conv.bias[...]), "<f4"),
            }
            for conv in network.convs
        ]
        out: dict[str, Any] = {"arch": "conv", "convs": convs, "layers": _dense_layers(network.dense)}
    else:
        out = {"arch": "mlp", "layers": _dense_layers(network)}
    out["heads"] = (
        {"mean": _dense(model.mean_head), "logvar": _dense(model.logvar_head)}
        if isinstance(model, VAE)
        else None
    )
    out["logvar"] = 2.0 * float(np.log(model.noise)) if isinstance(model, NoisyAE) else None
    return out


def _dense_layers(mlp: MLP | None) -> list[dict[str, Any]]:
    return [] if mlp is None else [_dense(layer) for layer in mlp.layers]


def _dense(layer: Any) -> dict[str, Any]:
    kernel = np.asarray(layer.kernel[...], np.float32)
    return {
        "in": kernel.shape[0],
        "out": kernel.shape[1],
        "kernel": _b64(kernel, "<f4"),
        "bias": _b64(layer.bias[...], "<f4"),
    }


def film_data(film: Film) -> dict[str, Any]:
    """A filmed run's frames for the page's epoch slider: each code as two uint16 steps between the
    frames' smallest and largest value (base64, [frames, images, 2]), the epochs and image indices."""
    frames = film.run(0)
    lo, hi = frames.min(axis=(0, 1)), frames.max(axis=(0, 1))
    steps = np.round((frames - lo) / np.maximum(hi - lo, 1e-12) * 65535)
    return {
        "epochs": [int(e) for e in film.epochs],
        "indices": _b64(film.indices, "<i4"),
        "lo": [float(v) for v in lo],
        "hi": [float(v) for v in hi],
        "frames": _b64(steps, "<u2"),
    }


def judge_weights(judge: Judge, typical: Typical | None = None) -> dict[str, Any]:
    """The judge's network for the page: its two patch convolutions and two dense layers (float32,
    base64; ``jaxvae.study.classifier.Classifier``) and its threshold; with ``typical``, the real
    digits its realism score is measured against, with their classes (only the balls no wider than
    their class's median, the only ones it reads) and the rings' factor from which on a point is
    outside its code box (claims (vii) and (viii): ``OUTSIDE``)."""
    c = judge.classifier
    layers = {"conv1": c.conv1.dense, "conv2": c.conv2.dense, "hidden": c.hidden, "out": c.out}
    out = {"threshold": judge.threshold, **{name: _dense(layer) for name, layer in layers.items()}}
    if typical is not None:
        radii, classes = np.asarray(typical.radii), np.asarray(typical.classes)
        medians = {c: np.median(radii[classes == c]) for c in np.unique(classes)}
        kept = radii <= np.array([medians[c] for c in classes])
        out["realism"] = {
            "features": _b64(np.asarray(typical.features)[kept], "<f4"),
            "radii": _b64(radii[kept], "<f4"),
            "classes": _b64(classes[kept], "u1"),
        }
        out["outside"] = float(OUTSIDE[0].rstrip("x"))
    return out


def explorer_data(
    models: Mapping[str, ExplorerModel],
    labels: np.ndarray,
    images: np.ndarray,
    class_names: list[str],
    judge: Judge | None = None,
    typical: Typical | None = None,
) -> dict[str, Any]:
    """The JSON the page reads: per model its decoder, codes, spacing and film (if any); the labels; a fixed
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
        "judge": judge_weights(judge, typical) if judge is not None else None,
    }
    for name, m in models.items():
        index = code_map(m.train_codes, m.test_codes)
        out["models"][name] = {
            "kind": m.kind,
            "title": MODEL_NAMES.get(m.kind, m.kind),
            "decoder": decoder_weights(m.model),
            "encoder": encoder_weights(m.model),
            "codes": _b64(m.train_codes, "<f4"),
            "box": [list(side) for side in bounding_box(m.train_codes)],
            "spacing": index.spacing,
            "far": index.far,
            "film": film_data(m.film) if m.film is not None else None,
        }
    return out


def read_template(name: str) -> str:
    """A template file shipped in the package (``jaxvae/report/templates``)."""
    return resources.files("jaxvae.report").joinpath("templates", name).read_text(encoding="utf-8")


def explorer_section() -> str:
    """The explorer's HTML fragment (with its style and script inline), for ``index.html``."""
    return Template(read_template("explorer.html")).substitute(
        css=read_template("explorer.css"),
        js=read_template("explorer.js"),
        data_file=DATA_FILE,
        shown=f"{SHOWN_IMAGES:,}",
        nearest="five",
    )


def write_explorer(
    out: Path,
    models: Mapping[str, ExplorerModel],
    labels: np.ndarray,
    images: np.ndarray,
    class_names: list[str],
    judge: Judge | None = None,
    typical: Typical | None = None,
) -> Path:
    """Write ``out/explorer_data.js`` and the standalone ``out/explorer.html``; returns the page."""
    data = json.dumps(explorer_data(models, labels, images, class_names, judge, typical))
    write_text(out / DATA_FILE, f"window.JAXVAE_EXPLORER = {data};\n")
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>jaxvae: latent explorer</title>'
        f"</head><body>\n{explorer_section()}\n</body></html>\n"
    )
    path = out / PAGE_FILE
    write_text(path, page)
    return path
