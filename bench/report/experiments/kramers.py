"""Kramers' law for SGD on the double well: the escape physics behind the article's Q1.

Plain SGD with step η and Gaussian gradient noise of std σ is the Euler scheme of overdamped
Langevin dynamics at temperature T = η σ² / 2 (time step η). Started at the local minimum a, the
mean number of steps to the first crossing of the ridge b follows Kramers' law

    ln(steps) = ΔL / T + ln(2π / (η √(f''(a) |f''(b)|))),   ΔL = f(b) − f(a).

Each study is one σ (one T) over many seeds; a run's first passage is its ``escape_step`` (the
first step in the global basin), censored at the study's step budget where it never escaped.
Each σ's mean first-passage time is the exponential maximum-likelihood estimate under that
censoring: (sum of the steps every run spent at risk) / (number of escapes). The fit is least
squares of ln(mean steps) on 1/T; intervals come from a bootstrap over the runs within each σ,
refitting each resample.

Tolerances, fixed from theory before the data were seen:

- slope / ΔL within [0.9, 1.1]. Kramers' law is the small-T limit; its prefactor has corrections
  of relative order T/ΔL, which tilt the fitted slope by a few per cent over ΔL/T ∈ [2, 6] (the
  exact first-passage integral of the continuous dynamics gives 0.987 there), and the time step
  raises the temperature felt in the well by the factor 1 / (1 − η f''(a) / 2), 3.5 % at η = 0.01.
- fitted prefactor / Kramers' prefactor within [0.5, 2] (a factor of two). The first crossing of
  the ridge point itself comes at about half of Kramers' escape time (a path at the ridge goes
  on or back with equal odds; the exact first-passage integral gives 0.55–0.6 of it at these
  temperatures), which the factor of two admits; the discrete steps see a crossing a little late.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from bench.report.experiments import experiment
from bench.report.findings import Finding, Threshold, bootstrap_interval
from bench.report.load import ReportError, StudyData

__all__ = ["DoubleWellFacts", "kramers", "mean_first_passage"]

SOURCE = "Kramers 1940, Physica 7:284 (overdamped limit); the article's Q1"
SLOPE_THRESHOLD = Threshold("within", low=0.9, high=1.1)
PREFACTOR_THRESHOLD = Threshold("within", low=0.5, high=2.0)


class DoubleWellFacts:
    """The double well f(x) = (x² − 1)² + tilt·x: its local minimum, ridge, barrier, curvatures."""

    def __init__(self, tilt: float) -> None:
        # The stationary points are the roots of f'(x) = 4x³ − 4x + tilt.
        _, ridge, local = np.sort(np.roots([4.0, 0.0, -4.0, tilt]).real)
        self.tilt = tilt
        self.local_min = float(local)
        self.ridge = float(ridge)
        self.barrier = self.f(self.ridge) - self.f(self.local_min)
        self.curvature_min = 12.0 * self.local_min**2 - 4.0
        self.curvature_ridge = 12.0 * self.ridge**2 - 4.0

    def f(self, x: float) -> float:
        """The loss at ``x``."""
        return (x * x - 1.0) ** 2 + self.tilt * x

    def prefactor(self, lr: float) -> float:
        """Kramers' prefactor in steps, 2π / (η √(f''(a) |f''(b)|))."""
        return 2.0 * math.pi / (lr * math.sqrt(self.curvature_min * abs(self.curvature_ridge)))


def mean_first_passage(runs: np.ndarray) -> float:
    """Exponential MLE of the mean first-passage time from rows (steps at risk, escaped 0/1)."""
    escapes = runs[:, 1].sum()
    return runs[:, 0].sum() / escapes if escapes > 0 else math.inf


def _fit(inverse_t: np.ndarray, groups: Sequence[np.ndarray]) -> tuple[float, float]:
    """Least-squares slope and intercept of ln(mean first passage) on 1/T."""
    means = np.array([mean_first_passage(g) for g in groups])
    if not np.isfinite(means).all():
        return math.nan, math.nan
    slope, intercept = np.polyfit(inverse_t, np.log(means), 1)
    return float(slope), float(intercept)


