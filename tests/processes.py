"""``python -m bench`` in a subprocess, as a user runs it (imported by the tests)."""

from __future__ import annotations

import json
import os
import signal
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
        # As a user's foreground command: Ctrl-C interrupts it even where the test process
        # ignores SIGINT (a child inherits an ignored signal, and Python then keeps ignoring it).
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def run_bench(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``python -m bench args`` in ``cwd`` to the end, capturing its output."""
    process = bench_process(*args, cwd=cwd)
    stdout, stderr = process.communicate(timeout=timeout)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def run_python(
    script: str, cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    """Run ``python -c script`` (in ``cwd``) with this checkout first on the path, to the end,
    capturing its output."""
    return subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=timeout,
    )


VERDICTS = {"supported", "contradicted", "inconclusive"}


def run_experiment(name: str, *design: str, cwd: Path) -> list[dict]:
    """Run ``python -m bench +experiment=name`` at a reduced ``design`` in ``cwd``; check that it
    wrote its report, Findings first, and return the rows of its ``verdicts.json``."""
    done = run_bench(
        f"+experiment={name}",
        *design,
        "progress=false",
        f"results_dir={cwd / 'results'}",
        f"reports_dir={cwd / 'reports'}",
        cwd=cwd,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr
    report = cwd / "reports" / name
    page = (report / "index.html").read_text()
    assert page.index("Findings") < page.index("Summary")
    rows = json.loads((report / "verdicts.json").read_text())
    assert {row["verdict"] for row in rows} <= VERDICTS
    return rows
