"""Student's t quantiles against SciPy's (``scipy.special.stdtrit``, what ``scipy.stats.t.ppf``
computes), over the degrees of freedom a report meets: one per run of a configuration, less one."""

from __future__ import annotations

import math

import pytest
from scipy.special import stdtrit

from bench.report.student_t import t_quantile

PROBABILITIES = (0.001, 0.025, 0.1, 0.6, 0.9, 0.95, 0.975, 0.99, 0.995, 0.999, 0.9999)
DEGREES = (*range(1, 61), 99, 100, 255, 256, 999, 1000, 1001, 4999, 12345, 10**5, 10**6)


@pytest.mark.parametrize("df", DEGREES)
def test_t_quantile_is_scipys(df: int) -> None:
    for p in PROBABILITIES:
        assert t_quantile(p, df) == pytest.approx(float(stdtrit(df, p)), rel=1e-12, abs=0)


def test_t_quantile_is_odd_and_known_in_closed_form() -> None:
    assert t_quantile(0.5, 7) == 0.0
    assert t_quantile(0.025, 9) == -t_quantile(0.975, 9)
    # df = 2: t = (2p − 1) / sqrt(2p(1 − p)).
    p = 0.975
    assert t_quantile(p, 2) == pytest.approx((2 * p - 1) / math.sqrt(2 * p * (1 - p)), rel=1e-14)


@pytest.mark.parametrize(("p", "df"), [(0.975, 0), (0.975, 2.5), (0.0, 3), (1.0, 3), (1.5, 3)])
def test_t_quantile_refuses_what_it_cannot_answer(p: float, df: float) -> None:
    with pytest.raises(ValueError, match="whole number|strictly between"):
        t_quantile(p, df)
