"""Hyperparameter importance bars."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from bench.report.figures._chart import Chart, chart, panel_grid, style


def importance_bars(importances: Mapping[str, pd.Series]) -> Chart | None:
    """Hyperparameter importance of each study (indexed by parameter label), a panel each."""
    items = [(k, v) for k, v in importances.items() if len(v)]
    if not items:
        return None
    with style():
        fig, axes = panel_grid(len(items), 4, 3.3, 2.2)
        for ax, (name, values) in zip(axes, items, strict=True):
            values = values.sort_values(ascending=False)
            ax.barh(range(len(values)), values.to_numpy(float), color="C0")
            ax.set_yticks(range(len(values)), [str(p) for p in values.index])
            ax.invert_yaxis()  # the most important on top
            ax.grid(False, axis="y")
            ax.set_xlim(0, 1)
            ax.set_xlabel("importance")
            ax.set_ylabel("")
            ax.set_title(name, fontsize="small")
        fig.tight_layout()
        caption = (
            "Share of the objective's variation due to each searched hyperparameter in each "
            "study (Optuna's PED-ANOVA over the complete trials; β's as 1 − β)."
        )
        return chart(fig, caption)
