"""Every interval and test the analysis reports, in one place, from scipy.stats.

- :func:`mean_interval`: a mean over replications and its confidence interval. A metric
  with bounds (a share in [0, 1], an HHI in [0, 10,000], a margin at most 1, a price above
  0; :func:`metric_bounds`) gets an interval inside them: with ``n >= MIN_BOOTSTRAP_N``
  a BCa bootstrap (``scipy.stats.bootstrap``, seeded, so a report is the same every time
  it is made), with fewer a Student-t interval intersected with the bounds (the true mean
  lies within them, so the intersection covers at least as often). Unbounded metrics get
  the Student-t interval. ``small_n`` flags fewer than ``MIN_BOOTSTRAP_N`` replications.
- :func:`paired_difference`: the mean of paired differences (common random numbers), its
  Student-t interval and the paired t-test's p-value (``scipy.stats.ttest_1samp``).
- :func:`t_half_width`: the vectorised Student-t half-width, for bands over many months.
"""

from __future__ import annotations

import math
import re
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

__all__ = [
    "MIN_BOOTSTRAP_N",
    "Interval",
    "PairedDifference",
    "mean_interval",
    "metric_bounds",
    "paired_difference",
    "t_half_width",
]

#: Fewer replications than this: a bounded metric's interval is Student-t clipped to its
#: bounds, and flagged as resting on few replications (a bootstrap of a handful of values
#: covers far less often than it claims; Efron & Tibshirani 1993, ch. 14).
MIN_BOOTSTRAP_N = 10
_RESAMPLES = 2_000
_SEED = 20261205

_BOUNDS: tuple[tuple[str, tuple[float, float]], ...] = (
    (r"hhi", (0.0, 10_000.0)),
    (r"_month$", (0.0, math.inf)),
    (r"(^|_)cr\d|share|_frac|adoption", (0.0, 1.0)),
    (r"margin|lerner", (-math.inf, 1.0)),
    (
        r"price|usd|gpus|queries|tokens|entries|exits|firms_|models_|survivors|kappa",
        (0.0, math.inf),
    ),
)


def metric_bounds(metric: str) -> tuple[float, float]:
    """The values a metric can take, from its name (``(-inf, inf)`` if unknown).

    Examples
    --------
    >>> metric_bounds("hhi_revenue_final"), metric_bounds("cr4"), metric_bounds("gross_margin")
    ((0.0, 10000.0), (0.0, 1.0), (-inf, 1.0))
    >>> metric_bounds("price_at_reference_decline_per_year"), metric_bounds("month")
    ((0.0, inf), (-inf, inf))
    >>> metric_bounds("inference_overtakes_training_month")
    (0.0, inf)
    """
    for pattern, bounds in _BOUNDS:
        if re.search(pattern, metric):
            return bounds
    return (-math.inf, math.inf)


class Interval(NamedTuple):
    """A mean over ``n`` values, its sample sd and its interval (NaN where ``n < 2``)."""

    n: int
    mean: float
    sd: float
    low: float
    high: float
    method: str  # "t", "t clipped to bounds", "bootstrap BCa" or "none"
    small_n: bool


def t_half_width(sd: ArrayLike, n: ArrayLike, confidence: float = 0.95) -> NDArray[np.float64]:
    """Half-width of the two-sided Student-t interval of a mean; NaN where ``n < 2``.

    Examples
    --------
    >>> t_half_width([1.0, 1.0], [4, 1]).round(4).tolist()
    [1.5912, nan]
    """
    sd, n = np.asarray(sd, dtype=float), np.asarray(n, dtype=float)
    dof = np.maximum(n - 1, 1)
    t = np.where(n > 1, stats.t.ppf(0.5 + confidence / 2, dof), np.nan)
    return t * sd / np.sqrt(np.maximum(n, 1))


def mean_interval(
    values: ArrayLike,
    *,
    confidence: float = 0.95,
    bounds: tuple[float, float] = (-math.inf, math.inf),
) -> Interval:
    """The mean of ``values`` (NaN ignored) and its confidence interval, within ``bounds``.

    Examples
    --------
    >>> iv = mean_interval([0.1, 0.0, 0.05], bounds=(0.0, 1.0))
    >>> round(iv.mean, 3), iv.low, iv.method, iv.small_n
    (0.05, 0.0, 't clipped to bounds', True)
    >>> mean_interval([2.0]).low
    nan
    """
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    n = int(x.size)
    if n == 0:
        return Interval(0, math.nan, math.nan, math.nan, math.nan, "none", True)
    mean = float(x.mean())
    sd = float(x.std(ddof=1)) if n > 1 else math.nan
    lo, hi = bounds
    bounded = math.isfinite(lo) or math.isfinite(hi)
    small = n < MIN_BOOTSTRAP_N
    if n < 2:
        return Interval(n, mean, sd, math.nan, math.nan, "none", True)
    if bounded and not small and sd > 0:
        res = stats.bootstrap(
            (x,),
            np.mean,
            confidence_level=confidence,
            n_resamples=_RESAMPLES,
            method="BCa",
            rng=np.random.default_rng(_SEED),
        )
        low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
        if math.isfinite(low) and math.isfinite(high):
            return Interval(n, mean, sd, max(low, lo), min(high, hi), "bootstrap BCa", small)
    half = float(t_half_width(sd, n, confidence))
    if not bounded:
        return Interval(n, mean, sd, mean - half, mean + half, "t", small)
    return Interval(
        n, mean, sd, max(mean - half, lo), min(mean + half, hi), "t clipped to bounds", small
    )


class PairedDifference(NamedTuple):
    """Mean of ``n`` paired differences, its Student-t interval and the paired t-test."""

    n: int
    mean_diff: float
    low: float
    high: float
    p_value: float


def paired_difference(diff: ArrayLike, *, confidence: float = 0.95) -> PairedDifference:
    """Mean of paired differences (NaN ignored), its Student-t interval and the two-sided
    p-value of the paired t-test (NaN where ``n < 2`` or every difference is the same).

    Examples
    --------
    >>> d = paired_difference([1.0, 2.0, 3.0])
    >>> d.mean_diff, round(d.low, 3), round(d.p_value, 4)
    (2.0, -0.484, 0.0742)
    """
    d = np.asarray(diff, dtype=float)
    d = d[np.isfinite(d)]
    n = int(d.size)
    if n == 0:
        return PairedDifference(0, math.nan, math.nan, math.nan, math.nan)
    mean = float(d.mean())
    if n < 2:
        return PairedDifference(n, mean, math.nan, math.nan, math.nan)
    sd = float(d.std(ddof=1))
    half = float(t_half_width(sd, n, confidence))
    p = float(stats.ttest_1samp(d, 0.0).pvalue) if sd > 0 else math.nan
    return PairedDifference(n, mean, mean - half, mean + half, p)
