"""The plain way to run one Adam configuration over many seeds: one tensor, one torch.optim.Adam.

Rastrigin in 2-D from uniform starts in [-5.12, 5.12]², every member a row of one ``[P, 2]``
tensor; run as a script it is what ``python -m bench task=rastrigin optimizer=adam seeds=P``
does, with start-up, and no records, metrics or storage:

    python tests/benchmarks/plain_seeds.py --seeds 300000 --steps 200
"""

from __future__ import annotations

import argparse
import math

import torch
from torch import Tensor


def adam_loop(x0: Tensor, lr: float, steps: int) -> Tensor:
    """``steps`` Adam steps on the summed Rastrigin loss of the rows of ``x0``: the final rows."""
    x = x0.clone().requires_grad_()
    # The fastest torch.optim a user picks: fused kernels on CUDA, torch's default on the CPU.
    fused = {"fused": True} if x.device.type == "cuda" else {}
    optimizer = torch.optim.Adam([x], lr=lr, **fused)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = 10.0 * x.shape[1] + (x * x - 10.0 * torch.cos((2.0 * math.pi) * x)).sum(1)
        loss.sum().backward()
        optimizer.step()
    return x.detach()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, required=True)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    start = torch.rand(args.seeds, 2, generator=torch.Generator().manual_seed(0)) * 10.24 - 5.12
    final = adam_loop(start.to(args.device), args.lr, args.steps)
    print(f"mean |x| {final.abs().mean().item():.4f}")
