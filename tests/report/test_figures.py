"""Figures: an inline image and a one-sentence caption each; None where there is nothing to draw."""

from __future__ import annotations

import base64
import math

import pandas as pd

from bench.report import figures, metrics
from bench.report.sections import TASK_FIGURES


def _svg(chart: figures.Chart) -> str:
    prefix = "data:image/svg+xml;base64,"
    assert chart.uri.startswith(prefix)
    return base64.b64decode(chart.uri[len(prefix) :]).decode()


def _one_sentence(caption: str) -> bool:
    return caption.endswith(".") and caption.count(". ") == 0


def test_per_task_figures(rows: dict) -> None:
    row = rows["double_well (noise=0)"]
    colours = figures.palette(sorted(row))
    for draw in TASK_FIGURES:  # every one applies to a basin task
        chart = draw(row, colours)
        assert "<svg" in _svg(chart)
        assert _one_sentence(chart.caption), chart.caption
    rate = row["sgd"].divergence
    caption = figures.divergence_vs_lr(row, colours).caption
    assert rate.k > 0 and f"sgd: {rate.k}/{rate.n}, first at η" in caption


def test_figures_are_deterministic(rows: dict) -> None:
    row = rows["rosenbrock"]
    assert figures.objective_vs_lr(row) == figures.objective_vs_lr(row)


def test_nothing_to_draw_gives_none(rows: dict) -> None:
    colours = figures.palette(["adam", "sgd"])
    assert figures.escape_vs_lr(rows["rosenbrock"], colours) is None  # no basins
    assert figures.performance_profile(pd.DataFrame(), colours) is None
    assert figures.importance_bars({}) is None
    assert figures.tunability_curves({}, colours) is None
    assert figures.escape_vs_noise(pd.DataFrame(), colours) is None


def test_across_task_figures() -> None:
    colours = figures.palette(["adam", "sgd"])
    times = pd.DataFrame({"adam": [10.0, math.inf], "sgd": [20.0, 5.0]}, index=["a", "b"])
    profile = figures.performance_profile(times, colours)
    assert "over 2 task(s)" in profile.caption and _one_sentence(profile.caption)
    bars = figures.importance_bars({"s": pd.Series({"lr": 0.7, "one_minus_beta1": 0.3})})
    assert _one_sentence(bars.caption)
    table = metrics.expected_best_after_k([1.0, 2.0, math.inf], [1, 2, 3], n_boot=100)
    tune = figures.tunability_curves({"t": {"adam": table}}, colours, ["tpe"])
    assert "from tpe" in tune.caption
    points = pd.DataFrame(
        {
            "task": ["double_well"] * 2,
            "optimizer": ["adam"] * 2,
            "noise": [0.0, 0.5],
            "k": [1, 3],
            "n": [4, 4],
            "rate": [0.25, 0.75],
            "ci_low": [0.05, 0.3],
            "ci_high": [0.7, 0.95],
        }
    )
    noise = figures.escape_vs_noise(points, colours)
    assert "double_well: 2 noise level(s)" in noise.caption
