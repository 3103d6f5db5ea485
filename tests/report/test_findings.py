"""Verdicts from intervals and thresholds, on hand-made data for each outcome."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from bench.report.findings import (
    Finding,
    Threshold,
    bootstrap_interval,
    judge,
    proportion,
    proportion_difference,
    write_verdicts,
)

ABOVE = Threshold(">", 0.0)
BELOW = Threshold("<", 0.05)
WITHIN = Threshold("within", low=0.9, high=1.1)


@pytest.mark.parametrize(
    ("ci", "threshold", "verdict"),
    [
        ((0.1, 0.3), ABOVE, "supported"),
        ((-0.3, -0.1), ABOVE, "contradicted"),
        ((-0.3, 0.0), ABOVE, "contradicted"),  # never above 0
        ((-0.1, 0.2), ABOVE, "inconclusive"),
        ((0.0, 0.02), BELOW, "supported"),
        ((0.06, 0.2), BELOW, "contradicted"),
        ((0.01, 0.3), BELOW, "inconclusive"),
        ((0.95, 1.05), WITHIN, "supported"),
        ((1.2, 1.4), WITHIN, "contradicted"),
        ((0.5, 0.8), WITHIN, "contradicted"),
        ((0.8, 1.0), WITHIN, "inconclusive"),
        ((0.5, 1.5), WITHIN, "inconclusive"),
        ((math.nan, 1.0), ABOVE, "inconclusive"),
    ],
)
def test_verdict_from_interval_and_threshold(ci, threshold, verdict) -> None:
    assert judge(ci, threshold) == verdict


def test_escape_counts_give_each_verdict() -> None:
    # 0 of 128 deterministic runs escaped: the Wilson interval lies below 5 %.
    rate, ci = proportion(0, 128)
    assert rate == 0 and judge(ci, BELOW) == "supported"
    # 40 of 100 against 10 of 100: noise helps, the difference's interval lies above 0.
    diff, ci = proportion_difference(40, 100, 10, 100)
    assert diff == pytest.approx(0.3) and judge(ci, ABOVE) == "supported"
    assert judge(proportion_difference(10, 100, 40, 100)[1], ABOVE) == "contradicted"
    # 3 of 8 against 2 of 8: too few runs to tell.
    assert judge(proportion_difference(3, 8, 2, 8)[1], ABOVE) == "inconclusive"


def test_newcombe_interval_matches_the_published_example() -> None:
    # Newcombe (1998), Table II, example (a): 56/70 − 48/80 = 0.2, interval 0.0524 to 0.3339.
    diff, (low, high) = proportion_difference(56, 70, 48, 80)
    assert diff == pytest.approx(0.2)
    assert low == pytest.approx(0.0524, abs=5e-4)
    assert high == pytest.approx(0.3339, abs=5e-4)


def test_bootstrap_interval_is_seeded_and_covers_a_known_difference() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.normal(1.0, 1.0, 400), rng.normal(0.0, 1.0, 400)
    diff = lambda x, y: x.mean() - y.mean()  # noqa: E731
    value, ci = bootstrap_interval([a, b], diff)
    assert ci == bootstrap_interval([a, b], diff)[1]  # same files, same interval
    assert ci[0] < 1.0 < ci[1] and ci[0] > 0.7 and ci[1] < 1.3
    assert judge(ci, ABOVE) == "supported"
    assert math.isnan(bootstrap_interval([np.array([]), b], diff)[1][0])


def test_verdicts_json_has_the_documented_keys(tmp_path: Path) -> None:
    findings = [
        Finding.of("GD stays stuck", "article Q1", "escape rate", 0.0, (0.0, 0.03), 128, BELOW),
        Finding.of("x", "y", "slope", math.inf, (1.0, math.inf), 5, ABOVE),
    ]
    path = tmp_path / "verdicts.json"
    write_verdicts(path, findings)
    rows = json.loads(path.read_text())
    keys = {"claim", "source", "verdict", "statistic", "value", "ci", "n", "threshold"}
    assert [set(r) for r in rows] == [keys, keys]
    assert rows[0]["verdict"] == "supported" and rows[0]["ci"] == [0.0, 0.03]
    assert rows[0]["threshold"] == "< 0.05" and rows[0]["n"] == 128
    assert rows[1]["value"] is None and rows[1]["verdict"] == "inconclusive"
