"""Designed experiments: each reads its studies' files and states a verdict on every claim.

A module here registers its analysis with ``@experiment("<name>")``: a pure function from the
loaded studies to the findings. ``python -m bench +experiment=<name>`` runs the studies
(``conf/experiment/<name>.yaml``, jobs in ``conf/jobs/<name>/``) and then the report, which opens
with these findings and writes them to ``reports/<name>/verdicts.json``.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Sequence

from bench.report.findings import Finding
from bench.report.load import ReportError, StudyData

__all__ = ["EXPERIMENTS", "Analysis", "analyse", "experiment", "study_named"]

Analysis = Callable[[Sequence[StudyData]], list[Finding]]
EXPERIMENTS: dict[str, Analysis] = {}


def experiment(name: str) -> Callable[[Analysis], Analysis]:
    """Register ``analysis`` as the findings of experiment ``name``."""

    def register(analysis: Analysis) -> Analysis:
        EXPERIMENTS[name] = analysis
        return analysis

    return register


def analyse(name: str, studies: Sequence[StudyData]) -> list[Finding]:
    """The findings of experiment ``name`` over ``studies``; one-line ``ReportError`` if unknown."""
    try:
        analysis = EXPERIMENTS[name]
    except KeyError:
        allowed = ", ".join(sorted(EXPERIMENTS)) or "none"
        raise ReportError(f"experiment {name!r} has no analysis; allowed: {allowed}") from None
    return analysis(studies)


def study_named(studies: Sequence[StudyData], name: str) -> StudyData:
    """The study called ``name``; ``ReportError`` naming what is missing."""
    for study in studies:
        if study.name == name:
            return study
    raise ReportError(f"the experiment's study {name!r} is missing; re-run the experiment")


for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
