"""Kingma & Ba (2015) §6.4: Adam's bias-correction term and early-training stability.

The design (``conf/experiment/kingma_ba2014.yaml``): the grid β₁ ∈ {0, 0.9} × β₂ ∈ {0.99,
0.999, 0.9999} × η ∈ 10^{−5…−1}, once with the bias correction and once without, on the same
seeds and an early-training budget, plus Adam's defaults as a baseline. The paper trained a
variational auto-encoder; the jobs train an MLP on the bundled digits.

A run is *unstable* when it diverged, or when its loss at the early checkpoint (the end of the
budget) is above its initial loss (fixed before any run was looked at).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from bench.report.experiments import experiment, study_named
from bench.report.findings import (
    Finding,
    Threshold,
    bootstrap_interval,
    proportion_difference,
)
from bench.report.load import StudyData

__all__ = ["NEAR_ONE", "FAR", "MARGIN", "analyse_kingma_ba2014", "unstable"]

SOURCE = "Kingma & Ba (2015), Adam, §6.4 and Fig. 4"
CORRECTED = "kingma_ba2014-corrected"
UNCORRECTED = "kingma_ba2014-uncorrected"
DEFAULTS = "kingma_ba2014-defaults"
#: β₂ close to 1, where the paper sees the instability, and the grid's β₂ farthest from 1.
NEAR_ONE = 0.9999
FAR = 0.99
#: How much more often corrected Adam may be unstable at β₂ = 0.9999 than at 0.99 and still count
#: as "not unstable for β₂ near 1": the design's margin, one grid cell in ten.
MARGIN = 0.1


def unstable(study: StudyData) -> pd.DataFrame:
    """The study's finished runs with ``unstable``: diverged, or the checkpoint loss above the
    initial loss (the curve's first point)."""
    runs = study.runs[study.runs["status"].isin(("complete", "diverged"))].copy()
    curves = study.curves
    first = curves.loc[curves.groupby(["trial", "seed"])["step"].idxmin()]
    initial = first.set_index(["trial", "seed"])["loss"].rename("initial_loss")
    runs = runs.join(initial, on=["trial", "seed"])
    final = runs["final_loss"].astype(float)
    above = ~(final <= runs["initial_loss"].astype(float))  # NaN or inf count as above
    runs["unstable"] = (runs["status"] == "diverged") | runs["diverged_step"].notna() | above
    return runs


def _count(runs: pd.DataFrame, beta2: float) -> tuple[int, int]:
    cell = runs[np.isclose(runs["beta2"].astype(float), beta2)]
    return int(cell["unstable"].sum()), len(cell)


@experiment("kingma_ba2014")
def analyse_kingma_ba2014(studies: Sequence[StudyData]) -> list[Finding]:
    """The verdicts on §6.4's claims from the corrected, uncorrected and defaults studies."""
    corrected = unstable(study_named(studies, CORRECTED))
    uncorrected = unstable(study_named(studies, UNCORRECTED))
    defaults = unstable(study_named(studies, DEFAULTS))
    k_off, n_off = _count(uncorrected, NEAR_ONE)
    k_on, n_on = _count(corrected, NEAR_ONE)
    k_far, n_far = _count(corrected, FAR)
    steps = study_named(studies, CORRECTED).steps
    grid = "over β₁ ∈ {0, 0.9} × η ∈ 10^{−5…−1} × seeds"
    return [
        Finding.of(
            "Without the bias-correction term Adam is unstable early in training for β₂ close "
            f"to 1; with it, it is not (β₂ = {NEAR_ONE:g}, {steps} updates; {grid}, the same "
            "grid and seeds with and without)",
            SOURCE,
            f"unstable share without − with the correction at β₂ = {NEAR_ONE:g} (Newcombe)",
            *proportion_difference(k_off, n_off, k_on, n_on),
            n_off + n_on,
            Threshold(">", 0.0),
        ),
        Finding.of(
            f"With the bias correction, β₂ close to 1 does not make Adam unstable: its unstable "
            f"share at β₂ = {NEAR_ONE:g} exceeds that at β₂ = {FAR:g} by less than the margin "
            f"{MARGIN:g} ({grid})",
            SOURCE,
            f"unstable share with the correction, β₂ = {NEAR_ONE:g} − β₂ = {FAR:g} (Newcombe)",
            *proportion_difference(k_on, n_on, k_far, n_far),
            n_on + n_far,
            Threshold("<", MARGIN),
        ),
        _defaults_baseline(defaults, steps),
    ]


def _defaults_baseline(runs: pd.DataFrame, steps: int) -> Finding:
    """The baseline row: Adam's defaults make progress in the same early budget."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.log10(runs["final_loss"].to_numpy(float) / runs["initial_loss"].to_numpy(float))
    # A diverged run (an infinite or missing loss) counts as float32's largest loss ratio.
    ratio = np.where(np.isfinite(ratio), ratio, np.log10(np.finfo(np.float32).max))
    value, ci = bootstrap_interval([ratio], np.mean)
    return Finding.of(
        f"Baseline: Adam's defaults (η 1e-3, β₁ 0.9, β₂ 0.999, ε 1e-8, with the correction) "
        f"lower the loss within the same {steps} updates",
        "Kingma & Ba (2015), Algorithm 1 (the defaults)",
        "mean log10(checkpoint loss / initial loss) over seeds (bootstrap)",
        value,
        ci,
        len(ratio),
        Threshold("<", 0.0),
    )
