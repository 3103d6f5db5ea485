"""Per-run tables (one row per member, one per curve point) from an engine result."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import torch

from bench.engine import PopulationResult
from bench.metrics import run_metrics

__all__ = ["curves_table", "runs_table", "summarize"]


def runs_table(
    result: PopulationResult,
    *,
    study: str,
    trials: Sequence[int],
    seeds: Sequence[int],
    task: Any,
    optimizer: str,
    hparams: Mapping[str, Sequence[Any]],
    steps: int,
) -> pd.DataFrame:
    """One row per member: identity, hyperparameters, status and outcomes.

    ``steps_to_target`` is missing (censored) where the target was not reached within ``steps``;
    ``diverged_step`` is missing where the run did not diverge.
    """
    identity = pd.DataFrame(
        {
            "study": study,
            "trial": list(trials),
            "seed": list(seeds),
            "task": task.name,
            "optimizer": optimizer,
            **{name: list(values) for name, values in hparams.items()},
            "steps": steps,
            "target": task.target,
            "f_star": task.f_star if task.f_star is not None else float("nan"),
        }
    )
    return pd.concat([identity, run_metrics(result, task)], axis=1)


def curves_table(
    result: PopulationResult, *, study: str, trials: Sequence[int], seeds: Sequence[int]
) -> pd.DataFrame:
    """The monitored loss at each record step, long format: one row per (run, step)."""
    size, points = result.curves.shape
    return pd.DataFrame(
        {
            "study": study,
            "trial": torch.tensor(list(trials)).repeat_interleave(points).numpy(),
            "seed": torch.tensor(list(seeds)).repeat_interleave(points).numpy(),
            "step": result.record_steps.repeat(size).numpy(),
            "loss": result.curves.reshape(-1).numpy(),
        }
    )


def summarize(runs: pd.DataFrame) -> str:
    """A few lines: final loss mean ± std, steps to target, diverged runs."""
    n = len(runs)
    final = runs.loc[runs.status != "diverged", "final_loss"]
    reached = runs["steps_to_target"].dropna()
    diverged = runs.loc[runs.status == "diverged"]
    lines = [
        f"final loss      {final.mean():.6g} ± {final.std(ddof=0):.3g}  ({len(final)} runs)"
        if len(final)
        else "final loss      - (every run diverged)",
        f"steps to target {reached.median():.0f} (median of {len(reached)}/{n} that reached it)"
        if len(reached)
        else f"steps to target - (0/{n} runs reached it within {runs.steps.iloc[0]} steps)",
        f"diverged        {len(diverged)}/{n}"
        + (
            f" (at steps {', '.join(str(int(s)) for s in diverged.diverged_step)})"
            if len(diverged)
            else ""
        ),
    ]
    if "end_in_basin" in runs:
        escaped = runs.end_in_basin.sum()
        lines.append(f"global basin    {escaped}/{n} runs end in it")
    if "test_accuracy" in runs:
        acc = runs.test_accuracy
        lines.append(f"test accuracy   {acc.mean():.4f} ± {acc.std(ddof=0):.3g}")
    return "\n".join(lines)