def _at_risk(study: StudyData) -> np.ndarray:
    """Rows (steps at risk, escaped) of the study's runs that started outside the global basin."""
    runs = study.runs
    if "escape_step" not in runs:
        raise ReportError(f"study {study.name!r} has no escape_step; re-run it")
    if "start_in_basin" in runs:
        runs = runs[~runs.start_in_basin.astype(bool)]
    escape = runs.escape_step.astype("Float64")
    escaped = escape.notna().to_numpy()
    steps = np.where(escaped, escape.fillna(0).to_numpy(float), float(study.steps))
    return np.column_stack([steps, escaped.astype(float)])


def _setting(study: StudyData) -> tuple[float, float, float]:
    """(tilt, η, σ) of a study; ``ReportError`` where it is not plain SGD on the double well."""
    task = study.config.get("task") or {}
    optimizer = study.config.get("optimizer") or {}
    if task.get("name") != "double_well" or optimizer.get("name") != "sgd":
        raise ReportError(f"study {study.name!r} is not SGD on the double well")
    if float(optimizer.get("momentum") or 0.0) != 0.0:
        raise ReportError(f"study {study.name!r} uses momentum; Kramers' law here is for plain SGD")
    return float(task.get("tilt", 0.3)), float(optimizer["lr"]), study.noise


@experiment("kramers")
def kramers(studies: Sequence[StudyData]) -> list[Finding]:
    """Fit ln(mean first-passage steps) on 1/T over the studies' noise levels; judge Kramers."""
    settings = [_setting(s) for s in studies]
    if len({(tilt, lr) for tilt, lr, _ in settings}) != 1:
        raise ReportError("the kramers studies must share one tilt and one step size")
    tilt, lr, _ = settings[0]
    temperatures = np.array([lr * sigma**2 / 2.0 for _, _, sigma in settings])
    if len(set(temperatures)) < 2 or not (temperatures > 0).all():
        raise ReportError("the kramers fit needs at least two noise levels above zero")
    facts = DoubleWellFacts(tilt)
    inverse_t = 1.0 / temperatures
    groups = [_at_risk(s) for s in studies]
    n = sum(len(g) for g in groups)
    low, high = facts.barrier * inverse_t.min(), facts.barrier * inverse_t.max()
    span = f"ΔL/T from {low:.1f} to {high:.1f}"

    def slope_ratio(*resampled: np.ndarray) -> float:
        return _fit(inverse_t, resampled)[0] / facts.barrier

    def prefactor_ratio(*resampled: np.ndarray) -> float:
        return math.exp(_fit(inverse_t, resampled)[1]) / facts.prefactor(lr)

    slope, slope_ci = bootstrap_interval(groups, slope_ratio)
    prefactor, prefactor_ci = bootstrap_interval(groups, prefactor_ratio)
    setting = (
        f"SGD (η = {lr:g}, no momentum) from the local minimum of the double well "
        f"(tilt {tilt:g}), {len(groups)} noise levels, {span}"
    )
    return [
        Finding.of(
            claim=(
                "The mean number of steps to the first crossing of the ridge grows as "
                f"exp(ΔL/T), T = ησ²/2: ln(steps) against 1/T has slope ΔL; {setting}"
            ),
            source=SOURCE,
            statistic=(
                f"fitted slope / ΔL (ΔL = {facts.barrier:.4f}); mean steps = exponential MLE "
                "under censoring (steps at risk / escapes)"
            ),
            value=slope,
            ci=slope_ci,
            n=n,
            threshold=SLOPE_THRESHOLD,
        ),
        Finding.of(
            claim=(
                "Its intercept is Kramers' prefactor 2π / (η √(f''(a) |f''(b)|)) "
                f"(a = local minimum, b = ridge); {setting}"
            ),
            source=SOURCE,
            statistic=(
                f"exp(fitted intercept) / Kramers' prefactor ({facts.prefactor(lr):.4g} steps)"
            ),
            value=prefactor,
            ci=prefactor_ci,
            n=n,
            threshold=PREFACTOR_THRESHOLD,
        ),
    ]
