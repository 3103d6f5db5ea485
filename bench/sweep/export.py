"""Where runs land: ``results/<study>/`` with runs, curves, the resolved config and environment."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
import torch

from bench.config import ConfigError
from bench.names import name_dir
from bench.optim import rule_class
from bench.results import CURVES_FILE, IMPORTANCE_FILE, RULE_FILE, RUNS_FILE
from bench.sweep.importance import importance_frame
from bench.sweep.storage import mask_url
from bench.sweep.study import runs_frame, write_curves

__all__ = ["environment", "export_study", "study_dir", "summary_text"]

#: Diverged runs whose steps the summary lists one by one; beyond, their range and median.
LISTED_STEPS = 10


def study_dir(results_dir: str | Path, study: str) -> Path:
    """``results_dir/<study as a directory name>``, created; refused with one line where it
    cannot be written. Whatever the name holds, the directory is right below ``results_dir``."""
    try:
        path = name_dir(results_dir, study)
    except ValueError as error:
        raise ConfigError(str(error)) from None
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError(
            f"results_dir={str(results_dir)!r} is not writable: {error.strerror}"
        ) from None
    if not os.access(path, os.W_OK):
        raise ConfigError(f"results_dir={str(results_dir)!r} is not writable")
    return path


def environment(device: torch.device) -> dict[str, Any]:
    """Versions, device name and git commit: what a result needs to be reproduced."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).parent,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = None
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "optuna": optuna.__version__,
        "platform": platform.platform(),
        "device": str(device),
        "device_name": (
            torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor()
        ),
        "threads": torch.get_num_threads(),
        "git_commit": commit,
    }


def export_study(
    study: optuna.Study, directory: Path, config: dict[str, Any], env: dict[str, Any]
) -> pd.DataFrame:
    """Write the study's ``runs.parquet``, ``curves.parquet`` and ``importance.parquet``, with
    config and environment.

    The storage is the source of truth: these files are derived from it, and rewritten whole.
    Returns the runs table.
    """
    runs = runs_frame(study)
    _replace(directory / RUNS_FILE, lambda p: runs.to_parquet(p, index=False))
    _replace(directory / CURVES_FILE, lambda p: write_curves(study, p))
    importance = importance_frame(study)
    _replace(directory / IMPORTANCE_FILE, lambda p: importance.to_parquet(p, index=False))
    # A storage URL given in the config keeps its password out of the file.
    text = mask_url(json.dumps(config, indent=2, default=str))
    _replace(directory / "config.json", lambda p: p.write_text(text + "\n"))
    _replace(
        directory / "environment.json", lambda p: p.write_text(json.dumps(env, indent=2) + "\n")
    )
    rule = json.dumps(
        rule_class(config["optimizer"]["name"]).describe(), indent=2, ensure_ascii=False
    )
    _replace(directory / RULE_FILE, lambda p: p.write_text(rule + "\n"))
    return runs


def _replace(path: Path, write: Callable[[Path], object]) -> None:
    """Write ``path`` through a temporary file beside it: a process killed mid-export leaves
    the previous file whole (and a reader never sees half of one)."""
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    write(partial)
    os.replace(partial, path)


def summary_text(runs: pd.DataFrame) -> str:
    """A few lines: final loss mean ± std, steps to target, diverged runs, escapes."""
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
        f"diverged        {len(diverged)}/{n}{_divergence_steps(diverged.diverged_step)}",
    ]
    if "escape_step" in runs:
        outside = runs.loc[~runs.start_in_basin.astype(bool)]
        escaped = int(outside.escape_step.notna().sum())
        late = runs.late_basin_share.mean()
        lines.append(
            f"escaped         {escaped}/{len(outside)} runs that started outside the global "
            f"minimum's basin entered it (first passage); all runs spent {late:.0%} of their "
            "second half there"
        )
    if "test_accuracy" in runs:
        acc = runs.test_accuracy
        lines.append(f"test accuracy   {acc.mean():.4f} ± {acc.std(ddof=0):.3g}")
    return "\n".join(lines)


def _divergence_steps(steps: pd.Series) -> str:
    """Where runs diverged: each step for a few runs, else their range and median (a million
    seeds would otherwise print a million numbers)."""
    steps = steps.astype(int)
    if steps.empty:
        return ""
    if len(steps) <= LISTED_STEPS:
        return f" (at steps {', '.join(str(step) for step in steps)})"
    if steps.min() == steps.max():
        return f" (all at step {steps.min()})"
    return f" (at steps {steps.min()}–{steps.max()}, median {steps.median():g})"
