"""Each optimizer's best configuration over steps."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from bench.report.figures._chart import Chart, chart, gap_label, legend, log_axis, style
from bench.report.summary import StudySummary
from bench.results import GAP_FLOOR


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
        gap = np.where(np.isfinite(gap), np.maximum(gap, GAP_FLOOR), np.nan)
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
    with style():
        fig = Figure(figsize=(6.4, 3.4))
        ax = fig.add_subplot()
        for label, curves in data.groupby("optimizer", sort=False):
            band = curves.groupby("step")["gap"].agg(["median", "min", "max"])
            colour = colours[label]
            ax.plot(band.index, band["median"], color=colour, label=label)
            ax.fill_between(band.index, band["min"], band["max"], color=colour, alpha=0.2, lw=0)
        log_axis(ax, "y")
        if target is not None and target > 0:
            ax.axhline(target, color="0.3", linestyle="--", linewidth=1, label="target")
        ax.set_ylabel(gap_label(first))
        legend(ax, title=None, fontsize="small")
        caption = (
            f"Loss {'gap to f* ' if first.f_star is not None else ''}of each optimizer's best "
            f"configuration over the steps: median over its seeds (up to {seeds}; "
            f"{which}), "
            "band from the lowest to the highest seed, dashed line the target."
        )
        return chart(fig, caption)
