"""Adam's moment update, shared by the rules built on it (Adam, NAdam, RAdam)."""

from __future__ import annotations

from typing import Protocol

import torch
from torch import Tensor

__all__ = ["MomentState", "update_moments"]


class MomentState(Protocol):
    """The state fields ``update_moments`` reads and updates."""

    exp_avg: Tensor
    exp_avg_sq: Tensor
    scratch: Tensor
    one_minus_beta1: Tensor
    beta2: Tensor
    one_minus_beta2: Tensor
    l2: Tensor | None
    decay: Tensor | None


def update_moments(params: Tensor, grad: Tensor, state: MomentState, frozen: Tensor | None) -> None:
    """Weight decay (decoupled on ``params``, or L2 into ``grad``), then m and v in place, with
    ``torch.optim``'s operations in its order; ``frozen``: a column mask of members left as is."""
    if state.decay is not None:
        decay = state.decay if frozen is None else state.decay.masked_fill(frozen, 1.0)
        params.mul_(decay)
    if state.l2 is not None:
        torch.addcmul(grad, params, state.l2, out=grad)
    state.exp_avg.lerp_(grad, state.one_minus_beta1)
    # torch.optim: exp_avg_sq * β2 + ((1 - β2) * g) * g; scratch holds (1 - β2) * g.
    torch.mul(grad, state.one_minus_beta2, out=state.scratch)
    state.exp_avg_sq.mul_(state.beta2).addcmul_(grad, state.scratch)
