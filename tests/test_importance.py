"""Hyperparameter importance, computed at export into ``importance.parquet`` for every storage."""

from __future__ import annotations

import math
import random
import warnings

import optuna
import pandas as pd
import pytest
from optuna.importance import PedAnovaImportanceEvaluator, get_param_importances
from optuna.trial import TrialState

from bench.report import build_report
from bench.results import IMPORTANCE_COLUMNS, IMPORTANCE_FILE
from bench.sweep import run_sweep
from bench.sweep.importance import hyperparameter_importance, importance_frame
from bench.sweep.ped_anova import ped_anova


def _study(n: int) -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name="s", sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: t.suggest_float("x", 0, 1) ** 2 + 0 * t.suggest_float("y", 0, 1), n)
    return study


@pytest.mark.parametrize("evaluator", ["ped-anova", "fanova"])
def test_importance_ranks_the_parameter_that_matters(evaluator: str) -> None:
    values = hyperparameter_importance(_study(40), evaluator)
    assert values.sum() == pytest.approx(1.0)
    assert values["x"] > values["y"]


def _mixed_study(seed: int) -> optuna.Study:
    """Every kind of distribution, either direction, and trials without parameters (as a
    sweep's confirmation runs are)."""
    rng = random.Random(seed)
    direction = "minimize" if seed % 2 else "maximize"
    sampler = optuna.samplers.RandomSampler(seed=seed)
    study = optuna.create_study(direction=direction, sampler=sampler)

    def objective(trial: optuna.Trial) -> float:
        lr = trial.suggest_float("lr", 1e-5, 1.0, log=True)
        momentum = trial.suggest_float("momentum", 0.0, 1.0)
        width = trial.suggest_int("width", 1, 64, log=seed % 3 == 0)
        kind = trial.suggest_categorical("kind", ["a", "b", "c"])
        share = trial.suggest_float("share", 0.0, 1.0, step=0.25)
        noise = share * rng.random() * (seed % 5)
        return (math.log10(lr) + 2) ** 2 * (1 + momentum) + (kind == "b") + width / 100 + noise

    study.optimize(objective, rng.randint(2, 150))
    for _ in range(rng.randint(0, 3)):
        study.enqueue_trial({})
        study.optimize(lambda _: rng.random(), 1)
    return study


@pytest.mark.parametrize("seed", range(12))
def test_ped_anova_equals_optunas_evaluator(seed: int) -> None:
    study = _mixed_study(seed)
    params = ["kind", "lr", "momentum", "share", "width"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Optuna warns about regimes of fewer than 2 trials
        expected = get_param_importances(
            study, evaluator=PedAnovaImportanceEvaluator(), params=params
        )
    trials = study.get_trials(states=(TrialState.COMPLETE,))
    found = ped_anova(trials, params, minimize=seed % 2 == 1)
    assert list(found) == list(expected)  # the same order, ties included
    assert found == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_importance_refuses_too_few_trials_with_a_reason() -> None:
    with pytest.raises(ValueError, match="complete trials"):
        hyperparameter_importance(_study(2))


def test_the_exported_table_holds_the_values_or_the_reason() -> None:
    table = importance_frame(_study(40))
    assert tuple(table.columns) == IMPORTANCE_COLUMNS and set(table.parameter) == {"x", "y"}
    assert table.note.isna().all() and table.importance.sum() == pytest.approx(1.0)
    (row,) = importance_frame(_study(2)).itertuples()
    assert pd.isna(row.parameter) and "need 4" in row.note


@pytest.mark.parametrize("storage", ["sqlite", "journal", "postgres"])
def test_importance_is_in_the_report_for_every_storage(
    storage: str, small_config, tmp_path, request: pytest.FixtureRequest
) -> None:
    if storage == "postgres":
        request.getfixturevalue("monkeypatch").setenv(
            "BENCH_STORAGE_URL", request.getfixturevalue("postgres")
        )
    name = f"importance-{storage}-{tmp_path.name}"
    cfg = small_config(
        "+sweep=adam",
        "task=quadratic",
        f"storage={storage}",
        f"study_name={name}",
        "sweep.n_trials=8",
        "sweep.sampler=random",
    )
    run_sweep(cfg)
    table = pd.read_parquet(tmp_path / "results" / name / IMPORTANCE_FILE)
    assert table.importance.sum() == pytest.approx(1.0) and table.note.isna().all()
    # The report reads the file, wherever the storage is.
    page = build_report(tmp_path / "results", tmp_path / "reports", "r", [name]).read_text()
    section = page[page.index('id="importance"') :]
    assert "<img" in section.split("</section>")[0] and "no importance" not in page
