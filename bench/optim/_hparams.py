"""Per-member hyperparameters: broadcasting, validation, and casting for the update rules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import Tensor

HParamValue = float | bool | Sequence[float] | Sequence[bool] | Tensor


def as_member_tensor(name: str, value: HParamValue, size: int, *, boolean: bool = False) -> Tensor:
    """One value per member as a CPU tensor (float64, or bool), broadcasting a scalar."""
    dtype = torch.bool if boolean else torch.float64
    tensor = torch.as_tensor(value, dtype=dtype).detach().to("cpu").reshape(-1)
    if tensor.numel() == 1:
        tensor = tensor.expand(size)
    if tensor.numel() != size:
        raise ValueError(f"Invalid {name}: {tensor.numel()} values for a population of {size}")
    return tensor.clone()


def check_range(name: str, values: Tensor, low: float, high: float, *, high_open: bool) -> None:
    """Raise ``ValueError`` naming the first value outside [low, high] (or [low, high))."""
    bad = ~(values >= low) | (values >= high if high_open else values > high)
    if bool(bad.any()):
        index = int(bad.nonzero()[0])
        member = f" (member {index})" if len(values) > 1 else ""
        upper = f"< {high:g}" if high_open else f"<= {high:g}"
        allowed = f">= {low:g}" if high == float("inf") else f"{low:g} <= {name} {upper}"
        raise ValueError(f"Invalid {name}: {values[index].item()!r}{member}; allowed: {allowed}")


def collect(
    given: Mapping[str, HParamValue],
    defaults: Mapping[str, float | bool],
    size: int,
) -> dict[str, Tensor]:
    """Per-member tensors for every hyperparameter of a rule, refusing unknown names."""
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise ValueError(f"Unknown hyperparameter(s) {unknown}; allowed: {sorted(defaults)}")
    return {
        name: as_member_tensor(
            name, given.get(name, default), size, boolean=isinstance(default, bool)
        )
        for name, default in defaults.items()
    }


def at_step(table: Tensor, t: int | Tensor, columns: Tensor) -> Tensor:
    """Each member's entry ``table[t, columns[p]]`` of a per-step table (``[P]``).

    ``t`` is the 0-based step: an int, or a 0-dim int64 tensor on the table's device, read there
    (``table[t, ...]`` with a 0-dim tensor would copy it to the host first).
    """
    return table[t if isinstance(t, int) else t.reshape(1), columns]


#: Below this many parameters per member, per-member factors are stored at full ``[P, D]`` size:
#: broadcasting a ``[P, 1]`` column over short rows makes CPU kernels up to 14x slower.
FULL_WIDTH_BELOW = 64


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
