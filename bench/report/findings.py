"""Verdicts on claims: a statistic with its 95 % interval and sample size, judged against a
threshold stated before the data are seen.

A claim is ``supported`` when the whole interval lies on the claim's side of its threshold,
``contradicted`` when the whole interval lies on the other side, and ``inconclusive`` when the
interval straddles it. Nothing here is written by hand: every verdict comes from ``judge``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from bench.report.run_stats import wilson_interval

__all__ = [
    "VERDICTS",
    "Finding",
    "Threshold",
    "bootstrap_interval",
    "judge",
    "proportion_difference",
    "proportion",
    "write_verdicts",
]

VERDICTS = ("supported", "contradicted", "inconclusive")
#: Bootstrap resamples: enough for a stable 95 % percentile interval.
N_BOOTSTRAP = 2000


@dataclass(frozen=True)
class Threshold:
    """What the claim says of its statistic: ``> value``, ``< value`` or ``within [low, high]``."""

    kind: Literal[">", "<", "within"]
    value: float = math.nan
    low: float = math.nan
    high: float = math.nan

    def __str__(self) -> str:
        if self.kind == "within":
            return f"within [{self.low:g}, {self.high:g}]"
        return f"{self.kind} {self.value:g}"


def judge(ci: tuple[float, float], threshold: Threshold) -> str:
    """The verdict of an interval ``ci`` on a claim that its statistic meets ``threshold``."""
    low, high = ci
    if not (math.isfinite(low) and math.isfinite(high)) or low > high:
        return "inconclusive"
    if threshold.kind == ">":
        if low > threshold.value:
            return "supported"
        return "contradicted" if high <= threshold.value else "inconclusive"
    if threshold.kind == "<":
        if high < threshold.value:
            return "supported"
        return "contradicted" if low >= threshold.value else "inconclusive"
    if threshold.low <= low and high <= threshold.high:
        return "supported"
    if high < threshold.low or low > threshold.high:
        return "contradicted"
    return "inconclusive"


@dataclass(frozen=True)
class Finding:
    """One row of a report's Findings: a claim, its verdict, and the evidence."""

    claim: str
    source: str
    statistic: str
    value: float
    ci: tuple[float, float]
    n: int
    threshold: str
    verdict: str

    @classmethod
    def of(
        cls,
        claim: str,
        source: str,
        statistic: str,
        value: float,
        ci: tuple[float, float],
        n: int,
        threshold: Threshold,
    ) -> Finding:
        """The finding with its verdict judged from ``ci`` and ``threshold``."""
        ci = (float(ci[0]), float(ci[1]))
        verdict = judge(ci, threshold)
        return cls(claim, source, statistic, float(value), ci, int(n), str(threshold), verdict)

    def as_json(self) -> dict[str, object]:
        """The object ``verdicts.json`` holds for this finding (infinite numbers as null)."""
        row = asdict(self)
        row["ci"] = [_finite_or_none(x) for x in self.ci]
        row["value"] = _finite_or_none(self.value)
        return row


def _finite_or_none(x: float) -> float | None:
    return x if math.isfinite(x) else None


def write_verdicts(path: Path, findings: Sequence[Finding]) -> None:
    """``verdicts.json``: the findings as a list of objects, written whole (temp file, rename)."""
    partial = path.with_name(f".{path.name}.partial")
    text = json.dumps([f.as_json() for f in findings], indent=2, ensure_ascii=False)
    partial.write_text(text + "\n")
    partial.replace(path)


def proportion(k: int, n: int) -> tuple[float, tuple[float, float]]:
    """A share ``k / n`` with its Wilson 95 % interval (NaN where n = 0)."""
    if n == 0:
        return math.nan, (math.nan, math.nan)
    return k / n, wilson_interval(k, n)


def proportion_difference(k1: int, n1: int, k2: int, n2: int) -> tuple[float, tuple[float, float]]:
    """``k1/n1 − k2/n2`` with Newcombe's hybrid score 95 % interval (from Wilson intervals)."""
    p1, (l1, u1) = proportion(k1, n1)
    p2, (l2, u2) = proportion(k2, n2)
    d = p1 - p2
    return d, (
        d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
        d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2),
    )


def bootstrap_interval(
    samples: Sequence[np.ndarray],
    statistic: Callable[..., float],
    *,
    seed: int = 0,
    resamples: int = N_BOOTSTRAP,
) -> tuple[float, tuple[float, float]]:
    """``statistic(*samples)`` with a percentile bootstrap 95 % interval.

    Each sample is resampled with replacement on its own (independent groups), from a fixed
    seed, so that a report recomputed from the same files gives the same interval.
    """
    arrays = [np.asarray(s, dtype=float) for s in samples]
    if any(len(a) == 0 for a in arrays):
        return math.nan, (math.nan, math.nan)
    value = float(statistic(*arrays))
    rng = np.random.default_rng(seed)
    draws = np.array(
        [
            statistic(*(a[rng.integers(0, len(a), len(a))] for a in arrays))
            for _ in range(resamples)
        ],
        dtype=float,
    )
    draws = draws[np.isfinite(draws)]
    if len(draws) < resamples // 2:
        return value, (math.nan, math.nan)
    low, high = np.percentile(draws, [2.5, 97.5])
    return value, (float(low), float(high))
