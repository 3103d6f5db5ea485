"""Reports over stored studies: one self-contained HTML file and paper-style tables.

``build_report(results_dir, reports_dir)`` reads what sweeps exported to ``results/`` (files only,
never the Optuna storage) and writes ``reports/<name>/index.html`` and
``reports/<name>/tables/*.tex`` / ``*.md``. It never imports the engine or Optuna.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["ReportError", "build_report"]


def __getattr__(name: str) -> Any:
    # Loaded on first use: the command starts the report's drawing processes (``drawing``)
    # before it imports pandas and the rest of the report.
    if name == "build_report":
        return importlib.import_module(f"{__name__}.build").build_report
    if name == "ReportError":
        return importlib.import_module(f"{__name__}.load").ReportError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
