"""One month of the market: offerings, prices, clearing and the month's books.

Functions of the model's state, called by the processes in :mod:`sim.processes` in phase
order. The economics come from :mod:`markets`; nothing here sets an outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from agents.business import Offers
from agents.customers import Choice
from agents.firms import Firm
from agents.policies import next_price_usd
from markets.costs import query_cost_usd, serving_cost
from markets.pricing import logit_best_response_markup_usd, markup_price_usd
from markets.testtime import testtime_gain_oom
from sim.params import ModelParams, regime_tradeoff
from sim.technology import Technology

if TYPE_CHECKING:
    from sim.model import MarketModel

__all__ = ["MonthOutcome", "clear_market", "offering_economics", "set_prices"]


@dataclass(frozen=True, slots=True)
class MonthOutcome:
    """What happened in one month's clearing; arrays are ``(j,)`` over the offering firms."""

    month: int
    firms: tuple[Firm, ...]
    offers: Offers
    queries: NDArray[np.float64]
    revenue_usd: NDArray[np.float64]
    serving_cost_usd: NDArray[np.float64]
    amortisation_usd: NDArray[np.float64]
    choice: Choice


def offering_economics(
    firms: list[Firm], tech: Technology, params: ModelParams
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Capability, serving cost and latency per query of each firm's offering this month.

    Returns ``(kappa, cost_usd_per_query, latency_s_per_query)``, each ``(j,)``.
    """
    hw, market = params.hardware, params.market
    n_params = np.array([f.trained.params for f in firms], dtype=float)
    multiplier = np.array([f.inference_multiplier for f in firms], dtype=float)
    base_kappa = np.array([f.trained.kappa for f in firms], dtype=float)
    oom_per_oom, cap_oom = regime_tradeoff(market.regime)
    kappa = base_kappa + testtime_gain_oom(multiplier, oom_per_oom=oom_per_oom, cap_oom=cap_oom)
    serving = serving_cost(
        n_params,
        batch=hw.serving_batch,
        peak_flop_per_s=tech.peak_flop_per_s,
        mem_bw_bytes_per_s=tech.mem_bw_bytes_per_s,
        mem_bytes=tech.mem_bytes,
        usd_per_gpu_hour=tech.usd_per_gpu_hour,
        gpus_per_node=hw.gpus_per_node,
        bytes_per_param=hw.bytes_per_param,
        mfu=hw.serving_mfu_frac,
    )
    usd_per_token = np.asarray(serving.usd_per_token, dtype=float) / tech.serving_efficiency
    cost = query_cost_usd(
        usd_per_token, tokens_per_query=market.tokens_per_query, inference_multiplier=multiplier
    )
    latency = (
        np.asarray(serving.latency_s_per_token, dtype=float) * market.tokens_per_query * multiplier
    )
    return np.asarray(kappa, dtype=float), np.asarray(cost, dtype=float), latency


def set_prices(model: MarketModel) -> Offers:
    """Strategy phase: every active firm prices its offering in each segment.

    A firm that sold last month takes a damped step toward its logit best response to the
    demand it faced then, segment by segment; a firm new to the market starts at cost
    plus the initial markup.
    """
    firms = [f for f in model.firms if f.active]
    params, customers = model.params, model.customers
    n_seg = customers.n_segments
    kappa, cost, latency = (
        offering_economics(firms, model.technology, params)
        if firms
        else (
            np.empty(0),
            np.empty(0),
            np.empty(0),
        )
    )
    last = model.outcome
    column = {f.firm_id: k for k, f in enumerate(last.firms)} if last is not None else {}
    markups = (
        logit_best_response_markup_usd(
            last.choice.probabilities,
            customers.queries_per_month,
            customers.scale_usd,
            groups=customers.segment,
            n_groups=n_seg,
        )
        if last is not None
        else np.empty((n_seg, 0))
    )
    prices = np.empty((n_seg, len(firms)))
    for k, firm in enumerate(firms):
        if firm.firm_id in column:
            firm.prices_usd_per_query = next_price_usd(
                cost[k],
                previous_price_usd=firm.prices_usd_per_query,
                best_response_markup_usd=markups[:, column[firm.firm_id]],
                damping_frac=params.market.price_damping_frac,
            )
        else:
            firm.prices_usd_per_query = np.full(
                n_seg, markup_price_usd(cost[k], markup_frac=params.market.initial_markup_frac)
            )
        prices[:, k] = firm.prices_usd_per_query
    return Offers(
        firm_ids=np.array([f.firm_id for f in firms], dtype=np.int64),
        kappa=kappa,
        inference_multiplier=np.array([f.inference_multiplier for f in firms], dtype=float),
        cost_usd_per_query=cost,
        price_usd_per_query=prices,
        latency_s_per_query=latency,
    )


def clear_market(model: MarketModel) -> MonthOutcome:
    """Clearing phase: customers choose, firms are paid and pay for serving.

    A firm's revenue is its price times the queries it served, segment by segment.
    """
    month = int(model.env.now)
    offers = model.offers
    by_id = {f.firm_id: f for f in model.firms}
    firms = tuple(by_id[int(i)] for i in offers.firm_ids)
    customers = model.customers
    choice = customers.choose(offers)
    revenue = choice.revenue_by_segment(offers.price_usd_per_query)
    serving = offers.cost_usd_per_query * choice.queries
    life = model.params.firms.model_life_months
    amortisation = np.array(
        [
            f.trained.cost_usd / life if 0 <= month - f.trained.launched_month < life else 0.0
            for f in firms
        ],
        dtype=float,
    )
    for k, firm in enumerate(firms):
        firm.book(revenue_usd=float(revenue[k]), serving_cost_usd=float(serving[k]))
    return MonthOutcome(
        month=month,
        firms=firms,
        offers=offers,
        queries=choice.queries,
        revenue_usd=revenue,
        serving_cost_usd=serving,
        amortisation_usd=amortisation,
        choice=choice,
    )
