"""Aggregate: group studies into tasks × optimizers, and summarise each study in one record.

Everything the tables and the HTML print about a study comes from ``summarize`` here, so that
the figures, the tables and the summary cannot disagree on what "the best configuration" is.

The best configuration is chosen on the search seeds; every figure "at best" is then measured
on its confirmation runs (fresh seeds it was not picked on) where the study stored them.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from bench.report import run_stats
from bench.report.labels import hyperparameter_names
from bench.report.load import StudyData
from bench.results import STATUSES

__all__ = [
    "TOLERANCE",
    "StudySummary",
    "common_lr_range",
    "group_studies",
    "lr_range",
    "searched_hyperparameters",
    "summarize",
]

#: "Within tolerance of the best": 10 % of the best gap (an additive log10(1.1) on scores).
TOLERANCE = math.log10(1.1)


@dataclass(frozen=True)
class StudySummary:
    """What the report prints about one study."""

    study: StudyData
    task_label: str
    optimizer_label: str
    run_counts: dict[str, int]
    trial_counts: dict[str, int]
    best_trial: int | None
    best_params: dict[str, Any]
    best_score: float
    best: dict[str, float]
    """Convergence of the best configuration's runs (``run_stats.convergence``)."""
    at_best: pd.DataFrame
    """The runs every "at best" figure is measured on: the confirmation runs where stored."""
    at_best_phase: str
    """``confirm`` (fresh seeds) or ``search`` (the seeds it was picked on: no confirmation)."""
    at_best_trial: int | None
    """The trial whose runs and curves ``at_best`` holds (the confirmation trial if any)."""
    final_mean: float
    final_std: float
    final_iqr: float
    best_diverged: int
    best_roughness: float
    roughness_median: float
    """Median roughness over every finished, non-diverged run of the study."""
    spread_median_std: float
    """Median over configurations of the std of the final loss over seeds."""
    divergence: run_stats.Rate
    """Over the whole explored space."""
    lr_range: tuple[float, float] | None
    """The η range shared by the optimizers of the task (None: not compared)."""
    divergence_common: run_stats.Rate | None
    """Over ``lr_range``: what optimizers are compared on."""
    spread_common_std: float
    """Median std over seeds per configuration, over ``lr_range``."""
    onset: run_stats.Onset
    share_within: float
    escape_best: run_stats.Rate | None
    escape_all: run_stats.Rate | None
    late_share_best: float
    """Mean share of the second half spent in the global basin, at best (NaN: not known)."""
    late_share_all: float
    scores: pd.Series


def searched_hyperparameters(runs: pd.DataFrame, names: list[str]) -> list[str]:
    """Of the rule's hyperparameters ``names``, those that vary across the study's trials (η
    always), in declared order."""
    columns = []
    for name in names:
        if name not in runs:
            continue
        if name == "lr" or runs.groupby("trial")[name].first().nunique(dropna=True) > 1:
            columns.append(name)
    return columns


def group_studies(studies: list[StudyData]) -> dict[str, dict[str, StudyData]]:
    """Studies as ``{task label: {optimizer label: study}}``: the rows and columns of the tables.

    A task label is the task's name, with the settings that tell its variants apart where several
    studies ran the same task differently (``double_well (noise=0.5)``); an optimizer label is the
    sweep's name, with the study's name added where two studies would share a cell.
    """
    variants: dict[str, dict[str, dict[str, Any]]] = {}
    for study in studies:
        key = json.dumps({**study.task_options, "steps": study.steps}, sort_keys=True, default=str)
        variants.setdefault(study.task, {})[key] = {**study.task_options, "steps": study.steps}
    labels: dict[tuple[str, str], str] = {}
    for task, options in variants.items():
        if len(options) == 1:
            labels[(task, next(iter(options)))] = task
            continue
        keys = sorted({k for o in options.values() for k in o})
        differing = [k for k in keys if len({json.dumps(o.get(k)) for o in options.values()}) > 1]
        for key, values in options.items():
            detail = ", ".join(f"{k}={_short(values.get(k))}" for k in differing)
            labels[(task, key)] = f"{task} ({detail})"

    cells: dict[str, dict[str, list[StudyData]]] = {}
    for study in studies:
        key = json.dumps({**study.task_options, "steps": study.steps}, sort_keys=True, default=str)
        label = labels[(study.task, key)]
        cells.setdefault(label, {}).setdefault(study.sweep_name, []).append(study)
    grouped: dict[str, dict[str, StudyData]] = {}
    for label in sorted(cells):
        row: dict[str, StudyData] = {}
        for optimizer in sorted(cells[label]):
            shared = cells[label][optimizer]
            for study in shared:
                name = optimizer if len(shared) == 1 else f"{optimizer} ({study.name})"
                row[name] = study
        grouped[label] = row
    return grouped


