"""Figures: pure functions from studies to an inline image (data URI) and a one-sentence caption.

Figures are ``matplotlib.figure.Figure`` objects drawn with seaborn on explicit axes: no pyplot,
no global style (seaborn's style applies inside ``_style`` only), nothing shown. SVG output is
made deterministic (fixed hash salt, no date) so that the same results give the same report.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import NamedTuple

import matplotlib as mpl
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullLocator

from bench.report import metrics
from bench.report.labels import param_label, rule_label
from bench.report.load import StudyData
from bench.report.summary import StudySummary
from bench.results import FINISHED

__all__ = [
    "Chart",
    "divergence_vs_lr",
    "escape_vs_lr",
    "escape_vs_noise",
    "importance_bars",
    "loss_curves",
    "lr_momentum_heatmap",
    "objective_vs_lr",
    "palette",
    "performance_profile",
    "tunability_curves",
]

OBJECTIVE_LABELS = {
    "final_loss": "final loss",
    "best_loss": "best loss",
    "steps_to_target": "steps to target",
    "auc": "mean log10 gap (AUC)",
}
_DIVERGED = "#d62728"


class Chart(NamedTuple):
    """An image ready to inline (``data:`` URI) and what it shows, in one sentence."""

    uri: str
    caption: str


def palette(labels: Sequence[str]) -> dict[str, tuple[float, float, float]]:
    """One colour per optimizer label, stable across every figure of a report."""
    colours = sns.color_palette("colorblind", max(len(labels), 1))
    return {label: colours[i % len(colours)] for i, label in enumerate(labels)}


@contextmanager
def _style() -> Iterator[None]:
    rc = {"svg.hashsalt": "bench-report", "svg.fonttype": "path", "figure.dpi": 100}
    with sns.axes_style("whitegrid"), sns.plotting_context("paper"), mpl.rc_context(rc):
        yield


def _render(fig: Figure, fmt: str = "svg") -> str:
    buffer = io.BytesIO()
    metadata = {"Date": None} if fmt == "svg" else {"Software": None}
    fig.savefig(buffer, format=fmt, bbox_inches="tight", metadata=metadata, dpi=110)
    mime = "image/svg+xml" if fmt == "svg" else "image/png"
    return f"data:{mime};base64,{base64.b64encode(buffer.getvalue()).decode('ascii')}"


def _chart(fig: Figure, caption: str, fmt: str = "svg") -> Chart:
    return Chart(_render(fig, fmt), caption)


def _momentum_label(study: StudyData) -> str:
    return param_label(study, f"one_minus_{study.momentum_column}")


def _colour_legend(summaries: Sequence[StudySummary]) -> str:
    """``1 − β₁ (Adam) or 1 − μ (SGD)``: what colours each study's trials, in a caption."""
    named = {
        f"{_momentum_label(s.study)} ({rule_label(s.study)})": None
        for s in summaries
        if s.study.momentum_column
    }
    return " or ".join(named) or "nothing (no decay rate searched)"


def _plain_ticks(value: float, _position: float) -> str:
    """Tick labels like ``0.001`` or ``1e-05``: matplotlib's log labels go through mathtext."""
    return f"{value:g}"


def _log_axis(ax: object, which: str = "x") -> None:
    """A log axis with plain labels and no minor ticks: each tick is an artist, slow to draw."""
    axis = ax.xaxis if which == "x" else ax.yaxis
    (ax.set_xscale if which == "x" else ax.set_yscale)("log")
    axis.set_major_formatter(FuncFormatter(_plain_ticks))
    axis.set_minor_locator(NullLocator())


