"""RAdam: Adam with its variance rectified, one hyperparameter set per member."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from bench.optim.base import Rule
from bench.optim.hparams import (
    UNIT,
    HParam,
    at_step,
    column,
    column_unless,
    per_step,
    step_table,
)
from bench.optim.moments import update_moments

HPARAMS = (
    HParam("lr", 1e-3, "η", r"\eta", "learning rate", search=(1e-5, 1.0)),
    HParam("beta1", 0.9, "β₁", r"\beta_1", "decay of the first moment", UNIT, True, (1e-3, 1.0)),
    HParam(
        "beta2", 0.999, "β₂", r"\beta_2", "decay of the second moment", UNIT, True, (1e-5, 1e-1)
    ),
    HParam("eps", 1e-8, "ε", r"\epsilon", "added to the denominator", search=(1e-10, 1.0)),
    HParam("weight_decay", 0.0, "λ", r"\lambda", "weight decay (L2, or decoupled)"),
    HParam(
        "decoupled_weight_decay",
        False,
        "decoupled",
        r"\mathrm{decoupled}",
        "AdamW's decay θ ← (1 − ηλ)θ instead of L2",
    ),
)


@dataclass
class RAdamState:
    """Moment estimates, scratch space and per-member factors, on the parameters' device."""

    exp_avg: Tensor
    exp_avg_sq: Tensor
    scratch: Tensor
    one_minus_beta1: Tensor
    beta2: Tensor
    one_minus_beta2: Tensor
    eps: Tensor
    lr: Tensor
    l2: Tensor | None
    decay: Tensor | None
    #: Per step and distinct β₁: 1 − β₁ᵗ.
    bias_correction1: Tensor
    bias_column1: Tensor
    #: Per step and distinct β₂: √(1 − β₂ᵗ), the rectification r_t (0 unless ρ_t > 5), and
    #: whether ρ_t > 5.
    bias_correction2_sqrt: Tensor
    rect: Tensor
    rectified: Tensor
    bias_column2: Tensor


def _bc1(beta1: float, t: float) -> float:
    return 1 - beta1**t


def _beta2_factors(beta2: float, t: float) -> tuple[float, float]:
    """√(1 − β₂ᵗ) and r_t (0 where ρ_t ≤ 5), in torch.optim's order of operations."""
    bias_correction2 = 1 - beta2**t
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * t * (beta2**t) / bias_correction2
    if rho_t <= 5.0:
        return bias_correction2**0.5, 0.0
    rect = (rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
    return bias_correction2**0.5, rect**0.5


def _beta2_table(beta2: Tensor, steps: int) -> tuple[Tensor, Tensor]:
    """``_beta2_factors`` for t = 1..steps per distinct β₂ (``[steps, U, 2]``, one pass of
    Python floats as ``step_table`` computes them), and each member's column in it."""
    unique, inverse = torch.unique(beta2, return_inverse=True)
    return per_step([[b] for b in unique.tolist()], steps, _beta2_factors), inverse


class RAdam(Rule):
    r"""RAdam as ``torch.optim.RAdam`` computes it, for a population of parameters.

    With :math:`g_t` and the moments :math:`m_t, v_t` as in Adam (L2 or decoupled weight decay),
    :math:`\rho_\infty = 2/(1-\beta_2) - 1` and
    :math:`\rho_t = \rho_\infty - 2t\beta_2^t/(1-\beta_2^t)`,

    .. math::
        \theta_t = \theta_{t-1} - \eta\,\frac{m_t}{1-\beta_1^t}\,
                   \frac{\sqrt{1-\beta_2^t}}{\sqrt{v_t} + \epsilon}\, r_t,\quad
        r_t = \sqrt{\frac{(\rho_t-4)(\rho_t-2)\rho_\infty}{(\rho_\infty-4)(\rho_\infty-2)\rho_t}}

    where :math:`\rho_t > 5`, and :math:`\theta_t = \theta_{t-1} - \eta\,m_t/(1-\beta_1^t)`
    otherwise (Liu et al. 2020). Every hyperparameter holds one value per member.
    """

    name = "radam"
    label = "RAdam"
    reference = "torch.optim.RAdam"
    HPARAMS = HPARAMS

    def init_state(self, params: Tensor, steps: int) -> RAdamState:
        """Fresh state for ``params`` (``[P, D]``) and a run of ``steps`` updates."""
        hp, device = self.hparams, params.device
        wd, decoupled = hp["weight_decay"], hp["decoupled_weight_decay"]
        l2 = torch.where(decoupled, 0.0, wd)
        decay = 1.0 - hp["lr"] * torch.where(decoupled, wd, 0.0)
        bc1, index1 = step_table([hp["beta1"]], steps, _bc1)
        factors2, index2 = _beta2_table(hp["beta2"], steps)
        bc2_sqrt, rect = factors2.unbind(-1)
        return RAdamState(
            exp_avg=torch.zeros_like(params),
            exp_avg_sq=torch.zeros_like(params),
            scratch=torch.empty_like(params),
            one_minus_beta1=column(1.0 - hp["beta1"], params),
            beta2=column(hp["beta2"], params),
            one_minus_beta2=column(1.0 - hp["beta2"], params),
            eps=column(hp["eps"], params),
            lr=column(hp["lr"], params),
            l2=column_unless(l2, params, 0.0),
            decay=column_unless(decay, params, 1.0),
            bias_correction1=bc1.to(device),
            bias_column1=index1.to(device),
            bias_correction2_sqrt=bc2_sqrt.to(device),
            rect=rect.to(device),
            rectified=(rect != 0).to(device),
            bias_column2=index2.to(device),
        )

    def step(
        self,
        params: Tensor,
        grad: Tensor,
        state: RAdamState,
        t: int | Tensor,
        frozen: Tensor | None = None,
    ) -> None:
        """Update ``params`` in place from ``grad`` (overwritten) at step ``t`` (0-based)."""
        if frozen is not None:
            frozen = column(frozen, params)
        update_moments(params, grad, state, frozen)
        exp_avg, exp_avg_sq, scratch = state.exp_avg, state.exp_avg_sq, state.scratch
        # grad is free now: it takes the unrectified update, m / (1 - β₁ᵗ) * η.
        bc1 = at_step(state.bias_correction1, t, state.bias_column1)
        torch.div(exp_avg, column(bc1, params), out=grad).mul_(state.lr)
        # torch.optim's √(1 - β₂ᵗ) / (√v + ε) is a reciprocal times the factor.
        adaptive = torch.sqrt(exp_avg_sq, out=scratch).add_(state.eps).reciprocal_()
        column2 = state.bias_column2
        adaptive.mul_(column(at_step(state.bias_correction2_sqrt, t, column2), params))
        rectified = torch.mul(grad, adaptive, out=scratch)
        rectified.mul_(column(at_step(state.rect, t, column2), params))
        update = torch.where(column(at_step(state.rectified, t, column2), params), rectified, grad)
        if frozen is None:
            params.sub_(update)
        else:
            torch.where(frozen, params, params - update, out=params)
