"""Rosenbrock against its textbook values."""

from __future__ import annotations

import pytest
import torch

from bench.tasks.valleys import Rosenbrock


def test_rosenbrock_textbook_values() -> None:
    task = Rosenbrock(dim=2, dtype=torch.float64)
    x = torch.tensor([[-1.2, 1.0], [0.0, 0.0]], dtype=torch.float64)
    value, grad = task.loss_and_grad(x)
    assert value.tolist() == pytest.approx([24.2, 1.0])
    assert grad[0].tolist() == pytest.approx([-215.6, -88.0])
