"""Lion, the sign-of-momentum rule found by program search, one hyperparameter set per member."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from bench.optim.base import Rule
from bench.optim.hparams import UNIT, HParam, column, column_unless

HPARAMS = (
    HParam("lr", 1e-4, "η", r"\eta", "learning rate", search=(1e-6, 1e-1)),
    HParam("beta1", 0.9, "β₁", r"\beta_1", "interpolation of the update", UNIT, True, (1e-3, 1.0)),
    HParam("beta2", 0.99, "β₂", r"\beta_2", "decay of the momentum", UNIT, True, (1e-4, 1e-1)),
    HParam("weight_decay", 0.0, "λ", r"\lambda", "decoupled weight decay, θ ← θ − ηλθ"),
)


@dataclass
class LionState:
    """The momentum, scratch space and per-member factors, on the parameters' device."""

    exp_avg: Tensor
    update: Tensor
    scratch: Tensor
    beta1: Tensor
    one_minus_beta1: Tensor
    beta2: Tensor
    one_minus_beta2: Tensor
    weight_decay: Tensor | None
    lr: Tensor


class Lion(Rule):
    r"""Lion as Chen et al. (2023, Algorithm 2) write it, for a population of parameters.

    .. math::
        c_t = \beta_1 m_{t-1} + (1-\beta_1) g_t,\quad
        \theta_t = \theta_{t-1} - \eta\,(\operatorname{sign}(c_t) + \lambda\theta_{t-1}),\quad
        m_t = \beta_2 m_{t-1} + (1-\beta_2) g_t

    with :math:`g_t = \nabla f(\theta_{t-1})`. ``torch.optim`` has no Lion: the reference is a
    one-tensor transcription of the algorithm, computed in the same order. Every hyperparameter
    holds one value per member.
    """

    name = "lion"
    label = "Lion"
    reference = "Chen et al. 2023, Algorithm 2"
    HPARAMS = HPARAMS

    def init_state(self, params: Tensor, steps: int) -> LionState:
        """Fresh state for ``params`` (``[P, D]``) and a run of ``steps`` updates."""
        hp = self.hparams
        return LionState(
            exp_avg=torch.zeros_like(params),
            update=torch.empty_like(params),
            scratch=torch.empty_like(params),
            beta1=column(hp["beta1"], params),
            one_minus_beta1=column(1.0 - hp["beta1"], params),
            beta2=column(hp["beta2"], params),
            one_minus_beta2=column(1.0 - hp["beta2"], params),
            weight_decay=column_unless(hp["weight_decay"], params, 0.0),
            lr=column(hp["lr"], params),
        )

    def step(
        self,
        params: Tensor,
        grad: Tensor,
        state: LionState,
        t: int | Tensor,
        frozen: Tensor | None = None,
    ) -> None:
        """Update ``params`` in place from ``grad`` (overwritten) at step ``t`` (0-based)."""
        m, c, scratch = state.exp_avg, state.update, state.scratch
        torch.mul(m, state.beta1, out=c)
        c.add_(torch.mul(grad, state.one_minus_beta1, out=scratch))
        c.sign_()
        if state.weight_decay is not None:
            c.add_(torch.mul(params, state.weight_decay, out=scratch))
        c.mul_(state.lr)
        if frozen is None:
            params.sub_(c)
        else:
            torch.where(column(frozen, params), params, params - c, out=params)
        m.mul_(state.beta2).add_(grad.mul_(state.one_minus_beta2))
