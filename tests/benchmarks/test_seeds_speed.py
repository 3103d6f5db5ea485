"""One configuration over many seeds, as a user runs it: the command against a plain loop.

``python -m bench task=rastrigin optimizer=adam optimizer.lr=0.01 steps=200 seeds=N`` (records,
metrics, the storage and the export included) against start-up plus a plain vectorized loop
(``plain_seeds.py``: one ``[N, 2]`` tensor and one ``torch.optim.Adam``), each a fresh process
timed from launch to exit, with its peak memory (the process's maximum resident set).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
from processes import REPO

from bench.engine import EngineConfig, run
from bench.optim import Adam
from bench.tasks import make_task

from .conftest import DEVICE
from .plain_seeds import adam_loop

PLAIN = Path(__file__).with_name("plain_seeds.py")
STEPS = 200
GROUP = f"scale: one Adam configuration on rastrigin-2d over many seeds, {STEPS} steps"
#: Wall seconds of the plain loop at each population, as its benchmark measured them.
PLAIN_SECONDS: dict[int, float] = {}


def _timed(*args: str, cwd: Path) -> tuple[float, float]:
    """Run ``python args`` in ``cwd``; (its wall seconds, its peak memory in MB)."""
    # stderr to a file, not a pipe: wait4 does not read a pipe, which would block a chatty child.
    with tempfile.TemporaryFile() as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, *args],
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        stderr.seek(0)
        assert os.waitstatus_to_exitcode(status) == 0, stderr.read().decode()
    return wall, usage.ru_maxrss / 1024


def _bench(seeds: int, cwd: Path) -> tuple[float, float]:
    return _timed(
        "-m",
        "bench",
        "task=rastrigin",
        "optimizer=adam",
        "optimizer.lr=0.01",
        f"steps={STEPS}",
        f"seeds={seeds}",
        f"device={DEVICE.type}",
        "progress=false",
        f"results_dir={cwd / f'results-{len(list(cwd.iterdir()))}'}",
        cwd=cwd,
    )


def _record(benchmark, seeds: int, peak_mb: float) -> None:  # noqa: ANN001
    benchmark.extra_info["member_steps"] = seeds * STEPS
    benchmark.extra_info["peak_mb"] = round(peak_mb)


def _same_as_engine() -> None:
    """The plain loop does what the command's engine does, from the same starts, bit for bit."""
    task = make_task("rastrigin", dim=2)
    seeds = torch.arange(5)
    ours = run(task, Adam(5, lr=0.01), seeds, EngineConfig(steps=50))
    plain = adam_loop(task.init(seeds), 0.01, 50)
    torch.testing.assert_close(ours.final_params, plain, rtol=0, atol=0)


def test_plain_loop_equals_the_engine() -> None:
    _same_as_engine()


@pytest.mark.benchmark(group=GROUP)
@pytest.mark.parametrize("seeds", [300_000])
def test_plain_vectorized_loop(benchmark, seeds: int, tmp_path: Path) -> None:
    _same_as_engine()
    wall, peak = benchmark.pedantic(
        _timed,
        (str(PLAIN), "--seeds", str(seeds), "--steps", str(STEPS), "--device", DEVICE.type),
        {"cwd": tmp_path},
        rounds=1,
    )
    PLAIN_SECONDS[seeds] = wall
    benchmark.extra_info["baseline"] = True
    _record(benchmark, seeds, peak)


@pytest.mark.benchmark(group=GROUP)
@pytest.mark.parametrize("seeds", [300_000, 1_000_000])
def test_single_run_command(benchmark, seeds: int, tmp_path: Path) -> None:
    wall, peak = benchmark.pedantic(_bench, (seeds, tmp_path), rounds=1)
    _record(benchmark, seeds, peak)
    if seeds in PLAIN_SECONDS:
        ratio = wall / PLAIN_SECONDS[seeds]
        benchmark.extra_info["x start-up + plain vectorized loop"] = round(ratio, 2)
    (results,) = tmp_path.glob("results-*")
    runs = pd.read_parquet(results / "single-adam-rastrigin" / "runs.parquet", columns=["seed"])
    assert len(runs) == seeds and runs.seed.is_unique
