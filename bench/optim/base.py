"""What every update rule shares: its declaration, validation, subsetting and the registry."""

from __future__ import annotations

from typing import Any, ClassVar

from torch import Tensor

from bench.optim.hparams import HParam, HParamValue, collect

__all__ = ["RULES", "Rule"]

#: Every rule by its name, filled as rule modules are imported (``bench.optim`` imports them all).
RULES: dict[str, type[Rule]] = {}


class Rule:
    """An update rule over stacked parameters ``[P, D]``, one hyperparameter set per member.

    A subclass declares ``name``, ``label`` (as reports print it), ``reference`` (what it is
    checked against) and ``HPARAMS``, and implements ``init_state`` and ``step``. ``step(params,
    grad, state, t, frozen)`` updates ``params`` in place at step ``t`` (0-based); ``grad`` may be
    overwritten; members where ``frozen`` (``[P, 1]`` bool) is set keep their parameters.
    """

    name: ClassVar[str]
    label: ClassVar[str]
    reference: ClassVar[str]
    HPARAMS: ClassVar[tuple[HParam, ...]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        RULES[cls.name] = cls

    def __init__(self, size: int, **hparams: HParamValue) -> None:
        self.size = size
        self.hparams = collect(hparams, self.HPARAMS, size)
        self.check(self.hparams)

    def check(self, hp: dict[str, Tensor]) -> None:
        """Refuse combinations of values the reference refuses (``ValueError``); none by default."""

    def subset(self, index: Tensor) -> Rule:
        """The rule for the members at ``index``."""
        return type(self)(len(index), **{k: v[index] for k, v in self.hparams.items()})

    @classmethod
    def describe(cls) -> dict[str, Any]:
        """The rule's declaration as plain data (``rule.json``): what a report labels it by."""
        return {
            "name": cls.name,
            "label": cls.label,
            "reference": cls.reference,
            "hyperparameters": [
                {
                    "name": h.name,
                    "label": h.label,
                    "tex": h.tex,
                    "doc": h.doc,
                    "one_minus": h.one_minus,
                    "default": h.default,
                }
                for h in cls.HPARAMS
            ],
        }

    @classmethod
    def declared(cls, name: str) -> HParam:
        """The declaration of hyperparameter ``name``."""
        for spec in cls.HPARAMS:
            if spec.name == name:
                return spec
        raise KeyError(name)
