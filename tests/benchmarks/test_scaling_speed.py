"""Scaling out: 2 workers against 1 on one study, and what each storage costs per trial."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from optuna.storages.journal import JournalFileBackend

from .conftest import member_steps

REPO = Path(__file__).resolve().parents[2]
WORKLOADS = {
    "mlp_digits": ("task=mlp_digits", "steps=300", "sweep.n_trials=32", "sweep.batch_size=16"),
    "rosenbrock": ("task=rosenbrock", "steps=2000", "sweep.n_trials=256", "sweep.batch_size=64"),
}
WORK = {"mlp_digits": 32 * 3 * 300, "rosenbrock": 256 * 3 * 2000}


def _workers(count: int, workload: str, directory: Path) -> None:
    """``count`` `python -m bench` workers on one journal study (single-threaded when 2)."""
    results = directory / f"run-{len(list(directory.glob('run-*')))}"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    if count > 1:
        env["OMP_NUM_THREADS"] = "1"
    args = (
        "+sweep=adam",
        "storage=journal",
        "study_name=shared",
        "sweep.sampler=random",
        "sweep.confirm_seeds=0",  # the search alone: workers share it
        *WORKLOADS[workload],
        "progress=false",
        "auto_report=false",
        f"results_dir={results}",
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "bench", *args], env=env, cwd=REPO, stderr=subprocess.PIPE
        )
        for _ in range(count)
    ]
    for process in processes:
        _, err = process.communicate()
        assert process.returncode == 0, err.decode()
    storage = optuna.storages.JournalStorage(JournalFileBackend(str(results / "journal.log")))
    study = optuna.load_study(study_name="shared", storage=storage)
    complete = study.get_trials(states=[optuna.trial.TrialState.COMPLETE])
    n_trials = int(WORKLOADS[workload][2].split("=")[1])
    assert len(complete) == n_trials


@pytest.mark.parametrize("workload", list(WORKLOADS))
@pytest.mark.parametrize("workers", [1, 2])
def test_workers_on_one_study(benchmark, tmp_path: Path, workload: str, workers: int) -> None:
    benchmark.group = f"scaling: workers on one journal study, Adam on {workload}"
    member_steps(benchmark, WORK[workload], baseline=workers == 1)
    benchmark.pedantic(_workers, (workers, workload, tmp_path), rounds=1)


TRIALS = 256


@pytest.mark.parametrize("storage", ["sqlite", "journal", "postgres"])
def test_storage_overhead_per_trial(
    benchmark, tmp_path: Path, storage: str, compose_config, request
) -> None:
    """Optuna's time outside the engine per trial, on a sweep whose trials cost almost nothing."""
    benchmark.group = f"scaling: storage cost per trial ({TRIALS} random trials, quadratic)"
    if storage == "postgres":
        os.environ["BENCH_STORAGE_URL"] = request.getfixturevalue("postgres")
    cfg = compose_config(
        "progress=false",
        "+sweep=adam",
        f"storage={storage}",
        "task=quadratic",
        "steps=10",
        "sweep.sampler=random",
        f"sweep.n_trials={TRIALS}",
        f"study_name=overhead-{tmp_path.name}",
        f"results_dir={tmp_path}",
    )

    def sweep() -> dict:
        from bench.sweep import run_sweep

        return run_sweep(cfg).user_attrs["last_session"]

    member_steps(benchmark, TRIALS, baseline=storage == "sqlite")
    timing = benchmark.pedantic(sweep, rounds=1)
    outside = timing["seconds"] - timing["engine_seconds"]
    storage_seconds = timing["storage_seconds"]
    benchmark.extra_info["ms_per_trial_outside_engine"] = f"{1e3 * outside / TRIALS:.2f}"
    benchmark.extra_info["ms_per_trial_storage"] = f"{1e3 * storage_seconds / TRIALS:.2f}"
