"""Tunability: expected best objective after k trials."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from bench.report.figures._chart import Chart, chart, legend, log_axis, panel_grid, style


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
    with style():
        fig, axes = panel_grid(len(tasks), 3, 4.2, 3.0)
        for ax, task in zip(axes, tasks, strict=True):
            for optimizer, table in curves[task].items():
                shown = table[np.isfinite(table["median"])]
                if shown.empty:
                    continue
                ax.plot(shown["k"], shown["median"], color=colours.get(optimizer), label=optimizer)
                band = shown[np.isfinite(shown["q75"])]
                ax.fill_between(
                    band["k"], band["q25"], band["q75"], color=colours.get(optimizer), alpha=0.2
                )
            log_axis(ax, "x")
            ax.set_xlabel("trials k")
            ax.set_ylabel("best score after k trials")
            ax.set_title(task, fontsize="small")
            legend(ax, fontsize="x-small")
        fig.tight_layout()
        sampled = ", ".join(sorted(set(samplers))) or "the sweep's sampler"
        caption = (
            "Tunability: the best score (log10 of the objective's gap to f*, as in the sensitivity "
            "plots) found after k trials drawn at random from each study's trials (median of "
            "1000 bootstrap draws, band: quartiles; Sivaprasad et "
            f"al. 2020) — the trials came from {sampled}, so with a model-based sampler this "
            "is optimistic compared with true random search."
        )
        return chart(fig, caption)
