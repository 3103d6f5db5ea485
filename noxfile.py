"""Developer sessions: ``nox -s tests``, ``nox -s lint``, ``nox -s bench``."""

from __future__ import annotations

from pathlib import Path

import nox

nox.options.sessions = ["tests", "lint"]
nox.options.reuse_existing_virtualenvs = True

# torch is pinned for installs here: the CPU wheel on local disk; anything newer downloads GBs.
INSTALL = ("-c", "constraints.txt", "-e", ".[test]")
BENCH_JSON = "results/benchmarks/benchmarks.json"


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite (slow and GPU checks stay behind their markers)."""
    session.install(*INSTALL)
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Check style and common mistakes with ruff."""
    session.install("ruff")
    session.run("ruff", "check", "bench", "tests", "noxfile.py", *session.posargs)
    session.run("ruff", "format", "--check", "bench", "tests", "noxfile.py")


@nox.session
def bench(session: nox.Session) -> None:
    """Run the benchmarks; the JSON lands in results/benchmarks/."""
    session.install(*INSTALL)
    Path(BENCH_JSON).parent.mkdir(parents=True, exist_ok=True)
    session.run(
        "pytest",
        "tests/benchmarks",
        "--benchmark-enable",
        "--benchmark-only",
        "-p",
        "no:randomly",
        f"--benchmark-json={BENCH_JSON}",
        "-o",
        "addopts=--strict-markers --import-mode=importlib",
        *session.posargs,
    )
    table = session.run("python", "tests/benchmarks/table.py", BENCH_JSON, silent=True)
    with open("results/benchmarks/table.md", "w") as handle:
        handle.write(table)
    print(table)
