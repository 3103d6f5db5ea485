"""What the report needs of its figures without drawing one (no matplotlib): the chart type and
the optimizers' colours."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

__all__ = ["COLORBLIND", "Chart", "palette"]

#: seaborn 0.13's "colorblind" palette.
COLORBLIND = (
    "#0173b2", "#de8f05", "#029e73", "#d55e00", "#cc78bc",
    "#ca9161", "#fbafe4", "#949494", "#ece133", "#56b4e9",
)  # fmt: skip


class Chart(NamedTuple):
    """An image ready to inline (``data:`` URI) and what it shows, in one sentence."""

    uri: str
    caption: str


def palette(labels: Sequence[str]) -> dict[str, tuple[float, float, float]]:
    """One colour per optimizer label, stable across every figure of a report."""
    return {label: _rgb(COLORBLIND[i % len(COLORBLIND)]) for i, label in enumerate(labels)}


def _rgb(colour: str) -> tuple[float, float, float]:
    """``#rrggbb`` as red, green, blue in [0, 1] (``matplotlib.colors.to_rgb``'s values)."""
    return tuple(int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
