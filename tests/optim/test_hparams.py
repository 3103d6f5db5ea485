"""Hyperparameter plumbing shared by the update rules (``bench/optim/hparams.py``)."""

from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.optim.hparams import step_table, unique_rows

#: Values with ties and both zeros: what makes row-uniqueness hard.
VALUES = st.sampled_from([-0.5, -0.0, 0.0, 0.5, 0.9, 0.999])


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 3).flatmap(lambda k: st.lists(st.tuples(*[VALUES] * k), max_size=30)))
def test_unique_rows_is_torch_unique_over_rows(rows: list[tuple[float, ...]]) -> None:
    width = 1 if not rows else len(rows[0])
    stacked = torch.tensor(rows, dtype=torch.float64).reshape(len(rows), width)
    keys = list(stacked.unbind(1))
    expected, inverse = torch.unique(stacked, dim=0, return_inverse=True)
    unique, index = unique_rows(keys)
    assert torch.equal(unique, expected)
    assert torch.equal(index, inverse)


def test_step_table_one_column_per_distinct_setting() -> None:
    beta = torch.tensor([0.9, 0.5, 0.9, 0.9], dtype=torch.float64)
    corrected = torch.tensor([True, True, True, False])
    table, column = step_table([beta, corrected], 3, lambda b, c, t: 1 - b**t if c else 1.0)
    assert table.shape == (3, 3)  # (0.5, on), (0.9, off), (0.9, on)
    assert column.tolist() == [2, 0, 2, 1]
    assert table[:, 2].tolist() == [1 - 0.9**t for t in (1.0, 2.0, 3.0)]
    assert table[:, 1].tolist() == [1.0, 1.0, 1.0]
