"""Sensitivity to the hyperparameters: objective against η, and the η × β₁ heat map."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullLocator

from bench.report import run_stats
from bench.report.figures._chart import (
    DIVERGED,
    Chart,
    chart,
    colour_legend,
    legend,
    log_axis,
    momentum_label,
    plain_ticks,
    score_label,
    style,
)
from bench.report.load import StudyData
from bench.report.summary import StudySummary
from bench.results import GAP_FLOOR


def _trial_table(study: StudyData, scores: pd.Series) -> pd.DataFrame:
    """One row per non-failed trial: lr, β₁-like value, score, status, pruned loss score."""
    runs = study.runs[study.runs["status"] != "failed"]
    momentum = study.momentum_column
    agg = {"lr": ("lr", "first")}
    if momentum:
        agg["momentum"] = (momentum, "first")
    table = runs.groupby("trial").agg(**agg)
    table["status"] = run_stats.trial_statuses(runs)
    table["score"] = scores.reindex(table.index)
    # Pruned trials have no objective; show where their loss was when they were stopped.
    stopped = runs[runs["status"] == "pruned"].groupby("trial")["final_loss"].mean()
    with np.errstate(divide="ignore", invalid="ignore"):
        table["stopped"] = np.log10(np.maximum(stopped - study.f_ref, GAP_FLOOR))
    if momentum:
        table["one_minus"] = np.clip(1.0 - table["momentum"].astype(float), 1e-6, 1.0)
    return table


def objective_vs_lr(summaries: Mapping[str, StudySummary]) -> Chart | None:
    """Sensitivity: each trial's objective against η, coloured by its 1 − β₁-like value."""
    items = [(k, s) for k, s in summaries.items() if "lr" in s.study.runs and len(s.study.runs)]
    if not items:
        return None
    tables = {k: _trial_table(s.study, s.scores) for k, s in items}
    finite = np.concatenate([t["score"].to_numpy(float) for t in tables.values()])
    finite = np.concatenate(
        [finite, *[t["stopped"].dropna().to_numpy(float) for t in tables.values()]]
    )
    finite = finite[np.isfinite(finite)]
    low, high = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
    pad = 0.08 * max(high - low, 1e-3)
    top = high + 2 * pad
    counts = {"diverged": 0, "pruned": 0}
    with style():
        fig = Figure(figsize=(4.2 * len(items), 3.4))
        axes = fig.subplots(1, len(items), sharey=True, squeeze=False)[0]
        for ax, (label, summary) in zip(axes, items, strict=True):
            table = tables[label]
            done = table[np.isfinite(table["score"])]
            colour_by = "one_minus" in table
            colours = (
                {"c": done["one_minus"], "cmap": "viridis", "norm": LogNorm(1e-3, 1.0)}
                if colour_by
                else {"color": "C0"}
            )
            points = ax.scatter(done["lr"], done["score"], s=18, edgecolors="none", **colours)
            diverged = table[np.isposinf(table["score"])]
            if len(diverged):
                ax.scatter(
                    diverged["lr"],
                    np.full(len(diverged), top),
                    marker="x",
                    color=DIVERGED,
                    s=20,
                    label=f"diverged ({len(diverged)})",
                )
            pruned = table[table["status"] == "pruned"]
            if len(pruned):
                ax.scatter(
                    pruned["lr"],
                    pruned["stopped"].fillna(top),
                    facecolors="none",
                    edgecolors="0.45",
                    s=18,
                    label=f"pruned ({len(pruned)}), loss when stopped",
                )
            counts["diverged"] += len(diverged)
            counts["pruned"] += len(pruned)
            if summary.best_trial is not None and summary.best_trial in table.index:
                row = table.loc[summary.best_trial]
                ax.scatter([row["lr"]], [row["score"]], marker="*", s=140, color="k", label="best")
            log_axis(ax, "x")
            ax.set_xlabel("learning rate η")
            ax.set_title(label)
            ax.set_ylim(low - pad, top + pad)
            legend(ax, fontsize="x-small", loc="lower left")
            if colour_by:
                bar = fig.colorbar(points, ax=ax, pad=0.01)
                bar.ax.yaxis.set_major_formatter(FuncFormatter(plain_ticks))
                bar.ax.yaxis.set_minor_locator(NullLocator())
                bar.set_label(momentum_label(summary.study))
        axes[0].set_ylabel(score_label(items[0][1].study))
        marks = [
            f"red crosses at the top are the {counts['diverged']} diverged trials"
            if counts["diverged"]
            else "no trial diverged",
            f"hollow circles the {counts['pruned']} pruned ones at the loss they were stopped at"
            if counts["pruned"]
            else "none was pruned",
        ]
        caption = (
            "Each trial's objective against the learning rate, coloured by "
            f"{colour_legend([s for _, s in items])}, the star the best; {', '.join(marks)}."
        )
        return chart(fig, caption)


