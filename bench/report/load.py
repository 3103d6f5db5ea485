"""Read stored studies back from a results directory: runs, curves, config and environment.

Reads only what ``bench.sweep.export.export_study`` writes: one directory per study right below
the results directory, named by ``bench.names`` (a name holding ``/`` is still one directory).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from bench.names import dir_name, name_dir
from bench.results import CURVES_FILE, IMPORTANCE_FILE, RULE_FILE, RUNS_FILE, empty_curves

__all__ = ["ReportError", "StudyData", "check_studies", "find_studies", "load_studies"]


class ReportError(ValueError):
    """A report that cannot be built as asked (unknown study, no results, bad name): one line."""


@dataclass(frozen=True)
class StudyData:
    """One stored study, as the report sees it.

    ``runs`` and ``curves`` are the search (every trial the sampler proposed); ``confirm`` and
    ``confirm_curves`` the confirmation runs of best configurations on fresh seeds
    (``phase=confirm`` in ``runs.parquet``, with ``confirm_of`` naming the trial re-run).
    """

    name: str
    path: Path
    runs: pd.DataFrame
    curves: pd.DataFrame
    #: ``importance.parquet``: the searched hyperparameters' importance, or a note why none.
    importance: pd.DataFrame = field(default_factory=pd.DataFrame)
    config: dict[str, Any] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)
    confirm: pd.DataFrame = field(default_factory=pd.DataFrame)
    confirm_curves: pd.DataFrame = field(default_factory=empty_curves)
    #: The update rule's declaration (``rule.json``): labels, TeX, which h are searched as 1 − h.
    rule: dict[str, Any] = field(default_factory=dict)

    @property
    def task(self) -> str:
        return str(self._first("task") or self.config.get("task", {}).get("name", "?"))

    @property
    def optimizer(self) -> str:
        return str(self._first("optimizer") or self.config.get("optimizer", {}).get("name", "?"))

    @property
    def sweep_name(self) -> str:
        """The sweep's name (``adam``, ``sgd``, ``sgd_nesterov``), else the optimizer's."""
        sweep = self.config.get("sweep") or {}
        return str(sweep.get("name") or self.optimizer)

    @property
    def objective(self) -> str:
        sweep = self.config.get("sweep") or {}
        return str(sweep.get("objective") or "final_loss")

    @property
    def sampler(self) -> str:
        sweep = self.config.get("sweep") or {}
        return str(sweep.get("sampler") or "single configuration")

    @property
    def task_options(self) -> dict[str, Any]:
        """The task's keys other than its name (noise, x0, dim, ...)."""
        return {k: v for k, v in (self.config.get("task") or {}).items() if k != "name"}

    @property
    def noise(self) -> float:
        return float(self.task_options.get("noise") or 0.0)

    @property
    def steps(self) -> int:
        value = self._first("steps")
        return int(value if value is not None else self.config.get("steps", 0))

    @property
    def f_star(self) -> float | None:
        value = self._first("f_star")
        return None if value is None or pd.isna(value) else float(value)

    @property
    def target(self) -> float | None:
        value = self._first("target")
        return None if value is None or pd.isna(value) else float(value)

    @property
    def f_ref(self) -> float:
        """What loss gaps are measured from: f* where known, else 0 (losses are ≥ 0)."""
        return self.f_star if self.f_star is not None else 0.0

    @property
    def has_basins(self) -> bool:
        return "start_in_basin" in self.runs and self.runs["start_in_basin"].notna().any()

    @property
    def momentum_column(self) -> str | None:
        """The β₁-like hyperparameter: the first declared as searched as 1 − h (``beta1`` for
        Adam, ``momentum`` for SGD, ``alpha`` for RMSProp) that the runs vary; None if none."""
        for spec in self.rule.get("hyperparameters", []):
            column = spec["name"]
            if spec.get("one_minus") and column in self.runs and self.runs[column].nunique() > 1:
                return column
        return None

    def _first(self, column: str) -> Any:
        if column not in self.runs:
            return None
        values = self.runs[column].dropna()
        if values.empty:
            return None
        value = values.iloc[0]
        return None if isinstance(value, float) and math.isnan(value) else value


def find_studies(results_dir: str | Path) -> list[str]:
    """Names of the studies exported under ``results_dir``, sorted."""
    root = Path(results_dir)
    if not root.is_dir():
        return []
    names = (dir_name(runs.parent.name) for runs in root.glob(f"*/{RUNS_FILE}"))
    return sorted(name for name in names if name is not None)


def check_studies(results_dir: str | Path, names: Sequence[str] | None = None) -> list[str]:
    """The studies a report would load (all when ``names`` is None), without repeats.

    Raises ``ReportError`` naming the unknown studies and those available, or saying that
    ``results_dir`` holds none.
    """
    available = find_studies(results_dir)
    if names is None:
        names = available
    missing = [n for n in names if n not in available]
    if missing:
        raise ReportError(
            f"studies {', '.join(map(repr, missing))} not found in {str(results_dir)!r}; "
            f"allowed: {', '.join(available) or '(none: run a sweep first)'}"
        )
    if not names:
        raise ReportError(f"no studies in results_dir={str(results_dir)!r}; run a sweep first")
    return list(dict.fromkeys(names))


def load_studies(results_dir: str | Path, names: Sequence[str] | None = None) -> list[StudyData]:
    """Load the named studies (all when ``names`` is None), in the order given or sorted.

    Raises ``ReportError`` as ``check_studies`` does.
    """
    return [_load(Path(results_dir), name) for name in check_studies(results_dir, names)]


def _load(root: Path, name: str) -> StudyData:
    path = name_dir(root, name)
    runs = pd.read_parquet(path / RUNS_FILE)
    curves_path = path / CURVES_FILE
    curves = pd.read_parquet(curves_path) if curves_path.exists() else pd.DataFrame()
    if curves.empty:
        curves = empty_curves()
    if "status" not in runs:
        runs = runs.assign(status=pd.Series(dtype="str"))
    importance_path = path / IMPORTANCE_FILE
    if importance_path.exists():
        importance = pd.read_parquet(importance_path)
    else:
        note = f"no {IMPORTANCE_FILE} (exported by an older bench: re-run the sweep to add it)"
        importance = pd.DataFrame({"study": [name], "parameter": [None], "note": [note]})
    confirming = (runs["phase"] == "confirm") if "phase" in runs else pd.Series(False, runs.index)
    confirm = runs[confirming]
    rerun = curves["trial"].isin(confirm["trial"].unique())
    return StudyData(
        name=str(runs["study"].iloc[0]) if "study" in runs and len(runs) else name,
        path=path,
        runs=runs[~confirming],
        curves=curves[~rerun],
        importance=importance,
        config=_json(path / "config.json"),
        environment=_json(path / "environment.json"),
        confirm=confirm,
        confirm_curves=curves[rerun],
        rule=_json(path / RULE_FILE),
    )


def _json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
