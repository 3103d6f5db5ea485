"""Figures: an inline image and a one-sentence caption each; None where there is nothing to draw."""

from __future__ import annotations

import base64
import io
import math
import re

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from bench.report import figures, run_stats
from bench.report.figures import _chart
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
    table = run_stats.expected_best_after_k([1.0, 2.0, math.inf], [1, 2, 3], n_boot=100)
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


def _wide_figure() -> Figure:
    """A heat map with a colour bar (drawn as an image) and labels beyond the canvas's left."""
    with _chart.style():
        fig = Figure(figsize=(3.0, 2.0))
        ax = fig.add_subplot()
        image = ax.imshow(np.arange(12.0).reshape(3, 4))
        fig.colorbar(image, ax=ax)
        ax.set_yticks([0, 1, 2], ["a long tick label", "b", "c"])
        ax.set_ylabel("a label that ends left of the canvas")
    return fig


def _size(svg: str) -> tuple[float, ...]:
    found = re.search(r'width="([\d.]+)pt" height="([\d.]+)pt" viewBox="([-\d. ]+)"', svg)
    return (float(found[1]), float(found[2]), *map(float, found[3].split()))


def test_a_figure_is_drawn_once_and_cropped_as_savefig_crops_it(monkeypatch) -> None:
    tight = io.StringIO()
    with _chart.style():
        _wide_figure().savefig(tight, format="svg", bbox_inches="tight", dpi=_chart.RASTER_DPI)
    draws = []
    monkeypatch.setattr(
        Figure,
        "draw",
        lambda fig, renderer, draw=Figure.draw: draws.append(1) or draw(fig, renderer),
    )
    with _chart.style():
        ours = _svg(_chart.chart(_wide_figure(), "c."))
    assert len(draws) == 1
    width, height, x0, y0, box_width, box_height = _size(ours)
    expected_width, expected_height = _size(tight.getvalue())[:2]
    assert (width, height) == (box_width, box_height)
    assert width == pytest.approx(expected_width, abs=0.01)
    assert height == pytest.approx(expected_height, abs=0.01)
    assert x0 < 0  # the view box reaches left of the canvas, to the label drawn there
    # The heat map and the colour bar's gradient, both images in vector output, as savefig's.
    assert ours.count("<image") == tight.getvalue().count("<image") == 2


def test_titles_sit_where_matplotlibs_own_placement_puts_them(
    rows: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    row = rows["double_well (noise=0)"]
    ours = figures.objective_vs_lr(row)  # titled panels with colour bars
    monkeypatch.setitem(_chart.REPORT_RC, "axes.titley", None)  # matplotlib places them
    assert figures.objective_vs_lr(row) == ours


def test_a_lazy_figure_is_its_function_by_name() -> None:
    assert figures.Lazy("importance_bars")({}) is None  # the function's answer: nothing to draw
    with pytest.raises(ValueError, match="no figure 'nope'; allowed: divergence_vs_lr"):
        figures.Lazy("nope")
