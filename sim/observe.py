"""The recording phase: one market row, one row per active firm and one per offering each
month. Also resets the firms' monthly flow accumulators once they are recorded.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from aimarket.agents.products import Tier, tier_name
from aimarket.markets.metrics import (
    concentration_ratio,
    gross_margin,
    hhi,
    lerner_index,
    operating_margin,
    segment_leaders,
)
from aimarket.markets.metrics import shares as shares_of

if TYPE_CHECKING:
    from aimarket.sim.market import MonthOutcome
    from aimarket.sim.model import MarketModel

__all__ = ["cheapest_price_usd_per_mtok", "observe"]


def cheapest_price_usd_per_mtok(out: MonthOutcome, kappa: float) -> float:
    """The cheapest list price per million tokens, this month, of a standard per-token
    offering of a model at or above capability ``kappa`` (its base capability, without
    reasoning), as price indexes of fixed capability are built (a16z's "LLMflation",
    Epoch AI); NaN when none is on sale."""
    offers = out.offers
    ok = (offers.tiers == Tier.STANDARD) & (offers.base_kappa >= kappa)
    return float(offers.price_usd[ok].min() * 1e6) if ok.any() else math.nan


def observe(model: MarketModel) -> None:
    """Record the month's outcome (market, firms, offers) and reset the monthly flows."""
    out = model.outcome
    _market_row(model, out)
    if out.firms:
        _firm_rows(model, out)
    if out.offers.size:
        _offer_rows(model, out)
    for firm in model.firms:
        firm.month_training_usd = 0.0
        firm.month_research_usd = 0.0
        firm.month_funding_usd = 0.0
        firm.month_contract_rnd_gpus = 0.0
        firm.month_contract_rnd_usd = 0.0
    model.entries_this_month = 0
    model.exits_this_month = 0
    model.kappa_history.append(model.frontier_kappa)


def _market_row(model: MarketModel, out: MonthOutcome) -> None:
    cust_rev, queries = out.customer_revenue_usd, out.queries
    total_rev, total_q = float(cust_rev.sum()), float(queries.sum())
    compute, amort = float(out.compute_usd.sum()), float(out.amortisation_usd.sum())
    training, research = float(out.training_usd.sum()), float(out.research_usd.sum())
    model.cumulative_training_usd += training
    model.cumulative_inference_usd += compute
    # The open-weights fringe is atomistic: in the market's totals, not a firm of its own.
    strategic = np.array([f is not model.fringe for f in out.firms], dtype=bool)
    fringe_rev = float(cust_rev[~strategic].sum())
    fringe_id = model.fringe.firm_id if model.fringe is not None else -1
    developers = np.array([v for k, v in out.developer_revenue_usd.items() if k != fringe_id])
    levels = model.params.market.reference_levels
    opex = float(out.opex_usd.sum())
    model.recorder.market(
        out.month,
        firms_active=int(strategic.sum()),
        firms_selling=int(((cust_rev > 0) & strategic).sum()),
        entries=model.entries_this_month,
        exits=model.exits_this_month,
        models_on_sale=sum(len(f.line) for f in out.firms),
        offerings=out.offers.size,
        hhi_revenue=float(hhi(cust_rev[strategic], fringe_rev)),
        hhi_developer_revenue=float(hhi(developers, fringe_rev)) if developers.size else 0.0,
        hhi_queries=float(hhi(queries[strategic], float(queries[~strategic].sum()))),
        cr1=float(concentration_ratio(cust_rev[strategic], 1, fringe_rev))
        if strategic.any()
        else 0.0,
        cr4=float(concentration_ratio(cust_rev[strategic], 4, fringe_rev))
        if strategic.any()
        else 0.0,
        segment_leaders=_segment_leaders(out, fringe_id),
        open_weights_revenue_share=fringe_rev / total_rev if total_rev > 0 else 0.0,
        adoption_frac=out.choice.adopters_frac,
        **_growth_columns(model, out),
        subscribers_unprofitable_frac=out.choice.subscribers_unprofitable_frac,
        queries=total_q,
        tokens=float(out.choice.tokens.sum()),
        revenue_usd=total_rev,
        serving_cost_usd=compute,
        training_spend_usd=training,
        research_spend_usd=research,
        opex_usd=opex,
        amortisation_usd=amort,
        gross_margin=float(gross_margin(total_rev, compute)),
        operating_margin=float(operating_margin(total_rev, compute, amort + opex + research)),
        consumer_surplus_usd=out.choice.surplus_usd,
        price_usd_per_query_mean=total_rev / total_q if total_q > 0 else math.nan,
        price_usd_per_mtok_at_reference=cheapest_price_usd_per_mtok(
            out, model.params.market.reference_kappa
        ),
        price_usd_per_mtok_at_gpt3=cheapest_price_usd_per_mtok(out, levels.gpt3),
        price_usd_per_mtok_at_gpt35=cheapest_price_usd_per_mtok(out, levels.gpt35),
        price_usd_per_mtok_at_gpt4=cheapest_price_usd_per_mtok(out, levels.gpt4),
        frontier_kappa=model.frontier_kappa,
        usd_per_gpu_hour=model.technology.usd_per_gpu_hour,
        gpu_utilisation_frac=model.gpus.utilisation_frac,
        **_gpu_columns(model),
        cumulative_training_usd=model.cumulative_training_usd,
        cumulative_inference_usd=model.cumulative_inference_usd,
    )


