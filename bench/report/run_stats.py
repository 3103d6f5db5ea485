"""Statistics over a study's runs for the report: pure functions over the runs and curves tables
of stored studies (``bench.metrics`` gives each run its own metrics; this sums them up).

Conventions, shared by every function here:

- A run's ``status`` is ``complete``, ``diverged``, ``pruned`` or ``failed``. Failed runs have no
  results and are only counted; pruned runs were stopped early by the sweep's pruner.
- A target that was not reached within the budget is *censored*: its time is "more than the
  budget", never dropped and never averaged as if it had been reached.
- A configuration is a trial; its runs are the trial's seeds.
- A target is *reached* at the first step from which the loss stays at or below it (at the
  steps the engine monitors): one touch under noise is not arrival.
- A run *escapes* a local minimum at its first passage into the global minimum's basin
  (``escape_step``); how much of its second half it then spent there is ``late_basin_share``.
- Lower is better for every score (objectives are minimised).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from bench.report.student_t import t_quantile
from bench.results import FINISHED, GAP_FLOOR

__all__ = [
    "Onset",
    "Rate",
    "best_trial",
    "binned_rate",
    "censored_median",
    "convergence",
    "divergence_onset",
    "divergence_rate",
    "ert",
    "escape_candidates",
    "escape_rate",
    "escaped",
    "ert_interval",
    "expected_best_after_k",
    "in_range",
    "late_basin_share",
    "log_bins",
    "mean_interval",
    "performance_profile",
    "performance_ratios",
    "roughness",
    "run_roughness",
    "seed_spread",
    "share_within",
    "steps_spent",
    "time_to_target",
    "trial_scores",
    "trial_statuses",
    "wilson_interval",
]

#: Two-sided 95 % normal quantile.
Z95 = 1.959963984540054


class Rate(NamedTuple):
    """``k`` of ``n`` with its Wilson 95 % interval; rate and bounds are NaN when ``n == 0``."""

    k: int
    n: int
    rate: float
    low: float
    high: float


class Onset(NamedTuple):
    """Where divergence sets in along η, over the explored space.

    ``first``: the smallest η of any diverged run (NaN: nothing diverged). ``all_above``: the
    smallest η from which every run at that η or larger diverged (NaN: the largest η did not).
    """

    first: float
    all_above: float


# --- intervals -------------------------------------------------------------------------------


def wilson_interval(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for ``k`` successes in ``n`` trials (Wilson 1927).

    Unlike the normal approximation it stays inside [0, 1] and is not degenerate at 0/n or n/n.
    """
    if n <= 0:
        return (math.nan, math.nan)
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # At 0/n and n/n the bounds are exactly 0 and 1; rounding would put them a hair inside.
    low = 0.0 if k == 0 else max(0.0, centre - half)
    high = 1.0 if k == n else min(1.0, centre + half)
    return (low, high)


def _rate(k: int, n: int) -> Rate:
    low, high = wilson_interval(k, n)
    return Rate(int(k), int(n), k / n if n else math.nan, low, high)


# --- convergence -----------------------------------------------------------------------------


def time_to_target(runs: pd.DataFrame) -> pd.DataFrame:
    """Per run: whether it reached the target, and when, in steps and in seconds.

    ``steps`` and ``seconds`` are missing (NA) for censored runs. Seconds prorate the run's wall
    time by steps (``wall_time`` covers the whole budget of the run).
    """
    finished = runs[runs["status"].isin(FINISHED)]
    steps = finished["steps_to_target"].astype("Float64")
    reached = steps.notna()
    per_step = finished["wall_time"].astype(float) / finished["steps"].astype(float)
    return pd.DataFrame(
        {
            "reached": reached.to_numpy(bool),
            "steps": steps,
            "seconds": steps * per_step,
            "spent": steps_spent(finished),
            "budget": finished["steps"].astype(int),
        },
        index=finished.index,
    )


def steps_spent(runs: pd.DataFrame) -> np.ndarray:
    """Steps each run used: to the target if reached, to its divergence, else the whole budget.

    A pruned run counts its whole budget: where it was stopped is not stored, so ERT over pruned
    runs is an upper bound.
    """
    hit = runs["steps_to_target"].astype("Float64")
    diverged_at = runs["diverged_step"].astype("Float64")
    budget = runs["steps"].astype(float)
    spent = hit.fillna(diverged_at.where(runs["status"] == "diverged")).fillna(budget)
    return spent.to_numpy(float)