def lr_momentum_heatmap(summaries: Mapping[str, StudySummary], bins: int = 8) -> Chart | None:
    """Median objective of the trials in each (η, 1 − β₁) cell; × marks all-diverged cells."""
    items = [(k, s) for k, s in summaries.items() if s.study.momentum_column and len(s.study.runs)]
    if not items:
        return None
    tables = {k: _trial_table(s.study, s.scores) for k, s in items}
    lr_edges = run_stats.log_bins(np.concatenate([t["lr"] for t in tables.values()]), bins)
    mom_edges = run_stats.log_bins(
        np.concatenate([t["one_minus"] for t in tables.values()]), max(bins - 2, 2)
    )
    grids = {}
    for label, table in tables.items():
        table = table[table["status"] != "pruned"]
        col = np.clip(np.searchsorted(lr_edges, table["lr"], side="right") - 1, 0, bins - 1)
        row = np.clip(
            np.searchsorted(mom_edges, table["one_minus"], side="right") - 1,
            0,
            len(mom_edges) - 2,
        )
        frame = pd.DataFrame({"row": row, "col": col, "score": table["score"].to_numpy(float)})
        finite = frame[np.isfinite(frame["score"])]
        median = finite.groupby(["row", "col"])["score"].median()
        grid = np.full((len(mom_edges) - 1, bins), np.nan)
        for (r, c), value in median.items():
            grid[r, c] = value
        diverged_only = frame.groupby(["row", "col"])["score"].apply(
            lambda s: bool(np.isposinf(s).all())
        )
        grids[label] = (grid, [rc for rc, flag in diverged_only.items() if flag])
    values = np.concatenate([g.ravel() for g, _ in grids.values()])
    values = values[np.isfinite(values)]
    vmin, vmax = (values.min(), values.max()) if values.size else (0.0, 1.0)
    x_ticks = [f"{m:.0e}" for m in np.sqrt(lr_edges[:-1] * lr_edges[1:])]
    y_ticks = [f"{m:.0e}" for m in np.sqrt(mom_edges[:-1] * mom_edges[1:])]
    with style():
        fig = Figure(figsize=(4.4 * len(items), 3.4))
        axes = fig.subplots(1, len(items), squeeze=False)[0]
        for i, (ax, (label, summary)) in enumerate(zip(axes, items, strict=True)):
            grid, diverged = grids[label]
            mesh = ax.pcolormesh(
                np.ma.masked_invalid(grid),
                cmap="viridis_r",
                vmin=vmin,
                vmax=vmax,
                edgecolors="white",
                linewidth=0.5,
            )
            if i == len(items) - 1:
                bar = fig.colorbar(mesh, ax=ax, label=score_label(summary.study))
                bar.outline.set_linewidth(0)
            for r, c in diverged:
                ax.text(c + 0.5, r + 0.5, "×", ha="center", va="center", color=DIVERGED)
            ax.grid(False)
            ax.set_xticks(np.arange(len(x_ticks)) + 0.5, x_ticks)
            ax.set_yticks(np.arange(len(y_ticks)) + 0.5, y_ticks)
            ax.set_xlabel("learning rate η (bin centre)")
            ax.set_ylabel(momentum_label(summary.study))
            ax.set_title(label)
            ax.tick_params(axis="x", labelrotation=45)
        caption = (
            "Median objective of the trials in each cell of learning rate × "
            f"{colour_legend([s for _, s in items])}, yellow is better; × marks cells where "
            "every trial diverged, blank cells were not explored."
        )
        return chart(fig, caption)
