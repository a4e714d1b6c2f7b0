"""Make or buy (docs/model.md, "Make or buy"): a segment's big buyers build a captive model.

The buyers of a segment named in ``demand.captive.segments`` who do ``members_frac`` of
its work review, at every strategy review, whether to own a model instead of buying: a
specialist distilled from the best open-weights model, or one they pre-train at a
fraction of the frontier's budget. Owning costs the project, the model's upkeep and its
serving at cost; buying costs what the segment's buyers pay. Both are compared per
*successful* query of the segment's typical customer, for the members' work over the firms' payback
horizon, as the market's models improve and costs fall (:func:`make_or_buy_values`);
they choose with the firms' bounded rationality
(:func:`aimarket.agents.strategy.choose_project`). A built model is a :class:`Captive`
firm that sells only in its segment, at cost; its members close it once keeping it
(its cost sunk) saves nothing more over the horizon (:meth:`Captive.keep_option`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

from aimarket.agents.business import Allocation, BusinessModel
from aimarket.agents.context import AgentParams, MarketContext
from aimarket.agents.effort import blended_success
from aimarket.agents.firms import Firm, Menu
from aimarket.agents.products import Tier
from aimarket.agents.strategy import Candidate, Horizon
from aimarket.agents.valuation import Product
from aimarket.markets.scaling import capability_index, compute_optimal

__all__ = [
    "Captive",
    "CaptiveOption",
    "buy_usd_per_success",
    "captive_options",
    "make_or_buy_values",
    "success_rate",
    "trend_usd",
    "usd_per_success",
]


@dataclass(frozen=True, slots=True)
class CaptiveOption:
    """A model the buyers could own: the project, and what serving a successful query of
    the segment's typical customer would cost them now (USD)."""

    candidate: Candidate
    own_usd_per_success: float


def usd_per_success(
    usd_per_token: NDArray[np.float64],
    tokens_per_query: NDArray[np.float64],
    kappa: NDArray[np.float64],
    ctx: MarketContext,
    g: int,
) -> NDArray[np.float64]:
    """``(j,)`` what a successful query of segment ``g``'s typical customer costs on each
    of ``j`` models: the price of its tokens over its success rate (inf: never succeeds)."""
    success = success_rate(kappa, ctx, g)
    cost = np.asarray(usd_per_token, dtype=float) * np.asarray(tokens_per_query, dtype=float)
    return np.divide(cost, success, out=np.full(cost.shape, np.inf), where=success > 0)


def success_rate(kappa: NDArray[np.float64], ctx: MarketContext, g: int) -> NDArray[np.float64]:
    """``(j,)`` the success rate of segment ``g``'s typical customer on models of
    capability ``kappa`` in its work."""
    p = ctx.profile
    return blended_success(
        np.asarray(kappa, dtype=float),
        p.difficulty_kappa[g : g + 1],
        p.hard_frac[g : g + 1],
        p.hard_extra_oom[g : g + 1],
        slope_per_oom=ctx.params.demand.success_slope_per_oom,
    )[:, 0]


def buy_usd_per_success(
    ctx: MarketContext, g: int, *, kappa_shift_oom: float = 0.0, price_factor: float = 1.0
) -> float:
    """What a successful query of segment ``g`` costs its buyers on the market (USD):
    their spend per success last month, over the per-token offerings they bought, captives
    excluded (where nobody bought, the cheapest offering sold there), with capability
    ``kappa_shift_oom`` higher and prices ``price_factor`` times (the market ahead); inf
    if nothing is sold there."""
    o = ctx.offers
    if o is None or not o.size:
        return float(np.inf)
    owned = [
        m.model_id
        for line in ctx.lines.values()
        for m in line
        if m.business_model is BusinessModel.CAPTIVE
    ]
    ok = o.available[g] & ~o.plan & ~np.isin(o.model_ids, owned)
    if not ok.any():
        return float(np.inf)
    tokens = ctx.profile.tokens[g] * o.inference_multiplier[g, ok]
    per_query = o.price_usd[ok] * price_factor * tokens
    success = success_rate(o.kappa[g, ok] + kappa_shift_oom, ctx, g)
    q = None if ctx.segment_queries is None else ctx.segment_queries[g, ok]
    if q is None or not (q @ success) > 0:
        each = np.divide(
            per_query, success, out=np.full(per_query.shape, np.inf), where=success > 0
        )
        return float(each.min())
    return float((q @ per_query) / (q @ success))


def captive_options(ctx: MarketContext, g: int) -> list[CaptiveOption]:
    """What segment ``g``'s buyers could own: a distillation of the best open-weights
    model on sale (``firms.specialist`` sizes and gap) and compute-optimal pre-training at
    ``demand.captive.budget_fracs`` of the frontier's pre-training compute (post-trained as
    a plain model); each sold in the segment only."""
    return [*_distilled(ctx, g), *_pretrained(ctx, g)]


