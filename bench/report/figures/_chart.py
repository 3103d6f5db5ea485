"""What every figure shares: the chart type, the palette, the style, rendering, axes and labels.

Figures are ``matplotlib.figure.Figure`` objects drawn on explicit axes: no pyplot, no global
style (seaborn's look applies inside ``style`` only), nothing shown. SVG output is made
deterministic (fixed hash salt, no date) so that the same results give the same report.
"""

from __future__ import annotations

import base64
import io
import math
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import matplotlib as mpl
from matplotlib.backends.backend_mixed import MixedModeRenderer
from matplotlib.backends.backend_svg import FigureCanvasSVG, RendererSVG
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullLocator

from bench.report.figures.charts import Chart
from bench.report.labels import param_label, rule_label
from bench.report.load import StudyData
from bench.report.summary import StudySummary

OBJECTIVE_LABELS = {
    "final_loss": "final loss",
    "best_loss": "best loss",
    "steps_to_target": "steps to target",
    "auc": "mean log10 gap (AUC)",
}
DIVERGED = "#d62728"
#: Resolution of what a figure rasterizes (a colour bar's gradient), dots per inch.
RASTER_DPI = 110
#: The size and view box that open matplotlib's SVG (in points, from the origin).
_SIZE = re.compile(r'width="[\d.]+pt" height="[\d.]+pt" viewBox="0 0 [\d.]+ [\d.]+"')

#: seaborn 0.13's ``axes_style("whitegrid")`` and ``plotting_context("paper")``, as rc values:
#: importing seaborn (and the SciPy it imports) would take longer than a one-study report.
SEABORN_RC = {
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "axes.edgecolor": ".8",
    "axes.labelcolor": ".15",
    "axes.axisbelow": True,
    "axes.grid": True,
    "axes.linewidth": 1.0,
    "grid.color": ".8",
    "grid.linestyle": "-",
    "grid.linewidth": 0.8,
    "text.color": ".15",
    "xtick.color": ".15",
    "ytick.color": ".15",
    "xtick.direction": "out",
    "ytick.direction": "out",
    "xtick.bottom": False,
    "xtick.top": False,
    "ytick.left": False,
    "ytick.right": False,
    "font.family": ["sans-serif"],
    "font.sans-serif": ["Arial", "DejaVu Sans", "Liberation Sans", "Bitstream Vera Sans"],
    "font.size": 9.6,
    "axes.labelsize": 9.6,
    "axes.titlesize": 9.6,
    "xtick.labelsize": 8.8,
    "ytick.labelsize": 8.8,
    "legend.fontsize": 8.8,
    "legend.title_fontsize": 9.6,
    "lines.linewidth": 1.2,
    "lines.markersize": 4.8,
    "lines.solid_capstyle": "round",
    "patch.edgecolor": "white",
    "patch.force_edgecolor": True,
    "patch.linewidth": 0.8,
}


#: bench's own rc values, over seaborn's.
REPORT_RC = {
    "svg.hashsalt": "bench-report",
    "svg.fonttype": "path",
    "figure.dpi": 100,
    # A title where matplotlib's default puts it (no axis has ticks on top), without the
    # default's search for overlaps at every drawing: a tenth of a report's drawing time.
    "axes.titley": 1.0,
}


@contextmanager
def style() -> Iterator[None]:
    """Seaborn's whitegrid/paper look and a fixed SVG hash salt, for this block only."""
    with mpl.rc_context({**SEABORN_RC, **REPORT_RC}):
        yield


def panel_grid(count: int, max_cols: int, width: float, height: float) -> tuple[Figure, list]:
    """A figure of ``count`` panels, ``max_cols`` to a row, each ``width`` × ``height`` inches;
    its axes in reading order, the unused ones of the last row hidden."""
    cols = min(count, max_cols)
    rows = math.ceil(count / cols)
    fig = Figure(figsize=(width * cols, height * rows))
    axes = list(fig.subplots(rows, cols, squeeze=False).ravel())
    for ax in axes[count:]:
        ax.set_visible(False)
    return fig, axes[:count]


