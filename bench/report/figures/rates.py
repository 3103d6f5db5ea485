"""Rates with Wilson intervals: divergence and escape per η bin, escape against noise."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from bench.report import run_stats
from bench.report.figures._chart import Chart, chart, legend, log_axis, style
from bench.report.summary import StudySummary
from bench.results import FINISHED


def _yerr(table: pd.DataFrame) -> np.ndarray:
    """Error bar lengths from Wilson bounds (rounding can put a bound a hair past the rate)."""
    rate = table["rate"].to_numpy(float)
    low = np.maximum(rate - table["ci_low"].to_numpy(float), 0.0)
    return np.vstack([low, np.maximum(table["ci_high"].to_numpy(float) - rate, 0.0)])


def _rate_plot(
    data: Mapping[str, pd.DataFrame],
    colours: Mapping[str, tuple],
    ylabel: str,
    vlines: Mapping[str, float] | None = None,
) -> Figure:
    fig = Figure(figsize=(6.4, 3.2))
    ax = fig.add_subplot()
    offsets = np.linspace(-0.04, 0.04, max(len(data), 1))
    for offset, (label, table) in zip(offsets, data.items(), strict=False):
        if table.empty:
            continue
        x = table["mid"] * 10**offset  # dodge overlapping error bars on a log axis
        ax.errorbar(
            x,
            table["rate"],
            yerr=_yerr(table),
            fmt="o-",
            color=colours[label],
            capsize=3,
            markersize=4,
            label=label,
        )
        if vlines and math.isfinite(vlines.get(label, math.nan)):
            ax.axvline(vlines[label], color=colours[label], linestyle=":", linewidth=1.2)
    log_axis(ax, "x")
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel("learning rate η (binned)")
    ax.set_ylabel(ylabel)
    legend(ax, fontsize="small")
    return fig


def divergence_vs_lr(
    summaries: Mapping[str, StudySummary], colours: Mapping[str, tuple], bins: int = 8
) -> Chart | None:
    """Share of diverged runs per η bin, with Wilson intervals; dotted: first diverged η."""
    items = {k: s for k, s in summaries.items() if "lr" in s.study.runs}
    finished = {k: s.study.runs for k, s in items.items()}
    finished = {k: f[f["status"].isin(FINISHED)] for k, f in finished.items()}
    finished = {k: f for k, f in finished.items() if len(f)}
    if not finished:
        return None
    lrs = np.concatenate([f["lr"].to_numpy(float) for f in finished.values()])
    edges = run_stats.log_bins(lrs, bins)
    data = {
        k: run_stats.binned_rate(f["lr"], f["status"] == "diverged", edges)
        for k, f in finished.items()
    }
    onsets = {k: items[k].onset.first for k in finished}
    parts = [
        f"{k}: {items[k].divergence.k}/{items[k].divergence.n}"
        + (f", first at η = {onsets[k]:.3g}" if math.isfinite(onsets[k]) else ", none")
        for k in finished
    ]
    with style():
        fig = _rate_plot(data, colours, "diverged runs", onsets)
        caption = (
            "Share of runs that diverged per learning-rate bin over the explored space, with "
            "Wilson 95 % intervals; dotted lines mark the smallest η that diverged "
            f"({'; '.join(parts)})."
        )
        return chart(fig, caption)


def escape_vs_lr(
    summaries: Mapping[str, StudySummary], colours: Mapping[str, tuple], bins: int = 6
) -> Chart | None:
    """Escape rate per η bin among runs starting outside the global basin (basin tasks only)."""
    candidates = {
        k: run_stats.escape_candidates(s.study.runs)
        for k, s in summaries.items()
        if s.study.has_basins and "lr" in s.study.runs
    }
    candidates = {k: c for k, c in candidates.items() if len(c)}
    if not candidates:
        return None
    edges = run_stats.log_bins(
        np.concatenate([c["lr"].to_numpy(float) for c in candidates.values()]), bins
    )
    data = {
        k: run_stats.binned_rate(c["lr"], run_stats.escaped(c), edges)
        for k, c in candidates.items()
    }
    parts = [f"{k}: {summaries[k].escape_all.k}/{summaries[k].escape_all.n}" for k in candidates]
    with style():
        fig = _rate_plot(data, colours, "escaped to the global basin")
        caption = (
            "Share of runs started outside the global minimum's basin that passed into it "
            "(first passage), per learning-rate bin with Wilson 95 % intervals (diverged runs "
            "count as not escaped; "
            f"{'; '.join(parts)})."
        )
        return chart(fig, caption)


# --- across tasks ----------------------------------------------------------------------------


def escape_vs_noise(points: pd.DataFrame, colours: Mapping[str, tuple]) -> Chart | None:
    """Escape rate against gradient noise, one panel per basin task, one line per optimizer.

    ``points``: columns task, optimizer, noise, k, n, rate, ci_low, ci_high.
    """
    if points.empty:
        return None
    tasks = list(dict.fromkeys(points["task"]))
    with style():
        fig = Figure(figsize=(4.2 * len(tasks), 3.2))
        axes = fig.subplots(1, len(tasks), sharey=True, squeeze=False)[0]
        for ax, task in zip(axes, tasks, strict=True):
            panel = points[points["task"] == task]
            # Noise levels as evenly spaced categories: few, and 0 has no place on a log axis.
            levels = sorted(panel["noise"].unique())
            position = {level: i for i, level in enumerate(levels)}
            offsets = np.linspace(-0.08, 0.08, max(panel["optimizer"].nunique(), 1))
            for offset, (optimizer, group) in zip(
                offsets, panel.groupby("optimizer", sort=True), strict=False
            ):
                group = group.sort_values("noise")
                ax.errorbar(
                    group["noise"].map(position) + offset,
                    group["rate"],
                    yerr=_yerr(group),
                    fmt="o-",
                    capsize=3,
                    markersize=4,
                    color=colours.get(optimizer, "0.3"),
                    label=optimizer,
                )
            ax.set_xticks(range(len(levels)), [f"{level:g}" for level in levels])
            ax.set_xlim(-0.5, len(levels) - 0.5)
            ax.set_ylim(-0.03, 1.03)
            ax.set_xlabel("gradient noise (task.noise, std)")
            ax.set_title(task)
            legend(ax, fontsize="small")
        axes[0].set_ylabel("escaped to the global basin")
        levels = points.groupby("task")["noise"].nunique()
        caption = (
            "Escape rate over each study's explored space against the gradient noise it ran "
            "with, with Wilson 95 % intervals "
            f"({', '.join(f'{t}: {levels[t]} noise level(s)' for t in tasks)})."
        )
        return chart(fig, caption)