def ert(spent: Sequence[float] | np.ndarray, reached: Sequence[bool] | np.ndarray) -> float:
    """Expected running time (Auger & Hansen 2005): steps spent by all runs ÷ runs that reached.

    ``spent`` holds each run's steps until it reached the target or stopped (budget exhausted or
    diverged). +inf where no run reached the target: the time is censored, not zero.
    """
    spent = np.asarray(spent, dtype=float)
    successes = int(np.count_nonzero(reached))
    if successes == 0:
        return math.inf
    return float(spent.sum() / successes)


def ert_interval(
    spent: Sequence[float] | np.ndarray,
    reached: Sequence[bool] | np.ndarray,
    n_boot: int = 2000,
    seed: int = 0,
) -> tuple[float, float]:
    """Bootstrap 95 % percentile interval of the ERT (runs resampled with replacement).

    Resamples where no run reached the target have ERT +inf, so few successes give an
    unbounded upper end. NaN, NaN for no runs.
    """
    spent = np.asarray(spent, dtype=float)
    hits = np.asarray(reached, dtype=bool)
    if spent.size == 0:
        return (math.nan, math.nan)
    index = np.random.default_rng(seed).integers(0, spent.size, size=(n_boot, spent.size))
    successes = hits[index].sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        values = np.where(successes > 0, spent[index].sum(axis=1) / successes, math.inf)
    # No interpolation: inf - inf is NaN.
    low, high = np.quantile(values, [0.025, 0.975], method="inverted_cdf")
    return (float(low), float(high))


def mean_interval(values: Sequence[float] | np.ndarray) -> tuple[float, float]:
    """Student-t 95 % confidence interval of the mean; NaN, NaN below two values."""
    values = np.asarray(values, dtype=float)
    if values.size < 2:
        return (math.nan, math.nan)
    half = t_quantile(0.975, values.size - 1) * values.std(ddof=1) / math.sqrt(values.size)
    mean = float(values.mean())
    return (mean - half, mean + half)


def censored_median(steps: Sequence[float] | np.ndarray, reached: Sequence[bool]) -> float:
    """Median time to target with censored runs counted as +inf (later than any reached one).

    +inf means at least half of the runs did not reach the target within the budget.
    """
    values = np.where(np.asarray(reached, bool), np.asarray(steps, dtype=float), math.inf)
    if values.size == 0:
        return math.nan
    values = np.sort(values)
    mid = values.size // 2
    if values.size % 2:
        return float(values[mid])
    low, high = values[mid - 1], values[mid]
    return math.inf if math.isinf(high) else float((low + high) / 2)


def convergence(runs: pd.DataFrame) -> dict[str, float]:
    """Convergence speed of a set of runs (usually one configuration's seeds).

    Keys: ``n``, ``reached``, ``budget``, ``median_steps`` (censored median), ``ert_steps``,
    ``ert_seconds``, ``auc``, ``final_loss``, ``best_loss`` (means over non-diverged runs).
    """
    ttt = time_to_target(runs)
    ok = runs[runs["status"].isin(("complete", "pruned"))]
    finished = runs[runs["status"].isin(FINISHED)]
    per_step = (finished["wall_time"].astype(float) / finished["steps"].astype(float)).mean()
    ert_steps = ert(ttt["spent"].to_numpy(), ttt["reached"].to_numpy())
    return {
        "n": len(ttt),
        "reached": int(ttt["reached"].sum()),
        "budget": int(ttt["budget"].max()) if len(ttt) else 0,
        "median_steps": censored_median(ttt["steps"].to_numpy(float, na_value=0), ttt["reached"]),
        "ert_steps": ert_steps,
        "ert_seconds": ert_steps * per_step if math.isfinite(ert_steps) else math.inf,
        "auc": float(ok["auc"].mean()) if len(ok) else math.nan,
        "final_loss": float(ok["final_loss"].mean()) if len(ok) else math.nan,
        "best_loss": float(ok["best_loss"].mean()) if len(ok) else math.nan,
    }


# --- the best configuration ------------------------------------------------------------------


