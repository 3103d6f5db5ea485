"""Update rules over stacked parameters ``[P, D]``, one hyperparameter set per member."""

from __future__ import annotations

from bench.optim.adam import Adam
from bench.optim.sgd import SGD

__all__ = ["RULES", "SGD", "Adam", "make_rule"]

RULES = {"sgd": SGD, "adam": Adam}


def make_rule(name: str, size: int, **hparams):  # noqa: ANN201 - returns SGD | Adam
    """The update rule ``name`` for a population of ``size`` members."""
    try:
        cls = RULES[name]
    except KeyError:
        raise ValueError(f"Unknown optimizer {name!r}; allowed: {sorted(RULES)}") from None
    return cls(size, **hparams)
