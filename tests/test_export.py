"""What a single run prints of its seeds."""

from __future__ import annotations

import pandas as pd

from bench.sweep.export import LISTED_STEPS, summary_text


def _runs(diverged_steps: list[int], converged: int = 2) -> pd.DataFrame:
    n = len(diverged_steps) + converged
    return pd.DataFrame(
        {
            "status": ["diverged"] * len(diverged_steps) + ["complete"] * converged,
            "final_loss": [float("nan")] * len(diverged_steps) + [0.5] * converged,
            "steps_to_target": pd.array([None] * n, dtype="Int64"),
            "diverged_step": pd.array(diverged_steps + [None] * converged, dtype="Int64"),
            "steps": [100] * n,
        }
    )


def _diverged_line(runs: pd.DataFrame) -> str:
    return next(line for line in summary_text(runs).splitlines() if line.startswith("diverged"))


def test_a_few_diverged_runs_are_listed_with_their_steps() -> None:
    assert _diverged_line(_runs([3, 7])) == "diverged        2/4 (at steps 3, 7)"
    assert _diverged_line(_runs([])) == "diverged        0/2"


def test_many_diverged_runs_print_one_short_line() -> None:
    many = _runs([1] * 100_000)
    assert _diverged_line(many) == "diverged        100000/100002 (all at step 1)"
    spread = _runs([5, 1, 9, 2] * (LISTED_STEPS // 4 + 1))
    count = len(spread) - 2
    expected = f"diverged        {count}/{count + 2} (at steps 1–9, median 3.5)"
    assert _diverged_line(spread) == expected
