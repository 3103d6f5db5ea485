"""Wilson et al. 2017 §3.3: on their separable least-squares problem, gradient descent from 0
generalises perfectly while Adam, RMSProp and AdaGrad predict +1 for every new point.

Each seed is its own data set (task ``wilson_separable``); each rule runs a grid of step sizes on
the same seeds. The paper's claims hold for every step size that converges, so a run counts when
its final training loss reached the task's target (``final_loss <= target``, not diverged); the
unit of replication is the data set (seed), summarised over its converged step sizes.

- Gradient descent: the share of data sets on which every converged step size has zero test
  error, with its Wilson interval; the claim holds where it is above 0.9.
- Each adaptive rule: per data set, the mean over converged step sizes of (test error − the share
  of negative test labels), which is 0 exactly when every test point is predicted +1; averaged
  over data sets with a bootstrap interval; the claim holds where it lies within ±0.05.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from bench.report.experiments import experiment
from bench.report.findings import Finding, Threshold, bootstrap_interval, proportion
from bench.report.load import ReportError, StudyData

__all__ = ["converged_runs", "wilson2017"]

SOURCE = (
    "Wilson, Roelofs, Stern, Srebro & Recht 2017, The Marginal Value of Adaptive Gradient "
    "Methods in Machine Learning, §3.3"
)
GD_THRESHOLD = Threshold(">", 0.9)
ADAPTIVE_THRESHOLD = Threshold("within", low=-0.05, high=0.05)
ADAPTIVE = {"adam": "Adam", "rmsprop": "RMSProp", "adagrad": "AdaGrad"}


def converged_runs(study: StudyData) -> pd.DataFrame:
    """The study's runs whose training loss ended at or below the task's target."""
    runs = study.runs
    missing = {"test_accuracy", "test_negative_share", "lr"} - set(runs)
    if missing:
        raise ReportError(f"study {study.name!r} lacks {', '.join(sorted(missing))}; re-run it")
    if "phase" in runs:
        runs = runs[runs.phase.fillna("search") == "search"]
    ok = (runs.status != "diverged") & (runs.final_loss <= runs.target)
    return runs[ok.fillna(False).astype(bool)]


def _step_sizes(study: StudyData, runs: pd.DataFrame) -> str:
    """ "0.1, 0.3 (converged in k of n runs)": the step sizes that entered, and how many runs."""
    sizes = ", ".join(f"{lr:g}" for lr in sorted(runs.lr.unique())) or "none"
    return f"step sizes {sizes} (converged in {len(runs)} of {len(study.runs)} runs)"


def _study_of(studies: Sequence[StudyData], rule: str) -> StudyData:
    found = [s for s in studies if s.optimizer == rule and s.task == "wilson_separable"]
    if len(found) != 1:
        raise ReportError(f"wilson2017 needs one study of {rule} on wilson_separable")
    return found[0]


def _gradient_descent(study: StudyData) -> Finding:
    runs = converged_runs(study)
    error = 1.0 - runs.test_accuracy
    perfect = (error == 0).groupby(runs.seed).all()
    share, ci = proportion(int(perfect.sum()), len(perfect))
    return Finding.of(
        claim=(
            "Gradient descent from w = 0 converges to the minimum-norm solution, which has zero "
            f"test error; SGD without momentum, full batch, {_step_sizes(study, runs)}"
        ),
        source=SOURCE,
        statistic="share of data sets (seeds) with zero test error at every converged step size",
        value=share,
        ci=ci,
        n=len(perfect),
        threshold=GD_THRESHOLD,
    )


def _adaptive(study: StudyData, label: str) -> Finding:
    runs = converged_runs(study)
    gap = (1.0 - runs.test_accuracy) - runs.test_negative_share
    per_seed = gap.groupby(runs.seed).mean().to_numpy()
    value, ci = bootstrap_interval([per_seed], np.mean)
    return Finding.of(
        claim=(
            f"{label} from w = 0 converges to a solution that predicts +1 for every new point "
            f"(test error = the share of negative labels); {_step_sizes(study, runs)}, the same "
            "data sets as gradient descent"
        ),
        source=SOURCE,
        statistic="mean over data sets of (test error − share of negative test labels)",
        value=value if len(per_seed) else math.nan,
        ci=ci,
        n=len(per_seed),
        threshold=ADAPTIVE_THRESHOLD,
    )


@experiment("wilson2017")
def wilson2017(studies: Sequence[StudyData]) -> list[Finding]:
    """Judge GD's zero test error and the adaptive rules' all-positive predictions."""
    findings = [_gradient_descent(_study_of(studies, "sgd"))]
    for rule, label in ADAPTIVE.items():
        findings.append(_adaptive(_study_of(studies, rule), label))
    return findings
