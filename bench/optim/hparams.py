"""Hyperparameters declared once per rule, and their per-member tensors.

A rule's ``HPARAMS`` (a tuple of :class:`HParam`) is the one declaration its config schema,
validation, default search space and report labels are derived from.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Any

import numpy as np
import torch
from torch import Tensor

HParamValue = float | bool | str | Sequence[float] | Sequence[bool] | Sequence[str] | Tensor


@dataclass(frozen=True)
class Range:
    """An interval of allowed values, each end open or closed."""

    low: float
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False

    def holds(self, x: float | Tensor) -> bool | Tensor:
        """Whether ``x`` (elementwise, for a tensor) is inside; an infinite end is never a value
        (lr=inf is out), and NaN is in no range."""
        above = x > self.low if self.low_open or self.low == -math.inf else x >= self.low
        below = x < self.high if self.high_open or self.high == math.inf else x <= self.high
        return above & below

    def __contains__(self, x: float) -> bool:
        return bool(self.holds(x))

    def one_minus(self) -> Range:
        """The range of 1 - h for h in this range."""
        return Range(1.0 - self.high, 1.0 - self.low, self.high_open, self.low_open)

    def describe(self, name: str) -> str:
        """``0 <= beta1 < 1``, ``lr >= 0``, ``one_minus_momentum <= 1``."""
        low_op = "<" if self.low_open else "<="
        high_op = "<" if self.high_open else "<="
        if self.high == math.inf:
            return f"{name} {'>' if self.low_open else '>='} {self.low:g}"
        if self.low == -math.inf:
            return f"{name} {high_op} {self.high:g}"
        return f"{self.low:g} {low_op} {name} {high_op} {self.high:g}"


#: Non-negative reals, torch.optim's check for lr, eps, weight_decay, momentum.
NON_NEGATIVE = Range(0.0)
#: [0, 1): a decay rate such as β₁ or β₂.
UNIT = Range(0.0, 1.0, high_open=True)


@dataclass(frozen=True)
class HParam:
    """One hyperparameter of a rule: its name (torch.optim's), default, allowed values and labels.

    ``search`` is the default search range ``(low, high)`` on a log scale, of h itself, or of
    1 - h where ``one_minus`` is set (Choi et al. 2019: resolves β close to 1); None: not
    searched by default. ``choices`` makes a string-valued option (one index per member).
    """

    name: str
    default: float | bool | str
    #: Plain-text label for reports ("η", "β₁") and its TeX ("\\eta", "\\beta_1").
    label: str
    tex: str
    #: What it does, in a few words (schema comments, README).
    doc: str = ""
    valid: Range = NON_NEGATIVE
    one_minus: bool = False
    search: tuple[float, float] | None = None
    choices: tuple[str, ...] | None = None

    @property
    def kind(self) -> type:
        """``bool``, ``str`` or ``float``."""
        return type(self.default) if isinstance(self.default, (bool, str)) else float

    @property
    def search_name(self) -> str:
        """The name it is searched under: ``one_minus_<name>`` or ``<name>``."""
        return f"one_minus_{self.name}" if self.one_minus else self.name

    def member_tensor(self, value: HParamValue, size: int) -> Tensor:
        """One value per member (float64, bool, or the choice's index as int64), validated."""
        if self.choices is not None and isinstance(value, Tensor):
            # Choice indices, as `member_tensor` returns them (a rule's subset).
            return _broadcast(self.name, value.to(torch.int64), size)
        if self.choices is not None:
            values = [value] if isinstance(value, str) else list(value)
            for v in values:
                if v not in self.choices:
                    raise ValueError(
                        f"Invalid {self.name}: {v!r}; allowed: {', '.join(self.choices)}"
                    )
            index = torch.tensor([self.choices.index(v) for v in values], dtype=torch.int64)
            return _broadcast(self.name, index, size)
        tensor = as_member_tensor(self.name, value, size, boolean=self.kind is bool)
        if self.kind is float:
            check_range(self.name, tensor, self.valid)
        return tensor


def default_space(declared: Sequence[HParam]) -> dict[str, dict[str, float | str]]:
    """The default search space (``sweep.space``): log ranges, of 1 - h for decay rates."""
    return {
        h.search_name: {"distribution": "log", "low": h.search[0], "high": h.search[1]}
        for h in declared
        if h.search is not None
    }


def as_member_tensor(name: str, value: HParamValue, size: int, *, boolean: bool = False) -> Tensor:
    """One value per member as a CPU tensor (float64, or bool), broadcasting a scalar."""
    dtype = torch.bool if boolean else torch.float64
    return _broadcast(name, torch.as_tensor(value, dtype=dtype).detach().to("cpu"), size)


def _broadcast(name: str, tensor: Tensor, size: int) -> Tensor:
    tensor = tensor.reshape(-1)
    if tensor.numel() == 1:
        tensor = tensor.expand(size)
    if tensor.numel() != size:
        raise ValueError(f"Invalid {name}: {tensor.numel()} values for a population of {size}")
    return tensor.clone()


def check_range(name: str, values: Tensor, allowed: Range) -> None:
    """Raise ``ValueError`` naming the first value outside ``allowed``."""
    inside = allowed.holds(values)
    if not bool(inside.all()):
        index = int((~inside).nonzero()[0])
        member = f" (member {index})" if len(values) > 1 else ""
        bound = allowed.describe(name)
        if allowed.high == math.inf:
            bound = bound.removeprefix(f"{name} ")  # "allowed: >= 0"
        raise ValueError(f"Invalid {name}: {values[index].item()!r}{member}; allowed: {bound}")


def column_unless(values: Tensor, params: Tensor, skip: float) -> Tensor | None:
    """``column(values, params)``, or None where every member's value is ``skip``: the step then
    leaves its term out (no weight decay, no L2)."""
    return column(values, params) if bool((values != skip).any()) else None


def step_table(
    keys: list[Tensor], steps: int, factor: Callable[..., float]
) -> tuple[Tensor, Tensor]:
    """``factor(*key, t)`` for t = 1..steps per distinct key, in Python floats.

    torch's float64 ``pow`` differs from C's by an ulp in a few percent of cases (and its
    ``** 0.5`` from Python's), and chaotic runs amplify that, so step factors are computed the
    way ``torch.optim`` does, in Python. Returns the table ``[steps, U]`` and each member's
    column in it.
    """
    unique, inverse = unique_rows(keys)
    return per_step(unique.tolist(), steps, factor), inverse


def unique_rows(keys: list[Tensor]) -> tuple[Tensor, Tensor]:
    """The distinct rows ``[U, K]`` (float64, in ascending order) of the columns ``keys`` (``[P]``
    each), and each member's row among them: ``torch.unique(dim=0)``'s answer, computed column by
    column (``dim=0`` takes seconds at 300k members; one-dimensional uniques take milliseconds).
    """
    columns = [k.to(torch.float64) for k in keys]
    device = columns[0].device
    code = torch.zeros(len(columns[0]), dtype=torch.int64, device=device)
    for column_values in columns:
        values, index = torch.unique(column_values, return_inverse=True)
        # Ranks column by column, then renumbered: lexicographic order, codes below P.
        _, code = torch.unique(code * len(values) + index, return_inverse=True)
    count = int(code.max()) + 1 if len(code) else 0
    members = torch.arange(len(code), device=device)
    first = torch.full((count,), len(code), dtype=torch.int64, device=device)
    first.scatter_reduce_(0, code, members, "amin")
    return torch.stack(columns, dim=1)[first], code


def per_step(rows: list[list[float]], steps: int, factor: Callable[..., Any]) -> Tensor:
    """``factor(*row, t)`` for t = 1..steps (rows of the result) and each row (its columns),
    float64; a factor that returns a tuple adds a last dimension."""
    times = [float(t) for t in range(1, steps + 1)]
    # map() calls the factor without a Python loop around it: 2.7x faster than a comprehension.
    columns = [list(map(factor, *(repeat(value, steps) for value in row), times)) for row in rows]
    table = np.asarray(columns, dtype=np.float64)
    if table.ndim < 2:  # no rows or no steps
        table = table.reshape(len(rows), steps)
    return torch.from_numpy(np.ascontiguousarray(np.swapaxes(table, 0, 1)))


def collect(
    given: Mapping[str, HParamValue], declared: Sequence[HParam], size: int
) -> dict[str, Tensor]:
    """Validated per-member tensors for every declared hyperparameter, refusing unknown names."""
    names = [h.name for h in declared]
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise ValueError(f"Unknown hyperparameter(s) {unknown}; allowed: {sorted(names)}")
    return {h.name: h.member_tensor(given.get(h.name, h.default), size) for h in declared}


#: Below this many parameters per member, per-member factors are stored at full ``[P, D]`` size:
#: broadcasting a ``[P, 1]`` column over short rows makes CPU kernels up to 14x slower.
FULL_WIDTH_BELOW = 64


def at_step(table: Tensor, t: int | Tensor, columns: Tensor) -> Tensor:
    """Each member's entry ``table[t, columns[p]]`` of a per-step table (``[P]``).

    ``t`` is the 0-based step: an int, or a 0-dim int64 tensor on the table's device, read there
    (``table[t, ...]`` with a 0-dim tensor would copy it to the host first).
    """
    return table[t if isinstance(t, int) else t.reshape(1), columns]


def column(values: Tensor, params: Tensor) -> Tensor:
    """Per-member values (``[P]`` or ``[P, 1]``) broadcastable to ``params`` (``[P, D]``).

    Floating values take the parameters' dtype; boolean masks stay boolean.

    Every element is computed by the same kernel code path however the rows are laid out (the
    population-independence tests hold this), so full-width storage changes no result.
    """
    dtype = params.dtype if values.is_floating_point() else values.dtype
    col = values.to(device=params.device, dtype=dtype)
    col = col.reshape(-1, 1)
    if params.shape[1] < FULL_WIDTH_BELOW:
        col = col.expand_as(params).contiguous()
    return col
