"""Customers learn: adoption spreads through each segment and usage follows prices.

Once a month, after the market clears, :class:`DemandGrowth` updates two numbers per
segment from what happened (:mod:`aimarket.markets.adoption` holds the rules):

- ``aware_frac``, the share of the segment's customers who consider AI at all. Customers
  who do not are out of the market (they weigh nothing in choices, revenue or firms'
  valuations). It diffuses (Bass) toward a potential set by the best capability on sale
  to the segment against its difficulty.
- ``usage``, the work each customer gives AI relative to the start (a multiplier on
  queries a month): the price per task of usage (API) segments over its first level,
  to the power ``-price_elasticity``, times ``10 ** (work_oom_per_capability_oom *`` the
  rise of the best capability since the start ``)``, on the odds that a piece of work goes
  to AI, so it saturates at ``1 / work_share_at_start_frac`` (all of the work).
  Subscribers' marginal price is zero inside their plan, so only the capability term moves
  theirs. Customers move only part of the way each month (a Nerlove partial adjustment in
  logarithms: ``usage <- usage ** (1 - a) * target ** a``, ``a = adjustment_per_month``):
  work moves into AI as workflows are rebuilt, not the month a price falls. The extra work is worth
  less per token: the value of a token of a customer's work is ``usage ** -value_dilution``
  times its value at the start (0: every extra token is worth as much as the first; 1: the
  same total value spread over more tokens).

Both are per segment, so the cost of a run does not grow with the customers it represents.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from aimarket.agents.params import AdoptionParams, UsageParams
from aimarket.agents.products import Offers
from aimarket.markets.adoption import adoption_potential, bass_step, usage_multiplier

__all__ = ["DemandGrowth"]


class DemandGrowth:
    """Each segment's adoption and usage (see the module docstring).

    Parameters
    ----------
    difficulty_kappa
        ``(s,)`` each segment's typical difficulty (OOM).
    subscription
        ``(s,)`` whether a segment buys plans.
    adoption, usage
        The rules' parameters (``demand.adoption``, ``demand.usage``).
    slope_per_oom
        Slope of task success in capability (the potential's success curve).
    """

    def __init__(
        self,
        difficulty_kappa: NDArray[np.float64],
        subscription: NDArray[np.bool_],
        *,
        adoption: AdoptionParams,
        usage: UsageParams,
        slope_per_oom: float,
    ) -> None:
        s = len(difficulty_kappa)
        self.difficulty_kappa = np.asarray(difficulty_kappa, dtype=float)
        self.subscription = np.asarray(subscription, dtype=bool)
        self.adoption, self.rule, self.slope_per_oom = adoption, usage, slope_per_oom
        #: ``(s,)`` share of each segment's customers who consider AI.
        self.aware_frac = np.full(s, adoption.initial_frac)
        #: ``(s,)`` work a month relative to the start (multiplies queries).
        self.usage = np.ones(s)
        #: ``(s,)`` the best capability on sale to each segment last month (NaN: none).
        self.best_kappa = np.full(s, np.nan)
        self._price_start = np.full(s, np.nan)
        self._kappa_start = np.full(s, np.nan)
        self._price_ratio = np.ones(s)

    @property
    def value_factor(self) -> NDArray[np.float64]:
        """``(s,)`` value per token of a customer's work relative to the start."""
        return self.usage**-self.rule.value_dilution

    def update(
        self,
        offers: Offers,
        spend_by_segment: NDArray[np.float64],
        plain_tokens_by_segment: NDArray[np.float64],
    ) -> None:
        """Learn from a month: ``offers`` on sale, what each segment spent ``(s,)`` (USD)
        and the plain-answer tokens of work it had served ``(s,)``."""
        best = np.where(offers.available, offers.kappa, -np.inf).max(axis=1, initial=-np.inf)
        self.best_kappa = np.where(np.isfinite(best), best, np.nan)
        potential = adoption_potential(
            self.best_kappa, self.difficulty_kappa, slope_per_oom=self.slope_per_oom
        )
        self.aware_frac = bass_step(
            self.aware_frac,
            potential,
            innovation_per_month=self.adoption.innovation_per_month,
            imitation_per_month=self.adoption.imitation_per_month,
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            price = np.where(plain_tokens_by_segment > 0, spend_by_segment, np.nan) / (
                plain_tokens_by_segment
            )
        known = np.isfinite(price) & (price > 0)
        start = np.isnan(self._price_start) & known
        self._price_start[start] = price[start]
        ratio = price / self._price_start
        update = known & ~self.subscription & np.isfinite(ratio)
        self._price_ratio[update] = ratio[update]  # no purchases: keep the last ratio
        first = np.isnan(self._kappa_start) & np.isfinite(self.best_kappa)
        self._kappa_start[first] = self.best_kappa[first]
        target = usage_multiplier(
            self._price_ratio,
            self.best_kappa - self._kappa_start,
            price_elasticity=self.rule.price_elasticity,
            work_oom_per_capability_oom=self.rule.work_oom_per_capability_oom,
            work_share_at_start_frac=self.rule.work_share_at_start_frac,
        )
        a = self.rule.adjustment_per_month
        self.usage = self.usage ** (1.0 - a) * target**a
