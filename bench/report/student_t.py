"""Student's t quantiles for whole degrees of freedom, in NumPy and the standard library.

``scipy.stats.t.ppf`` (or ``scipy.special.stdtrit``) gives the same numbers, but importing it
takes a quarter of a second, as long as the rest of a one-study report's tables. With whole
degrees of freedom the distribution function has a closed form (Abramowitz and Stegun 26.7.3
and 26.7.4), which Newton's method inverts from the Cornish–Fisher expansion; from 1000 degrees
of freedom on, the expansion alone is as close.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

__all__ = ["t_quantile"]

#: At most this many steps; from the Cornish–Fisher start a handful reach rounding error.
_MAX_STEPS = 200
#: From here on the expansion alone is within 1e-13 (relative, p up to 0.9999), and summing the
#: closed form's df/2 terms would add more rounding error than that.
_EXPANSION_FROM = 1000


def t_quantile(p: float, df: int) -> float:
    """The ``p`` quantile of Student's t with ``df`` (a whole number ≥ 1) degrees of freedom."""
    if df < 1 or int(df) != df:
        raise ValueError(f"degrees of freedom must be a whole number >= 1, got {df!r}")
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must lie strictly between 0 and 1, got {p!r}")
    df = int(df)
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    if p == 0.5:
        return 0.0
    if df == 1:
        return math.tan(math.pi * (p - 0.5))
    if df >= _EXPANSION_FROM:
        return _cornish_fisher(p, df)
    log_density_scale = (
        math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    )
    # Newton's method, kept inside the bracket that the signs of cdf(t) − p narrow down (the
    # expansion starts far off for few degrees of freedom in the far tail).
    low, high = 0.0, math.inf
    t = max(_cornish_fisher(p, df), math.ulp(1.0))
    for _ in range(_MAX_STEPS):
        error = _cdf(t, df) - p
        if error == 0:
            break
        low, high = (t, high) if error < 0 else (low, t)
        density = math.exp(log_density_scale - (df + 1) / 2 * math.log1p(t * t / df))
        step = t - error / density
        if not low < step < high:
            step = 2 * t if math.isinf(high) else (low + high) / 2
        if abs(step - t) <= 4 * math.ulp(t):
            t = step
            break
        t = step
    return t


def _cdf(t: float, df: int) -> float:
    """P(T ≤ t) for t ≥ 0, from the closed-form P(|T| ≤ t) of whole degrees of freedom."""
    theta = math.atan(t / math.sqrt(df))
    c2 = math.cos(theta) ** 2
    if df % 2 == 0:
        # sin θ · Σ_{k < df/2} c2^k · (1·3···(2k−1)) / (2·4···2k)
        k = np.arange(1, df // 2)
        series = 1.0 + np.cumprod((2 * k - 1) / (2 * k) * c2).sum()
        two_sided = math.sin(theta) * series
    else:
        # (2/π) · (θ + sin θ cos θ · Σ_{k < (df−1)/2} c2^k · (2·4···2k) / (3·5···(2k+1)))
        k = np.arange(1, (df - 1) // 2)
        series = 1.0 + np.cumprod(2 * k / (2 * k + 1) * c2).sum()
        two_sided = 2 / math.pi * (theta + math.sin(theta) * math.cos(theta) * series)
    return 0.5 + 0.5 * two_sided


def _cornish_fisher(p: float, df: int) -> float:
    """The t quantile's expansion in 1/df around the normal one (Abramowitz and Stegun 26.7.5)."""
    z = NormalDist().inv_cdf(p)
    z2 = z * z
    g1 = z * (z2 + 1) / 4
    g2 = z * ((5 * z2 + 16) * z2 + 3) / 96
    g3 = z * (((3 * z2 + 19) * z2 + 17) * z2 - 15) / 384
    g4 = z * ((((79 * z2 + 776) * z2 + 1482) * z2 - 1920) * z2 - 945) / 92160
    return z + g1 / df + g2 / df**2 + g3 / df**3 + g4 / df**4
