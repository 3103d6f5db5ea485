"""Hyperparameter importance, computed at export into ``importance.parquet`` for every storage."""

from __future__ import annotations

import optuna
import pandas as pd
import pytest

from bench.report import build_report
from bench.results import IMPORTANCE_COLUMNS, IMPORTANCE_FILE
from bench.sweep import run_sweep
from bench.sweep.importance import hyperparameter_importance, importance_frame


def _study(n: int) -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name="s", sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: t.suggest_float("x", 0, 1) ** 2 + 0 * t.suggest_float("y", 0, 1), n)
    return study


def test_importance_ranks_the_parameter_that_matters() -> None:
    values = hyperparameter_importance(_study(40))
    assert values.sum() == pytest.approx(1.0)
    assert values["x"] > values["y"]


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