def best_trial(runs: pd.DataFrame) -> int | None:
    """The complete trial with the lowest finite objective (lowest number on ties); None if none.

    Pruned trials are never the best: their objective is unknown.
    """
    candidates = runs[(runs["status"] != "pruned") & (runs["status"] != "failed")]
    per_trial = candidates.groupby("trial")["objective"].first()
    per_trial = per_trial[np.isfinite(per_trial.to_numpy(float))]
    if per_trial.empty:
        return None
    best = per_trial.min()
    return int(per_trial[per_trial == best].index.min())


def trial_scores(runs: pd.DataFrame, objective: str, f_ref: float = 0.0) -> pd.Series:
    """One score per trial on a log scale, lower is better, for plots and tunability.

    ``final_loss`` and ``best_loss``: log10 of the gap to ``f_ref`` (f* where known, else 0);
    ``steps_to_target``: log10 of the steps; ``auc``: itself (already a mean log10 gap). A
    trial with a diverged seed scores +inf; a pruned trial NaN (no result); failed trials are
    left out (they explored nothing).
    """
    kept = runs[runs["status"] != "failed"]
    per_trial = kept.groupby("trial").agg(objective=("objective", "first"))
    per_trial["status"] = trial_statuses(kept)
    values = per_trial["objective"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        if objective in ("final_loss", "best_loss"):
            score = np.log10(np.maximum(values - f_ref, GAP_FLOOR))
        elif objective == "steps_to_target":
            score = np.log10(values)
        else:
            score = values.copy()
    score = np.where(np.isposinf(values), math.inf, score)
    score = np.where(per_trial["status"] == "pruned", math.nan, score)
    return pd.Series(score, index=per_trial.index, name="score")


#: A trial's status is the first of these that any of its runs has.
_PRECEDENCE = ("failed", "pruned", "diverged", "complete")


def trial_statuses(runs: pd.DataFrame) -> pd.Series:
    """Each trial's status from its runs: failed, pruned, diverged (any seed), else complete."""
    rank = runs["status"].map({s: i for i, s in enumerate(_PRECEDENCE)})
    first = rank.fillna(len(_PRECEDENCE) - 1).groupby(runs["trial"]).min()
    names = np.asarray(_PRECEDENCE, dtype=object)[first.to_numpy(int)]
    return pd.Series(names, index=first.index, name="status")


# --- stability -------------------------------------------------------------------------------


def in_range(runs: pd.DataFrame, low: float, high: float, column: str = "lr") -> pd.DataFrame:
    """The runs whose ``column`` (η) lies in [low, high]."""
    values = runs[column].astype(float)
    return runs[(values >= low) & (values <= high)]


def divergence_rate(runs: pd.DataFrame) -> Rate:
    """Share of finished runs that diverged, over the explored space, with its Wilson interval."""
    finished = runs[runs["status"].isin(FINISHED)]
    return _rate(int((finished["status"] == "diverged").sum()), len(finished))


def divergence_onset(runs: pd.DataFrame, column: str = "lr") -> Onset:
    """Where divergence sets in along ``column`` (η), over the finished runs."""
    finished = runs[runs["status"].isin(FINISHED)]
    if finished.empty:
        return Onset(math.nan, math.nan)
    lr = finished[column].to_numpy(float)
    diverged = (finished["status"] == "diverged").to_numpy()
    first = float(lr[diverged].min()) if diverged.any() else math.nan
    # Scan the distinct η from the largest down while every run at that η diverged.
    all_above = math.nan
    for value in np.unique(lr)[::-1]:
        if not diverged[lr == value].all():
            break
        all_above = float(value)
    return Onset(first, all_above)


def log_bins(values: Sequence[float] | np.ndarray, n: int = 8) -> np.ndarray:
    """``n + 1`` log-spaced edges covering the positive finite ``values``."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values) & (values > 0)]
    if values.size == 0:
        return np.array([1.0, 10.0])
    low, high = np.log10(values.min()), np.log10(values.max())
    if high - low < 1e-9:
        low, high = low - 0.5, high + 0.5
    return 10 ** np.linspace(low, high, n + 1)


def binned_rate(
    x: Sequence[float] | np.ndarray, success: Sequence[bool] | np.ndarray, edges: np.ndarray
) -> pd.DataFrame:
    """Share of successes per bin of ``x`` (last bin closed), with Wilson intervals.

    Columns: low, high, mid (geometric), n, k, rate, ci_low, ci_high; empty bins are dropped.
    """
    x = np.asarray(x, dtype=float)
    success = np.asarray(success, dtype=bool)
    index = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, len(edges) - 2)
    rows = []
    for b in range(len(edges) - 1):
        inside = index == b
        n = int(inside.sum())
        if n == 0:
            continue
        rate = _rate(int(success[inside].sum()), n)
        rows.append(
            {
                "low": edges[b],
                "high": edges[b + 1],
                "mid": math.sqrt(edges[b] * edges[b + 1]),
                "n": n,
                "k": rate.k,
                "rate": rate.rate,
                "ci_low": rate.low,
                "ci_high": rate.high,
            }
        )
    columns = ["low", "high", "mid", "n", "k", "rate", "ci_low", "ci_high"]
    return pd.DataFrame(rows, columns=columns)


def seed_spread(runs: pd.DataFrame, column: str = "final_loss") -> pd.DataFrame:
    """Spread over seeds of each configuration, over its non-diverged, finished runs.

    One row per trial: n (runs), diverged (runs), mean, std (ddof=1; NaN for one run), iqr.
    """
    finished = runs[runs["status"].isin(FINISHED)]
    diverged = finished["status"] == "diverged"
    trial = finished["trial"]
    kept = finished[column].astype(float).where(~diverged).groupby(trial)
    spread = pd.DataFrame(
        {
            "n": trial.groupby(trial).size(),
            "diverged": diverged.groupby(trial).sum().astype(int),
            "mean": kept.mean(),
            "std": kept.std(ddof=1),
            "iqr": kept.quantile(0.75) - kept.quantile(0.25),
        }
    )
    return spread.rename_axis("trial").reset_index()


def expected_best_after_k(
    scores: Sequence[float] | np.ndarray,
    ks: Sequence[int],
    n_boot: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """Tunability: the best score after ``k`` trials of random search, by bootstrap.

    Sivaprasad et al. (2020): draw ``k`` of the observed trials with replacement, keep the best,
    repeat ``n_boot`` times. NaN scores (pruned trials: no result) never win a draw; +inf ones
    (diverged) win only a draw of nothing else. Columns: k, mean, median, q25, q75. The mean is
    +inf as soon as one draw held only diverged trials; the median and quartiles stay usable.
    """
    values = np.asarray(scores, dtype=float)
    values = np.where(np.isnan(values), math.inf, values)
    rng = np.random.default_rng(seed)
    rows = []
    for k in ks:
        if values.size == 0:
            rows.append(dict.fromkeys(("mean", "median", "q25", "q75"), math.nan) | {"k": k})
            continue
        best = values[rng.integers(0, values.size, size=(n_boot, k))].min(axis=1)
        # No interpolation: draws of only diverged trials are +inf, and inf - inf is NaN.
        q25, median, q75 = np.quantile(best, [0.25, 0.5, 0.75], method="inverted_cdf")
        rows.append({"k": k, "mean": best.mean(), "median": median, "q25": q25, "q75": q75})
    return pd.DataFrame(rows, columns=["k", "mean", "median", "q25", "q75"])


def share_within(scores: Sequence[float] | np.ndarray, tolerance: float) -> float:
    """Share of the explored trials whose score is within ``tolerance`` of the best one.

    Pruned trials (NaN) count in the denominator and never within (the pruner judged them worse);
    diverged ones (+inf) likewise. On log10 scores, ``tolerance = log10(1.1)`` means "within
    10 % of the best gap to f*". NaN where no trial has a finite score.
    """
    values = np.asarray(scores, dtype=float)
    finite = values[np.isfinite(values)]
    if values.size == 0 or finite.size == 0:
        return math.nan
    return float(np.count_nonzero(finite <= finite.min() + tolerance) / values.size)


def roughness(loss: Sequence[float] | np.ndarray) -> float:
    """How much a curve goes back up: sum of its increases ÷ sum of its decreases.

    0 for a monotone decrease; 1 when it climbs back as much as it went down; NaN for a curve
    that never decreases or holds non-finite values.
    """
    values = np.asarray(loss, dtype=float)
    if values.size < 2 or not np.isfinite(values).all():
        return math.nan
    steps = np.diff(values)
    down = -steps[steps < 0].sum()
    if down <= 0:
        return math.nan
    return float(steps[steps > 0].sum() / down)


def run_roughness(curves: pd.DataFrame) -> pd.DataFrame:
    """Roughness of every recorded curve: one row per (study, trial, seed)."""
    if curves.empty:
        return pd.DataFrame(columns=["study", "trial", "seed", "roughness"])
    keys = ["study", "trial", "seed"]
    ordered = curves.sort_values([*keys, "step"])
    grouped = ordered.groupby(keys, sort=False)
    group = grouped.ngroup().to_numpy()
    loss = ordered["loss"].to_numpy(float)
    # ``roughness`` of every curve at once: a curve's steps are its rows after the first.
    count = group.max() + 1
    steps = np.diff(loss)
    within = group[1:] == group[:-1]
    up = np.bincount(group[1:], np.where(within & (steps > 0), steps, 0.0), count)
    down = np.bincount(group[1:], np.where(within & (steps < 0), -steps, 0.0), count)
    finite = np.bincount(group, ~np.isfinite(loss), count) == 0
    valid = finite & (np.bincount(group, minlength=count) >= 2) & (down > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(valid, up / down, math.nan)
    table = grouped.size().reset_index()[keys]
    table["roughness"] = value
    return table


# --- local minima ----------------------------------------------------------------------------


def escape_candidates(runs: pd.DataFrame) -> pd.DataFrame:
    """Runs that can escape: started outside the global basin, finished and not pruned.

    A diverged run ended nowhere, so it did not escape (``end_in_basin`` is False for it).
    """
    if "start_in_basin" not in runs:
        return runs.iloc[0:0]
    keep = runs["status"].isin(("complete", "diverged")) & ~runs["start_in_basin"].astype(bool)
    return runs[keep]


def escaped(candidates: pd.DataFrame) -> np.ndarray:
    """Whether each candidate escaped: it passed into the global basin and did not diverge.

    Under noise the iterate hops between wells, so where a run *ends* is close to a coin flip;
    the first passage (``escape_step``) is the event. Files written before ``escape_step``
    existed fall back to where the run ended.
    """
    complete = (candidates["status"] == "complete").to_numpy(bool)
    if candidates.empty:
        return complete
    if "escape_step" in candidates:
        return candidates["escape_step"].notna().to_numpy(bool) & complete
    return candidates["end_in_basin"].astype(bool).to_numpy() & complete


def escape_rate(runs: pd.DataFrame) -> Rate:
    """Share of runs starting outside the global basin that passed into it (first passage),
    with a Wilson interval."""
    candidates = escape_candidates(runs)
    return _rate(int(escaped(candidates).sum()), len(candidates))


def late_basin_share(runs: pd.DataFrame) -> float:
    """Mean share of the second half of the run spent in the global basin, over the runs that
    started outside it (diverged runs count as outside from their divergence); NaN if none."""
    candidates = escape_candidates(runs)
    if "late_basin_share" not in candidates or candidates.empty:
        return math.nan
    return float(candidates["late_basin_share"].astype(float).mean())


# --- performance profiles --------------------------------------------------------------------


def performance_ratios(times: pd.DataFrame) -> pd.DataFrame:
    """Dolan & Moré (2002) ratios: each solver's time on a problem over the best solver's.

    ``times``: problems as rows, solvers as columns, +inf (or NaN) where a solver failed. A
    problem no solver solved gives +inf for all.
    """
    values = times.astype(float).fillna(math.inf)
    best = values.min(axis=1)
    with np.errstate(invalid="ignore"):
        ratios = values.div(best, axis=0)
    ratios[~np.isfinite(values)] = math.inf
    ratios[~np.isfinite(best)] = math.inf
    return ratios


def performance_profile(times: pd.DataFrame, taus: Sequence[float] | np.ndarray) -> pd.DataFrame:
    """ρ_s(τ): share of problems on which solver ``s`` is within a factor τ of the best.

    Rows: τ; columns: solvers. ρ_s(1) is the share of problems where ``s`` was (one of) the
    fastest; ρ_s(τ→∞) the share it solved at all.
    """
    ratios = performance_ratios(times)
    n = len(ratios)
    taus = np.asarray(taus, dtype=float)
    data = {
        solver: [(ratios[solver] <= tau).sum() / n if n else math.nan for tau in taus]
        for solver in ratios.columns
    }
    return pd.DataFrame(data, index=pd.Index(taus, name="tau"))
