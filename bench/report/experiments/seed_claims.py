"""The seed article's claims (Q1–Q3) and its two code examples, judged from their studies.

Studies (``conf/jobs/seed_claims/``): ``seed_claims-q1-gd`` / ``-q1-sgd`` (the double well from
inside the local basin, without and with gradient noise), ``seed_claims-<gd|adam>-<task>``
(equal tuning budgets, seeds and η range on linreg, quadratic, logreg_digits, and a noisy
quadratic), ``seed_claims-example-gd`` / ``-example-keras`` (the article's §4.1 and §4.2).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from bench.report.experiments import experiment, study_named
from bench.report.findings import (
    Finding,
    Threshold,
    bootstrap_interval,
    proportion,
    proportion_difference,
)
from bench.report.load import StudyData

SOURCE = "seed article (GD/SGD vs Adam), appendix"
#: Q1 "stuck": at most this share of runs leaves the local basin.
STUCK_SHARE = 0.05
#: The examples "reach the least-squares solution": within this distance of it (the parameters
#: are of order 1: θ* ≈ (2, −3, 0.5)).
DISTANCE = 1e-3
#: Tasks of Q2/Q3 as (study suffix, how the claim names it).
TASKS = (
    ("linreg", "the article's linear regression"),
    ("quadratic", "an ill-conditioned quadratic (κ = 100)"),
    ("logreg", "logistic regression on digits (minibatches)"),
)


@experiment("seed_claims")
def findings(studies: Sequence[StudyData]) -> list[Finding]:
    """Q1 (stuck without noise, freed by noise), Q2/Q3 per task, and the two examples."""
    rows = _q1(
        study_named(studies, "seed_claims-q1-gd"), study_named(studies, "seed_claims-q1-sgd")
    )
    for suffix, label in TASKS:
        gd = study_named(studies, f"seed_claims-gd-{suffix}")
        adam = study_named(studies, f"seed_claims-adam-{suffix}")
        rows.append(_efficiency(gd, adam, label))
        rows.append(_stability(gd, adam, label))
    rows.append(
        _noise(
            study_named(studies, "seed_claims-gd-noisy"),
            study_named(studies, "seed_claims-adam-noisy"),
        )
    )
    rows.append(
        _example(
            study_named(studies, "seed_claims-example-gd"),
            "§4.1: gradient descent (lr 0.01, 1000 iterations) reaches the least-squares solution "
            "of the 2-feature linear regression. Run with the correct MSE gradient "
            "−(2/n)Xᵀ(y − Xθ): the printed gradient 2*(y_true − y_pred) ignores X and has the "
            "wrong sign.",
        )
    )
    rows.append(
        _example(
            study_named(studies, "seed_claims-example-keras"),
            "§4.2: tf.keras Adam(learning_rate=0.01) on Dense(1) (Keras's ε = 1e-7 before the bias "
            "correction) reaches the least-squares solution within the same 1000 iterations.",
        )
    )
    return rows


def _started_outside(study: StudyData) -> pd.DataFrame:
    runs = study.runs
    keep = runs["status"].isin(("complete", "diverged")) & ~runs["start_in_basin"].astype(bool)
    if "phase" in runs:
        keep &= runs["phase"] == "search"
    return runs[keep]


def _escaped(runs: pd.DataFrame) -> int:
    """Runs that ever entered the global basin (first passage), else that ended in it."""
    if "escape_step" in runs:
        return int(runs["escape_step"].notna().sum())
    return int(runs["end_in_basin"].astype(bool).sum())


def _q1(gd: StudyData, sgd: StudyData) -> list[Finding]:
    still, noisy = _started_outside(gd), _started_outside(sgd)
    k0, n0, k1, n1 = _escaped(still), len(still), _escaped(noisy), len(noisy)
    share, ci = proportion(k0, n0)
    lrs = still["lr"].astype(float)
    span = f"η ∈ [{lrs.min():.3g}, {lrs.max():.3g}]" if len(lrs) else "no runs"
    noise = sgd.task_options.get("noise", math.nan)
    diff, dci = proportion_difference(k1, n1, k0, n0)
    return [
        Finding.of(
            "Q1: gradient descent started in a local minimum's neighbourhood stays stuck there "
            f"(double well from x0 = {gd.task_options.get('x0')}, exact gradients, {span}, "
            f"{gd.steps} steps).",
            SOURCE + " Q1",
            "share of runs that ever enter the global basin",
            share,
            ci,
            n0,
            Threshold("<", STUCK_SHARE),
        ),
        Finding.of(
            "Q1: stochastic gradients help it out (the same runs with Gaussian gradient noise "
            f"σ = {noise:g}, a model of minibatch noise).",
            SOURCE + " Q1",
            "escape share with noise − without (first passage into the global basin)",
            diff,
            dci,
            n0 + n1,
            Threshold(">", 0.0),
        ),
    ]


def _best_runs(study: StudyData) -> tuple[pd.DataFrame, str]:
    """The best configuration's runs on fresh seeds (``confirm``), else on the search seeds."""
    runs = study.runs
    if "phase" in runs and (runs["phase"] == "confirm").any():
        return runs[runs["phase"] == "confirm"], "fresh seeds"
    finite = runs[np.isfinite(runs["objective"].astype(float))]
    if finite.empty:
        return finite, "no finite trial"
    best = finite.loc[finite["objective"].astype(float).idxmin(), "trial"]
    return runs[runs["trial"] == best], "search seeds (no confirmation runs)"


