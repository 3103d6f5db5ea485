"""Choi et al. (2019), "On Empirical Comparisons of Optimizers for Deep Learning": inclusions.

(a) As ε grows, Adam with lr = η·ε/(1 − β₁) takes momentum SGD's steps (torch's SGD: buf =
μ·buf + g, θ −= η·buf): m_t = (1 − β₁)·buf_t, and √v̂ + ε → ε. The bias correction divides the
first steps by 1 − β₁ᵗ, a warm-up that fades; what it leaves behind is what (a) measures. Single
runs on the deterministic quadratic in float64, each Adam run against the momentum run on the
same seed (``conf/jobs/choi2019/momentum.yaml``, ``adam_eps*.yaml``, ``adam_nobc_eps*.yaml``).

(b) Tuned with the same trial budget, seeds and η range, Adam with ε searched up to 1e4 is not
worse than momentum SGD, which is not worse than SGD; and Adam with ε fixed at 1e-8 against
momentum SGD. "Not worse" is non-inferiority on the confirmation runs (the best configuration of
each study re-run on the same fresh seeds): the mean over seeds of the paired difference of
log10 final training loss is below ``MARGIN``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from bench.report.experiments import experiment, study_named
from bench.report.findings import Finding, Threshold, bootstrap_interval
from bench.report.load import StudyData

__all__ = [
    "AGREE",
    "EXACT",
    "MARGIN",
    "RATE",
    "SLOPE",
    "analyse_choi2019",
    "confirmed_log_loss",
    "curve_gaps",
]

SOURCE = "Choi et al. (2019), On Empirical Comparisons of Optimizers for Deep Learning, §3"
MOMENTUM = "choi2019-limit-momentum"
#: Study-name prefixes of the Adam runs of (a), with and without the bias correction.
WITH = "choi2019-limit-adam-eps"
WITHOUT = "choi2019-limit-adam-nobc-eps"
TUNED = {
    "adam": "choi2019-tuned-adam",
    "adam_eps1e-8": "choi2019-tuned-adam-eps1e-8",
    "momentum": "choi2019-tuned-momentum",
    "sgd": "choi2019-tuned-sgd",
}
#: (a) without the correction: the largest ε's runs equal momentum SGD's to this relative loss.
EXACT = 1e-3
#: (a) the gap shrinks at least like ε^(−1/2) over ε ≥ 1 (theory: like 1/ε, √v̂/ε).
SLOPE = -0.5
#: (a) with the correction, over the second half: losses agree to 5 %, decay rates to 1 %.
AGREE = 0.05
RATE = 0.01
#: (b) non-inferiority margin on log10 final loss: at most 10^0.1 ≈ 1.26 times the loss.
MARGIN = 0.1
#: A diverged run's log10 loss: float32's largest, so that it counts as the worst outcome.
DIVERGED_LOG10 = float(np.log10(np.finfo(np.float32).max))


def _curve(study: StudyData) -> pd.DataFrame:
    """Loss per (seed, step), one column per seed."""
    return study.curves.pivot_table(index="step", columns="seed", values="loss")


def curve_gaps(adam: StudyData, momentum: StudyData, *, second_half: bool) -> pd.DataFrame:
    """Per seed: the largest relative loss difference to the momentum run (over the whole run or
    its second half), and the relative difference of the second half's decay rates (the slope of
    ln loss against the step, fitted by least squares)."""
    a, m = _curve(adam), _curve(momentum)
    seeds = a.columns.intersection(m.columns)
    steps = a.index.intersection(m.index)
    a, m = a.loc[steps, seeds], m.loc[steps, seeds]
    late = steps[steps > steps.max() / 2]
    window = late if second_half else steps
    gap = ((a.loc[window] - m.loc[window]).abs() / m.loc[window].abs()).max()
    rate = pd.Series(
        [_rate_gap(a.loc[late, s], m.loc[late, s]) for s in seeds], index=seeds, dtype=float
    )
    return pd.DataFrame({"gap": gap.astype(float), "rate_gap": rate})


def _rate_gap(adam: pd.Series, momentum: pd.Series) -> float:
    x = adam.index.to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ya, ym = np.log(adam.to_numpy(float)), np.log(momentum.to_numpy(float))
    if not (np.isfinite(ya).all() and np.isfinite(ym).all()) or len(x) < 2:
        return np.inf
    sa, sm = np.polyfit(x, ya, 1)[0], np.polyfit(x, ym, 1)[0]
    return abs(sa - sm) / abs(sm) if sm != 0 else np.inf


def _family(studies: Sequence[StudyData], prefix: str) -> list[tuple[float, StudyData]]:
    """The (a) studies of one family, by ε."""
    found = [(float(s.runs["eps"].iloc[0]), s) for s in studies if s.name.startswith(prefix)]
    return sorted(found, key=lambda pair: pair[0])


def _seed_range(values: pd.Series) -> tuple[float, tuple[float, float]]:
    """The worst seed's value, and the range over seeds as its interval (the runs are
    deterministic: the spread is over initial points, not noise)."""
    v = values.replace(np.nan, np.inf).to_numpy(float)
    return float(v.max()), (float(v.min()), float(v.max()))


def _slope(family: list[tuple[float, StudyData]], momentum: StudyData) -> pd.Series:
    """Per seed: the least-squares slope of log10 whole-run gap against log10 ε, over ε ≥ 1."""
    large = [(eps, s) for eps, s in family if eps >= 1.0]
    if len(large) < 2:
        return pd.Series(dtype=float)
    gaps = pd.DataFrame(
        {eps: curve_gaps(s, momentum, second_half=False)["gap"] for eps, s in large}
    )
    x = np.log10(np.array(list(gaps.columns), dtype=float))
    with np.errstate(divide="ignore"):
        y = np.log10(gaps.to_numpy(float))
    slopes = [np.polyfit(x, row, 1)[0] if np.isfinite(row).all() else np.nan for row in y]
    return pd.Series(slopes, index=gaps.index, dtype=float)


def confirmed_log_loss(study: StudyData) -> pd.Series:
    """log10 final loss of the study's confirmation runs, by seed (a diverged run as the worst)."""
    runs = study.runs[study.runs["phase"] == "confirm"]
    loss = runs["final_loss"].astype(float).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        log = np.log10(loss)
    bad = ~np.isfinite(log) | (runs["status"] == "diverged").to_numpy()
    log = np.where(bad, DIVERGED_LOG10, log)
    return pd.Series(log, index=runs["seed"].astype(int).to_numpy(), dtype=float).sort_index()