def _segment_leaders(out: MonthOutcome, fringe_id: int) -> int:
    """Developers with the largest spend in at least one segment (the open-weights
    fringe's models counted for nobody)."""
    dev = out.offers.developer_ids
    keep = dev != fringe_id
    return segment_leaders(out.choice.spend_by_segment[:, keep], dev[keep])


def _gpu_columns(model: MarketModel) -> dict[str, float]:
    """Where the month's GPUs went, and the share of serving need that was served."""
    g = model.gpus
    need = g.contract_serving_gpus + g.spot_demand_gpus
    served = g.contract_serving_gpus + g.spot_serving_gpus
    return {
        "gpu_supply": g.supply,
        "gpus_training": max(g.training_gpus, 0.0),
        "gpus_contracted": g.contracted_gpus,
        "gpus_spot_serving": g.spot_serving_gpus,
        "served_frac": min(served / need, 1.0) if need > 0 else 1.0,
    }


def _growth_columns(model: MarketModel, out: MonthOutcome) -> dict[str, float]:
    """Adoption and usage this month, over the customers the run represents."""
    c = model.customers
    aware, usage, _ = c.growth_terms()
    represented = c.represented_by_segment
    considering = represented * aware
    total = float(represented.sum())
    return {
        "aware_frac": float(considering.sum() / total) if total > 0 else 0.0,
        "users": out.choice.adopters_frac * total,
        "paying_users": out.choice.paying_frac * total,
        "free_users": max(out.choice.adopters_frac - out.choice.paying_frac, 0.0) * total,
        "usage_multiplier": float((considering * usage).sum() / considering.sum())
        if considering.sum() > 0
        else 1.0,
    }


