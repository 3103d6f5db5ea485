"""Hyperparameter importance of a study, computed when it is exported (the report reads files)."""

from __future__ import annotations

import math

import optuna
import pandas as pd
from optuna.trial import TrialState

from bench.results import IMPORTANCE_COLUMNS
from bench.sweep.ped_anova import ped_anova

__all__ = ["MIN_TRIALS", "hyperparameter_importance", "importance_frame"]

#: Complete trials with a finite objective below which importance says nothing.
MIN_TRIALS = 4


def hyperparameter_importance(study: optuna.Study, evaluator: str = "ped-anova") -> pd.Series:
    """The importance of each searched hyperparameter in a study (sums to 1).

    ``evaluator``: ``ped-anova`` (Watanabe et al. 2023: what matters to land in the top
    quantile; Optuna's default evaluator, computed by ``bench.sweep.ped_anova``) or ``fanova``
    (Hutter et al. 2014, seeded, by Optuna). Raises ``ValueError`` with a reason
    where the study cannot support it (too few complete trials, no parameter common to them,
    or what fANOVA refuses). With PED-ANOVA a parameter that never varies gets 0, unless every
    importance is 0: then each parameter gets an equal share.
    """
    finite = [
        t
        for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if t.value is not None and math.isfinite(t.value)
    ]
    # Confirmation runs (no parameters) re-run a best configuration: they explored nothing.
    complete = [t for t in finite if t.params]
    if len(complete) < MIN_TRIALS:
        raise ValueError(
            f"{len(complete)} complete trials with a finite objective; need {MIN_TRIALS}"
        )
    params = sorted(set.intersection(*(set(t.params) for t in complete)))
    if evaluator == "fanova":
        values = _fanova(study, params)
    else:
        minimize = study.direction == optuna.study.StudyDirection.MINIMIZE
        values = ped_anova(finite, params, minimize)
    if not values:
        raise ValueError("no parameter varies across the complete trials")
    return pd.Series({k: float(v) for k, v in values.items()}, name="importance")


def _fanova(study: optuna.Study, params: list[str]) -> dict[str, float]:
    """Optuna's seeded fANOVA importance, normalised."""
    # Imported here: optuna.importance imports scikit-learn (1.7 s), which only fANOVA needs.
    from optuna.importance import FanovaImportanceEvaluator, get_param_importances

    try:
        return get_param_importances(
            study, evaluator=FanovaImportanceEvaluator(seed=0), params=params, normalize=True
        )
    except (ValueError, RuntimeError, ZeroDivisionError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ValueError(reason) from None


def importance_frame(study: optuna.Study) -> pd.DataFrame:
    """``importance.parquet``: one row per searched hyperparameter, or one row whose ``note``
    says why the study has no importance (its ``parameter`` empty)."""
    try:
        values = hyperparameter_importance(study)
    except ValueError as error:
        rows = [
            {"study": study.study_name, "parameter": None, "importance": None, "note": str(error)}
        ]
    else:
        rows = [
            {"study": study.study_name, "parameter": k, "importance": v, "note": None}
            for k, v in values.items()
        ]
    frame = pd.DataFrame(rows, columns=list(IMPORTANCE_COLUMNS))
    return frame.astype({"parameter": "string", "importance": "float64", "note": "string"})
