#!/usr/bin/env python3
"""PyTorch peer of jaxvae's VAE (same architecture, loss, optimizer, batch size), for benchmarks/run.py.

Prints one JSON line: images/s and epoch times in steady state, and the loss after the timed epochs.
Exits 3 with a one-line reason when torch is not installed.
"""

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

try:
    import torch
    from torch import nn
except ImportError:
    print("torch is not installed (pip install torch==2.13.0 gives a CPU build)", file=sys.stderr)
    sys.exit(3)


class VAE(nn.Module):
    def __init__(self, latent: int = 2, hidden: tuple[int, int] = (512, 256)) -> None:
        super().__init__()
        self.trunk = nn.Sequential(
            nn.Linear(784, hidden[0]), nn.ReLU(), nn.Linear(hidden[0], hidden[1]), nn.ReLU()
        )
        self.mean, self.logvar = nn.Linear(hidden[1], latent), nn.Linear(hidden[1], latent)
        self.decoder = nn.Sequential(
            nn.Linear(latent, hidden[1]),
            nn.ReLU(),
            nn.Linear(hidden[1], hidden[0]),
            nn.ReLU(),
            nn.Linear(hidden[0], 784),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.trunk(x)
        mean, logvar = self.mean(h), self.logvar(h)
        z = mean + torch.exp(0.5 * logvar) * torch.randn_like(mean)
        logits = self.decoder(z)
        reconstruction = nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(-1)
        kl = 0.5 * (torch.exp(logvar) + mean.square() - 1 - logvar).sum(-1)
        return (reconstruction + kl).mean()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--mode", choices=["eager", "compile"], default="eager")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument(
        "--matmul-precision",
        default="float32",
        choices=["float32", "tensorfloat32", "bfloat16"],
        help="float32 matmuls in full float32 (as jaxvae's harness sets for JAX) or with TF32/bf16 passes",
    )
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        print("torch sees no CUDA device", file=sys.stderr)
        return 3
    torch.manual_seed(0)
    torch.set_num_threads(os.cpu_count() or 1)
    torch.set_float32_matmul_precision(
        {"float32": "highest", "tensorfloat32": "high", "bfloat16": "medium"}[args.matmul_precision]
    )
    device = torch.device(args.device)
    images = torch.from_numpy(np.load(args.data).reshape(-1, 784)).to(device)
    model = VAE().to(device)
    # the fused CUDA kernel is PyTorch's fastest Adam on GPUs; on CPU the default (foreach) is
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=device.type == "cuda")
    loss_fn = torch.compile(model) if args.mode == "compile" else model
    steps = len(images) // args.batch_size

    def epoch() -> float:
        order = torch.randperm(len(images), device=device)[: steps * args.batch_size]
        order = order.view(steps, args.batch_size)
        total = torch.zeros((), device=device)
        for indices in order:
            x = images[indices].float() / 255.0
            loss = loss_fn(x)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.detach()  # no per-step host synchronisation
        return total.item() / steps  # .item() waits for the device: the epoch is complete

    began = time.perf_counter()
    epoch()  # warm-up (and compilation for torch.compile)
    first_epoch = time.perf_counter() - began
    times, loss = [], float("nan")
    for _ in range(args.repeats):
        began = time.perf_counter()
        loss = epoch()
        times.append(time.perf_counter() - began)
    median = statistics.median(times)
    print(
        json.dumps(
            {
                "torch": torch.__version__,
                "device": args.device,
                "threads": torch.get_num_threads(),
                "first_epoch_s": first_epoch,
                "epoch_median_ms": 1e3 * median,
                "epoch_min_ms": 1e3 * min(times),
                "images_per_s": steps * args.batch_size / median,
                "final_train_loss": loss,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
