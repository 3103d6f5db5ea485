"""Benchmark settings: the device, and single-threaded baselines on the same machine."""

from __future__ import annotations

import os

import pytest
import torch

#: Where the benchmarks run: the CPU, or ``BENCH_DEVICE=cuda`` (tests/benchmarks/gpu_check.sh).
DEVICE = torch.device(os.environ.get("BENCH_DEVICE", "cpu"))


@pytest.fixture(autouse=True)
def _all_threads() -> None:
    """Every benchmark starts with torch's default thread count (tests may lower it)."""
    torch.set_num_threads(torch.get_num_threads())


def member_steps(benchmark, count: int, *, baseline: bool = False) -> None:  # noqa: ANN001
    """Note the work of one round, so that the table can report member-steps per second."""
    benchmark.extra_info["member_steps"] = count
    benchmark.extra_info["baseline"] = baseline
    benchmark.extra_info["device"] = DEVICE.type


def plain_optimizer_options(device: torch.device) -> dict[str, bool]:
    """The fastest torch.optim implementation a user picks: fused kernels on CUDA, else default."""
    return {"fused": True} if device.type == "cuda" else {}


def synchronize(device: torch.device) -> None:
    """Wait for the device, so that a timed call ends when its work does."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
