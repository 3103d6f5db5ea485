"""What a command line asks for, read without Hydra: ``python -m bench`` starts a report's
drawing processes before it imports Hydra, torch or Optuna (their fork server's own imports then
run on another core)."""

from __future__ import annotations

__all__ = ["draws_a_report", "report_only"]

_MULTIRUN = ("--multirun", "-m")


def _keys(argv: list[str]) -> set[str]:
    """The keys the overrides name (``+report=x``: ``report``; ``report.studies=[a]``:
    ``report.studies``): what precedes the first ``=``, which no Hydra key contains."""
    return {
        arg.split("=", 1)[0].lstrip("+~").split("@", 1)[0]
        for arg in argv
        if not arg.startswith("-")
    }


def report_only(argv: list[str]) -> bool:
    """Whether the command only builds a report (``+report=…``; no sweep, no multirun)."""
    if any(a in _MULTIRUN for a in argv):
        return False
    keys = _keys(argv)
    return "report" in keys and not keys & {"sweep", "experiment"}


def draws_a_report(argv: list[str]) -> bool:
    """Whether the command is one job that ends in a report: a report alone, or a sweep whose
    ``auto_report`` the command line leaves on."""
    if report_only(argv):
        return True
    if any(a.startswith(("-", "hydra.")) for a in argv):  # a multirun, Hydra's flags
        return False
    keys = _keys(argv)
    off = any(a.lstrip("+").lower() in ("auto_report=false", "auto_report=no") for a in argv)
    return "sweep" in keys and "experiment" not in keys and not off
