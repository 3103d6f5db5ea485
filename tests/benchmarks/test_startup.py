"""Start-up: what `python -m bench` adds on top of importing torch and using torch.optim."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import member_steps

REPO = Path(__file__).resolve().parents[2]
TORCH_ONLY = (
    "import torch; p = torch.zeros(2, requires_grad=True); "
    "torch.optim.Adam([p]).step()"  # the first torch.optim use imports torch._dynamo
)


def _python(*args: str, cwd: Path) -> None:
    subprocess.run([sys.executable, *args], check=True, cwd=cwd, capture_output=True)


@pytest.mark.benchmark(group="start-up (seconds per command)")
def test_startup_torch_and_torch_optim(benchmark, tmp_path: Path) -> None:
    member_steps(benchmark, 1, baseline=True)
    benchmark.pedantic(_python, ("-c", TORCH_ONLY), {"cwd": tmp_path}, rounds=5)


@pytest.mark.benchmark(group="start-up (seconds per command)")
def test_startup_bench_to_first_step(benchmark, tmp_path: Path) -> None:
    member_steps(benchmark, 1)
    args = ("-m", "bench", "task=quadratic", "steps=1", "seeds=1", "progress=false")
    benchmark.pedantic(_python, args, {"cwd": tmp_path}, rounds=5)


@pytest.mark.benchmark(group="start-up (seconds per command)")
def test_startup_single_run_on_quadratic(benchmark, tmp_path: Path) -> None:
    member_steps(benchmark, 1)
    args = ("-m", "bench", "task=quadratic", "progress=false")
    benchmark.pedantic(_python, args, {"cwd": tmp_path}, rounds=5)
