"""Adam's ``eps_placement=keras`` equals Keras 3's own ``keras.optimizers.Adam``, step for step.

Keras runs with its torch backend in float64. Its order of operations differs from torch.optim's
(m += (g − m)(1 − β₁), a tensor power for β^t), so the two agree to rounding, not bit for bit.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType

import pytest
import torch

from bench.optim import make_rule

#: Keras's defaults (ε = 1e-7), large ε where the placement matters, AMSGrad, decoupled decay.
MEMBERS = [
    {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-7},
    {"lr": 1e-2, "beta1": 0.9, "beta2": 0.999, "eps": 1e-1},
    {"lr": 3e-2, "beta1": 0.5, "beta2": 0.9, "eps": 1.0, "amsgrad": True},
    {"lr": 1e-2, "beta1": 0.0, "beta2": 0.5, "eps": 1e-3, "weight_decay": 0.1},
]


@pytest.fixture(scope="module")
def keras() -> Iterator[ModuleType]:
    """Keras 3 on its torch backend with float64 variables, or a skip saying why not."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("KERAS_BACKEND", "torch")
        try:
            import keras
        except Exception as error:  # any failure to import is a reason to skip, not to fail
            pytest.skip(f"keras cannot import: {error}")
    if keras.backend.backend() != "torch":
        pytest.skip(f"keras was imported with the {keras.backend.backend()} backend")
    floatx = keras.config.floatx()
    keras.config.set_floatx("float64")
    yield keras
    keras.config.set_floatx(floatx)


def _keras_trajectory(keras: ModuleType, x0: torch.Tensor, grads: torch.Tensor, member: dict):
    """The parameters after each step of keras.optimizers.Adam: ``[steps, D]``."""
    variable = keras.Variable(x0.clone(), dtype="float64")
    decay = member.get("weight_decay", 0.0)
    optimizer = keras.optimizers.Adam(
        learning_rate=member["lr"],
        beta_1=member["beta1"],
        beta_2=member["beta2"],
        epsilon=member["eps"],
        amsgrad=member.get("amsgrad", False),
        weight_decay=decay or None,
    )
    steps = []
    for g in grads:
        optimizer.apply([g.clone()], [variable])
        steps.append(variable.value.detach().clone())
    return torch.stack(steps)


def _trajectory(placement: str, x0: torch.Tensor, grads: torch.Tensor) -> torch.Tensor:
    """Our population's parameters after each step: ``[steps, P, D]``."""
    keys = ("lr", "beta1", "beta2", "eps", "amsgrad", "weight_decay")
    defaults = {"amsgrad": False, "weight_decay": 0.0}
    rule = make_rule(
        "adam",
        len(MEMBERS),
        **{k: [m.get(k, defaults.get(k)) for m in MEMBERS] for k in keys},
        # Keras's weight decay is decoupled, as AdamW's.
        decoupled_weight_decay=True,
        eps_placement=placement,
    )
    x, state = x0.clone(), rule.init_state(x0, len(grads))
    steps = []
    for t, g in enumerate(grads):
        rule.step(x, g.clone(), state, t)
        steps.append(x.clone())
    return torch.stack(steps)


def test_keras_placement_equals_keras_adam_step_for_step(keras: ModuleType) -> None:
    gen = torch.Generator().manual_seed(0)
    steps, size, dim = 50, len(MEMBERS), 20
    x0 = torch.randn(size, dim, generator=gen, dtype=torch.float64)
    grads = torch.randn(steps, size, dim, generator=gen, dtype=torch.float64)
    ours = _trajectory("keras", x0, grads)
    torch_placement = _trajectory("torch", x0, grads)
    for i, member in enumerate(MEMBERS):
        theirs = _keras_trajectory(keras, x0[i], grads[:, i], member)
        torch.testing.assert_close(ours[:, i], theirs, rtol=1e-12, atol=1e-15, msg=str(member))
        if member["eps"] >= 1e-1:
            # The check can tell the placements apart where ε is large.
            assert not torch.allclose(torch_placement[:, i], theirs, rtol=1e-6, atol=0)
