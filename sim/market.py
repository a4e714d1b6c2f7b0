"""One month of the market: offerings, prices, clearing and the month's books.

Functions of the model's state, called by the processes in :mod:`sim.processes` in phase
order. The economics come from :mod:`markets`; nothing here sets an outcome.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from aimarket.agents.business import BusinessModel, Offers, Tier
from aimarket.agents.customers import Choice
from aimarket.agents.firms import Firm
from aimarket.agents.policies import next_price_usd
from aimarket.markets.pricing import best_response_price_usd, markup_price_usd
from aimarket.sim.projects import effort, offer_economics, wholesale_usd_per_token

if TYPE_CHECKING:
    from aimarket.sim.model import MarketModel

__all__ = ["MonthOutcome", "OfferRow", "build_offers", "clear_market", "set_prices"]

_TRAINERS = (BusinessModel.UPFRONT_HEAVY, BusinessModel.INFERENCE_HEAVY)


@dataclass(frozen=True, slots=True)
class OfferRow:
    """One offering before it is priced.

    ``cost``, ``compute`` and ``latency`` are per token (the seller's marginal cost, the
    GPU cost whoever pays it, decode time); ``kappa``, ``multiplier`` and ``available`` are
    ``(s,)`` per segment: the capability at the reasoning effort spent there, that
    effort's tokens per query relative to a non-reasoning answer (a wrapper's includes its
    scaffolding overhead), and whether it is sold there; ``supplier`` is the lab whose
    tokens a wrapper resells.
    """

    firm: Firm
    tier: Tier
    kappa: NDArray[np.float64]
    multiplier: NDArray[np.float64]
    cost: float
    compute: float
    latency: float
    available: NDArray[np.bool_]
    supplier: Firm | None = None


@dataclass(frozen=True, slots=True)
class MonthOutcome:
    """What one month's clearing did; per-firm arrays are ``(f,)`` over ``firms``.

    ``revenue_usd`` includes wholesale income (labs selling tokens to wrappers) and
    ``serving_cost_usd`` includes wholesale payments (wrappers), so that each firm's cash
    moves by revenue minus serving minus training minus opex plus funding.
    ``customer_revenue_usd`` is what final customers paid the firm, ``compute_usd`` the GPU
    cost of what it served.
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
    opex_usd: NDArray[np.float64]
    funding_usd: NDArray[np.float64]
    amortisation_usd: NDArray[np.float64]