def _legend(ax: object, **kwargs: object) -> None:
    """A legend where something is labelled (matplotlib warns on an empty one)."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(**kwargs)


def _gap_label(study: StudyData) -> str:
    return "loss − f*" if study.f_star is not None else "loss"


def _score_label(study: StudyData) -> str:
    name = OBJECTIVE_LABELS.get(study.objective, study.objective)
    if study.objective in ("final_loss", "best_loss"):
        return f"log10({name} − f*)" if study.f_star is not None else f"log10({name})"
    if study.objective == "steps_to_target":
        return f"log10({name})"
    return name


# --- per task --------------------------------------------------------------------------------


def loss_curves(
    summaries: Mapping[str, StudySummary], colours: Mapping[str, tuple]
) -> Chart | None:
    """Each optimizer's best configuration: median loss gap over seeds, min–max band, target.

    The curves are the confirmation runs' (fresh seeds) where the study stored them.
    """
    frames = []
    target = None
    first = None
    for label, summary in summaries.items():
        study = summary.study
        if summary.best_trial is None:
            continue
        source = study.confirm_curves if summary.at_best_phase == "confirm" else study.curves
        curves = source[source["trial"] == summary.at_best_trial]
        if curves.empty:
            continue
        gap = curves["loss"].to_numpy(float) - study.f_ref
        gap = np.where(np.isfinite(gap), np.maximum(gap, metrics.GAP_FLOOR), np.nan)
        frames.append(pd.DataFrame({"step": curves["step"], "gap": gap, "optimizer": label}))
        first = first or study
        if study.target is not None:
            target = study.target - study.f_ref
    if not frames:
        return None
    data = pd.concat(frames, ignore_index=True)
    seeds = max(int(s.best["n"]) for s in summaries.values())
    shown = {s.at_best_phase for s in summaries.values() if s.best_trial is not None}
    which = (
        "fresh confirmation seeds"
        if shown == {"confirm"}
        else "confirmation seeds where stored, else the search seeds"
    )
    with _style():
        fig = Figure(figsize=(6.4, 3.4))
        ax = fig.add_subplot()
        sns.lineplot(
            data=data,
            x="step",
            y="gap",
            hue="optimizer",
            estimator="median",
            errorbar=("pi", 100),
            palette={k: colours[k] for k in data["optimizer"].unique()},
            ax=ax,
        )
        _log_axis(ax, "y")
        if target is not None and target > 0:
            ax.axhline(target, color="0.3", linestyle="--", linewidth=1, label="target")
        ax.set_ylabel(_gap_label(first))
        _legend(ax, title=None, fontsize="small")
        caption = (
            f"Loss {'gap to f* ' if first.f_star is not None else ''}of each optimizer's best "
            f"configuration over the steps: median over its seeds (up to {seeds}; "
            f"{which}), "
            "band from the lowest to the highest seed, dashed line the target."
        )
        return _chart(fig, caption)


def _trial_table(study: StudyData, scores: pd.Series) -> pd.DataFrame:
    """One row per non-failed trial: lr, β₁-like value, score, status, pruned loss score."""
    runs = study.runs[study.runs["status"] != "failed"]
    momentum = study.momentum_column
    agg = {"lr": ("lr", "first"), "status": ("status", metrics.trial_status)}
    if momentum:
        agg["momentum"] = (momentum, "first")
    table = runs.groupby("trial").agg(**agg)
    table["score"] = scores.reindex(table.index)
    # Pruned trials have no objective; show where their loss was when they were stopped.
    stopped = runs[runs["status"] == "pruned"].groupby("trial")["final_loss"].mean()
    with np.errstate(divide="ignore", invalid="ignore"):
        table["stopped"] = np.log10(np.maximum(stopped - study.f_ref, metrics.GAP_FLOOR))
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
    with _style():
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
                    color=_DIVERGED,
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
            _log_axis(ax, "x")
            ax.set_xlabel("learning rate η")
            ax.set_title(label)
            ax.set_ylim(low - pad, top + pad)
            _legend(ax, fontsize="x-small", loc="lower left")
            if colour_by:
                bar = fig.colorbar(points, ax=ax, pad=0.01)
                bar.ax.yaxis.set_major_formatter(FuncFormatter(_plain_ticks))
                bar.ax.yaxis.set_minor_locator(NullLocator())
                bar.set_label(_momentum_label(summary.study))
        axes[0].set_ylabel(_score_label(items[0][1].study))
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
            f"{_colour_legend([s for _, s in items])}, the star the best; {', '.join(marks)}."
        )
        return _chart(fig, caption)


def lr_momentum_heatmap(summaries: Mapping[str, StudySummary], bins: int = 8) -> Chart | None:
    """Median objective of the trials in each (η, 1 − β₁) cell; × marks all-diverged cells."""
    items = [(k, s) for k, s in summaries.items() if s.study.momentum_column and len(s.study.runs)]
    if not items:
        return None
    tables = {k: _trial_table(s.study, s.scores) for k, s in items}
    lr_edges = metrics.log_bins(np.concatenate([t["lr"] for t in tables.values()]), bins)
    mom_edges = metrics.log_bins(
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
    with _style():
        fig = Figure(figsize=(4.4 * len(items), 3.4))
        axes = fig.subplots(1, len(items), squeeze=False)[0]
        for i, (ax, (label, summary)) in enumerate(zip(axes, items, strict=True)):
            grid, diverged = grids[label]
            sns.heatmap(
                pd.DataFrame(grid, index=y_ticks, columns=x_ticks),
                ax=ax,
                cmap="viridis_r",
                vmin=vmin,
                vmax=vmax,
                cbar=i == len(items) - 1,
                cbar_kws={"label": _score_label(summary.study)},
                linewidths=0.5,
                linecolor="white",
            )
            for r, c in diverged:
                ax.text(c + 0.5, r + 0.5, "×", ha="center", va="center", color=_DIVERGED)
            ax.invert_yaxis()
            ax.set_xlabel("learning rate η (bin centre)")
            ax.set_ylabel(_momentum_label(summary.study))
            ax.set_title(label)
            ax.tick_params(axis="x", labelrotation=45)
        caption = (
            "Median objective of the trials in each cell of learning rate × "
            f"{_colour_legend([s for _, s in items])}, yellow is better; × marks cells where "
            "every trial diverged, blank cells were not explored."
        )
        return _chart(fig, caption)


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
    _log_axis(ax, "x")
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel("learning rate η (binned)")
    ax.set_ylabel(ylabel)
    _legend(ax, fontsize="small")
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
    edges = metrics.log_bins(lrs, bins)
    data = {
        k: metrics.binned_rate(f["lr"], f["status"] == "diverged", edges)
        for k, f in finished.items()
    }
    onsets = {k: items[k].onset.first for k in finished}
    parts = [
        f"{k}: {items[k].divergence.k}/{items[k].divergence.n}"
        + (f", first at η = {onsets[k]:.3g}" if math.isfinite(onsets[k]) else ", none")
        for k in finished
    ]
    with _style():
        fig = _rate_plot(data, colours, "diverged runs", onsets)
        caption = (
            "Share of runs that diverged per learning-rate bin over the explored space, with "
            "Wilson 95 % intervals; dotted lines mark the smallest η that diverged "
            f"({'; '.join(parts)})."
        )
        return _chart(fig, caption)


def escape_vs_lr(
    summaries: Mapping[str, StudySummary], colours: Mapping[str, tuple], bins: int = 6
) -> Chart | None:
    """Escape rate per η bin among runs starting outside the global basin (basin tasks only)."""
    candidates = {
        k: metrics.escape_candidates(s.study.runs)
        for k, s in summaries.items()
        if s.study.has_basins and "lr" in s.study.runs
    }
    candidates = {k: c for k, c in candidates.items() if len(c)}
    if not candidates:
        return None
    edges = metrics.log_bins(
        np.concatenate([c["lr"].to_numpy(float) for c in candidates.values()]), bins
    )
    data = {
        k: metrics.binned_rate(c["lr"], metrics.escaped(c), edges) for k, c in candidates.items()
    }
    parts = [f"{k}: {summaries[k].escape_all.k}/{summaries[k].escape_all.n}" for k in candidates]
    with _style():
        fig = _rate_plot(data, colours, "escaped to the global basin")
        caption = (
            "Share of runs started outside the global minimum's basin that passed into it "
            "(first passage), per learning-rate bin with Wilson 95 % intervals (diverged runs "
            "count as not escaped; "
            f"{'; '.join(parts)})."
        )
        return _chart(fig, caption)


# --- across tasks ----------------------------------------------------------------------------


def escape_vs_noise(points: pd.DataFrame, colours: Mapping[str, tuple]) -> Chart | None:
    """Escape rate against gradient noise, one panel per basin task, one line per optimizer.

    ``points``: columns task, optimizer, noise, k, n, rate, ci_low, ci_high.
    """
    if points.empty:
        return None
    tasks = list(dict.fromkeys(points["task"]))
    with _style():
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
            _legend(ax, fontsize="small")
        axes[0].set_ylabel("escaped to the global basin")
        levels = points.groupby("task")["noise"].nunique()
        caption = (
            "Escape rate over each study's explored space against the gradient noise it ran "
            "with, with Wilson 95 % intervals "
            f"({', '.join(f'{t}: {levels[t]} noise level(s)' for t in tasks)})."
        )
        return _chart(fig, caption)


def performance_profile(
    times: pd.DataFrame, colours: Mapping[str, tuple], extrapolated: int = 0
) -> Chart | None:
    """Dolan–Moré profiles ρ(τ) from a tasks × optimizers table of times to target (ERT).

    ``extrapolated``: how many of the times lie beyond their run budget (said in the caption).
    """
    if times.empty or times.shape[1] == 0:
        return None
    ratios = metrics.performance_ratios(times)
    finite = ratios.to_numpy(float)
    finite = finite[np.isfinite(finite)]
    tau_max = max(2.0, float(finite.max()) * 1.5) if finite.size else 2.0
    taus = np.unique(np.concatenate([[1.0, tau_max], finite]))
    profile = metrics.performance_profile(times, taus)
    with _style():
        fig = Figure(figsize=(6.0, 3.2))
        ax = fig.add_subplot()
        for solver in profile.columns:
            ax.step(
                profile.index,
                profile[solver],
                where="post",
                color=colours.get(solver, "0.3"),
                label=solver,
                linewidth=1.8,
            )
        _log_axis(ax, "x")
        ticks = [t for t in (1, 1.5, 2, 3, 5, 10, 20, 50, 100, 1e3, 1e4, 1e5) if t <= tau_max]
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
        ax.set_ylim(-0.03, 1.03)
        ax.set_xlim(1.0, tau_max)
        ax.set_xlabel("τ (time to target over the fastest optimizer's)")
        ax.set_ylabel("ρ(τ): share of tasks")
        _legend(ax, fontsize="small")
        unsolved = int((~np.isfinite(times.astype(float).fillna(math.inf))).all(axis=1).sum())
        caption = (
            f"Performance profiles over {len(times)} task(s): the share of tasks on which each "
            "optimizer's best configuration reaches the target within τ times the fastest "
            f"one's expected running time ({unsolved} task(s) where no optimizer reached it; "
            + (
                f"{extrapolated} of these times exceed the step budget, extrapolated from few "
                "successes and listed below the figure)."
                if extrapolated
                else "every time lies within the step budget)."
            )
        )
        return _chart(fig, caption)


def importance_bars(importances: Mapping[str, pd.Series]) -> Chart | None:
    """Hyperparameter importance of each study (indexed by parameter label), a panel each."""
    items = [(k, v) for k, v in importances.items() if len(v)]
    if not items:
        return None
    cols = min(len(items), 4)
    rows = math.ceil(len(items) / cols)
    with _style():
        fig = Figure(figsize=(3.3 * cols, 2.2 * rows))
        axes = fig.subplots(rows, cols, squeeze=False).ravel()
        for ax, (name, values) in zip(axes, items, strict=False):
            values = values.sort_values(ascending=False)
            frame = pd.DataFrame({"parameter": values.index, "value": values})
            sns.barplot(data=frame, x="value", y="parameter", ax=ax, color="C0")
            ax.set_xlim(0, 1)
            ax.set_xlabel("importance")
            ax.set_ylabel("")
            ax.set_title(name, fontsize="small")
        for ax in axes[len(items) :]:
            ax.set_visible(False)
        fig.tight_layout()
        caption = (
            "Share of the objective's variation due to each searched hyperparameter in each "
            "study (Optuna's PED-ANOVA over the complete trials; β's as 1 − β)."
        )
        return _chart(fig, caption)


def tunability_curves(
    curves: Mapping[str, Mapping[str, pd.DataFrame]],
    colours: Mapping[str, tuple],
    samplers: Sequence[str] = (),
) -> Chart | None:
    """Expected best score after k trials of random search, per task, one line per optimizer.

    ``curves``: {task label: {optimizer label: expected_best_after_k table}}.
    """
    tasks = [t for t, c in curves.items() if c]
    if not tasks:
        return None
    cols = min(len(tasks), 3)
    rows = math.ceil(len(tasks) / cols)
    with _style():
        fig = Figure(figsize=(4.2 * cols, 3.0 * rows))
        axes = fig.subplots(rows, cols, squeeze=False).ravel()
        for ax, task in zip(axes, tasks, strict=False):
            for optimizer, table in curves[task].items():
                shown = table[np.isfinite(table["median"])]
                if shown.empty:
                    continue
                ax.plot(shown["k"], shown["median"], color=colours.get(optimizer), label=optimizer)
                band = shown[np.isfinite(shown["q75"])]
                ax.fill_between(
                    band["k"], band["q25"], band["q75"], color=colours.get(optimizer), alpha=0.2
                )
            _log_axis(ax, "x")
            ax.set_xlabel("trials k")
            ax.set_ylabel("best score after k trials")
            ax.set_title(task, fontsize="small")
            _legend(ax, fontsize="x-small")
        for ax in axes[len(tasks) :]:
            ax.set_visible(False)
        fig.tight_layout()
        sampled = ", ".join(sorted(set(samplers))) or "the sweep's sampler"
        caption = (
            "Tunability: the best score (log10 of the objective's gap to f*, as in the sensitivity "
            "plots) found after k trials drawn at random from each study's trials (median of "
            "1000 bootstrap draws, band: quartiles; Sivaprasad et "
            f"al. 2020) — the trials came from {sampled}, so with a model-based sampler this "
            "is optimistic compared with true random search."
        )
        return _chart(fig, caption)
