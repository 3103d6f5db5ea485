"""Figures: pure functions from studies to an inline image (data URI) and a one-sentence caption.

One module per report section; a new figure is one function in the module of its section, plus one
line in ``bench.report.sections`` and one in ``_FIGURES`` here. Figures are
``matplotlib.figure.Figure`` objects drawn in seaborn's look on explicit axes: no pyplot, no global
style, nothing shown; the same results give the same bytes.

The figure functions load on first use: a report whose figures are drawn in worker processes never
imports matplotlib (half a second) in the process that plans it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from bench.report.figures.charts import Chart, palette

#: Each figure function and the module of this package that holds it.
_FIGURES = {
    "loss_curves": "curves",
    "importance_bars": "importance",
    "performance_profile": "profiles",
    "divergence_vs_lr": "rates",
    "escape_vs_lr": "rates",
    "escape_vs_noise": "rates",
    "lr_momentum_heatmap": "sensitivity",
    "objective_vs_lr": "sensitivity",
    "tunability_curves": "tunability",
}

#: The modules of the figures: what a process that draws imports up front.
MODULES = (f"{__name__}._chart", *(f"{__name__}.{m}" for m in sorted(set(_FIGURES.values()))))

__all__ = ["MODULES", "Chart", "Lazy", "palette", *sorted(_FIGURES)]


@dataclass(frozen=True)
class Lazy:
    """A figure function by its name: called, it loads the figure (and matplotlib); pickled, it
    is that name, so that a process which only plans a report hands it to one that draws."""

    name: str

    def __post_init__(self) -> None:
        if self.name not in _FIGURES:
            raise ValueError(f"no figure {self.name!r}; allowed: {', '.join(sorted(_FIGURES))}")

    def __call__(self, *args: Any) -> Chart | None:
        return __getattr__(self.name)(*args)


def __getattr__(name: str) -> Any:
    if name not in _FIGURES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_FIGURES[name]}"), name)
