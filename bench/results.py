"""Where runs land: ``results/<study>/`` with runs, curves, the resolved config and environment."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

import pandas as pd
import torch

__all__ = ["environment", "study_dir", "write_tables"]


def study_dir(results_dir: str | Path, study: str) -> Path:
    """``results_dir/study``, created; refused with one line where it cannot be written."""
    path = Path(results_dir) / study
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ValueError(
            f"results_dir={str(results_dir)!r} is not writable: {error.strerror}"
        ) from None
    if not os.access(path, os.W_OK):
        raise ValueError(f"results_dir={str(results_dir)!r} is not writable")
    return path


def environment(device: torch.device) -> dict[str, Any]:
    """Versions, device name and git commit: what a result needs to be reproduced."""
    import optuna

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


def write_tables(
    directory: Path,
    runs: pd.DataFrame,
    curves: pd.DataFrame,
    config: dict[str, Any],
    env: dict[str, Any],
) -> None:
    """Write ``runs.parquet``, ``curves.parquet``, ``config.json`` and ``environment.json``."""
    runs.to_parquet(directory / "runs.parquet", index=False)
    curves.to_parquet(directory / "curves.parquet", index=False)
    (directory / "config.json").write_text(json.dumps(config, indent=2, default=str) + "\n")
    (directory / "environment.json").write_text(json.dumps(env, indent=2) + "\n")
