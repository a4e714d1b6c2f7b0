"""Bought reach: a firm pays a channel (a default placement, a productivity suite, a cloud
marketplace) to put its offerings in front of customers (docs/model.md, "Brand").

At each strategy review a firm picks the size of its channel deal, the share ``d`` of all
represented customers the channel reaches, from ``firms.reach.levels``: the level whose
extra profit, at the line's best prices against its rivals on the firm's customer sample
(:func:`aimarket.agents.valuation.line_profit_usd`), most exceeds what the deal costs. A
deal adds ``d`` to the firm's brand (``demand.brand_utility * min(B + d, 1)``, ``B`` its
installed base) and is paid monthly until the next review; customers it wins join the
installed base, so its effect outlasts it by the brand's memory.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from numpy.typing import NDArray

from aimarket.agents.valuation import CustomerSample, Product, line_profit_usd

__all__ = ["brand_utility", "reach_choice"]


def brand_utility(utility: float, installed_frac: float, reach_frac: float) -> float:
    """What a firm's brand adds to customers' utility of its offerings: ``utility`` times
    its installed base and bought reach together, at most the whole market.

    >>> brand_utility(1.0, 0.3, 0.1), brand_utility(1.0, 0.8, 0.4)
    (0.4, 1.0)
    """
    return utility * min(installed_frac + reach_frac, 1.0)


def reach_choice(
    line: tuple[Product, ...],
    sample: CustomerSample,
    rivals_log_weight: NDArray[np.float64],
    *,
    elasticity: float,
    utility: float,
    installed_frac: float,
    levels: tuple[float, ...],
    usd_per_level: float,
) -> tuple[float, float]:
    """The channel deal a firm buys: ``(reach_frac, usd_per_month)``.

    Each of the ``levels`` (shares of the represented customers) is worth the line's best
    monthly profit with the brand it gives, less ``usd_per_level`` times the level; the best
    is bought (the smaller on a tie). ``rivals_log_weight`` is ``(m,)`` or ``(1, m)``: the
    rivals' nest weight on the sample now. Without a line there is nothing to sell: no
    deal.
    """
    if not line or not levels:
        return 0.0, 0.0
    if len(levels) == 1:  # nothing to choose (the channel is off)
        return float(levels[0]), usd_per_level * float(levels[0])
    lines = [
        tuple(
            dataclasses.replace(p, brand_utility=brand_utility(utility, installed_frac, d))
            for p in line
        )
        for d in levels
    ]
    rival = np.asarray(rivals_log_weight, dtype=float).reshape(1, -1)
    profit = line_profit_usd(
        lines, sample, rival, elasticity=elasticity, kappa_shift=np.zeros(1), cost_factor=np.ones(1)
    )[0]
    cost = usd_per_level * np.asarray(levels, dtype=float)
    best = int(np.argmax(profit - cost))
    return float(levels[best]), float(cost[best])
