"""Grouping studies into tasks × optimizers, and one study's summary."""

from __future__ import annotations

import math
from pathlib import Path

from bench.optim import Adam
from bench.report.load import load_studies
from bench.report.summary import (
    common_lr_range,
    group_studies,
    searched_hyperparameters,
    summarize,
)


def test_task_variants_are_labelled_by_what_tells_them_apart(sweep_results: Path) -> None:
    grid = group_studies(load_studies(sweep_results))
    assert {task: sorted(row) for task, row in grid.items()} == {
        "double_well (noise=0)": ["adam", "sgd"],
        "double_well (noise=0.5)": ["adam"],
        "quadratic": ["sgd"],
        "rosenbrock": ["adam", "sgd"],
    }


def test_two_studies_in_one_cell_keep_their_names(sweep_results: Path) -> None:
    studies = load_studies(sweep_results, ["adam-double_well", "sgd-double_well"])
    twin = studies[0].__class__(**{**studies[0].__dict__, "name": "adam-double_well-again"})
    grid = group_studies([*studies, twin])
    assert sorted(grid["double_well"]) == [
        "adam (adam-double_well)",
        "adam (adam-double_well-again)",
        "sgd",
    ]


def test_summary_of_a_study_with_pruned_runs(sweep_results: Path) -> None:
    (study,) = load_studies(sweep_results, ["adam-rosenbrock"])
    summary = summarize(study, "rosenbrock", "adam")
    runs = study.runs
    assert summary.run_counts["pruned"] == int((runs["status"] == "pruned").sum()) > 0
    assert summary.trial_counts["pruned"] * 3 == summary.run_counts["pruned"]
    best = runs[runs["trial"] == summary.best_trial]
    assert (best["status"] == "complete").all()
    assert summary.best_params["lr"] == best["lr"].iloc[0]
    assert set(summary.best_params) == {"lr", "beta1", "beta2", "eps"}
    assert summary.at_best_phase == "confirm"
    assert summary.final_mean == summary.at_best["final_loss"].mean()
    assert summary.escape_best is None  # Rosenbrock has no basins
    assert 0 < summary.share_within <= 1
    declared = [h.name for h in Adam.HPARAMS]
    assert searched_hyperparameters(runs, declared) == ["lr", "beta1", "beta2", "eps"]


def test_summary_counts_failed_and_diverged_separately(sweep_results: Path) -> None:
    (study,) = load_studies(sweep_results, ["sgd-rosenbrock"])
    summary = summarize(study, "rosenbrock", "sgd")
    assert summary.run_counts["failed"] == 1 and summary.trial_counts["failed"] == 1
    assert summary.divergence.n == len(study.runs) - 1  # the failed run has no result
    assert summary.divergence.k == summary.run_counts["diverged"]
    assert not math.isnan(summary.onset.first)


def test_figures_at_best_come_from_the_confirmation_runs(sweep_results: Path) -> None:
    # The best is picked on the search seeds; judged on them it is flattered (issue 12).
    (study,) = load_studies(sweep_results, ["adam-double_well"])
    assert set(study.runs["phase"]) == {"search"} and set(study.confirm["phase"]) == {"confirm"}
    summary = summarize(study, "double_well", "adam")
    confirm = study.confirm[study.confirm["confirm_of"] == summary.best_trial]
    assert summary.at_best_phase == "confirm" and summary.at_best_trial == confirm["trial"].iloc[0]
    assert sorted(summary.at_best["seed"]) == [3, 4, 5]  # after the search seeds 0, 1, 2
    assert summary.best["n"] == 3
    assert summary.final_mean == confirm.loc[confirm.status != "diverged", "final_loss"].mean()
    assert summary.escape_best.n == (~confirm["start_in_basin"].astype(bool)).sum()
    # Choosing the best never looks at the confirmation runs.
    assert summary.best_trial in set(study.runs["trial"])


def test_divergence_is_compared_over_the_shared_learning_rate_range(sweep_results: Path) -> None:
    # SGD's η reaches 10, Adam's 1: compared on η ≤ 1, the whole range beside it (issue 12).
    studies = load_studies(sweep_results, ["adam-rosenbrock", "sgd-rosenbrock"])
    shared = common_lr_range(studies)
    assert shared == (1e-5, 1.0)
    sgd = summarize(studies[1], "rosenbrock", "sgd", shared)
    finished = sgd.study.runs[sgd.study.runs["status"] != "failed"]
    inside = finished[finished["lr"] <= 1.0]
    assert sgd.lr_range == shared
    assert sgd.divergence_common.n == len(inside) < sgd.divergence.n == len(finished)
    assert sgd.divergence_common.k == (inside["status"] == "diverged").sum()
    assert summarize(studies[1], "rosenbrock", "sgd").divergence_common is None