def render(fig: Figure) -> str:
    """The figure as an SVG ``data:`` URI cropped to what it draws, the same bytes for the same
    figure (no date).

    One drawing pass: ``savefig(bbox_inches="tight")`` draws the figure twice (once to measure,
    once to write), a fifth of a report's drawing time. Here the figure is drawn once and its
    bounding box, measured on that same renderer, becomes the SVG's view box, with the
    0.1-inch margin ``bbox_inches="tight"`` leaves.
    """
    text = io.StringIO()
    dpi = fig.dpi
    fig.dpi = 72  # SVG units are points, as in FigureCanvasSVG.print_svg
    width, height = fig.get_size_inches()
    FigureCanvasSVG(fig)
    renderer = MixedModeRenderer(
        fig,
        width,
        height,
        RASTER_DPI,
        RendererSVG(width * 72, height * 72, text, image_dpi=RASTER_DPI, metadata={"Date": None}),
    )
    fig.draw(renderer)
    box = fig.get_tightbbox(renderer).padded(0.1)  # inches
    renderer.finalize()
    fig.dpi = dpi
    svg, found = _SIZE.subn(
        f'width="{72 * box.width:.2f}pt" height="{72 * box.height:.2f}pt" '
        f'viewBox="{72 * box.x0:.2f} {72 * (height - box.y1):.2f} '
        f'{72 * box.width:.2f} {72 * box.height:.2f}"',
        text.getvalue(),
        count=1,
    )
    if not found:
        raise RuntimeError("matplotlib's SVG has no size and viewBox where bench expects them")
    return f"data:image/svg+xml;base64,{base64.b64encode(svg.encode()).decode('ascii')}"


def chart(fig: Figure, caption: str) -> Chart:
    """The rendered figure with its caption."""
    return Chart(render(fig), caption)


def momentum_label(study: StudyData) -> str:
    """The label of the searched 1 − β₁-like value (``1 − β₁``, ``1 − μ``, ...)."""
    return param_label(study, f"one_minus_{study.momentum_column}")


def colour_legend(summaries: Sequence[StudySummary]) -> str:
    """``1 − β₁ (Adam) or 1 − μ (SGD)``: what colours each study's trials, in a caption."""
    named = {
        f"{momentum_label(s.study)} ({rule_label(s.study)})": None
        for s in summaries
        if s.study.momentum_column
    }
    return " or ".join(named) or "nothing (no decay rate searched)"


def plain_ticks(value: float, _position: float) -> str:
    """Tick labels like ``0.001`` or ``1e-05``: matplotlib's log labels go through mathtext."""
    return f"{value:g}"


def log_axis(ax: object, which: str = "x") -> None:
    """A log axis with plain labels and no minor ticks: each tick is an artist, slow to draw."""
    axis = ax.xaxis if which == "x" else ax.yaxis
    (ax.set_xscale if which == "x" else ax.set_yscale)("log")
    axis.set_major_formatter(FuncFormatter(plain_ticks))
    axis.set_minor_locator(NullLocator())


def legend(ax: object, **kwargs: object) -> None:
    """A legend where something is labelled (matplotlib warns on an empty one)."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(**kwargs)


def gap_label(study: StudyData) -> str:
    """``loss − f*`` where the task knows f*, else ``loss``."""
    return "loss − f*" if study.f_star is not None else "loss"


def score_label(study: StudyData) -> str:
    """The axis label of a study's objective as plotted (log10 where it is a loss or steps)."""
    name = OBJECTIVE_LABELS.get(study.objective, study.objective)
    if study.objective in ("final_loss", "best_loss"):
        return f"log10({name} − f*)" if study.f_star is not None else f"log10({name})"
    if study.objective == "steps_to_target":
        return f"log10({name})"
    return name
