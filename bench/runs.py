"""Per-run tables (one row per member, one per curve point) from an engine result."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import torch

from bench.engine import PopulationResult

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
    size = len(seeds)
    diverged = result.diverged
    frame = pd.DataFrame(
        {
            "study": study,
            "trial": list(trials),
            "seed": list(seeds),
            "task": task.name,
            "optimizer": optimizer,
            **{name: list(values) for name, values in hparams.items()},
            "status": ["diverged" if d else "complete" for d in diverged.tolist()],
            "steps": steps,
            "final_loss": result.final_loss.numpy(),
            "best_loss": result.best_loss.numpy(),
            "target": task.target,
            "f_star": task.f_star if task.f_star is not None else float("nan"),
            "reached": (result.hit_step >= 0).numpy(),
            "steps_to_target": _optional_steps(result.hit_step),
            "diverged_step": _optional_steps(result.diverged_step),
            "wall_time": result.seconds.numpy(),
        },
        index=range(size),
    )
    if result.start_in_basin is not None:
        frame["start_in_basin"] = result.start_in_basin.numpy()
        frame["end_in_basin"] = result.end_in_basin.numpy() & ~diverged.numpy()
    for name, values in result.metrics.items():
        frame[name] = values.to(torch.float64).numpy()
    return frame


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


def _optional_steps(steps: torch.Tensor) -> pd.array:
    return pd.array([s if s >= 0 else None for s in steps.tolist()], dtype="Int64")
