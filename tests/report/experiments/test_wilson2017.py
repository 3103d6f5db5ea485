"""The wilson2017 analysis on hand-made runs, and the whole command at a small size."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from processes import run_experiment

from bench.report.experiments import analyse
from bench.report.load import StudyData

RULES = ("sgd", "adam", "rmsprop", "adagrad")


def _study(rule: str, test_error: np.ndarray, negative: np.ndarray, loss: float) -> StudyData:
    seeds = np.arange(len(test_error))
    runs = pd.DataFrame(
        {
            "seed": np.tile(seeds, 2),
            "lr": np.repeat([0.01, 0.1], len(seeds)),
            "status": "complete",
            # The second step size never converges: its runs do not count.
            "final_loss": np.repeat([loss, 1.0], len(seeds)),
            "target": 1e-6,
            "test_accuracy": np.tile(1.0 - test_error, 2),
            "test_negative_share": np.tile(negative, 2),
        }
    )
    config = {"task": {"name": "wilson_separable"}, "optimizer": {"name": rule}}
    return StudyData(f"wilson2017-{rule}", Path("."), runs, pd.DataFrame(), config=config)


def _studies(gd_error: np.ndarray, adaptive_error: np.ndarray, loss: float = 0.0) -> list:
    negative = np.full(len(gd_error), 0.25)
    return [_study("sgd", gd_error, negative, loss)] + [
        _study(rule, adaptive_error, negative, loss) for rule in RULES[1:]
    ]


@pytest.mark.parametrize(
    ("gd_error", "adaptive_error", "verdict"),
    [
        (np.zeros(60), np.full(60, 0.25), "supported"),
        (np.full(60, 0.1), np.full(60, 0.0), "contradicted"),
        (np.r_[np.zeros(10), 0.1], np.r_[np.full(10, 0.25), 0.0], "inconclusive"),
    ],
)
def test_verdicts_on_hand_made_runs(gd_error, adaptive_error, verdict) -> None:
    findings = analyse("wilson2017", _studies(gd_error, adaptive_error))
    assert [f.verdict for f in findings] == [verdict] * 4
    assert findings[0].n == len(gd_error)
    assert "step sizes 0.01 (converged in" in findings[1].claim


def test_runs_that_never_converge_leave_nothing_to_judge() -> None:
    findings = analyse("wilson2017", _studies(np.zeros(8), np.full(8, 0.25), loss=1.0))
    assert [f.verdict for f in findings] == ["inconclusive"] * 4
    assert all(f.n == 0 for f in findings)


def test_the_reduced_command_writes_every_claim(tmp_path: Path) -> None:
    verdicts = run_experiment("wilson2017", "design.seeds=3", "design.steps=200", cwd=tmp_path)
    assert len(verdicts) == 4
    assert {v["source"] for v in verdicts} == {verdicts[0]["source"]}
