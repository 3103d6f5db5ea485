"""seed_claims: the analysis on hand-made studies (each verdict), and the whole command, reduced."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from processes import run_experiment

from bench.report.experiments import analyse
from bench.report.load import StudyData


def _study(name: str, runs: dict, steps: int = 100, **task: object) -> StudyData:
    frame = pd.DataFrame(runs)
    frame["study"] = name
    config = {"steps": steps, "task": {"name": "t", **task}}
    return StudyData(name, Path("."), frame, pd.DataFrame(), config=config)


def _q1(name: str, escapes: int, n: int) -> StudyData:
    escape = [5] * escapes + [None] * (n - escapes)
    return _study(
        name,
        {
            "trial": range(n),
            "seed": 0,
            "lr": np.geomspace(1e-3, 0.1, n),
            "status": "complete",
            "start_in_basin": False,
            "end_in_basin": [e is not None for e in escape],
            "escape_step": pd.array(escape, dtype="Int64"),
        },
        x0=0.5,
        noise=3.0,
    )


def _tuned(name: str, hits: list[int | None], diverged: int, f_final: float) -> StudyData:
    search = len(hits) + diverged
    confirm = pd.DataFrame(
        {
            "trial": 99,
            "seed": range(len(hits)),
            "lr": 0.1,
            "status": "complete",
            "phase": "confirm",
            "steps_to_target": pd.array(hits, dtype="Int64"),
            "final_loss": f_final,
            "objective": 1.0,
        }
    )
    runs = pd.DataFrame(
        {
            "trial": range(search),
            "seed": 0,
            "lr": np.geomspace(1e-4, 1.0, search),
            "status": ["complete"] * len(hits) + ["diverged"] * diverged,
            "phase": "search",
            "steps_to_target": pd.array([None] * search, dtype="Int64"),
            "final_loss": f_final,
            "objective": 1.0,
        }
    )
    return StudyData(
        name,
        Path("."),
        runs.assign(study=name),
        pd.DataFrame(),
        config={"steps": 100, "task": {"name": "t", "noise": 1.0}},
        confirm=confirm.assign(study=name),
    )


def _studies(
    *,
    gd_escapes: int,
    sgd_escapes: int,
    n: int,
    adam_hits: int,
    distance: float,
    adam_final: float = 1e-4,
):
    studies = [_q1("seed_claims-q1-gd", gd_escapes, n), _q1("seed_claims-q1-sgd", sgd_escapes, n)]
    for suffix in ("linreg", "quadratic", "logreg", "noisy"):
        studies.append(_tuned(f"seed_claims-gd-{suffix}", [80] * 10, 20, 1e-2))
        studies.append(_tuned(f"seed_claims-adam-{suffix}", [adam_hits] * 10, 0, adam_final))
    for example in ("gd", "keras"):
        studies.append(
            _study(f"seed_claims-example-{example}", {"distance_to_minimizer": [distance] * 16})
        )
    return studies


def _verdicts(studies) -> list[str]:
    return [f.verdict for f in analyse("seed_claims", studies)]


def test_supported_where_the_data_say_so() -> None:
    found = _verdicts(_studies(gd_escapes=0, sgd_escapes=60, n=128, adam_hits=20, distance=1e-5))
    assert found == ["supported"] * len(found) and len(found) == 11


def test_contradicted_where_the_data_say_the_opposite() -> None:
    studies = _studies(
        gd_escapes=64, sgd_escapes=10, n=128, adam_hits=95, distance=0.1, adam_final=1.0
    )
    found = _verdicts(studies)
    # Adam still diverges less here (rows 3, 5, 7); every other claim is contradicted.
    assert [v for i, v in enumerate(found) if i in (3, 5, 7)] == ["supported"] * 3
    assert all(v == "contradicted" for i, v in enumerate(found) if i not in (3, 5, 7))


def test_inconclusive_with_too_few_runs() -> None:
    found = analyse(
        "seed_claims", _studies(gd_escapes=0, sgd_escapes=1, n=8, adam_hits=20, distance=1e-5)
    )
    assert [f.verdict for f in found[:2]] == ["inconclusive", "inconclusive"]
    assert found[0].n == 8


def test_the_command_writes_its_verdicts(tmp_path: Path) -> None:
    design = ("q1_trials=16", "q1_seeds=2", "q1_steps=200", "trials=8", "seeds=2", "steps=100")
    design += ("digits_steps=20", "example_seeds=2")
    rows = run_experiment("seed_claims", *(f"design.{d}" for d in design), cwd=tmp_path)
    assert len(rows) == 11