def _not_worse(
    studies: Sequence[StudyData], better: str, worse: str, claim: str, label: str
) -> Finding:
    a = confirmed_log_loss(study_named(studies, TUNED[better]))
    b = confirmed_log_loss(study_named(studies, TUNED[worse]))
    seeds = a.index.intersection(b.index)
    diff = (a.loc[seeds] - b.loc[seeds]).to_numpy()
    value, ci = bootstrap_interval([diff], np.mean)
    return Finding.of(
        claim,
        SOURCE,
        f"mean paired difference of log10 final loss, {label}, on the confirmation seeds "
        "(bootstrap)",
        value,
        ci,
        len(diff),
        Threshold("<", MARGIN),
    )


@experiment("choi2019")
def analyse_choi2019(studies: Sequence[StudyData]) -> list[Finding]:
    """The verdicts on the inclusion claims (a) and (b)."""
    momentum = study_named(studies, MOMENTUM)
    without, with_ = _family(studies, WITHOUT), _family(studies, WITH)
    eps_max, exact = without[-1]
    eps_bc, corrected = with_[-1]
    gaps_exact = curve_gaps(exact, momentum, second_half=False)
    gaps_bc = curve_gaps(corrected, momentum, second_half=True)
    slopes = _slope(without, momentum)
    tuned = study_named(studies, TUNED["adam"])
    budget = f"the same trial budget, seeds and η range [1e-5, 10] on {tuned.task}"
    return [
        Finding.of(
            f"As ε grows, Adam with lr = η·ε/(1 − β₁) follows momentum SGD(η, β₁): without the "
            f"bias correction (set aside in the paper's argument), at ε = {eps_max:g} the loss "
            f"curves agree to {EXACT:g} relative",
            SOURCE,
            "largest relative loss difference over the run, worst seed (range over seeds)",
            *_seed_range(gaps_exact["gap"]),
            len(gaps_exact),
            Threshold("<", EXACT),
        ),
        Finding.of(
            "…and the gap closes as ε grows, at least like ε^(−1/2) (without the correction, "
            "over ε ≥ 1)",
            SOURCE,
            "slope of log10 gap against log10 ε, worst seed (range over seeds)",
            *_seed_range(slopes),
            len(slopes),
            Threshold("<", SLOPE),
        ),
        Finding.of(
            f"With the bias correction (torch's Adam), at ε = {eps_bc:g}, the loss curves agree "
            f"to {AGREE:g} relative after the correction has faded (second half of the run)",
            SOURCE,
            "largest relative loss difference over the second half, worst seed",
            *_seed_range(gaps_bc["gap"]),
            len(gaps_bc),
            Threshold("<", AGREE),
        ),
        Finding.of(
            f"With the bias correction, at ε = {eps_bc:g}, the second half's loss decay rate "
            f"equals momentum SGD's to {RATE:g} relative (the correction only shifts time)",
            SOURCE,
            "relative difference of the fitted ln-loss slopes over the second half, worst seed",
            *_seed_range(gaps_bc["rate_gap"]),
            len(gaps_bc),
            Threshold("<", RATE),
        ),
        _not_worse(
            studies,
            "adam",
            "momentum",
            f"Tuned with {budget}, Adam with ε searched up to 1e4 is not worse than momentum "
            f"SGD (margin {MARGIN:g} in log10 loss)",
            "Adam − momentum SGD",
        ),
        _not_worse(
            studies,
            "momentum",
            "sgd",
            f"Tuned with {budget}, momentum SGD is not worse than SGD (margin {MARGIN:g} in "
            "log10 loss)",
            "momentum SGD − SGD",
        ),
        _not_worse(
            studies,
            "adam_eps1e-8",
            "momentum",
            f"With ε fixed at 1e-8 (tuned with {budget}), Adam is still not worse than "
            f"momentum SGD (margin {MARGIN:g} in log10 loss)",
            "Adam(ε = 1e-8) − momentum SGD",
        ),
    ]
