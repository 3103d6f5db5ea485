"""NAdam: Adam with Nesterov momentum and a momentum schedule, one hyperparameter set per member."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from bench.optim.base import Rule
from bench.optim.hparams import UNIT, HParam, at_step, column, column_unless, step_table
from bench.optim.moments import update_moments

HPARAMS = (
    HParam("lr", 2e-3, "η", r"\eta", "learning rate", search=(1e-5, 1.0)),
    HParam("beta1", 0.9, "β₁", r"\beta_1", "decay of the first moment", UNIT, True, (1e-3, 1.0)),
    HParam(
        "beta2", 0.999, "β₂", r"\beta_2", "decay of the second moment", UNIT, True, (1e-5, 1e-1)
    ),
    HParam("eps", 1e-8, "ε", r"\epsilon", "added to the denominator", search=(1e-10, 1.0)),
    HParam("weight_decay", 0.0, "λ", r"\lambda", "weight decay (L2, or decoupled)"),
    HParam(
        "momentum_decay",
        4e-3,
        "ψ",
        r"\psi",
        "momentum schedule: μ_t = β₁(1 − ½·0.96^(tψ))",
    ),
    HParam(
        "decoupled_weight_decay",
        False,
        "decoupled",
        r"\mathrm{decoupled}",
        "AdamW's decay θ ← (1 − ηλ)θ instead of L2 (NAdamW)",
    ),
)


@dataclass
class NAdamState:
    """Moment estimates, scratch space and per-member factors, on the parameters' device."""

    exp_avg: Tensor
    exp_avg_sq: Tensor
    scratch: Tensor
    one_minus_beta1: Tensor
    beta2: Tensor
    one_minus_beta2: Tensor
    eps: Tensor
    l2: Tensor | None
    decay: Tensor | None
    neg_lr: Tensor
    #: Per step and distinct β₂: 1 − β₂ᵗ.
    bias_correction2: Tensor
    bias_column2: Tensor
    #: Per step and distinct (β₁, ψ): 1 − μ_t, μ_{t+1}, 1 − Π_{s≤t} μ_s and 1 − Π_{s≤t+1} μ_s.
    one_minus_mu: Tensor
    mu_next: Tensor
    one_minus_mu_product: Tensor
    one_minus_mu_product_next: Tensor
    mu_column: Tensor


def _bc2(beta2: float, t: float) -> float:
    return 1 - beta2**t


def _mu(beta1: float, momentum_decay: float, t: float) -> float:
    return beta1 * (1.0 - 0.5 * (0.96 ** (t * momentum_decay)))


def _scalar_dtype() -> torch.dtype:
    """The dtype of torch.optim's step and μ-product tensors (its ``_get_scalar_dtype``)."""
    return torch.float64 if torch.get_default_dtype() == torch.float64 else torch.float32


class NAdam(Rule):
    r"""NAdam as ``torch.optim.NAdam`` computes it, for a population of parameters.

    With :math:`g_t` and the moments :math:`m_t, v_t` as in Adam (L2 or decoupled weight decay)
    and the momentum schedule :math:`\mu_t = \beta_1(1 - \tfrac12 0.96^{t\psi})`,

    .. math::
        \theta_t = \theta_{t-1}
            - \eta\frac{1-\mu_t}{1-\prod_{s\le t}\mu_s}\,
              \frac{g_t}{\sqrt{v_t/(1-\beta_2^t)}+\epsilon}
            - \eta\frac{\mu_{t+1}}{1-\prod_{s\le t+1}\mu_s}\,
              \frac{m_t}{\sqrt{v_t/(1-\beta_2^t)}+\epsilon}

    (Dozat 2016). Every hyperparameter holds one value per member.
    """

    name = "nadam"
    label = "NAdam"
    reference = "torch.optim.NAdam"
    HPARAMS = HPARAMS

    def init_state(self, params: Tensor, steps: int) -> NAdamState:
        """Fresh state for ``params`` (``[P, D]``) and a run of ``steps`` updates."""
        hp, device = self.hparams, params.device
        wd, decoupled = hp["weight_decay"], hp["decoupled_weight_decay"]
        l2 = torch.where(decoupled, 0.0, wd)
        decay = 1.0 - hp["lr"] * torch.where(decoupled, wd, 0.0)
        bc2, index2 = step_table([hp["beta2"]], steps, _bc2)
        mu, index = step_table([hp["beta1"], hp["momentum_decay"]], steps + 1, _mu)
        # torch.optim keeps Π μ_s in a tensor of its scalar dtype (float32 by default) and reads
        # it back as a Python float; the rest is Python float arithmetic, as float64 is here.
        product = torch.ones(mu.shape[1], dtype=_scalar_dtype())
        products = []
        for row in mu:
            products.append(product.mul_(row.to(product.dtype)).to(torch.float64))
        mu_product = torch.stack(products)
        mu_next = mu[1:]
        return NAdamState(
            exp_avg=torch.zeros_like(params),
            exp_avg_sq=torch.zeros_like(params),
            scratch=torch.empty_like(params),
            one_minus_beta1=column(1.0 - hp["beta1"], params),
            beta2=column(hp["beta2"], params),
            one_minus_beta2=column(1.0 - hp["beta2"], params),
            eps=column(hp["eps"], params),
            l2=column_unless(l2, params, 0.0),
            decay=column_unless(decay, params, 1.0),
            # Step factors stay float64 until the last moment, as torch.optim's Python floats do.
            neg_lr=(-hp["lr"]).to(device),
            bias_correction2=bc2.to(device),
            bias_column2=index2.to(device),
            one_minus_mu=(1.0 - mu[:-1]).to(device),
            mu_next=mu_next.to(device),
            one_minus_mu_product=(1.0 - mu_product[:-1]).to(device),
            one_minus_mu_product_next=(1.0 - mu_product[:-1] * mu_next).to(device),
            mu_column=index.to(device),
        )

    def step(
        self,
        params: Tensor,
        grad: Tensor,
        state: NAdamState,
        t: int | Tensor,
        frozen: Tensor | None = None,
    ) -> None:
        """Update ``params`` in place from ``grad`` (overwritten) at step ``t`` (0-based)."""
        if frozen is not None:
            frozen = column(frozen, params)
        update_moments(params, grad, state, frozen)
        exp_avg, exp_avg_sq, scratch = state.exp_avg, state.exp_avg_sq, state.scratch
        bc2 = at_step(state.bias_correction2, t, state.bias_column2)
        denom = torch.div(exp_avg_sq, column(bc2, params), out=scratch).sqrt_().add_(state.eps)
        index, neg_lr = state.mu_column, state.neg_lr
        grad_step = (
            neg_lr
            * at_step(state.one_minus_mu, t, index)
            / at_step(state.one_minus_mu_product, t, index)
        )
        avg_step = (
            neg_lr
            * at_step(state.mu_next, t, index)
            / at_step(state.one_minus_mu_product_next, t, index)
        )
        # addcdiv's value * t1 / t2, twice: grad takes value * g, then value * m.
        moved = params if frozen is None else params.clone()
        moved.addcdiv_(grad.mul_(column(grad_step, params)), denom)
        moved.addcdiv_(torch.mul(exp_avg, column(avg_step, params), out=grad), denom)
        if frozen is not None:
            torch.where(frozen, params, moved, out=params)
