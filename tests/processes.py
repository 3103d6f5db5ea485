"""``python -m bench`` in a subprocess, as a user runs it (imported by the tests)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def bench_process(*args: str, cwd: Path, env: dict | None = None) -> subprocess.Popen:
    """Start ``python -m bench args`` in ``cwd`` with this checkout first on the path."""
    return subprocess.Popen(
        [sys.executable, "-m", "bench", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
    )


def run_bench(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``python -m bench args`` in ``cwd`` to the end, capturing its output."""
    process = bench_process(*args, cwd=cwd)
    stdout, stderr = process.communicate(timeout=timeout)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