def build_offers(model: MarketModel) -> list[OfferRow]:
    """The offerings of every active firm with a model, before prices."""
    params, tech = model.params, model.technology
    hw, wp = params.hardware, params.firms.wrapper
    s = model.customers.n_segments
    rows: list[OfferRow] = []
    trainers = [
        f
        for f in model.firms
        if f.active
        and f.trained is not None
        and f.trained.business_model
        in (*_TRAINERS, BusinessModel.SPECIALIST, BusinessModel.OPEN_WEIGHTS)
    ]
    usage = ~model.customers.subscription
    everywhere = np.ones(s, dtype=bool)
    tiers = [(Tier.STANDARD, hw.serving_batch)]
    if params.market.fast_tier and usage.any():
        tiers.append((Tier.FAST, hw.fast_batch))
    if trainers:
        m = len(trainers)
        n_p = np.array([f.trained.params for f in trainers] * len(tiers))
        max_mult = np.array([f.trained.max_inference_multiplier for f in trainers] * len(tiers))
        base = np.array([f.trained.kappa for f in trainers] * len(tiers))
        # Every tier's economics and effort in one call: tier t is columns t*m ... t*m + m.
        batches = np.repeat([batch for _, batch in tiers], m)
        cost_all, latency_all = offer_economics(n_p, tech, params, batch=batches)
        mult_all, kappa_all = effort(model, base, max_mult, cost_all, latency_all)  # (s, t*m)
        for t, (tier, _) in enumerate(tiers):
            cost, latency = cost_all[t * m : (t + 1) * m], latency_all[t * m : (t + 1) * m]
            mult, kappa = mult_all[:, t * m : (t + 1) * m], kappa_all[:, t * m : (t + 1) * m]
            for k, firm in enumerate(trainers):
                specialist = firm.trained.segment is not None
                if specialist and tier is not Tier.STANDARD:
                    continue
                # Priority processing is an API feature: usage segments only.
                available = (everywhere if tier is Tier.STANDARD else usage).copy()
                if specialist:
                    available[:] = False
                    available[firm.trained.segment] = True
                rows.append(
                    OfferRow(
                        firm=firm,
                        tier=tier,
                        kappa=kappa[:, k],
                        multiplier=mult[:, k],
                        cost=float(cost[k]),
                        compute=float(cost[k]),
                        latency=float(latency[k]),
                        available=available,
                        supplier=None,
                    )
                )
    model.frontier_kappa = max(
        (float(r.kappa.max()) for r in rows if r.firm.trained.segment is None), default=math.nan
    )
    by_id = {r.firm.firm_id: r for r in rows if r.tier is Tier.STANDARD}
    for firm in model.firms:
        if not (firm.active and firm.trained is not None):
            continue
        if firm.trained.business_model is not BusinessModel.WRAPPER:
            continue
        supply = by_id.get(firm.trained.supplier_id)
        if supply is None or supply.firm.trained.segment is not None:
            continue  # supplier gone: no offering until the next review finds another
        age = max(model.frontier_kappa - (firm.trained.frontier_kappa_at_launch or 0.0), 0.0)
        bonus = wp.scaffold_bonus_oom * math.exp(-age / wp.scaffold_decay_oom)
        rows.append(
            OfferRow(
                firm=firm,
                tier=Tier.STANDARD,
                kappa=supply.kappa + bonus,
                multiplier=supply.multiplier * wp.token_overhead,
                cost=wholesale_usd_per_token(model, supply),
                compute=supply.compute,
                latency=supply.latency,
                available=everywhere.copy(),
                supplier=supply.firm,
            )
        )
    return rows


def set_prices(model: MarketModel) -> Offers:
    """Strategy phase: every offering is priced in each segment.

    An offering sold last month takes a damped step toward its logit best response to the
    demand it faced then (usage segments: price per query, floor at cost; subscription
    segments: fee per month, floor at 0); a new offering starts at cost plus the initial
    markup. The open-weights fringe sells at cost plus its hosts' markup.
    """
    rows = build_offers(model)
    model.offer_rows = rows
    c = model.customers
    s, j = c.n_segments, len(rows)
    offer_ids = np.array([Offers.offer_id(r.firm.firm_id, r.tier) for r in rows], dtype=np.int64)
    mult = np.array([r.multiplier for r in rows]).T.reshape(s, j)
    cost = c.tokens_per_query[:, None] * np.array([r.cost for r in rows]) * mult
    last = model.outcome
    best = np.full((s, j), np.nan)
    seen = np.zeros(j, dtype=bool)
    if last is not None and last.offers.size:
        column = {int(o): k for k, o in enumerate(last.offers.offer_ids)}
        idx = np.array([column.get(int(o), -1) for o in offer_ids], dtype=np.intp)
        seen = idx >= 0
        if seen.any():  # last month's demand, this month's cost
            best[:, seen] = best_response_price_usd(
                last.choice.pricing_sums[:, :, idx[seen]], cost[:, seen]
            )
    per_unit = model.typical_queries[:, None]  # usage: 1 query; subscription: queries/month
    floor = np.where(c.subscription[:, None], 0.0, cost)
    fringe = np.array([r.firm in model.fringe for r in rows], dtype=bool)
    previous = [r.firm.prices.get(r.tier) for r in rows]
    stepping = seen & ~fringe & np.array([p is not None for p in previous], dtype=bool)
    # New offerings start at cost plus the initial markup; the fringe sells at cost plus
    # its hosts' markup; the others step toward their best response.
    prices = markup_price_usd(cost, markup_frac=model.params.market.initial_markup_frac) * per_unit
    prices[:, fringe] = (
        markup_price_usd(
            cost[:, fringe], markup_frac=model.params.firms.open_weights.host_markup_frac
        )
        * per_unit
    )
    if stepping.any():
        prices[:, stepping] = next_price_usd(
            floor[:, stepping],
            previous_price_usd=np.stack(
                [p for p, ok in zip(previous, stepping, strict=True) if ok], axis=1
            ),
            best_response_usd=best[:, stepping],
            damping_frac=model.params.market.price_damping_frac,
        )
    for k, r in enumerate(rows):
        r.firm.prices[r.tier] = prices[:, k]
    return Offers(
        offer_ids=offer_ids,
        firm_ids=np.array([r.firm.firm_id for r in rows], dtype=np.int64),
        tiers=np.array([int(r.tier) for r in rows], dtype=np.int8),
        kappa=np.array([r.kappa for r in rows]).T.reshape(s, j),
        inference_multiplier=mult,
        usd_per_token=np.array([r.cost for r in rows]),
        compute_usd_per_token=np.array([r.compute for r in rows]),
        latency_s_per_token=np.array([r.latency for r in rows]),
        price_usd=prices,
        available=np.array([r.available for r in rows]).T.reshape(s, j),
    )