def lr_range(study: StudyData) -> tuple[float, float] | None:
    """The η range the study explored: its search space's bounds, else the η its runs took."""
    space = ((study.config.get("sweep") or {}).get("space") or {}).get("lr") or {}
    if "low" in space and "high" in space:
        return (float(space["low"]), float(space["high"]))
    if "lr" not in study.runs or study.runs["lr"].dropna().empty:
        return None
    values = study.runs["lr"].astype(float)
    return (float(values.min()), float(values.max()))


def common_lr_range(studies: list[StudyData]) -> tuple[float, float] | None:
    """The η range every study explored, where at least two did and they overlap; else None."""
    ranges = [r for r in map(lr_range, studies) if r is not None]
    if len(ranges) < 2:
        return None
    low, high = max(r[0] for r in ranges), min(r[1] for r in ranges)
    return (low, high) if low <= high else None


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return "none" if value is None else str(value)


def _at_best(study: StudyData, best: int | None) -> tuple[pd.DataFrame, str, int | None]:
    """The runs "at best" figures come from: the first confirmation of ``best``, else its own."""
    if best is None:
        return study.runs.iloc[0:0], "search", None
    confirm = study.confirm
    if len(confirm) and "confirm_of" in confirm:
        mine = confirm[confirm["confirm_of"] == best]
        if len(mine):
            trial = int(mine["trial"].min())
            return mine[mine["trial"] == trial], "confirm", trial
    return study.runs[study.runs["trial"] == best], "search", best


def summarize(
    study: StudyData,
    task_label: str,
    optimizer_label: str,
    lr_range: tuple[float, float] | None = None,
) -> StudySummary:
    """Everything the report says about one study, from its runs and curves.

    ``lr_range``: the η range the optimizers of the task share, over which stability is
    compared (besides the whole explored range).
    """
    runs = study.runs
    run_counts = {s: int((runs["status"] == s).sum()) for s in STATUSES}
    statuses = run_stats.trial_statuses(runs)
    trial_counts = {s: int((statuses == s).sum()) for s in STATUSES}
    scores = (
        run_stats.trial_scores(runs, study.objective, study.f_ref) if len(runs) else pd.Series()
    )

    best = run_stats.best_trial(runs) if len(runs) else None
    chosen = runs[runs["trial"] == best] if best is not None else runs.iloc[0:0]
    best_runs, phase, shown = _at_best(study, best)
    ok = best_runs[best_runs["status"] != "diverged"]["final_loss"].to_numpy(float)
    q75, q25 = np.percentile(ok, [75, 25]) if ok.size else (math.nan, math.nan)
    params = (
        {k: chosen[k].iloc[0] for k in searched_hyperparameters(runs, hyperparameter_names(study))}
        if best is not None
        else {}
    )
    rough_all = run_stats.run_roughness(study.curves)
    shown_curves = study.confirm_curves if phase == "confirm" else study.curves
    rough_shown = run_stats.run_roughness(shown_curves)
    rough = rough_shown[rough_shown["trial"] == shown]
    spread = run_stats.seed_spread(runs) if len(runs) else pd.DataFrame({"std": []})
    common = None
    if lr_range is not None and "lr" in runs:
        common = run_stats.in_range(runs, *lr_range)
    spread_common = run_stats.seed_spread(common) if common is not None and len(common) else None

    escape_best = escape_all = None
    late_best = late_all = math.nan
    if study.has_basins:
        escape_best = run_stats.escape_rate(best_runs) if best is not None else None
        escape_all = run_stats.escape_rate(runs)
        late_best = run_stats.late_basin_share(best_runs) if best is not None else math.nan
        late_all = run_stats.late_basin_share(runs)
    return StudySummary(
        study=study,
        task_label=task_label,
        optimizer_label=optimizer_label,
        run_counts=run_counts,
        trial_counts=trial_counts,
        best_trial=best,
        best_params=params,
        best_score=float(scores.get(best, math.nan)) if best is not None else math.nan,
        best=run_stats.convergence(best_runs),
        at_best=best_runs,
        at_best_phase=phase,
        at_best_trial=shown,
        final_mean=float(ok.mean()) if ok.size else math.nan,
        final_std=float(ok.std(ddof=1)) if ok.size > 1 else math.nan,
        final_iqr=float(q75 - q25),
        best_diverged=int((best_runs["status"] == "diverged").sum()),
        best_roughness=float(rough["roughness"].mean()) if len(rough) else math.nan,
        roughness_median=float(rough_all["roughness"].median()) if len(rough_all) else math.nan,
        spread_median_std=float(spread["std"].median()) if len(spread) else math.nan,
        divergence=run_stats.divergence_rate(runs),
        lr_range=lr_range if common is not None else None,
        divergence_common=run_stats.divergence_rate(common) if common is not None else None,
        spread_common_std=(
            float(spread_common["std"].median()) if spread_common is not None else math.nan
        ),
        onset=(
            run_stats.divergence_onset(runs)
            if "lr" in runs
            else run_stats.Onset(math.nan, math.nan)
        ),
        share_within=run_stats.share_within(scores.to_numpy(float), TOLERANCE),
        escape_best=escape_best,
        escape_all=escape_all,
        late_share_best=late_best,
        late_share_all=late_all,
        scores=scores,
    )
