#!/usr/bin/env python3
"""Train and evaluate VAEs of several latent sizes on dynamically binarized MNIST; write a Markdown table.

    python scripts/likelihood_table.py --epochs 10 --out runs/likelihood

Each row: latent size, epochs, test -ELBO, -IWAE with the largest k used (and that k), the exact
-log p(x) for a 2-D latent, the slope of the test -ELBO over the last fifth of the epochs (at least
5), training
and evaluation wall time, and the device. The table is rewritten to OUT/table.md after every row,
next to published references, and every row is also in OUT/<latent>/likelihood.json.

Long runs: each latent size trains in OUT/latent<N>, which keeps a checkpoint every epoch and its
per-epoch test -ELBO in metrics.json as it goes. Killed at any point, the same command goes on from
the last completed epoch (a larger --epochs continues a finished run; --restart starts over).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import jax

from jaxvae.errors import JaxvaeError
from jaxvae.experiments.heldout import EvalConfig, evaluate_run
from jaxvae.runs.config import TrainConfig
from jaxvae.runs.driver import summarize
from jaxvae.runs.single import train
from jaxvae.spec import ModelSpec

REFERENCES = """\
Published references (not produced here):
- Burda et al. 2015, Importance Weighted Autoencoders, Table 1: VAE, one stochastic layer, trained with k=1,
  dynamically binarized MNIST: 86.76 nats (k=5000 estimate).
- Flax VAE example README: test loss about 104 after 10 epochs, latent 20, statically binarized MNIST.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--latent-dims", nargs="+", type=int, default=[2, 5, 10, 20, 50])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument(
        "--arch",
        default="mlp",
        choices=["mlp", "conv"],
        help="the VAE's networks (jaxvae.spec; default: mlp)",
    )
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3, help="Adam's (initial) learning rate")
    parser.add_argument(
        "--lr-schedule",
        default="constant",
        choices=["constant", "cosine", "exponential"],
        help="cosine: to 1%% of --lr at the last epoch; exponential: times --lr-decay every epoch",
    )
    parser.add_argument("--lr-decay", type=float, default=0.999)
    parser.add_argument("--restart", action="store_true", help="start every run over")
    parser.add_argument(
        "--likelihood", default="dynamic", choices=["dynamic", "static", "threshold", "continuous"]
    )
    parser.add_argument("--ks", nargs="+", type=int, default=[1, 10, 100, 1000, 5000])
    parser.add_argument("--num-images", type=int, default=0, help="test images (0: all 10,000)")
    parser.add_argument("--quadrature-images", type=int, default=1000)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", default="runs/likelihood")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    try:
        return write_table(args, argv)
    except JaxvaeError as e:
        print(f"likelihood_table: error: {e}", file=sys.stderr)
        return 2


def write_table(args: argparse.Namespace, argv: list[str] | None) -> int:
    out = Path(args.out)
    device = jax.devices()[0].device_kind
    # every setting is checked before the first model trains, so a bad flag costs no training
    eval_config = EvalConfig(
        ks=tuple(args.ks), num_images=args.num_images, quadrature_images=args.quadrature_images
    ).validate()
    configs = [
        TrainConfig(
            model=ModelSpec(latent_dim=latent, arch=args.arch),
            epochs=args.epochs,
            batch_size=args.batch_size,
            lr=args.lr,
            lr_schedule=args.lr_schedule,
            lr_decay=args.lr_decay,
            likelihood=args.likelihood,
            data_dir=args.data_dir,
            out=str(out / (f"latent{latent}" if args.arch == "mlp" else f"latent{latent}_{args.arch}")),
        ).validate()
        for latent in args.latent_dims
    ]
    rows = []
    for config in configs:
        latent = config.model.latent_dim
        metrics = train(config, progress=not args.no_progress, resume=not args.restart).metrics
        summary = summarize(metrics)
        train_seconds = sum(m["seconds"] for m in metrics)  # every epoch, over all resumed sessions
        slope = elbo_slope(metrics)
        began = time.perf_counter()
        result = evaluate_run(config.out, eval_config, progress=not args.no_progress)
        eval_seconds = time.perf_counter() - began
        k = max(result["iwae"]["nll_iwae"], key=int)
        exact = (
            f"{result['exact']['nll_exact']:.2f} ({result['exact']['num_images']} images)"
            if "exact" in result
            else ""
        )
        iwae = result["iwae"]
        rows.append(
            f"| {latent} | {int(summary['epochs'])} | {iwae['nll_elbo']:.2f} | {iwae['nll_iwae'][k]:.2f} "
            f"| {k} | {exact} | {slope} "
            f"| {iwae['num_images']} | {train_seconds:.0f} s | {eval_seconds:.0f} s | {device} |"
        )
        print(rows[-1], f"(median epoch {summary['median_epoch_seconds']:.2f} s)", flush=True)
        write_rows(out, args, argv, rows)  # early results: the table so far, after every row
    return 0


def elbo_slope(metrics: list[dict]) -> str:
    """The least-squares slope of the per-epoch test -ELBO over the last fifth of the epochs (at
    least the last 5), in nats per 100 epochs ("" for a run of fewer than 5 epochs)."""
    if len(metrics) < 5:
        return ""
    tail = metrics[-max(5, len(metrics) // 5) :]
    epochs = [m["epoch"] for m in tail]
    losses = [m["test_total"] for m in tail]
    mean_e, mean_l = sum(epochs) / len(epochs), sum(losses) / len(losses)
    covariance = sum((e - mean_e) * (loss - mean_l) for e, loss in zip(epochs, losses, strict=True))
    return f"{100 * covariance / sum((e - mean_e) ** 2 for e in epochs):+.2f}"


def write_rows(out: Path, args: argparse.Namespace, argv: list[str] | None, rows: list[str]) -> None:
    table = [
        f"Test negative log-likelihood, nats per image, {args.likelihood}-binarized MNIST "
        f"(`python scripts/likelihood_table.py {' '.join(argv if argv is not None else sys.argv[1:])}`).",
        "",
        "| latent | epochs | -ELBO | -IWAE | k | exact -log p(x) "
        "| -ELBO slope (nats / 100 epochs, last fifth) | test images | train time | eval time | device |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        REFERENCES,
    ]
    (out / "table.md").write_text("\n".join(table))
    print("\n".join(table))


if __name__ == "__main__":
    sys.exit(main())
