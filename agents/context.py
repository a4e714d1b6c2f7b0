"""What every firm observes in a month: one explicit context, built once a month.

The simulation builds a :class:`MarketContext` at the start of each month's strategy phase
(and for an entrant arriving between months): the month's technology, last month's
offerings and the demand they met, the customer sample firms value projects against, the
frontier's trends, the agents' parameters. Firms decide from it alone. What it derives
(rivals' nest terms, each set of business models' candidates) is computed once, on first
use, and lives as long as the context: nothing is cached across months.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from aimarket.agents.effort import SegmentProfile, reasoning_effort
from aimarket.agents.params import (
    DemandParams,
    EntryParams,
    FinanceParams,
    FirmParams,
    MarketParams,
    StrategyParams,
)
from aimarket.agents.products import Model, Offers, Tier
from aimarket.agents.technology import Technology
from aimarket.agents.valuation import CustomerSample, Rivals
from aimarket.markets.pricing import LineSums
from aimarket.markets.testtime import TRADEOFFS, TaskClass

if TYPE_CHECKING:
    from aimarket.agents.business import BusinessModel
    from aimarket.agents.strategy import Candidate

__all__ = ["AgentParams", "MarketContext", "Supply"]


@dataclass(frozen=True, slots=True)
class AgentParams:
    """The agents' knobs of a run (sections of ``[model]``)."""

    demand: DemandParams
    market: MarketParams
    firms: FirmParams
    strategy: StrategyParams
    finance: FinanceParams
    entry: EntryParams
    #: The regime's test-time trade-off ``(oom_per_oom, cap_oom)``.
    tradeoff: tuple[float, float]
    #: Tiers' batch sizes: standard, priority, batch.
    batches: tuple[int, int, int]

    def post_training(self, *, reasons: bool) -> tuple[float, float]:
        """``(r, gain_oom)`` of a model of this run (``firms.post_training``): a reasoning
        model's extra return over a plain one's scales with how much reasoning buys per
        OOM of tokens in the regime, against the general-task trade-off (1 balanced, 0.5
        upfront-heavy, 0.95 inference-heavy)."""
        lever = self.tradeoff[0] / TRADEOFFS[TaskClass.GENERAL].oom_per_oom
        return self.firms.post_training.split(reasons=reasons, lever_frac=lever)


@dataclass(frozen=True, slots=True)
class Supply:
    """A lab's most capable model on sale, as wrappers and distillers see it: its standard
    offering's capability and effort per segment ``(s,)``, GPU cost, latency and list
    price per token."""

    firm_id: int
    model: Model
    kappa: NDArray[np.float64]
    multiplier: NDArray[np.float64]
    usd_per_token: float
    latency_s_per_token: float
    price_usd_per_token: float


