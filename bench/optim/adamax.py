"""Adamax, Adam's infinity-norm variant, one hyperparameter set per member."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from bench.optim.base import Rule
from bench.optim.hparams import UNIT, HParam, at_step, column, column_unless, step_table

HPARAMS = (
    HParam("lr", 2e-3, "η", r"\eta", "learning rate", search=(1e-5, 1.0)),
    HParam("beta1", 0.9, "β₁", r"\beta_1", "decay of the first moment", UNIT, True, (1e-3, 1.0)),
    HParam(
        "beta2", 0.999, "β₂", r"\beta_2", "decay of the infinity norm", UNIT, True, (1e-5, 1e-1)
    ),
    HParam("eps", 1e-8, "ε", r"\epsilon", "added to |g| in the norm", search=(1e-10, 1.0)),
    HParam("weight_decay", 0.0, "λ", r"\lambda", "L2 penalty"),
)


@dataclass
class AdamaxState:
    """First moment, infinity norm and per-member factors, on the parameters' device."""

    exp_avg: Tensor
    exp_inf: Tensor
    one_minus_beta1: Tensor
    beta2: Tensor
    eps: Tensor
    weight_decay: Tensor | None
    neg_lr: Tensor
    #: Per step and distinct β₁: 1 − β₁ᵗ.
    bias_correction: Tensor
    bias_column: Tensor


def _bias_correction(beta1: float, t: float) -> float:
    return 1 - beta1**t


class Adamax(Rule):
    r"""Adamax as ``torch.optim.Adamax`` computes it, for a population of parameters.

    With :math:`g_t = \nabla f(\theta_{t-1}) + \lambda\theta_{t-1}`,

    .. math::
        m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t,\quad
        u_t = \max(\beta_2 u_{t-1}, |g_t| + \epsilon),\quad
        \theta_t = \theta_{t-1} - \frac{\eta}{1-\beta_1^t}\,\frac{m_t}{u_t}

    (Kingma & Ba 2015, §7.1). Every hyperparameter holds one value per member.
    """

    name = "adamax"
    label = "Adamax"
    reference = "torch.optim.Adamax"
    HPARAMS = HPARAMS

    def init_state(self, params: Tensor, steps: int) -> AdamaxState:
        """Fresh state for ``params`` (``[P, D]``) and a run of ``steps`` updates."""
        hp, device = self.hparams, params.device
        correction, index = step_table([hp["beta1"]], steps, _bias_correction)
        return AdamaxState(
            exp_avg=torch.zeros_like(params),
            exp_inf=torch.zeros_like(params),
            one_minus_beta1=column(1.0 - hp["beta1"], params),
            beta2=column(hp["beta2"], params),
            eps=column(hp["eps"], params),
            weight_decay=column_unless(hp["weight_decay"], params, 0.0),
            # The step size stays float64 until the last moment, as torch.optim's Python float.
            neg_lr=(-hp["lr"]).to(device),
            bias_correction=correction.to(device),
            bias_column=index.to(device),
        )

    def step(
        self,
        params: Tensor,
        grad: Tensor,
        state: AdamaxState,
        t: int | Tensor,
        frozen: Tensor | None = None,
    ) -> None:
        """Update ``params`` in place from ``grad`` (overwritten) at step ``t`` (0-based)."""
        if state.weight_decay is not None:
            torch.addcmul(grad, params, state.weight_decay, out=grad)
        state.exp_avg.lerp_(grad, state.one_minus_beta1)
        norm = grad.abs_().add_(state.eps)
        torch.maximum(state.exp_inf.mul_(state.beta2), norm, out=state.exp_inf)
        neg_clr = state.neg_lr / at_step(state.bias_correction, t, state.bias_column)
        # grad is free now: it takes addcdiv's value * m, with -clr as the value.
        torch.mul(state.exp_avg, column(neg_clr, params), out=grad)
        if frozen is None:
            params.addcdiv_(grad, state.exp_inf)
        else:
            moved = torch.addcdiv(params, grad, state.exp_inf)
            torch.where(column(frozen, params), params, moved, out=params)
