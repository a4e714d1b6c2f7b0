"""Firms' decision rules as pure functions of what a firm observes.

No agent state and no random draws here, so each rule can be tested on its own.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["funding_offer_usd", "next_price_usd"]


def next_price_usd(
    fallback_usd: ArrayLike,
    *,
    previous_price_usd: ArrayLike,
    best_response_usd: ArrayLike,
    damping_frac: float,
    max_step: float = 2.0,
) -> NDArray[np.float64]:
    """This month's price: a damped step toward the best response, in logarithms.

    ``log price = log previous + damping * (log target - log previous)``, the step limited
    to a factor ``max_step`` either way: the best response is computed holding last
    month's demand fixed, so a full step overshoots wherever demand bends, and a firm that
    knows this moves part of the way. Where the best response is undefined (no demand at
    all, NaN) the firm steps toward ``fallback_usd`` instead (its unit cost). Arrays
    broadcast; prices are positive.

    Examples
    --------
    >>> next_price_usd(1.0, previous_price_usd=[4.0, 4.0, 4.0],
    ...                best_response_usd=[1.0, 100.0, np.nan], damping_frac=0.5).tolist()
    [2.0, 8.0, 2.0]
    """
    fallback = np.asarray(fallback_usd, dtype=float)
    previous = np.asarray(previous_price_usd, dtype=float)
    target = np.asarray(best_response_usd, dtype=float)
    if not (np.isfinite(previous).all() and (previous > 0).all()):
        raise ValueError("previous prices must be positive and finite")
    if not 0 < damping_frac <= 1:
        raise ValueError(f"damping_frac must be in (0, 1], got {damping_frac}")
    if max_step <= 1:
        raise ValueError(f"max_step must exceed 1, got {max_step}")
    target = np.where(np.isfinite(target) & (target > 0), target, fallback)
    limit = np.log(max_step)
    step = np.clip(damping_frac * np.log(target / previous), -limit, limit)
    return previous * np.exp(step)


def funding_offer_usd(
    *,
    annual_revenue_usd: float,
    revenue_multiple: float,
    base_round_usd: float,
    capital_market_index: float,
    dilution_frac: float = 1.0,
) -> float:
    """The most investors will put in now: traction-based, scaled by the capital market.

    ``index * max(dilution_frac * revenue_multiple * annual_revenue, base_round)``: a firm
    with revenue is valued at a multiple of it (AI labs raised at 10–40x forward revenue in
    2024–25) and sells at most ``dilution_frac`` of itself in a round; one without can
    raise a base round (venture or strategic). ``capital_market_index`` scales every
    round: 1 is the 2024–25 market, 0 shuts it.

    Examples
    --------
    >>> funding_offer_usd(annual_revenue_usd=1e9, revenue_multiple=10, base_round_usd=5e8,
    ...                   capital_market_index=0.5, dilution_frac=0.2)
    1000000000.0
    """
    if capital_market_index < 0 or revenue_multiple < 0 or base_round_usd < 0:
        raise ValueError("funding parameters must be non-negative")
    if not 0 <= dilution_frac <= 1:
        raise ValueError(f"dilution_frac must be in [0, 1], got {dilution_frac}")
    traction = dilution_frac * revenue_multiple * annual_revenue_usd
    return float(capital_market_index * max(traction, base_round_usd))
