"""The simulation's simpy processes: plain generator functions of the model.

Each process wakes once a month in its phase (see :mod:`sim.clock`): the hardware process
in the state phase, pricing in the strategy phase, then clearing, then recording.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING

import numpy as np
import simpy

from markets.metrics import concentration_ratio, gross_margin, hhi, lerner_index, operating_margin
from markets.metrics import shares as shares_of
from sim.clock import Phase, at_phase
from sim.market import MonthOutcome, clear_market, set_prices
from sim.technology import technology_at

if TYPE_CHECKING:
    from sim.model import MarketModel

__all__ = ["clearing", "hardware", "observe", "pricing", "recording", "start_processes"]

Process = Generator[simpy.events.Event, None, None]


def hardware(model: MarketModel) -> Process:
    """State phase: this month's hardware prices and algorithmic efficiency."""
    while True:
        model.technology = technology_at(model.params, model.start_month, int(model.env.now))
        yield model.env.timeout(1)


def _monthly(model: MarketModel, phase: Phase, action: object) -> Process:
    yield at_phase(model.env, 0, phase)
    while True:
        action(model)  # type: ignore[operator]
        yield at_phase(model.env, 1, phase)


def _price(model: MarketModel) -> None:
    model.offers = set_prices(model)


def _clear(model: MarketModel) -> None:
    model.outcome = clear_market(model)


def pricing(model: MarketModel) -> Process:
    """Strategy phase: firms set this month's prices."""
    return _monthly(model, Phase.STRATEGY, _price)


def clearing(model: MarketModel) -> Process:
    """Clearing phase: customers choose, money changes hands."""
    return _monthly(model, Phase.CLEARING, _clear)


def recording(model: MarketModel) -> Process:
    """Recording phase: the month's rows go to the recorder."""
    return _monthly(model, Phase.RECORDING, observe)


def start_processes(model: MarketModel) -> None:
    """Start every process of a run (the start order does not matter: phases do)."""
    for process in (hardware, pricing, clearing, recording):
        model.env.process(process(model))


def observe(model: MarketModel) -> None:
    """Turn the month's outcome into one market row and one row per offered firm."""
    out: MonthOutcome = model.outcome
    rev, queries, serving = out.revenue_usd, out.queries, out.serving_cost_usd
    offers = out.offers
    cost, kappa = offers.cost_usd_per_query, offers.kappa
    # The price a firm realised: revenue per query (list price of its segments, weighted).
    price = np.divide(rev, queries, out=offers.price_usd_per_query.mean(axis=0), where=queries > 0)
    total_rev, total_q = float(rev.sum()), float(queries.sum())
    model.recorder.market(
        out.month,
        firms_active=len(out.firms),
        hhi_revenue=float(hhi(rev)),
        hhi_queries=float(hhi(queries)),
        cr1=float(concentration_ratio(rev, 1)) if len(rev) else 0.0,
        cr4=float(concentration_ratio(rev, 4)) if len(rev) else 0.0,
        adoption_frac=out.choice.adopters / model.customers.n,
        queries=total_q,
        revenue_usd=total_rev,
        serving_cost_usd=float(serving.sum()),
        amortisation_usd=float(out.amortisation_usd.sum()),
        gross_margin=float(gross_margin(total_rev, serving.sum())),
        operating_margin=float(
            operating_margin(total_rev, serving.sum(), out.amortisation_usd.sum())
        ),
        consumer_surplus_usd=out.choice.surplus_usd,
        price_usd_per_query_mean=total_rev / total_q if total_q > 0 else float("nan"),
        frontier_kappa=float(kappa.max()) if len(kappa) else float("nan"),
        usd_per_gpu_hour=model.technology.usd_per_gpu_hour,
    )
    if not out.firms:
        return
    model.recorder.firms(
        out.month,
        firm_id=np.array([f.firm_id for f in out.firms], dtype=np.int64),
        kind=[f.kind for f in out.firms],
        business_model=[f.business_model.value for f in out.firms],
        queries=queries,
        revenue_usd=rev,
        serving_cost_usd=serving,
        amortisation_usd=out.amortisation_usd,
        gross_margin=gross_margin(rev, serving),
        operating_margin=operating_margin(rev, serving, out.amortisation_usd),
        lerner=lerner_index(price, cost),
        cash_usd=np.array([f.cash_usd for f in out.firms], dtype=float),
        share_revenue=shares_of(rev),
        share_queries=shares_of(queries),
        price_usd_per_query=price,
        cost_usd_per_query=cost,
        kappa=kappa,
        inference_multiplier=offers.inference_multiplier,
        params=np.array([f.trained.params for f in out.firms], dtype=float),
    )
