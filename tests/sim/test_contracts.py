"""Customers under contract choose again only at renewal (``demand.contract_segments``,
``demand.contract_months``;
docs/model.md, "Contracts")."""

from __future__ import annotations

import numpy as np
import pytest

from aimarket.sim import MarketModel, ModelParams

SEGMENT = "enterprise_analytics"
MONTHS = 30


def _model(contract_months: int, seed: int, segments: tuple[str, ...] = (SEGMENT,)) -> MarketModel:
    params = ModelParams.model_validate(
        {
            "customers": 1500,
            "labs": 3,
            "demand": {
                "pricing_sample_size": 200,
                "contract_segments": list(segments),
                "contract_months": contract_months,
            },
            "strategy": {"valuation_customers": 60},
        }
    )
    return MarketModel(params, seed=seed, horizon_months=MONTHS)


def _gaps(contract_months: int, seed: int) -> tuple[int, list[int]]:
    """Leaving an offering still sold to it (for another, or for none), a customer of the
    segment had held its offering how many months (since it last changed, for any reason
    after the first month)? Also how many such switches there were."""
    model = _model(contract_months, seed)
    customers = model.customers
    g = customers.segment_names.index(SEGMENT)
    lo, hi = int(customers.bounds[g]), int(customers.bounds[g + 1])
    changed = np.full(hi - lo, -1)  # month of each customer's last change (-1: none since 0)
    switches, gaps = 0, []
    for month in range(MONTHS):
        before = customers.current_offer[0][lo:hi].copy()
        model.step()
        offers = model.outcome.offers
        sold = np.isin(before, offers.offer_ids[offers.paid[g]])
        moved = before != customers.current_offer[0][lo:hi]
        left = moved & (before > 0) & sold
        switches += int(left.sum())
        gaps += (month - changed[left & (changed >= 1)]).tolist()
        if month >= 1:
            changed[moved] = month
    return switches, gaps


@pytest.mark.parametrize("seed", [1, 2])
def test_customers_under_contract_switch_only_at_renewal(seed: int) -> None:
    # Under one-year contracts a customer leaves an offering still on sale to it only a
    # year or more after it took it (each choice starts a new term; contracts from before
    # the run renew at staggered months).
    switches, gaps = _gaps(12, seed)
    assert switches > 0, "no enterprise customer ever switched"
    assert gaps, "no switch after a change"
    assert min(gaps) >= 12
    # Choosing monthly, the same customers switch sooner: the rule, not the market, holds
    # them.
    _, monthly = _gaps(1, seed)
    assert min(monthly) < 12


def test_locked_in_customers_do_not_respond_to_prices() -> None:
    # The same month's choice with the same population, with and without contracts in
    # force: with most API (per-token) customers held by two-year contracts, the pricing
    # sample's demand for per-token offerings moves less with their prices (a smaller
    # price slope), and the revenue it counts stays.
    usage = ("coding", "enterprise_analytics", "science", "frontier_research")
    model = _model(24, seed=3, segments=usage)
    for _ in range(12):
        model.step()
    customers, offers = model.customers, model.offers
    state = customers._rng.bit_generator.state
    saved = [a.copy() for a in customers.current_offer], [a.copy() for a in customers.origin]
    signed = [a.copy() for a in customers.contracts.signed]
    month = customers.month

    def choose(active: bool):
        customers._rng.bit_generator.state = state
        customers.current_offer = [a.copy() for a in saved[0]]
        customers.origin = [a.copy() for a in saved[1]]
        customers.contracts.signed = [a.copy() for a in signed]
        customers.contracts.active = active
        customers.month = month
        return customers.choose(offers)

    locked, free = choose(True), choose(False)
    cols = np.flatnonzero(~offers.plan)  # sold per token: to the usage segments only
    assert cols.size, "no per-token offering on sale"
    slope = lambda c: np.abs(np.diag(c.pricing.price_slope)[cols]).sum()  # noqa: E731
    assert slope(locked) < 0.5 * slope(free)
    assert locked.pricing.revenue_units[cols].sum() > 0
