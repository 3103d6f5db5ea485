"""kingma_ba2014: the verdicts on hand-made grids, and the whole command at a reduced size."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from processes import run_experiment

from bench.report.experiments.kingma_ba2014 import analyse_kingma_ba2014, unstable
from bench.report.load import StudyData


def _study(name: str, cells: dict[float, list[float]]) -> StudyData:
    """A study whose runs at β₂ = key end at the listed losses, each from an initial loss of 1."""
    rows, curves = [], []
    for trial, (beta2, finals) in enumerate(cells.items()):
        for seed, final in enumerate(finals):
            diverged = final == float("inf")
            rows.append(
                {
                    "trial": trial,
                    "seed": seed,
                    "beta1": 0.9,
                    "beta2": beta2,
                    "lr": 1e-2,
                    "status": "diverged" if diverged else "complete",
                    "final_loss": final,
                    "diverged_step": 5 if diverged else pd.NA,
                }
            )
            curves += [(trial, seed, 0, 1.0), (trial, seed, 10, final)]
    runs = pd.DataFrame(rows).astype({"diverged_step": "Int64"})
    curve = pd.DataFrame(curves, columns=["trial", "seed", "step", "loss"])
    return StudyData(name, Path(name), runs, curve, {"steps": 10})


def _studies(uncorrected_near, corrected_near, corrected_far, defaults):
    return [
        _study("kingma_ba2014-uncorrected", {0.9999: uncorrected_near, 0.99: [0.5] * 4}),
        _study("kingma_ba2014-corrected", {0.9999: corrected_near, 0.99: corrected_far}),
        _study("kingma_ba2014-defaults", {0.999: defaults}),
    ]


STABLE, UNSTABLE = 0.5, 2.0


def test_a_run_is_unstable_when_it_diverged_or_ends_above_its_start() -> None:
    study = _study("s", {0.9999: [0.5, 2.0, float("inf"), float("nan")]})
    assert unstable(study)["unstable"].tolist() == [False, True, True, True]


@pytest.mark.parametrize(
    ("cells", "verdicts"),
    [
        # Every uncorrected run at β₂ = 0.9999 unstable, every corrected one stable.
        (
            ([UNSTABLE] * 60, [STABLE] * 60, [STABLE] * 60, [0.5, 0.4, 0.6, 0.5]),
            ["supported", "supported", "supported"],
        ),
        # The other way round, and the defaults raise the loss.
        (
            ([STABLE] * 60, [UNSTABLE] * 60, [STABLE] * 60, [2.0, 3.0, 2.5, 2.0]),
            ["contradicted", "contradicted", "contradicted"],
        ),
        # Four runs a cell cannot tell.
        (
            (
                [UNSTABLE, UNSTABLE, STABLE, STABLE],
                [UNSTABLE, STABLE, STABLE, STABLE],
                [STABLE] * 4,
                [0.5, 2.0, 0.4, 2.5],
            ),
            ["inconclusive", "inconclusive", "inconclusive"],
        ),
    ],
)
def test_verdicts_on_hand_made_grids(cells, verdicts) -> None:
    findings = analyse_kingma_ba2014(_studies(*cells))
    assert [f.verdict for f in findings] == verdicts
    assert all(f.n > 0 for f in findings)


def test_the_whole_command_writes_a_verdict_for_every_claim(tmp_path: Path) -> None:
    verdicts = run_experiment("kingma_ba2014", "design.seeds=1", "design.steps=4", cwd=tmp_path)
    assert len(verdicts) == 3
