"""The results contract: what ``runs.parquet`` and ``curves.parquet`` hold, shared by the export
and the report (pandas only: the report reads these files, never the storage)."""

from __future__ import annotations

import pandas as pd

__all__ = [
    "CURVE_COLUMNS",
    "CURVES_FILE",
    "FINISHED",
    "GAP_FLOOR",
    "IMPORTANCE_COLUMNS",
    "IMPORTANCE_FILE",
    "RULE_FILE",
    "RUNS_FILE",
    "STATUSES",
    "empty_curves",
]

#: A run's status: it ran to the end, diverged (with its step), was pruned, or its trial failed.
STATUSES = ("complete", "diverged", "pruned", "failed")
#: The statuses of runs that produced a curve and outcomes.
FINISHED = ("complete", "diverged", "pruned")
RUNS_FILE = "runs.parquet"
CURVES_FILE = "curves.parquet"
#: The study's update rule as declared (``Rule.describe``): labels, TeX, which h are 1 − h.
RULE_FILE = "rule.json"
#: ``curves.parquet``, long format: one row per run and record point.
CURVE_COLUMNS = ("study", "trial", "seed", "step", "loss")
#: Gaps to f* below this count as this, so that log10 stays finite at an exact minimum: in the
#: ``auc`` objective (``bench.metrics``) and in the report's log-gap scores and figures.
GAP_FLOOR = 1e-12
IMPORTANCE_FILE = "importance.parquet"
#: ``importance.parquet``: each searched hyperparameter's importance (summing to 1), or a single
#: row with no parameter whose note says why there is none (too few complete trials, ...).
IMPORTANCE_COLUMNS = ("study", "parameter", "importance", "note")


def empty_curves() -> pd.DataFrame:
    """A curves table with no rows."""
    return pd.DataFrame(columns=list(CURVE_COLUMNS))
