"""One month of the market: offerings, prices, clearing and the month's books.

Functions of the model's state, called by the processes in :mod:`aimarket.sim.processes`
in phase order. What is sold comes from each firm's line and its business model's conduct;
prices from each firm's pricing policy; the economics from :mod:`aimarket.markets`. Nothing
here sets an outcome.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from aimarket.agents.business import BusinessModel
from aimarket.agents.choice import Choice
from aimarket.agents.firms import Firm, Menu
from aimarket.agents.products import (
    Model,
    Offers,
    Tier,
    offer_id,
    scaffold_bonus_oom,
    segment_leads,
)
from aimarket.agents.valuation import Product
from aimarket.markets.adoption import installed_base_step
from aimarket.markets.pricing import LineSums, owner_best_response
from aimarket.sim.capacity import ration, settle_serving

if TYPE_CHECKING:
    from aimarket.agents.params import MarketParams
    from aimarket.sim.model import MarketModel

__all__ = ["MonthOutcome", "OfferRow", "build_offers", "clear_market", "set_prices"]


@dataclass(frozen=True, slots=True)
class OfferRow:
    """One offering before it is priced: a model's tier (or plan).

    ``cost``, ``compute`` and ``latency`` are per token (the seller's marginal cost, the
    GPU cost whoever pays it, decode time); ``kappa``, ``multiplier`` and ``available`` are
    ``(s,)`` per segment: the capability at the reasoning effort spent there, that
    effort's tokens per plain token (a wrapper's includes its scaffolding overhead), and
    whether it is sold there. ``supplier`` and ``supplier_model`` are the lab and model
    whose tokens a wrapper resells; ``brand_utility`` what the seller's brand adds to
    customers' utility of it.
    """

    firm: Firm
    model: Model
    tier: int
    kappa: NDArray[np.float64]
    multiplier: NDArray[np.float64]
    cost: float
    compute: float
    latency: float
    wait_s: float
    allowance: float
    available: NDArray[np.bool_]
    supplier: Firm | None = None
    brand_utility: float = 0.0

    @property
    def developer_id(self) -> int:
        """The firm that made the model (a wrapper's supplier)."""
        return self.supplier.firm_id if self.supplier is not None else self.firm.firm_id


@dataclass(frozen=True, slots=True)
class MonthOutcome:
    """What one month's clearing did. Per-firm arrays are ``(f,)`` over ``firms``;
    per-offering arrays ``(j,)`` over the month's offerings.

    ``revenue_usd`` includes wholesale income (labs selling tokens to wrappers) and
    ``serving_cost_usd`` includes wholesale payments (wrappers), so that each firm's cash
    moves by revenue minus serving minus training minus opex plus funding.
    ``customer_revenue_usd`` is what final customers paid the firm, ``compute_usd`` the GPU
    cost of what it served; ``opex_usd`` includes the upkeep of its models on sale.
    ``free_plan_cost_usd`` is its free plan's tokens at the GPU cost per token (what
    serving them adds at the margin), ``funnel_revenue_usd`` what customers its free plan
    converted paid it (within ``customer_revenue_usd``).
    """

    month: int
    firms: tuple[Firm, ...]
    offers: Offers
    choice: Choice
    queries: NDArray[np.float64]
    customer_revenue_usd: NDArray[np.float64]
    wholesale_revenue_usd: NDArray[np.float64]
    revenue_usd: NDArray[np.float64]
    serving_cost_usd: NDArray[np.float64]
    compute_usd: NDArray[np.float64]
    training_usd: NDArray[np.float64]
    research_usd: NDArray[np.float64]
    opex_usd: NDArray[np.float64]
    funding_usd: NDArray[np.float64]
    amortisation_usd: NDArray[np.float64]
    offer_revenue_usd: NDArray[np.float64]
    developer_revenue_usd: dict[int, float]
    served_frac: NDArray[np.float64]
    free_plan_cost_usd: NDArray[np.float64]
    funnel_revenue_usd: NDArray[np.float64]


def build_offers(model: MarketModel) -> list[OfferRow]:
    """The offerings of every active firm's line, before prices."""
    ctx = model.context()
    market, batches = ctx.params.market, ctx.params.batches
    c = model.customers
    usage, sub = ~c.subscription, c.subscription
    specs: list[tuple[Firm, Model, int]] = []
    wrapped: list[tuple[Firm, Model, int]] = []
    for firm in model.firms:
        if not (firm.active and firm.line):
            continue
        top = max(firm.line, key=lambda m: m.kappa)
        free = firm.free_plan_model(ctx)
        for m in firm.line:
            tiers = firm.conduct.tiers(ctx, top=m is top) + ((Tier.FREE,) if m is free else ())
            target = wrapped if m.business_model is BusinessModel.WRAPPER else specs
            target.extend((firm, m, tier) for tier in tiers)
    rows: list[OfferRow] = []
    if specs:
        params_count = np.array([m.params for _, m, _ in specs])
        batch = np.array([batches[t] if t < Tier.PLAN else batches[0] for _, _, t in specs])
        cost, latency = ctx.technology.token_economics(params_count, batch=batch)
        mult, kappa = ctx.effort(
            np.array([m.kappa for _, m, _ in specs]),
            np.array([m.max_inference_multiplier for _, m, _ in specs]),
            cost,
            latency,
            segment_leads([m for _, m, _ in specs], c.n_segments),
        )
        # Waiting for an answer that costs a segment more than the work is worth: not sold
        # there (the batch tier to latency-sensitive work).
        wait = np.array([market.batch_turnaround_s if t == Tier.BATCH else 0.0 for *_, t in specs])
        per_query = c.tokens_per_query[:, None] * mult * latency + wait
        useful = c.latency_frac[:, None] * per_query < 1.0  # (s, k)
        for k, (firm, m, tier) in enumerate(specs):
            available = _where_sold(tier, m.segment, usage, sub) & useful[:, k]
            if available.any():
                rows.append(
                    OfferRow(
                        firm=firm,
                        model=m,
                        tier=tier,
                        kappa=kappa[:, k],
                        multiplier=mult[:, k],
                        cost=float(cost[k]),
                        compute=float(cost[k]),
                        latency=float(latency[k]),
                        wait_s=float(wait[k]),
                        allowance=_allowance(tier, market),
                        available=available,
                        brand_utility=firm.brand_utility(ctx),
                    )
                )
    model.frontier_kappa = max(
        (float(r.kappa.max()) for r in rows if r.model.segment is None), default=math.nan
    )
    rows += _wrapper_rows(model, rows, wrapped, usage, sub)
    return rows


def _allowance(tier: int, market: MarketParams) -> float:
    """Queries a month a tier serves a customer: a plan's allowance, the free plan's, or
    no limit (per-token tiers)."""
    if tier == Tier.FREE:
        return market.free_tier.allowance_queries_per_month
    if tier >= Tier.PLAN:
        return market.plans[tier - Tier.PLAN].allowance_queries_per_month
    return math.inf


def _where_sold(
    tier: int, segment: int | None, usage: NDArray[np.bool_], sub: NDArray[np.bool_]
) -> NDArray[np.bool_]:
    """``(s,)`` segments an offering is sold in: per-token tiers to usage segments, plans
    to subscription segments; a specialist's only in its segment."""
    out = (sub if tier >= Tier.PLAN else usage).copy()
    if segment is not None:
        only = np.zeros_like(out)
        only[segment] = True
        out &= only
    return out


def _wrapper_rows(
    model: MarketModel,
    rows: list[OfferRow],
    wrapped: list[tuple[Firm, Model, int]],
    usage: NDArray[np.bool_],
    sub: NDArray[np.bool_],
) -> list[OfferRow]:
    """A wrapper's offerings: its supplier's standard offering of the wrapped model, with
    the scaffolding's (decaying) bonus and token overhead, at the wholesale price."""
    ctx = model.context()
    wp, markup = ctx.params.firms.wrapper, ctx.params.market.initial_markup_frac
    supply = {r.model.model_id: r for r in rows if r.tier == Tier.STANDARD}
    out = []
    for firm, m, tier in wrapped:
        row = supply.get(m.supplier_model_id)
        if row is None:
            continue  # the supplier withdrew the model: nothing to sell until a new one
        gain = model.frontier_kappa - (m.frontier_kappa_at_launch or 0.0)
        bonus = scaffold_bonus_oom(gain, wp.scaffold_bonus_oom, wp.scaffold_decay_oom)
        list_price = row.firm.prices.get(offer_id(row.model.model_id, Tier.STANDARD))
        if list_price is None:
            list_price = row.compute * (1.0 + markup)
        out.append(
            OfferRow(
                firm=firm,
                model=m,
                tier=tier,
                kappa=row.kappa + bonus,
                multiplier=row.multiplier * wp.token_overhead,
                cost=list_price * (1.0 - wp.wholesale_discount_frac),
                compute=row.compute,
                latency=row.latency,
                wait_s=0.0,
                allowance=_allowance(tier, ctx.params.market),
                available=_where_sold(tier, None, usage, sub),
                supplier=row.firm,
                brand_utility=firm.brand_utility(ctx),
            )
        )
    return out


def set_prices(model: MarketModel) -> Offers:
    """Pricing phase: every firm prices its line.

    The best response of each firm's line to the demand its offerings met last month, at
    this month's costs, comes from the multi-product first-order condition
    (:func:`aimarket.markets.pricing.owner_best_response`); each firm then sets its prices
    by its own policy (:meth:`aimarket.agents.firms.Firm.set_prices`). In the market's
    first month nothing was on sale before: firms value their opening lines against every
    rival's cost-plus quote (``market.initial_markup_frac``) instead of against nothing.
    """
    rows = build_offers(model)
    model.offer_rows = rows
    c, ctx = model.customers, model.context()
    s, j = c.n_segments, len(rows)
    ids = np.array([offer_id(r.model.model_id, r.tier) for r in rows], dtype=np.int64)
    cost = np.array([r.cost for r in rows])
    mult = np.array([r.multiplier for r in rows]).T.reshape(s, j)
    plan = np.array([r.tier >= Tier.PLAN for r in rows], dtype=bool)
    allowance = np.array([r.allowance for r in rows])
    # A plan's cost per subscriber, for its first price: the typical subscriber's tokens.
    queries = model.typical_queries * c.growth_terms()[1]
    typical = np.minimum(queries[:, None], allowance[None, :])
    per_subscriber = (typical * c.tokens_per_query[:, None] * mult)[c.subscription].mean(axis=0)
    unit = np.where(plan, cost * (per_subscriber if c.subscription.any() else 1.0), cost)
    floor = np.where(plan, 1e-3 * unit, cost)
    ceiling = model.choke_price_usd(plan, allowance, mult)
    best = _best_responses(model, ids, cost, rows)
    prices = np.zeros(j)  # a free plan's fee stays 0
    by_firm: dict[int, list[int]] = {}
    for k, r in enumerate(rows):
        if r.tier != Tier.FREE:
            by_firm.setdefault(r.firm.firm_id, []).append(k)
    model_ids = np.array([r.model.model_id for r in rows], dtype=np.int64)
    tiers = np.array([r.tier for r in rows], dtype=np.int8)
    if ctx.offers is None:
        # The market's first month: nothing was on sale before, so each firm prices its
        # opening line against its rivals' cost-plus quotes, not against no rivals at all.
        free = np.array([r.tier == Tier.FREE for r in rows], dtype=bool)
        quotes = np.where(free, 0.0, unit * (1.0 + ctx.params.market.initial_markup_frac))
        provisional = _offers(rows, ids, cost, mult, plan, allowance, quotes, s, j)
        ctx = dataclasses.replace(ctx, offers=provisional, _derived={})
    for idx in by_firm.values():
        firm = rows[idx[0]].firm
        menu = Menu(
            offer_ids=ids[idx],
            model_ids=model_ids[idx],
            tiers=tiers[idx],
            unit_usd=unit[idx],
            floor_usd=floor[idx],
            ceiling_usd=ceiling[idx],
            products=_products([rows[k] for k in idx]),
        )
        prices[idx] = firm.set_prices(ctx, menu, best[idx])
    return _offers(rows, ids, cost, mult, plan, allowance, prices, s, j)


def _offers(
    rows: list[OfferRow],
    ids: NDArray[np.int64],
    cost: NDArray[np.float64],
    mult: NDArray[np.float64],
    plan: NDArray[np.bool_],
    allowance: NDArray[np.float64],
    prices: NDArray[np.float64],
    s: int,
    j: int,
) -> Offers:
    """The month's ``j`` offerings (over ``s`` segments) at ``prices``."""
    return Offers(
        offer_ids=ids,
        model_ids=np.array([r.model.model_id for r in rows], dtype=np.int64),
        firm_ids=np.array([r.firm.firm_id for r in rows], dtype=np.int64),
        developer_ids=np.array([r.developer_id for r in rows], dtype=np.int64),
        tiers=np.array([r.tier for r in rows], dtype=np.int8),
        base_kappa=np.array([r.model.kappa for r in rows]),
        kappa=np.array([r.kappa for r in rows]).T.reshape(s, j),
        inference_multiplier=mult,
        usd_per_token=cost,
        compute_usd_per_token=np.array([r.compute for r in rows]),
        latency_s_per_token=np.array([r.latency for r in rows]),
        wait_s=np.array([r.wait_s for r in rows]),
        allowance_queries=allowance,
        served_frac=np.array([(r.supplier or r.firm).served_frac for r in rows]),
        plan=plan,
        price_usd=prices,
        available=np.array([r.available for r in rows]).T.reshape(s, j),
        brand_utility=np.array([r.brand_utility for r in rows]),
    )


def _products(rows: list[OfferRow]) -> dict[int, Product]:
    """A firm's models as its valuations see them: each model's standard offering, and
    whether it has a plan."""
    planned = {r.model.model_id for r in rows if Tier.PLAN <= r.tier < Tier.FREE}
    return {
        r.model.model_id: Product(
            kappa=r.kappa,
            multiplier=r.multiplier,
            usd_per_token=r.cost,
            latency_s_per_token=r.latency,
            segment=r.model.segment,
            plan=r.model.model_id in planned,
            brand_utility=r.brand_utility,
        )
        for r in rows
        if r.tier == Tier.STANDARD
    }


def _remember_brands(model: MarketModel, firms: tuple[Firm, ...], queries: NDArray) -> None:
    """Each firm's installed base moves toward its share of the month's queries
    (``demand.brand_memory_months``); the open-weights fringe, many hosts, has none, but
    the queries its hosts serve of a model a firm chose to release count for its maker."""
    queries = queries.copy()
    fringe = model.fringe
    if fringe is not None and fringe.source is not None and fringe.source in model.open_releases:
        at = {f.firm_id: k for k, f in enumerate(firms)}
        maker = at.get(fringe.source.firm_id)
        if maker is not None and fringe.firm_id in at:  # moved, not copied: same total
            queries[maker] += queries[at[fringe.firm_id]]
            queries[at[fringe.firm_id]] = 0.0
    total = float(queries.sum())
    shares = queries / total if total > 0 else np.zeros_like(queries)
    before = np.array([f.brand_frac for f in firms])
    memory = model.params.demand.brand_memory_months
    after = installed_base_step(before, shares, memory_months=memory)
    for firm, frac in zip(firms, after.tolist(), strict=True):
        if firm is not model.fringe:
            firm.brand_frac = frac


def _best_responses(
    model: MarketModel, ids: NDArray[np.int64], cost: NDArray[np.float64], rows: list[OfferRow]
) -> NDArray[np.float64]:
    """``(j,)`` each firm's line best response to last month's demand (NaN: an offering
    new this month, or one nobody bought)."""
    best = np.full(ids.shape[0], np.nan)
    last = model.outcome
    if last is None or not last.offers.size:
        return best
    column = {int(o): k for k, o in enumerate(last.offers.offer_ids)}
    idx = np.array([column.get(int(o), -1) for o in ids], dtype=np.intp)
    seen = np.flatnonzero(idx >= 0)
    if seen.size:
        sums = last.choice.pricing
        sub = idx[seen]
        block = np.ix_(sub, sub)
        owners = np.array([rows[k].firm.firm_id for k in seen])
        restricted = LineSums(
            sums.revenue_units[sub], sums.price_slope[block], sums.cost_slope[block]
        )
        best[seen] = owner_best_response(restricted, cost[seen], owners)
    return best


def clear_market(model: MarketModel) -> MonthOutcome:
    """Clearing phase: customers choose, money changes hands, firms book the month."""
    month = model.month
    offers, rows = model.offers, model.offer_rows
    ctx = model.context()
    firms = tuple(f for f in model.firms if f.active)
    chosen = model.customers.choose(offers)
    settled = settle_serving(model, firms, rows, offers.compute_usd_per_token * chosen.tokens)
    choice = ration(chosen, offers.plan, settled.offer_served_frac)
    revenue_j = offers.price_usd * choice.pay_units_by_segment.sum(axis=0)
    tokens_j = choice.tokens
    index = {f.firm_id: k for k, f in enumerate(firms)}
    n = len(firms)
    queries, customer_rev, wholesale_rev = np.zeros(n), np.zeros(n), np.zeros(n)
    free_cost, funnel = np.zeros(n), np.zeros(n)  # free plans' serving; their converts' fees
    serving, compute = settled.gpu_usd.copy(), settled.gpu_usd
    model_profit: dict[tuple[int, int], float] = {}
    developer: dict[int, float] = {}
    queries_j = choice.queries
    for k, r in enumerate(rows):
        f = index[r.firm.firm_id]
        queries[f] += queries_j[k]
        customer_rev[f] += revenue_j[k]
        developer[r.developer_id] = developer.get(r.developer_id, 0.0) + revenue_j[k]
        gpu_cost = offers.compute_usd_per_token[k] * tokens_j[k]
        funnel[f] += choice.funnel_spend_usd[k]
        if r.tier == Tier.FREE:  # the funnel's cost, judged by the lab's FreeTierBook,
            free_cost[f] += gpu_cost  # not by the model's own profit (retirement)
            continue
        key = (r.firm.firm_id, r.model.model_id)
        if r.supplier is None:
            model_profit[key] = model_profit.get(key, 0.0) + revenue_j[k] - gpu_cost
        else:  # a wrapper pays wholesale; its supplier pays for the GPUs
            wholesale = offers.usd_per_token[k] * tokens_j[k]
            serving[f] += wholesale
            s_idx = index[r.supplier.firm_id]
            wholesale_rev[s_idx] += wholesale
            model_profit[key] = model_profit.get(key, 0.0) + revenue_j[k] - wholesale
            supplied = (r.supplier.firm_id, r.model.supplier_model_id)
            model_profit[supplied] = model_profit.get(supplied, 0.0) + wholesale - gpu_cost
    fp = ctx.params.firms
    training = np.array([f.month_training_usd for f in firms])
    research = np.array([f.month_research_usd for f in firms])
    funding = np.array([f.month_funding_usd for f in firms])
    upkeep = np.array(
        [
            fp.model_upkeep_usd_per_month * len(f.line) if f.conduct.pays_upkeep else 0.0
            for f in firms
        ]
    )
    reach = np.array([f.reach_usd_per_month for f in firms])  # channel deals
    opex = np.array([f.opex_usd(ctx.params) for f in firms]) + upkeep + reach
    life = fp.amortisation_months
    amortisation = np.array(
        [
            sum(m.cost_usd / life for m in f.launched if 0 <= month - m.launched_month < life)
            for f in firms
        ]
    )
    revenue = customer_rev + wholesale_rev
    _remember_brands(model, firms, queries)
    for k, firm in enumerate(firms):
        firm.book(
            revenue_usd=float(revenue[k]),
            serving_cost_usd=float(serving[k]),
            training_spend_usd=float(training[k]),
            research_spend_usd=float(research[k]),
            opex_usd=float(opex[k]),
        )
        for m in firm.line:
            firm.record_model_profit(m.model_id, model_profit.get((firm.firm_id, m.model_id), 0.0))
        if firm.conduct.free_plan:
            firm.free_tier.update(
                float(free_cost[k]), float(funnel[k]), review_months=fp.free_tier_review_months
            )
    return MonthOutcome(
        month=month,
        firms=firms,
        offers=offers,
        choice=choice,
        queries=queries,
        customer_revenue_usd=customer_rev,
        wholesale_revenue_usd=wholesale_rev,
        revenue_usd=revenue,
        serving_cost_usd=serving,
        compute_usd=compute,
        training_usd=training,
        research_usd=research,
        opex_usd=opex,
        funding_usd=funding,
        amortisation_usd=amortisation,
        offer_revenue_usd=revenue_j,
        developer_revenue_usd=developer,
        served_frac=settled.served_frac,
        free_plan_cost_usd=free_cost,
        funnel_revenue_usd=funnel,
    )
