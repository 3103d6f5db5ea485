"""Per-run metrics from an engine result, and the objective a sweep minimises."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from bench.engine import PopulationResult
from bench.results import GAP_FLOOR
from bench.tasks.base import Task

__all__ = ["AGGREGATES", "OBJECTIVES", "aggregate", "auc_log_gap", "objective", "run_metrics"]

OBJECTIVES = ("final_loss", "best_loss", "steps_to_target", "auc")
AGGREGATES = ("mean", "median")


def auc_log_gap(curves: np.ndarray, steps: np.ndarray, f_ref: float) -> np.ndarray:
    """Mean of log10(f − f_ref) over the run (trapezoids over the record steps), per run.

    Lower is better: it rewards getting low early as well as ending low. Non-finite points
    (diverged runs) make the value +inf.
    """
    # In place, in the order of ((g[1:] + g[:-1]) * 0.5) * width: two arrays the size of the
    # curves instead of six (at 300k runs × 50 records each fresh one costs page faults).
    gap = np.subtract(curves, f_ref)
    np.maximum(gap, GAP_FLOOR, out=gap)
    np.log10(gap, out=gap)
    gap[~np.isfinite(curves)] = np.inf
    pair = np.add(gap[:, 1:], gap[:, :-1])
    pair *= 0.5
    pair *= np.diff(steps).astype(np.float64)
    return pair.sum(axis=1) / max(float(steps[-1] - steps[0]), 1.0)


def run_metrics(result: PopulationResult, task: Task) -> pd.DataFrame:
    """One row per member: status and outcomes; censored and never-diverged steps are missing."""
    diverged = result.diverged.numpy()
    f_ref = task.f_star if task.f_star is not None else 0.0
    frame = pd.DataFrame(
        {
            "status": np.where(diverged, "diverged", "complete"),
            "final_loss": result.final_loss.numpy(),
            "best_loss": result.best_loss.numpy(),
            "auc": auc_log_gap(result.curves.numpy(), result.record_steps.numpy(), f_ref),
            "reached": (result.hit_step >= 0).numpy(),
            "steps_to_target": _optional_steps(result.hit_step.numpy()),
            "diverged_step": _optional_steps(result.diverged_step.numpy()),
            "wall_time": result.seconds.numpy(),
        }
    )
    if result.start_in_basin is not None:
        frame["start_in_basin"] = result.start_in_basin.numpy()
        frame["end_in_basin"] = result.end_in_basin.numpy() & ~diverged
        # First passage into the global basin, for runs that started outside it.
        outside = ~result.start_in_basin.numpy()
        frame["escape_step"] = _optional_steps(np.where(outside, result.escape_step.numpy(), -1))
        frame["late_basin_share"] = result.late_basin_share.numpy()
    for name, values in result.metrics.items():
        frame[name] = values.double().numpy()
    return frame


def objective(runs: pd.DataFrame, name: str, steps: int) -> np.ndarray:
    """Each run's objective (lower is better): +inf for a diverged run.

    ``steps_to_target`` counts an unreached target as ``steps + 1``: worse than any run that
    reached it, better than any that diverged.
    """
    if name not in OBJECTIVES:
        raise ValueError(f"Invalid sweep.objective: {name!r}; allowed: {', '.join(OBJECTIVES)}")
    if name == "steps_to_target":
        values = runs["steps_to_target"].astype("Float64").fillna(steps + 1).to_numpy(float)
    else:
        values = runs[name].to_numpy(dtype=float, copy=True)
    values[(runs["status"] == "diverged").to_numpy() | ~np.isfinite(values)] = math.inf
    return values


def aggregate(values: np.ndarray, how: str) -> float:
    """Mean or median over seeds; +inf as soon as one seed is +inf (diverged), whatever ``how``.

    A median would hide a minority of diverged seeds, and such a trial must never be the best.
    """
    if how not in AGGREGATES:
        raise ValueError(f"Invalid sweep.aggregate: {how!r}; allowed: {', '.join(AGGREGATES)}")
    values = np.asarray(values, dtype=float)
    if np.isposinf(values).any():
        return math.inf
    return float(np.mean(values) if how == "mean" else np.median(values))


def _optional_steps(steps: np.ndarray) -> pd.array:
    return pd.array([int(s) if s >= 0 else None for s in steps], dtype="Int64")