def _spent(runs: pd.DataFrame, steps: int) -> np.ndarray:
    """Per run: [steps spent (the budget where the target was never reached), reached (0/1)]."""
    hit = runs["steps_to_target"].astype("Float64")
    return np.stack([hit.fillna(steps).to_numpy(float), hit.notna().to_numpy(float)], axis=1)


def _ert(spent: np.ndarray) -> float:
    """Expected running time: steps spent by every run over the runs that reached the target."""
    reached = spent[:, 1].sum()
    return float(spent[:, 0].sum() / reached) if reached else math.inf


def _efficiency(gd: StudyData, adam: StudyData, label: str) -> Finding:
    (g, where), (a, _) = _best_runs(gd), _best_runs(adam)
    g_spent, a_spent = _spent(g, gd.steps), _spent(a, adam.steps)

    def log_ratio(ia: np.ndarray, ig: np.ndarray) -> float:
        # Runs resampled within each optimizer; a resample where one never reached the target
        # has no finite ratio and is left out of the interval.
        ratio = _ert(a_spent[ia.astype(int)]) / _ert(g_spent[ig.astype(int)])
        return math.log10(ratio) if 0 < ratio < math.inf else math.nan

    value, ci = bootstrap_interval([np.arange(len(a)), np.arange(len(g))], log_ratio)
    target = f"loss ≤ {gd.target:.6g}" if gd.target is not None else "its target"
    return Finding.of(
        f"Q2/Q3: Adam is more efficient than gradient descent — on {label}, tuned with the same "
        f"budget ({_trials(gd)} trials each), seeds and η range, Adam reaches {target} in fewer "
        f"steps; best configurations re-run on {where}.",
        SOURCE + " Q2, Q3",
        "log10(ERT Adam / ERT GD), steps to target at the best configuration",
        value,
        ci,
        len(a) + len(g),
        Threshold("<", 0.0),
    )


def _searched(study: StudyData) -> pd.DataFrame:
    runs = study.runs
    keep = runs["status"].isin(("complete", "diverged", "pruned"))
    if "phase" in runs:
        keep &= runs["phase"] == "search"
    return runs[keep]


def _stability(gd: StudyData, adam: StudyData, label: str) -> Finding:
    g, a = _searched(gd), _searched(adam)
    kg, ka = int((g["status"] == "diverged").sum()), int((a["status"] == "diverged").sum())
    diff, ci = proportion_difference(ka, len(a), kg, len(g))
    low = max(g["lr"].min(), a["lr"].min()) if len(g) and len(a) else math.nan
    high = min(g["lr"].max(), a["lr"].max()) if len(g) and len(a) else math.nan
    return Finding.of(
        f"Q3: Adam is more stable than gradient descent — on {label}, over the same η range "
        f"(explored η ∈ [{low:.3g}, {high:.3g}] by both), fewer of its runs diverge.",
        SOURCE + " Q3",
        "divergence share Adam − GD, over every search run",
        diff,
        ci,
        len(a) + len(g),
        Threshold("<", 0.0),
    )


def _noise(gd: StudyData, adam: StudyData) -> Finding:
    (g, where), (a, _) = _best_runs(gd), _best_runs(adam)
    f_star = gd.f_star or 0.0

    def gap(runs: pd.DataFrame) -> np.ndarray:
        final = runs["final_loss"].astype(float).to_numpy()
        final = np.where(runs["status"] == "diverged", np.inf, final)
        return np.log10(np.maximum(final - f_star, 1e-12))

    value, ci = bootstrap_interval([gap(a), gap(g)], lambda x, y: x.mean() - y.mean())
    noise = gd.task_options.get("noise", math.nan)
    return Finding.of(
        "Q3: Adam copes better with gradient noise — on the quadratic with Gaussian gradient "
        f"noise σ = {noise:g}, each tuned for final loss with the same budget, Adam ends closer "
        f"to the minimum; best configurations re-run on {where}.",
        SOURCE + " Q3",
        "mean log10(f − f*) at the end, Adam − GD",
        value,
        ci,
        len(a) + len(g),
        Threshold("<", 0.0),
    )


def _example(study: StudyData, claim: str) -> Finding:
    runs = study.runs
    distance = runs["distance_to_minimizer"].astype(float).to_numpy()
    value, ci = bootstrap_interval([distance], np.mean)
    return Finding.of(
        claim,
        "seed article §4",
        f"mean ‖θ − θ*‖ after {study.steps} steps over random starts (θ* by least squares)",
        value,
        ci,
        len(runs),
        Threshold("<", DISTANCE),
    )


def _trials(study: StudyData) -> int:
    runs = study.runs
    if "phase" in runs:
        runs = runs[runs["phase"] == "search"]
    return int(runs["trial"].nunique())
