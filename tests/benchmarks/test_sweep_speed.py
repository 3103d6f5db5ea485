"""Whole sweeps, start-up included: ``python -m bench +sweep=adam`` against the plain Optuna loop.

Also Optuna's share of a long sweep's wall time on a synthetic task.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import optuna
import pandas as pd
import pytest
import torch

from bench.engine import EngineConfig, run
from bench.optim import Adam
from bench.tasks import make_task

from .conftest import DEVICE, member_steps
from .plain_sweep import train

REPO = Path(__file__).resolve().parents[2]
PLAIN = Path(__file__).with_name("plain_sweep.py")
TRIALS, SEEDS, STEPS, RECORDS = 64, 3, 300, 11
#: The command takes seconds, where the plain loops take tens: its median of three rounds is
#: timed over about as long a stretch of this (shared, noisy) machine as one of theirs.
COMMAND_ROUNDS = 3
GROUP = f"sweep: Adam on mlp_digits, {TRIALS} trials x {SEEDS} seeds x {STEPS} steps"


def _python(*args: str, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def _wait(*processes: subprocess.Popen) -> None:
    for process in processes:
        _, err = process.communicate()
        assert process.returncode == 0, err.decode()


def _plain(workers: int, directory: Path) -> None:
    """The plain sweep as ``workers`` single-thread processes (one: all threads)."""
    db = directory / f"plain-{len(list(directory.glob('plain-*.db')))}.db"
    storage = f"sqlite:///{db}"
    threads = ["--threads", "1"] if workers > 1 else []
    common = ("--steps", str(STEPS), "--seeds", str(SEEDS), "--records", str(RECORDS))
    common += ("--device", DEVICE.type)
    # Create the study first, so that the workers do not race to create it.
    optuna.create_study(study_name="plain", storage=storage)
    share = [TRIALS // workers + (i < TRIALS % workers) for i in range(workers)]
    processes = [
        _python(str(PLAIN), "--storage", storage, "--trials", str(n), *common, *threads, cwd=REPO)
        for n in share
    ]
    _wait(*processes)
    study = optuna.load_study(study_name="plain", storage=storage)
    assert len(study.get_trials(states=[optuna.trial.TrialState.COMPLETE])) == TRIALS


def _bench(directory: Path, defaults: bool = False) -> None:
    """The sweep; ``defaults``: as a user runs it (50 records, the report), else engine-only."""
    results = directory / f"bench-{len(list(directory.glob('bench-*')))}"
    # Engine-only: the plain loop's 11 records and, as it writes none, no HTML report.
    engine_only = () if defaults else (f"n_records={RECORDS}", "auto_report=false")
    args = (
        "-m",
        "bench",
        "+sweep=adam",
        "task=mlp_digits",
        f"sweep.n_trials={TRIALS}",
        f"seeds={SEEDS}",
        f"steps={STEPS}",
        f"device={DEVICE.type}",
        "progress=false",
        *engine_only,
        f"results_dir={results}",
    )
    _wait(_python(*args, cwd=REPO))
    runs = pd.read_parquet(results / "adam-mlp_digits" / "runs.parquet")
    search = runs[runs.phase == "search"]  # the best configuration's confirmation runs aside
    assert len(search) == TRIALS * SEEDS and search.trial.nunique() == TRIALS


def _same_run_both_ways() -> None:
    """A configuration trained by the engine and by the plain loop from one start agree."""
    task = make_task("mlp_digits")
    hp = {"lr": 3e-3, "betas": (0.9, 0.999), "eps": 1e-8}
    x0 = task.init(torch.tensor([0]))[0]
    plain = train(task, hp, 0, 100, RECORDS, x0=x0)
    ours = run(task, Adam(1, lr=3e-3), torch.tensor([0]), EngineConfig(steps=100))
    assert abs(ours.final_loss.item() - plain) <= 1e-3 * abs(plain)


@pytest.mark.benchmark(group=GROUP)
def test_sweep_plain_optuna_one_process(benchmark, tmp_path: Path) -> None:
    _same_run_both_ways()
    member_steps(benchmark, TRIALS * SEEDS * STEPS, baseline=True)
    benchmark.pedantic(_plain, (1, tmp_path), rounds=1)


@pytest.mark.benchmark(group=GROUP)
def test_sweep_plain_optuna_two_processes(benchmark, tmp_path: Path) -> None:
    member_steps(benchmark, TRIALS * SEEDS * STEPS)
    benchmark.pedantic(_plain, (2, tmp_path), rounds=1)


@pytest.mark.benchmark(group=GROUP)
def test_sweep_bench_command(benchmark, tmp_path: Path) -> None:
    _bench(tmp_path)  # correctness first: every trial and run is stored
    member_steps(benchmark, TRIALS * SEEDS * STEPS)
    benchmark.pedantic(_bench, (tmp_path,), rounds=COMMAND_ROUNDS)


@pytest.mark.benchmark(group=GROUP)
def test_sweep_bench_command_at_the_defaults(benchmark, tmp_path: Path) -> None:
    """The user's defaults: 50 records and the HTML report."""
    member_steps(benchmark, TRIALS * SEEDS * STEPS)
    benchmark.pedantic(_bench, (tmp_path, True), rounds=COMMAND_ROUNDS)


LONG = 2000


@pytest.mark.benchmark(group=f"sweep: Optuna's share of a {LONG}-trial sweep (rosenbrock)")
@pytest.mark.parametrize("sampler", ["tpe", "random", "qmc"])
def test_sweep_optuna_share(benchmark, tmp_path: Path, sampler: str, compose_config) -> None:
    """The bare sweep's settings (Rosenbrock, 2000 steps, 3 seeds, batches of 64), 2000 trials."""
    cfg = compose_config(
        "progress=false",
        "+sweep=adam",
        f"sweep.sampler={sampler}",
        f"sweep.n_trials={LONG}",
        f"results_dir={tmp_path}",
    )

    def sweep() -> dict:
        from bench.sweep import run_sweep

        return run_sweep(cfg).user_attrs["last_session"]

    member_steps(benchmark, LONG * cfg.seeds * cfg.steps)
    timing = benchmark.pedantic(sweep, rounds=1)
    outside = timing["seconds"] - timing["engine_seconds"]
    benchmark.extra_info["optuna_share"] = f"{100 * outside / timing['seconds']:.1f} %"
    benchmark.extra_info["optuna_ms_per_trial"] = f"{1e3 * outside / LONG:.2f}"
