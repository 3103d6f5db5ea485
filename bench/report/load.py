"""Read stored studies back from a results directory: runs, curves, config and environment.

Reads only what ``bench.sweep.export.export_study`` writes (``<results_dir>/<study>/``), plus the
Optuna storage for hyperparameter importance. A study name may hold ``/``, so studies are found
wherever a ``runs.parquet`` lies below the results directory.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from bench.results import CURVES_FILE, RULE_FILE, RUNS_FILE, empty_curves

__all__ = ["ReportError", "StudyData", "find_studies", "load_studies", "open_storage_study"]

#: Directories below a results directory that never hold studies.
_SKIP = (".multirun", "benchmarks")


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
    names = []
    for runs in root.rglob(RUNS_FILE):
        relative = runs.parent.relative_to(root)
        if relative.parts and relative.parts[0] not in _SKIP:
            names.append(relative.as_posix())
    return sorted(names)


def load_studies(results_dir: str | Path, names: Sequence[str] | None = None) -> list[StudyData]:
    """Load the named studies (all when ``names`` is None), in the order given or sorted.

    Raises ``ReportError`` naming the unknown studies and those available.
    """
    root = Path(results_dir)
    available = find_studies(root)
    if names is None:
        names = available
    missing = [n for n in names if n not in available]
    if missing:
        raise ReportError(
            f"studies {', '.join(map(repr, missing))} not found in {str(root)!r}; "
            f"allowed: {', '.join(available) or '(none: run a sweep first)'}"
        )
    return [_load(root, name) for name in dict.fromkeys(names)]


def _load(root: Path, name: str) -> StudyData:
    path = root / name
    runs = pd.read_parquet(path / RUNS_FILE)
    curves_path = path / CURVES_FILE
    curves = pd.read_parquet(curves_path) if curves_path.exists() else pd.DataFrame()
    if curves.empty:
        curves = empty_curves()
    if "status" not in runs:
        runs = runs.assign(status=pd.Series(dtype="str"))
    confirming = (runs["phase"] == "confirm") if "phase" in runs else pd.Series(False, runs.index)
    confirm = runs[confirming]
    rerun = curves["trial"].isin(confirm["trial"].unique())
    return StudyData(
        name=str(runs["study"].iloc[0]) if "study" in runs and len(runs) else name,
        path=path,
        runs=runs[~confirming],
        curves=curves[~rerun],
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


def open_storage_study(
    results_dir: str | Path, study: StudyData, storages: dict[str, Any] | None = None
) -> Any:
    """The study in its Optuna storage, read-only by intent; raises ``ValueError`` with a reason.

    The storage is the study's ``storage.url``, else ``<results_dir>/bench.db`` (the default
    SQLite file, looked up next to the exports rather than where the sweep ran). ``storages``
    caches opened storages by URL across calls.
    """
    storage = study.config.get("storage") or {}
    url = storage.get("url")
    if not url:
        db = Path(results_dir) / "bench.db"
        if not db.is_file():
            raise ValueError(f"no Optuna storage at {db}")
        url = f"sqlite:///{db.resolve()}"
    import optuna  # here: only importance needs the storage

    storages = {} if storages is None else storages
    try:
        if url not in storages:
            storages[url] = optuna.storages.RDBStorage(url)
        return optuna.load_study(study_name=study.name, storage=storages[url])
    except Exception as error:  # noqa: BLE001 - storages raise many kinds
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(f"storage cannot be read: {reason}") from None
