"""Figures: pure functions from studies to an inline image (data URI) and a one-sentence caption.

One module per report section; a new figure is one function in the module of its section, plus one
line in ``bench.report.sections``. Figures are ``matplotlib.figure.Figure`` objects drawn in
seaborn's look on explicit axes: no pyplot, no global style, nothing shown; the same results give
the same bytes.
"""

from __future__ import annotations

from bench.report.figures._chart import Chart, palette
from bench.report.figures.curves import loss_curves
from bench.report.figures.importance import importance_bars
from bench.report.figures.profiles import performance_profile
from bench.report.figures.rates import divergence_vs_lr, escape_vs_lr, escape_vs_noise
from bench.report.figures.sensitivity import lr_momentum_heatmap, objective_vs_lr
from bench.report.figures.tunability import tunability_curves

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