@dataclass
class MarketContext:
    """One month's observation, shared by every deciding firm (see the module docstring).

    ``offers`` are last month's offerings at their prices, ``demand`` the pricing sums
    of the demand they met and ``offer_queries`` ``(j,)`` the queries each served
    (``segment_queries`` ``(s, j)``, by segment; None in the first month); ``lines``
    the models each firm has on sale now; ``usage_tokens_by_segment`` the plain-answer
    tokens customers of each segment bought last month; ``multiplier_at`` the
    algorithmic effective-compute multiplier of a model trained by a (simulation) month.
    """

    month: int
    calendar_month: str
    technology: Technology
    params: AgentParams
    offers: Offers | None
    demand: LineSums | None
    lines: dict[int, tuple[Model, ...]]
    sample: CustomerSample
    profile: SegmentProfile
    usage_tokens_by_segment: NDArray[np.float64]
    frontier_kappa: float
    frontier_growth_oom_per_month: float
    cost_decline_per_month: float
    multiplier_at: Callable[[float], float]
    offer_queries: NDArray[np.float64] | None = None
    segment_queries: NDArray[np.float64] | None = None
    _derived: dict[Any, Any] = field(default_factory=dict, repr=False)

    # -- what the month's state implies ---------------------------------------------------

    @property
    def sellers(self) -> int:
        """Firms with something on sale."""
        return sum(1 for line in self.lines.values() if line)

    @property
    def frontier_train_flop(self) -> float:
        """Pre-training FLOP of the largest lab model on sale: the scale of budgets
        considered (post-training is added to each budget, not compounded into the next)."""
        from aimarket.agents.business import BusinessModel

        labs = (BusinessModel.UPFRONT_HEAVY, BusinessModel.INFERENCE_HEAVY)
        flops = [
            m.train_flop - m.posttrain_flop
            for line in self.lines.values()
            for m in line
            if m.business_model in labs and m.parent_id is None
        ]
        return max(flops) if flops else self.params.firms.upfront_training_flop

    def effort(
        self,
        base_kappa: NDArray[np.float64],
        max_multiplier: NDArray[np.float64],
        usd_per_token: NDArray[np.float64],
        latency_s_per_token: NDArray[np.float64],
        lead_oom: NDArray[np.float64] | None = None,
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """``(multiplier, kappa)``, ``(s, k)``: the reasoning effort of ``k`` models in each
        segment at these token costs, with their ``(s, k)`` segment leads
        (:func:`aimarket.agents.effort.reasoning_effort`)."""
        oom_per_oom, cap_oom = self.params.tradeoff
        return reasoning_effort(
            np.array(base_kappa, dtype=float, ndmin=1, copy=None),
            np.array(max_multiplier, dtype=float, ndmin=1, copy=None),
            np.array(usd_per_token, dtype=float, ndmin=1, copy=None),
            np.array(latency_s_per_token, dtype=float, ndmin=1, copy=None),
            self.profile,
            oom_per_oom=oom_per_oom,
            cap_oom=cap_oom,
            slope_per_oom=self.params.demand.success_slope_per_oom,
            lead_oom=lead_oom,
            tool_min_kappa=self.params.demand.tools.min_kappa,
            tool_saving_frac=self.params.demand.tools.hard_token_saving_frac,
        )

    def suppliers(self) -> tuple[Supply, ...]:
        """Labs' most capable models on sale last month, most capable first."""
        if "suppliers" not in self._derived:
            self._derived["suppliers"] = _suppliers(self)
        return self._derived["suppliers"]

    def rivals(self) -> Rivals | None:
        """Last month's offerings' nest terms on the sample, now and at the end of the
        payback horizon (None before anything was on sale)."""
        if "rivals" not in self._derived:
            built = None
            if self.offers is not None and self.offers.size:
                points = np.array([0.0, float(self.params.strategy.payback_months)])
                built = Rivals.build(
                    self.offers,
                    self.sample,
                    elasticity=self.params.demand.elasticity,
                    kappa_shift=self.frontier_growth_oom_per_month * points,
                    cost_factor=(1.0 - self.cost_decline_per_month) ** points,
                )
            self._derived["rivals"] = built
        return self._derived["rivals"]

    def carry_over(self, earlier: MarketContext) -> None:
        """Keep what ``earlier`` derived from the same month's offerings and sample (the
        rivals' nest terms), when only something else changed since (a launch, an entry)."""
        same = earlier.month == self.month and earlier.offers is self.offers
        # The rivals' terms at the horizon's end also depend on the frontier's pace and the
        # fall of costs, which a launch can change within the month.
        same = same and earlier.frontier_growth_oom_per_month == self.frontier_growth_oom_per_month
        same = same and earlier.cost_decline_per_month == self.cost_decline_per_month
        if same and earlier.sample is self.sample and "rivals" in earlier._derived:
            self._derived["rivals"] = earlier._derived["rivals"]

    def rivals_log_weight(self, firm_id: int | None) -> NDArray[np.float64]:
        """``(2, m)`` the nest weight of everything on sale but firm ``firm_id``'s."""
        rivals = self.rivals()
        if rivals is None:
            return np.full((2, self.sample.segment.shape[0]), -np.inf)
        own = None if firm_id is None else rivals.offers.firm_ids == firm_id
        return rivals.log_weight(own)

    def candidates(self, business_models: tuple[BusinessModel, ...]) -> list[Candidate]:
        """Every project of these business models a firm could start now (see
        :mod:`aimarket.agents.conduct`): the same for whoever asks, so built once."""
        key = ("candidates", business_models)
        if key not in self._derived:
            from aimarket.agents.conduct import CONDUCT

            self._derived[key] = [c for b in business_models for c in CONDUCT[b].candidates(self)]
        return self._derived[key]


def _suppliers(ctx: MarketContext) -> tuple[Supply, ...]:
    from aimarket.agents.business import BusinessModel

    offers = ctx.offers
    if offers is None or not offers.size:
        return ()
    labs = (BusinessModel.UPFRONT_HEAVY, BusinessModel.INFERENCE_HEAVY)
    out = []
    for firm_id, line in ctx.lines.items():
        models = [m for m in line if m.business_model in labs]
        for m in sorted(models, key=lambda m: -m.kappa):
            k = np.flatnonzero((offers.model_ids == m.model_id) & (offers.tiers == Tier.STANDARD))
            if k.size:
                j = int(k[0])
                out.append(
                    Supply(
                        firm_id=firm_id,
                        model=m,
                        kappa=offers.kappa[:, j],
                        multiplier=offers.inference_multiplier[:, j],
                        usd_per_token=float(offers.compute_usd_per_token[j]),
                        latency_s_per_token=float(offers.latency_s_per_token[j]),
                        price_usd_per_token=float(offers.price_usd[j]),
                    )
                )
                break
    out.sort(key=lambda x: -float(x.kappa.max()) if x.kappa.size else -math.inf)
    return tuple(out)
