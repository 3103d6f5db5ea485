"""The kramers analysis on hand-made first-passage times, and the whole command at a small size."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from processes import run_experiment

from bench.report.experiments import analyse
from bench.report.experiments.kramers import DoubleWellFacts, mean_first_passage
from bench.report.load import StudyData

LR, TILT = 0.01, 0.3
FACTS = DoubleWellFacts(TILT)
#: ΔL/T = 2 ... 6, as the experiment's jobs.
SIGMAS = [math.sqrt(2 * FACTS.barrier / (k * LR)) for k in (2, 3, 4, 5, 6)]


def _study(sigma: float, times: np.ndarray, steps: int) -> StudyData:
    escaped = times <= steps
    runs = pd.DataFrame(
        {
            "seed": np.arange(len(times)),
            "steps": steps,
            "start_in_basin": False,
            "escape_step": pd.array(np.where(escaped, times, 0), dtype="Int64"),
        }
    )
    runs.loc[~escaped, "escape_step"] = pd.NA
    config = {
        "task": {"name": "double_well", "tilt": TILT, "noise": sigma, "x0": FACTS.local_min},
        "optimizer": {"name": "sgd", "lr": LR, "momentum": 0.0},
        "steps": steps,
    }
    return StudyData(f"kramers-noise{sigma:.2f}", Path("."), runs, pd.DataFrame(), config=config)


def _studies(slope: float, prefactor: float, runs: int, seed: int = 0) -> list[StudyData]:
    """Exponential first passages, mean prefactor · exp(slope · ΔL / T), censored at 1.5 means."""
    rng = np.random.default_rng(seed)
    studies = []
    for sigma in SIGMAS:
        temperature = LR * sigma**2 / 2
        mean = prefactor * FACTS.prefactor(LR) * math.exp(slope * FACTS.barrier / temperature)
        times = np.ceil(rng.exponential(mean, runs)).astype(int)
        studies.append(_study(sigma, times, steps=int(1.5 * mean)))
    return studies


def test_the_barrier_and_curvatures_of_the_default_well() -> None:
    assert FACTS.local_min == pytest.approx(0.9601495555191059, abs=1e-12)
    assert FACTS.barrier == pytest.approx(0.7171, abs=1e-4)
    assert FACTS.curvature_min > 0 > FACTS.curvature_ridge


def test_censored_mean_is_steps_at_risk_over_escapes() -> None:
    runs = np.array([[10.0, 1.0], [30.0, 1.0], [100.0, 0.0]])
    assert mean_first_passage(runs) == pytest.approx(70.0)
    assert mean_first_passage(runs[2:]) == math.inf


@pytest.mark.parametrize(
    ("slope", "prefactor", "runs", "verdicts"),
    [
        (1.0, 1.0, 3000, ("supported", "supported")),
        (0.7, 5.0, 3000, ("contradicted", "contradicted")),
        (1.0, 1.0, 15, ("inconclusive", "inconclusive")),
    ],
)
def test_verdicts_on_hand_made_first_passages(slope, prefactor, runs, verdicts) -> None:
    findings = analyse("kramers", _studies(slope, prefactor, runs))
    assert tuple(f.verdict for f in findings) == verdicts
    if runs > 100:
        assert findings[0].value == pytest.approx(slope, rel=0.05)
        assert findings[1].n == 5 * runs


def test_the_reduced_command_writes_every_claim(tmp_path: Path) -> None:
    steps = [f"design.steps.t{k}=150" for k in (2, 3, 4, 5, 6)]
    verdicts = run_experiment("kramers", "design.seeds=64", *steps, cwd=tmp_path)
    assert [v["statistic"].split(" (")[0] for v in verdicts] == [
        "fitted slope / ΔL",
        "exp(fitted intercept) / Kramers' prefactor",
    ]
    assert all(v["n"] == 5 * 64 for v in verdicts)
