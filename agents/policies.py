"""Firms' decision rules as pure functions of what a firm observes.

No agent state and no random draws here, so each rule can be tested on its own.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["next_price_usd"]


def next_price_usd(
    cost_usd_per_query: ArrayLike,
    *,
    previous_price_usd: ArrayLike,
    best_response_markup_usd: ArrayLike,
    damping_frac: float,
) -> NDArray[np.float64]:
    """This month's price per query: a damped step toward the logit best response.

    ``target = cost + markup`` where ``markup`` is the best response to the demand the firm
    faced last month (:func:`markets.pricing.logit_best_response_markup_usd`);
    ``price = previous + damping * (target - previous)``. Damping makes the fixed-point
    iteration converge instead of oscillating. Where the firm had no demand at all
    (infinite markup) it steps toward cost instead. The price never falls below cost.
    Arrays broadcast (one price per customer segment).

    Examples
    --------
    >>> next_price_usd(1.0, previous_price_usd=[3.0, 3.0],
    ...                best_response_markup_usd=[1.0, np.inf], damping_frac=0.5).tolist()
    [2.5, 2.0]
    """
    cost = np.asarray(cost_usd_per_query, dtype=float)
    previous = np.asarray(previous_price_usd, dtype=float)
    markup = np.asarray(best_response_markup_usd, dtype=float)
    if not np.all(np.isfinite(previous)):
        raise ValueError("previous prices must be finite")
    if not 0 < damping_frac <= 1:
        raise ValueError(f"damping_frac must be in (0, 1], got {damping_frac}")
    target = cost + np.where(np.isfinite(markup), markup, 0.0)
    return np.maximum(previous + damping_frac * (target - previous), cost)