def _distilled(ctx: MarketContext, g: int) -> list[CaptiveOption]:
    o = ctx.offers
    if o is None:
        return []
    open_models = [
        m
        for line in ctx.lines.values()
        for m in line
        if m.business_model is BusinessModel.OPEN_WEIGHTS
    ]
    if not open_models:
        return []
    teacher = max(open_models, key=lambda m: m.kappa)
    cols = np.flatnonzero((o.model_ids == teacher.model_id) & (o.tiers == Tier.STANDARD))
    if not cols.size:
        return []
    j = int(cols[0])
    sp, tokens = ctx.params.firms.specialist, ctx.params.firms.distill.tokens
    params = sp.params_frac * teacher.params
    flop = 6.0 * params * tokens + 2.0 * teacher.params * tokens * o.inference_multiplier[g, j]
    kappa = float(o.kappa[g, j]) - sp.gap_oom
    cand = _candidate(ctx, g, params, tokens, flop, kappa, Allocation.DISTILLED, 0.0, 0.0)
    return [_option(ctx, g, cand, kappa, 1.0)]


def _pretrained(ctx: MarketContext, g: int) -> list[CaptiveOption]:
    fracs = np.asarray(ctx.params.demand.captive.budget_fracs, dtype=float)
    n, d = (np.asarray(x, dtype=float) for x in compute_optimal(fracs * ctx.frontier_train_flop))
    r, gain = ctx.params.post_training(reasons=False)
    out = []
    for k in range(fracs.size):
        flop = 6.0 * float(n[k] * d[k]) * (1.0 + r)
        months = float(ctx.technology.training_plan(flop)[1])
        base = gain + float(
            capability_index(
                n[k], d[k], algorithmic_multiplier=ctx.multiplier_at(ctx.month + months)
            )
        )
        mult, kappa = ctx.effort(np.array([base]), np.ones(1), *_economics(ctx, float(n[k])))
        cand = _candidate(
            ctx, g, float(n[k]), float(d[k]), flop, base, Allocation.CHINCHILLA, r, gain
        )
        out.append(_option(ctx, g, cand, float(kappa[g, 0]), float(mult[g, 0])))
    return out


def _economics(ctx: MarketContext, params: float) -> tuple[NDArray[np.float64], ...]:
    usd, latency = ctx.technology.token_economics(np.array([params]), batch=ctx.params.batches[0])
    return np.atleast_1d(usd), np.atleast_1d(latency)


def _candidate(
    ctx: MarketContext,
    g: int,
    params: float,
    tokens: float,
    flop: float,
    kappa: float,
    allocation: Allocation,
    post_frac: float,
    post_gain: float,
) -> Candidate:
    _, months, cost = ctx.technology.training_plan(flop)
    usd, latency = _economics(ctx, params)
    s = ctx.profile.tokens.shape[0]
    product = Product(
        kappa=np.full(s, kappa),
        multiplier=np.ones(s),
        usd_per_token=float(usd[0]),
        latency_s_per_token=float(latency[0]),
        segment=g,
    )
    return Candidate(
        business_model=BusinessModel.CAPTIVE,
        allocation=allocation,
        params=params,
        train_tokens=tokens,
        train_flop=flop,
        base_kappa=kappa,
        max_inference_multiplier=1.0,
        cost_usd=float(cost),
        months_to_launch=float(months),
        products=(product,),
        segment=g,
        posttrain_flop=flop * post_frac / (1.0 + post_frac),
        post_gain_oom=post_gain,
    )


def _option(
    ctx: MarketContext, g: int, cand: Candidate, kappa_g: float, multiplier_g: float
) -> CaptiveOption:
    usd = cand.products[0].usd_per_token
    tokens = ctx.profile.tokens[g] * multiplier_g
    own = usd_per_success(np.array([usd]), np.array([tokens]), np.array([kappa_g]), ctx, g)
    return CaptiveOption(candidate=cand, own_usd_per_success=float(own[0]))


def trend_usd(
    history: Sequence[tuple[float, float]],
    *,
    month: float,
    usd: float,
    months_ahead: float,
    lookback_months: float = 12.0,
) -> float | None:
    """The market's cheapest successful query ``months_ahead`` from now if it keeps
    moving as it has: ``usd`` times its observed factor per month since the oldest
    observation ``(month, usd)`` of ``history`` within ``lookback_months`` (None: none).

    Examples
    --------
    Ten times cheaper in a year, so a hundred times in two:

    >>> round(trend_usd([(0, 1.0), (6, 0.3)], month=12, usd=0.1, months_ahead=12), 6)
    0.01
    >>> trend_usd([(0, 1.0)], month=24, usd=0.1, months_ahead=12) is None
    True
    """
    past = [
        (t, u)
        for t, u in history
        if month - lookback_months <= t < month and np.isfinite(u) and u > 0
    ]
    if not past or not (np.isfinite(usd) and usd > 0):
        return None
    t0, u0 = min(past)
    return float(usd * (usd / u0) ** (months_ahead / (month - t0)))


