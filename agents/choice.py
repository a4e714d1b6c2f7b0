"""What the population's monthly choice takes and gives: the segment a customer belongs to
(:class:`SegmentLike`) and one month's choices, weighted to the market (:class:`Choice`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from aimarket.markets.pricing import LineSums

__all__ = ["Choice", "SegmentLike"]


class SegmentLike(Protocol):
    """What a customer segment must provide (``agents.params.SegmentParams`` does)."""

    name: str
    weight_frac: float
    value_usd_per_success: float
    value_log_sd: float
    difficulty_kappa: float
    difficulty_sd_oom: float
    queries_per_month: float
    queries_log_sd: float
    tokens_per_query: float
    latency_value_frac_per_s: float
    hard_task_frac: float
    hard_task_extra_oom: float
    outside_value_frac: float
    outside_value_sd: float
    subscription: bool


@dataclass(frozen=True, slots=True)
class Choice:
    """One month of choices, over ``j`` offerings and ``s`` segments (weighted to the market).

    Attributes
    ----------
    queries_by_segment
        ``(s, j)`` queries each offering served (a plan serves up to its allowance; the
        rest of a subscriber's work is done the non-AI way).
    tokens_by_segment
        ``(s, j)`` tokens each offering served (reasoning included).
    pay_units_by_segment
        ``(s, j)`` units of price paid: tokens for per-token offerings, subscriptions for
        plans. Revenue is ``price * pay_units``.
    spend_by_segment
        ``(s, j)`` what customers of each segment paid each offering, summed customer by
        customer.
    pricing
        The demand each offering faced on the pricing sample (see
        :attr:`CustomerPopulation.pricing`), as the cost-free sums of the multi-product
        first-order condition (:func:`aimarket.markets.pricing.line_pricing_sums`).
    surplus_usd
        Expected consumer surplus over the outside option (switching costs included).
    adopters_frac
        Fraction of customers who used any offering.
    subscribers_unprofitable_frac
        Of the customers on a paid plan, the fraction whose queries cost the seller more
        to serve than their fee (NaN when nobody subscribes).
    paying_frac
        Fraction of customers who paid for an offering (free plans' users left out).
    funnel_spend_usd
        ``(j,)`` what customers paid each offering whose seller's free plan converted
        them (:mod:`aimarket.agents.funnel`).
    conversions
        ``(j,)`` customers who moved this month from its seller's free plan to the
        offering.
    """

    queries_by_segment: NDArray[np.float64]
    tokens_by_segment: NDArray[np.float64]
    pay_units_by_segment: NDArray[np.float64]
    spend_by_segment: NDArray[np.float64]
    pricing: LineSums
    surplus_usd: float
    adopters_frac: float
    subscribers_unprofitable_frac: float = float("nan")
    paying_frac: float = 0.0
    funnel_spend_usd: NDArray[np.float64] | None = None
    conversions: NDArray[np.float64] | None = None

    @property
    def queries(self) -> NDArray[np.float64]:
        """``(j,)`` queries each offering served."""
        return self.queries_by_segment.sum(axis=0)

    @property
    def spend_usd(self) -> NDArray[np.float64]:
        """``(j,)`` what customers paid each offering."""
        return self.spend_by_segment.sum(axis=0)

    @property
    def tokens(self) -> NDArray[np.float64]:
        """``(j,)`` tokens each offering served."""
        return self.tokens_by_segment.sum(axis=0)