def _firm_rows(model: MarketModel, out: MonthOutcome) -> None:
    offers, c, firms = out.offers, model.customers, out.firms
    index = {f.firm_id: k for k, f in enumerate(firms)}
    rows = np.array([index[int(f)] for f in offers.firm_ids], dtype=np.intp)
    usage = ~c.subscription
    # Each firm's most capable model's standard offering (column), or -1.
    top = {f.firm_id: max(f.line, key=lambda m: m.kappa).model_id for f in firms if f.line}
    col_of = {
        int(offers.firm_ids[k]): k
        for k in range(offers.size)
        if offers.tiers[k] == Tier.STANDARD
        and top.get(int(offers.firm_ids[k])) == offers.model_ids[k]
    }
    std = np.array([col_of.get(f.firm_id, -1) for f in firms], dtype=np.intp)
    has = std >= 0
    n = len(firms)

    def per_firm(by_offering: np.ndarray) -> np.ndarray:
        """``(firms,)`` a ``(j,)`` quantity at each firm's top standard offering (NaN: none)."""
        if not offers.size:
            return np.full(n, math.nan)
        return np.where(has, by_offering[np.maximum(std, 0)], math.nan)

    queries_by = out.choice.queries_by_segment
    plain = (queries_by * c.tokens_per_query[:, None]).sum(axis=0)
    plain_f = np.bincount(rows, plain, n)
    served_f = np.bincount(rows, out.choice.tokens, n)
    effort = np.divide(served_f, plain_f, out=np.full(n, np.nan), where=plain_f > 0)
    per_query = offers.tokens_per_query(c.tokens_per_query)  # (s, j)
    cost_q = per_query * offers.usd_per_token
    unit_cost = per_firm(
        cost_q[usage].mean(axis=0) if usage.any() else np.full(offers.size, np.nan)
    )
    list_usage = per_firm(
        (per_query * offers.price_usd)[usage].mean(axis=0)
        if usage.any()
        else np.full(offers.size, np.nan)
    )
    cust_rev, queries = out.customer_revenue_usd, out.queries
    realised = np.divide(cust_rev, queries, out=np.full(n, np.nan), where=queries > 0)
    best = {f.firm_id: max(f.line, key=lambda m: m.kappa) for f in firms if f.line}
    model.recorder.firms(
        out.month,
        firm_id=np.array([f.firm_id for f in firms], dtype=np.int64),
        kind=[f.kind for f in firms],
        business_model=[f.business_model.value for f in firms],
        selling=cust_rev > 0,
        queries=queries,
        revenue_usd=out.revenue_usd,
        customer_revenue_usd=cust_rev,
        wholesale_revenue_usd=out.wholesale_revenue_usd,
        serving_cost_usd=out.serving_cost_usd,
        training_spend_usd=out.training_usd,
        research_spend_usd=out.research_usd,
        opex_usd=out.opex_usd,
        free_plan_cost_usd=out.free_plan_cost_usd,
        funnel_revenue_usd=out.funnel_revenue_usd,
        conversions=np.bincount(rows, out.choice.conversions, n),
        funding_usd=out.funding_usd,
        amortisation_usd=out.amortisation_usd,
        gross_margin=gross_margin(out.revenue_usd, out.serving_cost_usd),
        operating_margin=operating_margin(
            out.revenue_usd,
            out.serving_cost_usd,
            out.amortisation_usd + out.opex_usd + out.research_usd,
        ),
        lerner=lerner_index(list_usage, unit_cost),
        cash_usd=np.array([f.cash_usd for f in firms]),
        share_revenue=shares_of(cust_rev),
        share_queries=shares_of(queries),
        price_usd_per_query=realised,
        cost_usd_per_query=unit_cost,
        kappa=per_firm(offers.kappa.max(axis=0)),
        inference_multiplier=effort,
        params=np.array([best[f.firm_id].params if f.firm_id in best else math.nan for f in firms]),
        model_id=np.array([best[f.firm_id].model_id if f.firm_id in best else -1 for f in firms]),
        models_on_sale=np.array([len(f.line) for f in firms], dtype=np.int32),
        training=np.array([f.project is not None for f in firms]),
        contracted_gpus=np.array([model.gpus.held_gpus(f.firm_id) for f in firms]),
        contract_rnd_gpus=np.array([f.month_contract_rnd_gpus for f in firms]),
        served_frac=out.served_frac,
        brand_frac=np.array([f.brand_frac for f in firms]),
        reach_frac=np.array([f.reach_frac for f in firms]),
        reach_usd=np.array([f.reach_usd_per_month for f in firms]),
    )


def _offer_rows(model: MarketModel, out: MonthOutcome) -> None:
    offers, choice = out.offers, out.choice
    revenue = out.offer_revenue_usd
    total = float(revenue.sum())
    plans = model.recorder.plan_names
    price = np.where(offers.plan, np.nan, offers.price_usd * 1e6)
    model.recorder.offers(
        out.month,
        model_id=offers.model_ids,
        tier=[tier_name(int(t), plans) for t in offers.tiers],
        firm_id=offers.firm_ids,
        developer_id=offers.developer_ids,
        plan=offers.plan,
        kappa=offers.base_kappa,
        price_usd_per_mtok=price,
        fee_usd_per_month=np.where(offers.plan, offers.price_usd, np.nan),
        cost_usd_per_mtok=offers.usd_per_token * 1e6,
        queries=choice.queries,
        tokens=choice.tokens,
        revenue_usd=revenue,
        share_revenue=revenue / total if total > 0 else np.zeros(offers.size),
    )
