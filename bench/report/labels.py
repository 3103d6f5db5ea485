"""How a study's hyperparameters are named in figures and tables, from its ``rule.json``.

The update rule declares each hyperparameter's label and TeX once; the export writes that
declaration beside the runs, so the report labels any rule without importing it.
"""

from __future__ import annotations

from typing import Any

from bench.report.load import StudyData

__all__ = ["hyperparameter_names", "near_one", "param_label", "param_tex", "rule_label"]

_ONE_MINUS = "one_minus_"


def _declared(study: StudyData) -> dict[str, dict[str, Any]]:
    return {h["name"]: h for h in study.rule.get("hyperparameters", [])}


def rule_label(study: StudyData) -> str:
    """The rule as reports name it (``Adam``, ``RMSProp``); its name where undeclared."""
    return str(study.rule.get("label") or study.optimizer)


def hyperparameter_names(study: StudyData) -> list[str]:
    """The rule's hyperparameters in declared order (the config's order where undeclared)."""
    declared = list(_declared(study))
    if declared:
        return declared
    return [k for k in study.config.get("optimizer", {}) if k != "name"]


def param_label(study: StudyData, name: str) -> str:
    """Plain-text label of a hyperparameter or of an Optuna parameter ``one_minus_<h>``."""
    if name.startswith(_ONE_MINUS):
        return f"1 − {param_label(study, name.removeprefix(_ONE_MINUS))}"
    return str(_declared(study).get(name, {}).get("label", name))


def param_tex(study: StudyData, name: str) -> str | None:
    """TeX of a hyperparameter (math mode, no dollars); None where undeclared."""
    tex = _declared(study).get(name, {}).get("tex")
    return None if tex is None else str(tex)


def near_one(study: StudyData, name: str) -> bool:
    """Whether h is searched as 1 − h, so that values near 1 read as 1 − (1 − h)."""
    return bool(_declared(study).get(name, {}).get("one_minus", False))
