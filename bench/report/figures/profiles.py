"""Dolan–Moré performance profiles over tasks."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from bench.report import run_stats
from bench.report.figures._chart import Chart, chart, legend, log_axis, style


def performance_profile(
    times: pd.DataFrame, colours: Mapping[str, tuple], extrapolated: int = 0
) -> Chart | None:
    """Dolan–Moré profiles ρ(τ) from a tasks × optimizers table of times to target (ERT).

    ``extrapolated``: how many of the times lie beyond their run budget (said in the caption).
    """
    if times.empty or times.shape[1] == 0:
        return None
    ratios = run_stats.performance_ratios(times)
    finite = ratios.to_numpy(float)
    finite = finite[np.isfinite(finite)]
    tau_max = max(2.0, float(finite.max()) * 1.5) if finite.size else 2.0
    taus = np.unique(np.concatenate([[1.0, tau_max], finite]))
    profile = run_stats.performance_profile(times, taus)
    with style():
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
        log_axis(ax, "x")
        ticks = [t for t in (1, 1.5, 2, 3, 5, 10, 20, 50, 100, 1e3, 1e4, 1e5) if t <= tau_max]
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
        ax.set_ylim(-0.03, 1.03)
        ax.set_xlim(1.0, tau_max)
        ax.set_xlabel("τ (time to target over the fastest optimizer's)")
        ax.set_ylabel("ρ(τ): share of tasks")
        legend(ax, fontsize="small")
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
        return chart(fig, caption)
