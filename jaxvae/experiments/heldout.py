"""Held-out likelihood of a trained VAE (``jaxvae eval RUN_DIR``): the test-set ELBO, IWAE-k
bounds and (2-D latents) the exact log-likelihood.

Writes ``RUN_DIR/likelihood.json`` and prints a table. All values are negative log-likelihoods in
nats per image (lower is better), labelled with the run's likelihood mode.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from jaxvae.batching import chunk_bounds, pad_rows
from jaxvae.data import prepare_pixels
from jaxvae.errors import ConfigError
from jaxvae.likelihood import exact_log_marginal, iwae_bounds
from jaxvae.models import VAE
from jaxvae.runs.config import require_counts
from jaxvae.runs.files import write_json
from jaxvae.runs.parallel import peak_memory_bytes
from jaxvae.runs.single import load_model
from jaxvae.sources import load_dataset

LOGITS_BUDGET_BYTES = 400 * 2**20  # bound on the decoder outputs held at once by the quadrature
FIRST_RESOLUTION = 32  # side of the first quadrature grid; each refinement doubles it


@dataclass(frozen=True)
class EvalConfig:
    """Settings of ``jaxvae eval``; every field is a flag."""

    ks: tuple[int, ...] = field(default=(1, 10, 100, 1000, 5000), metadata={"help": "IWAE sample counts"})
    num_images: int = field(default=0, metadata={"help": "test images to evaluate (0: all)"})
    quadrature_images: int = field(
        default=1000, metadata={"help": "test images for the exact 2-D log-likelihood (0: all)"}
    )
    chunk_size: int = field(default=100, metadata={"help": "images per compiled IWAE call"})
    k_chunk: int = field(default=100, metadata={"help": "importance samples held in memory at once"})
    tolerance: float = field(
        default=0.05, metadata={"help": "quadrature stops when doubling changes it less"}
    )
    max_resolution: int = field(default=256, metadata={"help": "largest quadrature grid side"})
    seed: int = field(default=0, metadata={"help": "seed for the importance samples"})
    data_dir: str | None = field(
        default=None,
        metadata={
            "help": "directory of the test split's IDX files (default: the run's own --data-dir, "
            "else $JAXVAE_DATA_DIR and the other usual sources)"
        },
    )

    def validate(self) -> EvalConfig:
        """Reject invalid settings with one line, before any model or data is loaded."""
        require_counts(self, ("chunk_size", "k_chunk"), zero_means_all=("num_images", "quadrature_images"))
        if not self.ks or min(self.ks) < 1:
            raise ConfigError(f"ks must be positive sample counts, got {' '.join(map(str, self.ks))}")
        if not (math.isfinite(self.tolerance) and self.tolerance > 0):
            raise ConfigError(f"tolerance must be a positive number of nats, got {self.tolerance}")
        if self.max_resolution < FIRST_RESOLUTION:
            raise ConfigError(
                f"max_resolution must be at least {FIRST_RESOLUTION} (the first quadrature grid's side), "
                f"got {self.max_resolution}"
            )
        return self


def iwae_table(model: VAE, images: np.ndarray, config: EvalConfig, progress: bool) -> dict[str, Any]:
    """Mean -ELBO and -IWAE_k over ``images``, with time and memory."""
    ks = tuple(sorted(config.ks))
    key = jax.random.key(config.seed)
    sums, elbo_sum = np.zeros(len(ks)), 0.0
    began = time.perf_counter()
    for index, (start, stop) in enumerate(
        tqdm(
            chunk_bounds(len(images), config.chunk_size),
            desc="IWAE bounds",
            unit="chunk",
            disable=not progress,
        )
    ):
        batch = pad_rows(images[start:stop], config.chunk_size)
        bounds, elbo = iwae_bounds(
            model, jnp.asarray(batch), key=jax.random.fold_in(key, index), ks=ks, k_chunk=config.k_chunk
        )
        n = stop - start
        sums += np.asarray(bounds)[:, :n].sum(axis=1)
        elbo_sum += float(np.asarray(elbo)[:n].sum())
    return {
        "num_images": len(images),
        "nll_elbo": -elbo_sum / len(images),
        "elbo_samples": max(ks),
        "nll_iwae": {str(k): -s / len(images) for k, s in zip(ks, sums, strict=True)},
        "seconds": time.perf_counter() - began,
        "peak_memory_bytes": peak_memory_bytes(),
    }


def exact_nll(model: VAE, images: np.ndarray, config: EvalConfig, progress: bool) -> dict[str, Any]:
    """Quadrature at side 32, 64, ... until doubling moves the mean by less than the tolerance."""
    began, history, previous = time.perf_counter(), [], None
    resolution = FIRST_RESOLUTION
    while resolution <= config.max_resolution:
        per_chunk = max(1, LOGITS_BUDGET_BYTES // (2 * resolution**2 * 784 * 4))
        total, outside_max = 0.0, 0.0
        for start, stop in tqdm(
            chunk_bounds(len(images), per_chunk),
            desc=f"exact log p(x), grid {resolution}^2",
            disable=not progress,
        ):
            batch = pad_rows(images[start:stop], per_chunk)
            log_px, outside = exact_log_marginal(model, jnp.asarray(batch), resolution=resolution)
            total += float(np.asarray(log_px)[: stop - start].sum())
            outside_max = max(outside_max, float(np.asarray(outside)[: stop - start].max()))
        nll = -total / len(images)
        history.append({"resolution": resolution, "nll": nll, "max_outside_share": outside_max})
        if previous is not None and abs(nll - previous) < config.tolerance:
            break
        previous, resolution = nll, resolution * 2
    converged = len(history) > 1 and abs(history[-1]["nll"] - history[-2]["nll"]) < config.tolerance
    return {
        "num_images": len(images),
        "nll_exact": history[-1]["nll"],
        "converged": converged,
        "refinement": history,
        "seconds": time.perf_counter() - began,
    }


def evaluate_run(run_dir: str | Path, config: EvalConfig, *, progress: bool = True) -> dict[str, Any]:
    """All likelihood numbers for one trained VAE; also written to ``RUN_DIR/likelihood.json``."""
    config.validate()
    model, train_config = load_model(run_dir)
    if not isinstance(model, VAE):
        raise ConfigError(f"{run_dir}: the autoencoder defines no p(x); likelihood evaluation needs a VAE")
    test = load_dataset(train_config.dataset, "test", config.data_dir or train_config.data_dir)
    images = prepare_pixels(test.images, train_config.likelihood, seed=train_config.seed, split="test")
    images = images[: config.num_images or None]
    result: dict[str, Any] = {
        "run_dir": str(run_dir),
        "dataset": train_config.dataset,
        "likelihood": train_config.likelihood,
        "latent_dim": train_config.model.latent_dim,
        "device": jax.devices()[0].device_kind,
        "eval": asdict(config),
        "iwae": iwae_table(model, images, config, progress),
    }
    if train_config.model.latent_dim == 2:
        subset = images[: config.quadrature_images or None]
        result["exact"] = exact_nll(model, subset, config, progress)
        same = iwae_table(model, subset, config, False)  # the bounds on the very images integrated
        result["exact"]["nll_elbo_same_images"] = same["nll_elbo"]
        result["exact"]["nll_iwae_same_images"] = same["nll_iwae"]
    write_json(Path(run_dir) / "likelihood.json", result)
    return result


def format_result(result: dict[str, Any]) -> str:
    head = f"{result['dataset']}, {result['likelihood']} pixels, latent {result['latent_dim']}"
    lines = [f"{result['run_dir']}: {head}"]
    iwae = result["iwae"]
    lines.append(
        f"  test images {iwae['num_images']}: -ELBO {iwae['nll_elbo']:.2f} (mean of {iwae['elbo_samples']})"
    )
    for k, value in iwae["nll_iwae"].items():
        lines.append(f"  -IWAE k={k:<5} {value:9.2f}   gap to -ELBO {iwae['nll_elbo'] - value:6.2f}")
    lines.append(f"  {iwae['seconds']:.1f} s, peak memory {iwae['peak_memory_bytes'] / 2**20:.0f} MiB")
    if "exact" in result:
        exact = result["exact"]
        best_k = max(exact["nll_iwae_same_images"], key=int)
        elbo_gap = exact["nll_elbo_same_images"] - exact["nll_exact"]
        lines.append(
            f"  exact -log p(x) on {exact['num_images']} images: {exact['nll_exact']:.2f} "
            f"({'converged' if exact['converged'] else 'NOT converged'} at grid "
            f"{exact['refinement'][-1]['resolution']}^2, {exact['seconds']:.1f} s); same images: "
            f"-ELBO {exact['nll_elbo_same_images']:.2f} (gap {elbo_gap:.2f}), "
            f"-IWAE k={best_k} {exact['nll_iwae_same_images'][best_k]:.2f} "
            f"(gap {exact['nll_iwae_same_images'][best_k] - exact['nll_exact']:.2f})"
        )
    return "\n".join(lines)
