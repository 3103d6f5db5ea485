"""Per-run metrics and objectives on hand-made values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from bench.engine import EngineConfig, run
from bench.metrics import aggregate, auc_log_gap, objective, run_metrics
from bench.optim import SGD
from bench.tasks import make_task


def test_auc_is_the_mean_log10_gap_over_the_run() -> None:
    steps = np.array([0, 10, 20])
    curves = np.array([[100.0, 10.0, 1.0], [1.0, 1.0, 1.0], [1.0, np.nan, np.nan]])
    auc = auc_log_gap(curves, steps, f_ref=0.0)
    # Trapezoids of log10: (2 + 1)/2 * 10 + (1 + 0)/2 * 10 = 20, over 20 steps.
    assert auc[0] == pytest.approx(1.0)
    assert auc[1] == pytest.approx(0.0)
    assert auc[2] == math.inf


def test_auc_floors_the_gap_at_an_exact_minimum() -> None:
    auc = auc_log_gap(np.array([[-3.0, -3.0]]), np.array([0, 5]), f_ref=-3.0)
    assert auc[0] == pytest.approx(-12.0)


def _runs() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "status": ["complete", "complete", "diverged"],
            "final_loss": [0.5, 0.25, 1e30],
            "best_loss": [0.1, 0.2, 0.3],
            "auc": [1.0, 2.0, 3.0],
            "steps_to_target": pd.array([40, None, None], dtype="Int64"),
        }
    )


def test_objectives_make_a_diverged_run_the_worst_and_censor_unreached_targets() -> None:
    runs = _runs()
    assert objective(runs, "final_loss", 100).tolist() == [0.5, 0.25, math.inf]
    assert objective(runs, "best_loss", 100).tolist() == [0.1, 0.2, math.inf]
    assert objective(runs, "steps_to_target", 100).tolist() == [40, 101, math.inf]
    with pytest.raises(ValueError, match="sweep.objective"):
        objective(runs, "accuracy", 100)


def test_aggregate_over_seeds() -> None:
    values = np.array([1.0, 2.0, 10.0])
    assert aggregate(values, "mean") == pytest.approx(13 / 3)
    assert aggregate(values, "median") == 2.0
    assert aggregate(np.array([1.0, math.inf]), "mean") == math.inf
    with pytest.raises(ValueError, match="sweep.aggregate"):
        aggregate(values, "max")


@pytest.mark.parametrize("how", ["mean", "median"])
def test_one_diverged_seed_makes_the_trial_objective_infinite_whatever_the_aggregate(
    how: str,
) -> None:
    # 2 of 5 seeds diverged: the median of the other values would be finite (issue 12).
    values = np.array([0.01, 0.05, 0.06, math.inf, math.inf])
    assert aggregate(values, how) == math.inf


def test_escape_step_is_kept_only_for_runs_that_started_outside_the_global_basin() -> None:
    task = make_task("double_well", noise=6.0, dtype=torch.float64)
    result = run(task, SGD(16, lr=0.05), torch.arange(16), EngineConfig(steps=100))
    runs = run_metrics(result, task)
    assert str(runs["escape_step"].dtype) == "Int64"
    inside = runs["start_in_basin"].to_numpy(bool)
    assert inside.any() and (~inside).any()
    assert runs.loc[inside, "escape_step"].isna().all()
    assert runs.loc[~inside, "escape_step"].notna().any()
    assert runs["late_basin_share"].between(0, 1).all()
