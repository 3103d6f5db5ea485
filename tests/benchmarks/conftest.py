"""Benchmark settings: single-threaded baselines get the same machine as the population."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _all_threads() -> None:
    """Every benchmark starts with torch's default thread count (tests may lower it)."""
    torch.set_num_threads(torch.get_num_threads())


def member_steps(benchmark, count: int, *, baseline: bool = False) -> None:  # noqa: ANN001
    """Note the work of one round, so that the table can report member-steps per second."""
    benchmark.extra_info["member_steps"] = count
    benchmark.extra_info["baseline"] = baseline
