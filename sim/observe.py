"""The recording phase: one market row and one row per active firm each month.

Also resets the firms' monthly flow accumulators once they are recorded.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from aimarket.agents.business import Tier
from aimarket.markets.metrics import (
    concentration_ratio,
    gross_margin,
    hhi,
    lerner_index,
    operating_margin,
)
from aimarket.markets.metrics import shares as shares_of

if TYPE_CHECKING:
    from aimarket.sim.model import MarketModel

__all__ = ["observe"]


def observe(model: MarketModel) -> None:
    """Record the month's outcome (market, firms) and reset the monthly accumulators."""
    out = model.outcome
    offers, c = out.offers, model.customers
    cust_rev, queries = out.customer_revenue_usd, out.queries
    total_rev, total_q = float(cust_rev.sum()), float(queries.sum())
    compute, amort = float(out.compute_usd.sum()), float(out.amortisation_usd.sum())
    training = float(out.training_usd.sum())
    model.cumulative_training_usd += training
    model.cumulative_inference_usd += compute
    selling = cust_rev > 0
    # The open-weights fringe is atomistic: in the market's totals, not a firm of its own.
    strategic = np.array([f not in model.fringe for f in out.firms], dtype=bool)
    fringe_rev = float(cust_rev[~strategic].sum())
    fringe_q = float(queries[~strategic].sum())
    usage = ~c.subscription
    ref = model.params.market.reference_kappa
    at_ref = (offers.kappa >= ref) & (offers.tiers == int(Tier.STANDARD))[None, :]  # (s, j)
    price_ref = math.nan
    if offers.size and np.any(at_ref) and usage.any():
        # The cheapest price per million tokens actually paid, in a usage segment, for an
        # offering at or above the reference capability.
        tokens = offers.per_query(np.ones(offers.size), c.tokens_per_query)  # (s, j)
        sold = (out.choice.pay_units_by_segment > 0) & usage[:, None] & at_ref
        if sold.any():
            price_ref = float(np.min((offers.price_usd / tokens)[sold]) * 1e6)
    model.recorder.market(
        out.month,
        firms_active=int(strategic.sum()),
        firms_selling=int((selling & strategic).sum()),
        entries=model.entries_this_month,
        exits=model.exits_this_month,
        hhi_revenue=float(hhi(cust_rev[strategic], fringe_rev)),
        hhi_queries=float(hhi(queries[strategic], fringe_q)),
        cr1=float(concentration_ratio(cust_rev[strategic], 1, fringe_rev))
        if strategic.any()
        else 0.0,
        cr4=float(concentration_ratio(cust_rev[strategic], 4, fringe_rev))
        if strategic.any()
        else 0.0,
        open_weights_revenue_share=fringe_rev / total_rev if total_rev > 0 else 0.0,
        adoption_frac=out.choice.adopters_frac,
        subscribers_unprofitable_frac=out.choice.subscribers_unprofitable_frac,
        queries=total_q,
        revenue_usd=total_rev,
        serving_cost_usd=compute,
        training_spend_usd=training,
        opex_usd=float(out.opex_usd.sum()),
        amortisation_usd=amort,
        gross_margin=float(gross_margin(total_rev, compute)),
        operating_margin=float(
            operating_margin(total_rev, compute, amort + float(out.opex_usd.sum()))
        ),
        consumer_surplus_usd=out.choice.surplus_usd,
        price_usd_per_query_mean=total_rev / total_q if total_q > 0 else math.nan,
        price_usd_per_mtok_at_reference=price_ref,
        frontier_kappa=model.frontier_kappa,
        usd_per_gpu_hour=model.technology.usd_per_gpu_hour,
        gpu_utilisation_frac=model.gpus.utilisation_frac,
        cumulative_training_usd=model.cumulative_training_usd,
        cumulative_inference_usd=model.cumulative_inference_usd,
    )
    firms = out.firms
    if firms:
        # Each firm's standard offering (column), or -1.
        col_of = {
            int(f): k
            for k, f in enumerate(offers.firm_ids)
            if offers.tiers[k] == int(Tier.STANDARD)
        }
        std = np.array([col_of.get(f.firm_id, -1) for f in firms], dtype=np.intp)
        has = std >= 0

        def per_firm(by_offering: np.ndarray) -> np.ndarray:
            """``(firms,)`` a ``(j,)`` quantity at each firm's standard offering (NaN: none)."""
            if not offers.size:
                return np.full(len(firms), math.nan)
            return np.where(has, by_offering[np.maximum(std, 0)], math.nan)

        kappa = per_firm(offers.kappa.max(axis=0))
        # Tokens served per query relative to a plain answer, over all the firm's offerings.
        plain = out.choice.queries_by_segment * c.tokens_per_query[:, None]  # (s, j)
        index = {f.firm_id: k for k, f in enumerate(firms)}
        rows = np.array([index[int(f)] for f in offers.firm_ids], dtype=np.intp)
        plain_f = np.bincount(rows, plain.sum(axis=0), len(firms)) if offers.size else 0.0
        served_f = (
            np.bincount(rows, (plain * offers.inference_multiplier).sum(axis=0), len(firms))
            if offers.size
            else 0.0
        )
        effort = np.divide(
            served_f, plain_f, out=np.full(len(firms), np.nan), where=np.asarray(plain_f) > 0
        )
        cost_q = offers.per_query(offers.usd_per_token, c.tokens_per_query)  # (s, j)
        # Means over the usage segments (NaN without any).
        unit_cost = per_firm(
            cost_q[usage].mean(axis=0) if usage.any() else np.full(offers.size, math.nan)
        )
        list_usage = per_firm(
            offers.price_usd[usage].mean(axis=0) if usage.any() else np.full(offers.size, math.nan)
        )
        realised = np.divide(cust_rev, queries, out=np.full(len(firms), np.nan), where=queries > 0)
        model.recorder.firms(
            out.month,
            firm_id=np.array([f.firm_id for f in firms], dtype=np.int64),
            kind=[f.kind for f in firms],
            business_model=[f.business_model.value for f in firms],
            selling=selling,
            queries=queries,
            revenue_usd=out.revenue_usd,
            customer_revenue_usd=cust_rev,
            wholesale_revenue_usd=out.wholesale_revenue_usd,
            serving_cost_usd=out.serving_cost_usd,
            training_spend_usd=out.training_usd,
            opex_usd=out.opex_usd,
            funding_usd=out.funding_usd,
            amortisation_usd=out.amortisation_usd,
            gross_margin=gross_margin(out.revenue_usd, out.serving_cost_usd),
            operating_margin=operating_margin(
                out.revenue_usd, out.serving_cost_usd, out.amortisation_usd + out.opex_usd
            ),
            lerner=lerner_index(list_usage, unit_cost),
            cash_usd=np.array([f.cash_usd for f in firms]),
            share_revenue=shares_of(cust_rev),
            share_queries=shares_of(queries),
            price_usd_per_query=realised,
            cost_usd_per_query=unit_cost,
            kappa=kappa,
            inference_multiplier=effort,
            params=np.array(
                [f.trained.params if f.trained is not None else math.nan for f in firms]
            ),
            model_id=np.array([f.trained.model_id if f.trained is not None else -1 for f in firms]),
            training=np.array([f.project is not None for f in firms]),
        )
    for firm in model.firms:
        firm.month_training_usd = 0.0
        firm.month_funding_usd = 0.0
    model.entries_this_month = 0
    model.exits_this_month = 0
    model.kappa_history.append(model.frontier_kappa)
