"""The commands as users run them, with their defaults: the main sweep and the reports.

The main command's time is split the way its own timing line splits it (engine, sampler,
storage, other) plus what comes after the sweep and before it (start-up, export, the report).
"""

from __future__ import annotations

import time
from pathlib import Path

import optuna
import pytest
from processes import run_bench

PAPER_TASKS = "quadratic,rosenbrock,rastrigin,double_well,logreg_digits,mlp_digits"


def _bench(*args: str, cwd: Path) -> float:
    """Run ``python -m bench args`` in ``cwd``; its wall time in seconds."""
    started = time.perf_counter()
    done = run_bench(*args, "progress=false", cwd=cwd, timeout=1800)
    assert done.returncode == 0, done.stderr
    return time.perf_counter() - started


def _bench_clocked(*args: str, cwd: Path) -> tuple[float, float, float]:
    """``_bench``, with the clock times (Unix seconds) it started and ended at."""
    launched = time.time()
    wall = _bench(*args, cwd=cwd)
    return wall, launched, time.time()


@pytest.mark.benchmark(group="the main command: python -m bench +sweep=adam (defaults)")
def test_main_command(benchmark, tmp_path: Path) -> None:
    """The README's main command, report included: where its time goes."""
    wall, launched, ended = benchmark.pedantic(
        _bench_clocked, ("+sweep=adam",), {"cwd": tmp_path}, rounds=1
    )
    study = optuna.load_study(
        study_name="adam-rosenbrock", storage=f"sqlite:///{tmp_path / 'results' / 'bench.db'}"
    )
    timing = study.user_attrs["last_session"]
    engine, sampling = timing["engine_seconds"], timing["sampling_seconds"]
    storage = timing["storage_seconds"]
    info = benchmark.extra_info
    info["engine_s"] = f"{engine:.1f}"
    info["tpe_sampling_s"] = f"{sampling:.1f}"
    info["storage_s"] = f"{storage:.2f}"
    info["storage_ms_per_trial"] = f"{1e3 * storage / len(study.trials):.2f}"
    # The rest of the loop: run metrics and frames, the rule's set-up, the progress bar.
    info["other_s"] = f"{timing['seconds'] - engine - sampling - storage:.2f}"
    startup = timing["started_at"] - launched
    info["startup_s"] = f"{startup:.1f}"
    info["export_report_s"] = f"{ended - timing['ended_at']:.1f}"
    # The target: time outside the engine and start-up within 1x the engine's.
    info["outside_engine_and_startup_per_engine"] = f"{(wall - engine - startup) / engine:.2f}"
    info["outside_engine_per_engine"] = f"{(wall - engine) / engine:.2f}"
    assert (tmp_path / "reports" / "adam-rosenbrock" / "index.html").exists()


@pytest.fixture(scope="module")
def studies(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The twelve studies of ``+experiment=paper`` (SGD and Adam on its six tasks, 64 trials ×
    5 seeds), at 100 steps: a report's work grows with trials × seeds × records, not steps."""
    cwd = tmp_path_factory.mktemp("paper")
    _bench(
        "--multirun",
        "+sweep=sgd,adam",
        f"task={PAPER_TASKS}",
        "steps=100",
        "seeds=5",
        "sweep.n_trials=64",
        "auto_report=false",
        cwd=cwd,
    )
    return cwd


@pytest.mark.benchmark(group="reports: python -m bench +report=default, imports included")
def test_report_of_one_study(benchmark, studies: Path) -> None:
    benchmark.pedantic(
        _bench, ("+report=default", "report.studies=[adam-mlp_digits]"), {"cwd": studies}
    )


@pytest.mark.benchmark(group="reports: python -m bench +report=default, imports included")
def test_report_of_the_twelve_paper_studies(benchmark, studies: Path) -> None:
    benchmark.pedantic(_bench, ("+report=default",), {"cwd": studies})
    page = (studies / "reports" / "default" / "index.html").read_text()
    assert "adam-mlp_digits" in page and "sgd-quadratic" in page
