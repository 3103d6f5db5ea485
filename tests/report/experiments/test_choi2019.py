"""choi2019: the verdicts on hand-made curves and confirmation runs, and the whole command at a
reduced size."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from processes import run_experiment

from bench.report.experiments.choi2019 import analyse_choi2019, confirmed_log_loss
from bench.report.load import StudyData

STEPS = np.arange(0, 101)
SEEDS = (0, 1)
Curve = Callable[[int, np.ndarray], np.ndarray]


def _limit(name: str, eps: float, curve: Curve) -> StudyData:
    """A single-run study whose seed s follows ``curve(s, steps)``."""
    runs = pd.DataFrame({"trial": 0, "seed": list(SEEDS), "eps": eps, "status": "complete"})
    curves = pd.DataFrame(
        [
            (0, s, int(t), float(v))
            for s in SEEDS
            for t, v in zip(STEPS, curve(s, STEPS), strict=True)
        ],
        columns=["trial", "seed", "step", "loss"],
    )
    return StudyData(name, Path(name), runs, curves)


def _tuned(name: str, log_losses: np.ndarray) -> StudyData:
    """A tuned study whose confirmation runs end at 10^log_losses on seeds 2, 3, …"""
    seeds = np.arange(2, 2 + len(log_losses))
    confirm = pd.DataFrame(
        {"trial": 9, "seed": seeds, "phase": "confirm", "status": "complete"}
        | {"final_loss": 10.0**log_losses}
    )
    search = confirm.assign(phase="search", trial=0, final_loss=1e9)
    # As the loader splits them: the search in ``runs``, the confirmation in ``confirm``.
    return StudyData(name, Path(name), search, pd.DataFrame(), confirm=confirm)


def momentum(s: int, t: np.ndarray) -> np.ndarray:
    return (1.0 + s) * np.exp(-0.01 * t)


def _studies(exact: Callable[[float], Curve], corrected: Curve, tuned: dict[str, np.ndarray]):
    studies = [_limit("choi2019-limit-momentum", 0.0, momentum)]
    for eps in (1e-2, 1.0, 1e2, 1e4, 1e6):
        tag = f"eps1e{int(np.log10(eps))}"
        studies.append(_limit(f"choi2019-limit-adam-nobc-{tag}", eps, exact(eps)))
        studies.append(_limit(f"choi2019-limit-adam-{tag}", eps, corrected))
    names = ("adam", "adam-eps1e-8", "momentum", "sgd")
    studies += [_tuned(f"choi2019-tuned-{n}", tuned[n]) for n in names]
    return studies


RNG = np.random.default_rng(0)
CALM = RNG.normal(0.0, 0.01, 10)
WIDE = np.array([-0.4, 0.4, -0.3, 0.3, -0.2, 0.2, -0.1, 0.1, 0.0, 0.0])


def follows(eps: float) -> Curve:
    """Adam without the correction: momentum's curve, off by 1/ε relative."""
    return lambda s, t: momentum(s, t) * (1 + 1 / eps)


def apart(eps: float) -> Curve:
    """A curve 50 % off whatever ε."""
    return lambda s, t: momentum(s, t) * 1.5


def split(eps: float) -> Curve:
    """Seed 0 follows, seed 1 stays 50 % off: the seeds disagree."""
    return lambda s, t: momentum(s, t) * (1 + 1 / eps if s == 0 else 1.5)


CASES = {
    "supported": (
        follows,
        lambda s, t: momentum(s, t + 1),  # a head start of one step: 1 % ahead, same rate
        {"adam": -2 + CALM, "adam-eps1e-8": -2 + CALM, "momentum": -2 + CALM, "sgd": -1 + CALM},
    ),
    "contradicted": (
        apart,
        lambda s, t: momentum(s, 2 * t),  # twice momentum's rate
        {"adam": -1 + CALM, "adam-eps1e-8": -1 + CALM, "momentum": -2 + CALM, "sgd": -3 + CALM},
    ),
    "inconclusive": (
        split,
        lambda s, t: momentum(s, t + 1) if s == 0 else momentum(s, 2 * t),
        # Each paired difference averages the margin, ± 0.4 over the seeds.
        {"adam": 0.1 + WIDE, "adam-eps1e-8": 0.1 + WIDE, "momentum": 0 * WIDE, "sgd": -0.1 - WIDE},
    ),
}


@pytest.mark.parametrize("outcome", CASES)
def test_every_claim_takes_the_verdict_its_data_make(outcome: str) -> None:
    findings = analyse_choi2019(_studies(*CASES[outcome]))
    assert len(findings) == 7
    assert [f.verdict for f in findings] == [outcome] * 7


def test_a_diverged_confirmation_run_counts_as_the_worst_loss() -> None:
    study = _tuned("s", np.array([-2.0, -2.0]))
    study.confirm.loc[:, "final_loss"] = [np.inf, 0.01]
    log = confirmed_log_loss(study)
    assert log.index.tolist() == [2, 3]
    assert log.iloc[0] > 38 and log.iloc[1] == pytest.approx(-2.0)


def test_the_whole_command_writes_a_verdict_for_every_claim(tmp_path: Path) -> None:
    design = ("limit_steps=20", "limit_seeds=1", "steps=5", "seeds=1", "n_trials=2")
    design += ("batch_size=2", "confirm_seeds=2")
    verdicts = run_experiment("choi2019", *(f"design.{d}" for d in design), cwd=tmp_path)
    assert len(verdicts) == 7
