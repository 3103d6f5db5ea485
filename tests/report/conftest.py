"""Small real sweeps, run once per session, and the report built from them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import optuna
import pytest
from omegaconf import DictConfig

from bench.report import build_report
from bench.report.load import load_studies
from bench.report.summary import group_studies, summarize
from bench.sweep import run_sweep
from bench.sweep.export import export_study

#: A study name a browser would run as code if the report did not escape it.
XSS = "<script>alert(1)</script>"


def _inject_failed_trial(results: Path, name: str) -> None:
    """Add a trial whose worker 'died' (state FAIL, hyperparameters stored), then re-export."""
    storage = f"sqlite:///{results / 'bench.db'}"
    study = optuna.load_study(study_name=name, storage=storage)
    trial = study.ask()
    trial.set_user_attr("hyperparameters", {"lr": 0.5, "momentum": 0.9})
    study.tell(trial, state=optuna.trial.TrialState.FAIL)
    directory = results / name
    config = json.loads((directory / "config.json").read_text())
    env = json.loads((directory / "environment.json").read_text())
    export_study(study, directory, config, env)


@pytest.fixture(scope="session")
def xss() -> str:
    """The hostile study name of ``sweep_results``."""
    return XSS


@pytest.fixture(scope="session")
def sweep_results(
    compose_config: Callable[..., DictConfig], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A results directory with Adam and SGD on a basin task (two noise levels), Rosenbrock
    with pruned Adam trials and SGD divergences plus one failed trial, and a hostile name."""
    root = tmp_path_factory.mktemp("report")
    results = root / "results"

    def sweep(*overrides: str) -> None:
        run_sweep(
            compose_config(
                "steps=60",
                "seeds=3",
                "progress=false",
                f"results_dir={results}",
                f"reports_dir={root / 'reports'}",
                *overrides,
            )
        )

    sweep("+sweep=adam", "task=double_well", "sweep.n_trials=8")
    sweep("+sweep=sgd", "task=double_well", "sweep.n_trials=8")
    noisy = ("task.noise=0.5", "study_name=adam-double_well-noisy")
    sweep("+sweep=adam", "task=double_well", "sweep.n_trials=8", *noisy)
    # 16 trials in batches of 4: the median pruner starts pruning after 8.
    pruned = ("sweep.n_trials=16", "sweep.batch_size=4", "sweep.pruner=median")
    sweep("+sweep=adam", "task=rosenbrock", *pruned)
    sweep("+sweep=sgd", "task=rosenbrock", "sweep.n_trials=8")
    _inject_failed_trial(results, "sgd-rosenbrock")
    sweep("+sweep=sgd", "task=quadratic", "sweep.n_trials=4", f"study_name='{XSS}'")
    return results


@pytest.fixture(scope="session")
def rows(sweep_results: Path) -> dict:
    """Task → optimizer label → summary, for every study in ``sweep_results``."""
    return {
        task: {opt: summarize(study, task, opt) for opt, study in row.items()}
        for task, row in group_studies(load_studies(sweep_results)).items()
    }


@pytest.fixture(scope="session")
def report(sweep_results: Path) -> Path:
    """``reports/default/index.html`` over every study in ``sweep_results``."""
    return build_report(sweep_results, sweep_results.parent / "reports")
