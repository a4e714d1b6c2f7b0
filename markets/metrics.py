"""Market concentration and margin metrics.

Pure numpy. Shares are fractions in ``[0, 1]``; HHI is on the 0–10,000 scale used by
competition authorities (US DOJ/FTC Merger Guidelines 2023: above 1,800 is "highly
concentrated").
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "concentration_ratio",
    "gross_margin",
    "hhi",
    "lerner_index",
    "operating_margin",
    "segment_leaders",
    "shares",
]


def shares(values: ArrayLike, fringe: ArrayLike = 0.0) -> NDArray[np.float64]:
    """Shares of a non-negative quantity along the last axis; all zero when the total is 0.

    ``fringe`` is the part of the market held by an atomistic competitive fringe (many
    firms too small to count, e.g. hosts of open weights): it is in the total, so the
    listed firms' shares sum to less than 1, but it has no share of its own. Scalar, or
    one value per leading index.

    Examples
    --------
    >>> shares([1.0, 3.0]).tolist()
    [0.25, 0.75]
    >>> shares([1.0, 3.0], fringe=4.0).tolist()
    [0.125, 0.375]
    >>> shares([0.0, 0.0]).tolist()
    [0.0, 0.0]
    """
    x = np.asarray(values, dtype=float)
    f = np.asarray(fringe, dtype=float)
    if x.ndim == 1 and f.ndim == 0:  # one market: scalar arithmetic, the same numbers
        rest = float(f)
        if rest < 0 or (x.size and x.min() < 0):
            raise ValueError("shares need non-negative values")
        total = float(x.sum()) + rest
        return x / total if total > 0 else np.zeros_like(x)
    if np.any(x < 0) or np.any(f < 0):
        raise ValueError("shares need non-negative values")
    total = x.sum(axis=-1, keepdims=True) + (f[..., None] if f.ndim else f)
    return np.divide(x, total, out=np.zeros_like(x), where=total > 0)


def hhi(values: ArrayLike, fringe: ArrayLike = 0.0) -> NDArray[np.float64] | float:
    """Herfindahl–Hirschman index of a quantity's shares, 0–10,000, along the last axis.

    ``HHI = 10_000 * sum_i s_i**2``. With ``n`` firms holding positive values and no
    fringe it lies in ``[10_000 / n, 10_000]``; an atomistic ``fringe`` (see
    :func:`shares`) adds to the total but not to the sum. Zero when every value is zero
    (no market).

    Examples
    --------
    >>> float(hhi([1.0, 1.0, 1.0, 1.0]))
    2500.0
    >>> float(hhi([5.0]))
    10000.0
    >>> float(hhi([5.0], fringe=5.0))
    2500.0
    """
    s = shares(values, fringe)
    return np.minimum(10_000.0 * np.sum(s * s, axis=-1), 10_000.0)  # rounding can exceed


def concentration_ratio(
    values: ArrayLike, k: int, fringe: ArrayLike = 0.0
) -> NDArray[np.float64] | float:
    """CR-k: combined share of the ``k`` largest, a fraction in ``[0, 1]``, along the last axis
    (an atomistic ``fringe`` counts in the total only; see :func:`shares`).

    Examples
    --------
    >>> float(concentration_ratio([1.0, 2.0, 7.0], 1))
    0.7
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    s = np.sort(shares(values, fringe), axis=-1)
    return np.minimum(np.sum(s[..., -k:], axis=-1), 1.0)  # rounding can exceed 1


def _ratio(num: NDArray[np.float64], den: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.divide(num, den, out=np.full(np.broadcast(num, den).shape, np.nan), where=den > 0)


def gross_margin(revenue_usd: ArrayLike, serving_cost_usd: ArrayLike) -> NDArray[np.float64]:
    """``(revenue - serving cost) / revenue``; NaN where revenue is 0 (undefined).

    Examples
    --------
    >>> float(gross_margin(100.0, 40.0))
    0.6
    """
    r = np.asarray(revenue_usd, dtype=float)
    return _ratio(r - np.asarray(serving_cost_usd, dtype=float), r)


def operating_margin(
    revenue_usd: ArrayLike, serving_cost_usd: ArrayLike, fixed_cost_usd: ArrayLike
) -> NDArray[np.float64]:
    """``(revenue - serving cost - fixed costs) / revenue``; NaN at zero revenue.

    Fixed costs are training amortisation plus operating expenses, as the caller sums them.
    """
    r = np.asarray(revenue_usd, dtype=float)
    cost = np.asarray(serving_cost_usd, dtype=float) + np.asarray(fixed_cost_usd, dtype=float)
    return _ratio(r - cost, r)


def lerner_index(price_usd: ArrayLike, marginal_cost_usd: ArrayLike) -> NDArray[np.float64]:
    """Lerner index ``(P - MC) / P``; NaN where the price is 0.

    Examples
    --------
    >>> float(lerner_index(2.0, 0.5))
    0.75
    """
    p = np.asarray(price_usd, dtype=float)
    return _ratio(p - np.asarray(marginal_cost_usd, dtype=float), p)


def segment_leaders(spend_usd: ArrayLike, owners: ArrayLike) -> int:
    """How many owners lead at least one segment: the one with the most spend there.

    ``spend_usd`` is ``(s, j)`` spend per segment and offering, ``owners`` ``(j,)`` each
    offering's owner (an integer id; offerings of one owner are added up). Segments with
    no spend have no leader; a tie goes to the smallest id.

    >>> segment_leaders([[5.0, 1.0, 2.0], [1.0, 3.0, 3.0], [0.0, 0.0, 0.0]], [1, 2, 2])
    2
    >>> segment_leaders([[5.0, 1.0, 2.0], [4.0, 1.0, 2.0]], [1, 2, 2])
    1
    >>> segment_leaders(np.zeros((2, 0)), [])
    0
    """
    spend = np.asarray(spend_usd, dtype=float)
    ids, col = np.unique(np.asarray(owners), return_inverse=True)
    by_owner = np.zeros((spend.shape[0], ids.size))
    np.add.at(by_owner, (slice(None), col), spend)
    sold = by_owner.sum(axis=1) > 0
    if not sold.any():
        return 0
    return int(np.unique(by_owner[sold].argmax(axis=1)).size)