def make_or_buy_values(
    options: list[CaptiveOption],
    *,
    queries_per_month: float,
    buy_now_usd: float,
    buy_later_usd: float,
    horizon: Horizon,
) -> NDArray[np.float64]:
    """``(k,)`` what owning each option saves the buyers over buying (USD, discounted).

    Each month of the horizon from launch, the members' ``queries_per_month`` successful
    queries cost ``buy`` on the market (moving geometrically from ``buy_now_usd`` to
    ``buy_later_usd`` at the horizon's end, as models improve and prices fall) or ``own``
    on their model (its serving cost now, falling with ``horizon.cost_decline_per_month``);
    they save ``max(buy - own, 0)`` a query (they return to buying when the market is
    cheaper), less the model's upkeep; the project's cost comes off.

    Examples
    --------
    >>> from aimarket.agents.business import Allocation, BusinessModel
    >>> c = Candidate(BusinessModel.CAPTIVE, Allocation.DISTILLED, 1e9, 1e12, 6e21, 27.0,
    ...               1.0, 1e6, 0.0, ())
    >>> h = Horizon(12, 1.0, 0.0, 0.0)
    >>> make_or_buy_values([CaptiveOption(c, 0.01)], queries_per_month=1e6,
    ...                    buy_now_usd=0.1, buy_later_usd=0.1, horizon=h).round(2).tolist()
    [80000.0]
    """
    if not options:
        return np.empty(0)
    months = np.arange(horizon.months, dtype=float)
    discount = horizon.discount_per_month**months
    buy = np.zeros_like(months)  # a market that gives work away: owning saves nothing
    if buy_now_usd > 0:
        buy = buy_now_usd * (buy_later_usd / buy_now_usd) ** (months / horizon.months)
    own = np.array([o.own_usd_per_success for o in options])[:, None] * (
        (1.0 - horizon.cost_decline_per_month) ** months
    )
    lead = np.array([o.candidate.months_to_launch for o in options])
    live = months[None, :] >= lead[:, None]
    saving = queries_per_month * np.maximum(buy[None, :] - own, 0.0) - horizon.upkeep_usd_per_month
    values = (np.where(live, saving, 0.0) * discount).sum(axis=1)
    return values - np.array([o.candidate.outlay_usd for o in options])


class Captive(Firm):
    """A model a segment's big buyers own (:mod:`aimarket.agents.captive`): sold in its
    segment only, at its serving cost; it starts no projects, buys no reach, raises no
    money (its members funded it) and has no staff of its own."""

    kind: ClassVar[str] = "captive"

    def __init__(self, model, *, segment: int, cash_usd: float, founded_month: float) -> None:
        super().__init__(
            model,
            business_model=BusinessModel.CAPTIVE,
            cash_usd=cash_usd,
            founded_month=founded_month,
        )
        self.segment = segment
        #: The project its members funded (set when they found it).
        self.candidate: Candidate | None = None

    def business_models(self, ctx: MarketContext) -> tuple[BusinessModel, ...]:
        return ()

    def review(
        self, ctx: MarketContext, rng: np.random.Generator, *, distil_only: bool = False
    ) -> Candidate | None:
        return None

    def choose_reach(self, ctx: MarketContext) -> None:
        return None

    def set_prices(
        self, ctx: MarketContext, menu: Menu, best_response_usd: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        """At cost: the members pay for the GPUs their queries use."""
        prices = np.maximum(np.minimum(menu.unit_usd, menu.ceiling_usd), menu.floor_usd)
        self.prices = {int(o): float(p) for o, p in zip(menu.offer_ids, prices, strict=True)}
        return prices

    def funding_offer_usd(self, ctx: MarketContext, *, for_project: bool) -> float:
        return 0.0

    def opex_usd(self, params: AgentParams) -> float:
        return 0.0

    def own_usd_per_success(self, ctx: MarketContext) -> float:
        """What a successful query of its segment costs the members on their model at this
        month's GPU prices, at last month's effort (inf before it is on sale)."""
        o = ctx.offers
        cols = np.array([], dtype=int) if o is None else np.flatnonzero(o.firm_ids == self.firm_id)
        if not cols.size or not self.line:
            return float(np.inf)
        g, j = self.segment, int(cols[0])
        usd, _ = _economics(ctx, self.line[0].params)
        tokens = ctx.profile.tokens[g] * o.inference_multiplier[g, j : j + 1]
        return float(usd_per_success(usd, tokens, o.kappa[g, j : j + 1], ctx, g)[0])

    def keep_option(self, ctx: MarketContext) -> CaptiveOption | None:
        """Its model as an option already paid for and on sale (None before it is)."""
        if self.candidate is None or not self.line:
            return None
        paid = replace(self.candidate, cost_usd=0.0, research_usd=0.0, months_to_launch=0.0)
        return CaptiveOption(paid, self.own_usd_per_success(ctx))
