"""Update rules over stacked parameters ``[P, D]``, one hyperparameter set per member.

Every module of this package that defines a :class:`Rule` subclass registers it in ``RULES`` by
being imported here: adding a rule is adding a module.
"""

from __future__ import annotations

import importlib
import pkgutil

from bench.optim.adam import Adam, AdamW
from bench.optim.base import RULES, Rule
from bench.optim.hparams import HParam, Range
from bench.optim.sgd import SGD

__all__ = ["RULES", "SGD", "Adam", "AdamW", "HParam", "Range", "Rule", "make_rule", "rule_class"]

for _module in pkgutil.iter_modules(__path__):
    if _module.name not in ("adam", "base", "hparams", "sgd"):
        importlib.import_module(f"{__name__}.{_module.name}")


def rule_class(name: str) -> type[Rule]:
    """The rule registered as ``name``; ``ValueError`` naming the allowed ones otherwise."""
    try:
        return RULES[name]
    except KeyError:
        allowed = ", ".join(sorted(RULES))
        raise ValueError(f"Unknown optimizer {name!r}; allowed: {allowed}") from None


def make_rule(name: str, size: int, **hparams: object) -> Rule:
    """The update rule ``name`` for a population of ``size`` members."""
    return rule_class(name)(size, **hparams)