def clear_market(model: MarketModel) -> MonthOutcome:
    """Clearing phase: customers choose, money changes hands, firms book the month."""
    month = model.month
    offers, rows = model.offers, model.offer_rows
    c = model.customers
    choice = c.choose(offers)
    queries_j = choice.queries
    revenue_j = (offers.price_usd * choice.pay_units_by_segment).sum(axis=0)
    tokens_j = offers.per_query(np.ones(offers.size), c.tokens_per_query)  # (s, j)
    tokens_j = (tokens_j * choice.queries_by_segment).sum(axis=0)
    firms = tuple(f for f in model.firms if f.active)
    index = {f.firm_id: k for k, f in enumerate(firms)}
    n = len(firms)
    queries, customer_rev, wholesale_rev = np.zeros(n), np.zeros(n), np.zeros(n)
    serving, compute = np.zeros(n), np.zeros(n)
    for k, r in enumerate(rows):
        f = index[r.firm.firm_id]
        queries[f] += queries_j[k]
        customer_rev[f] += revenue_j[k]
        gpu_cost = offers.compute_usd_per_token[k] * tokens_j[k]
        if r.supplier is None:
            serving[f] += gpu_cost
            compute[f] += gpu_cost
        else:  # a wrapper pays wholesale; its supplier pays for the GPUs
            wholesale = offers.usd_per_token[k] * tokens_j[k]
            serving[f] += wholesale
            s_idx = index[r.supplier.firm_id]
            wholesale_rev[s_idx] += wholesale
            serving[s_idx] += gpu_cost
            compute[s_idx] += gpu_cost
    training = np.array([f.month_training_usd for f in firms])
    funding = np.array([f.month_funding_usd for f in firms])
    opex = np.array([model.opex_usd(f) for f in firms])
    life = model.params.firms.model_life_months
    amortisation = np.array(
        [
            f.trained.cost_usd / life
            if f.trained is not None and 0 <= month - f.trained.launched_month < life
            else 0.0
            for f in firms
        ]
    )
    revenue = customer_rev + wholesale_rev
    for k, firm in enumerate(firms):
        firm.book(
            revenue_usd=float(revenue[k]),
            serving_cost_usd=float(serving[k]),
            training_spend_usd=float(training[k]),
            opex_usd=float(opex[k]),
        )
    model.gpus.set_serving(float(compute.sum()) / model.technology.usd_per_gpu_hour)
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
        opex_usd=opex,
        funding_usd=funding,
        amortisation_usd=amortisation,
    )
