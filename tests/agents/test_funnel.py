"""The free plan as a funnel: it costs serving and earns nothing, its users convert to its
lab's paid plans rather than a rival's, and a lab keeps it only while it pays."""

from __future__ import annotations

import dataclasses

import numpy as np
import polars as pl
import pytest

from aimarket.agents.funnel import FreeTierBook
from aimarket.agents.products import Tier
from aimarket.sim.model import MarketModel
from aimarket.sim.params import ModelParams


def _market(seed: int, free: float, months: int = 12, customers: int = 3000) -> MarketModel:
    params = ModelParams(
        customers=customers, market={"free_tier": {"allowance_queries_per_month": free}}
    )
    market = MarketModel(params, seed=seed, horizon_months=months)
    for _ in range(months):
        market.step()
    return market


@pytest.mark.parametrize("seed", [1, 2, 4])
def test_a_free_plan_costs_serving_earns_nothing_and_brings_users(seed: int) -> None:
    with_free, without = _market(seed, 30.0), _market(seed, 0.0)
    offers = with_free.tables()["offers"].filter(pl.col("tier") == "free")
    assert offers.height > 0
    assert (offers["tokens"] > 0).any()
    assert (offers["revenue_usd"] == 0.0).all()
    firms = with_free.tables()["firms"]
    assert firms["free_plan_cost_usd"].sum() > 0
    assert without.tables()["firms"]["free_plan_cost_usd"].sum() == 0.0
    # Customers who would buy nothing but gain from AI take a free plan: more users.
    users = [m.tables()["market"]["users"].mean() for m in (with_free, without)]
    assert users[0] > users[1]


@pytest.mark.parametrize("seed", [1, 2, 4])
def test_free_users_convert_to_their_labs_paid_plans_not_a_rivals(seed: int) -> None:
    # The same offers and customers twice: once as if every subscriber had used one lab's
    # free plan last month, once as if nobody had. Moving from that free plan to the same
    # lab's paid plans costs no switch, so more of them buy that lab's plans, and the
    # month's conversions are that lab's.
    market = _market(seed, 30.0)
    offers = market.outcome.offers
    free = np.flatnonzero(offers.free)
    assert free.size
    # The free plan of the lab whose paid plans sell most: converts have somewhere to go.
    sold = market.outcome.choice.queries
    paid_of = [offers.plan & ~offers.free & (offers.firm_ids == f) for f in offers.firm_ids[free]]
    pick = int(np.argmax([sold[p].sum() for p in paid_of]))
    free, paid = free[pick:], paid_of[pick]
    bought = []
    for as_free_user in (True, False):
        population = MarketModel(
            market.params, seed=seed, horizon_months=1
        ).customers  # nobody has a last month's choice
        subs = population.subscription[population.segment]
        if as_free_user:
            population.current_offer[0][subs] = offers.offer_ids[free[0]]
        choice = population.choose(offers)
        bought.append(choice.queries[paid].sum())
        if as_free_user:
            assert choice.conversions[paid].sum() > 0
            assert choice.conversions[~paid].sum() == 0.0
    assert bought[0] > bought[1]


def test_a_lab_keeps_its_free_plan_only_while_its_converts_pay_for_it() -> None:
    paying, losing = FreeTierBook(), FreeTierBook()
    for _ in range(6):
        assert paying.update(10.0, 12.0, review_months=6)
        losing.update(10.0, 8.0, review_months=6)
    assert paying.on
    assert not losing.on  # six months of funnel revenue below the free plan's cost
    for _ in range(5):
        assert not losing.update(0.0, 0.0, review_months=6)
    assert losing.update(0.0, 0.0, review_months=6)  # tries again after as long


def test_the_free_tier_is_the_last_tier_of_a_model() -> None:
    assert Tier.FREE == 15
    assert Tier.PLAN + 8 < Tier.FREE  # up to eight plans fit before it


def test_a_free_plans_cost_is_the_funnels_not_its_models() -> None:
    # A model's profit (what retirement looks at) is its paid offerings' revenue less
    # their serving; the free plan on it is judged as a funnel, so the cheapest model is
    # not retired for carrying it.
    market = _market(2, 30.0)
    out = market.outcome
    offers, choice = out.offers, out.choice
    free = np.flatnonzero(offers.free & (choice.tokens > 0))
    assert free.size
    k = int(free[0])
    firm = next(f for f in out.firms if f.firm_id == offers.firm_ids[k])
    same = (offers.model_ids == offers.model_ids[k]) & ~offers.free
    paid = offers.price_usd * choice.pay_units_by_segment.sum(axis=0)
    expected = (paid - offers.compute_usd_per_token * choice.tokens)[same].sum()
    assert firm.model_profit[int(offers.model_ids[k])][-1] == pytest.approx(expected)


@pytest.mark.parametrize("seed", [1, 2, 4])
def test_a_paid_plan_is_judged_by_what_it_adds_to_the_free_plan(seed: int) -> None:
    # The same customers and offers, with and without the free plans on sale: a paid plan
    # is worth what it adds to the best free one, so with free plans fewer buy paid plans.
    market = _market(seed, 30.0)
    offers = market.outcome.offers
    assert offers.free.any()
    without = dataclasses.replace(offers, available=offers.paid)
    paid = offers.plan & ~offers.free
    bought = []
    for these in (offers, without):
        population = MarketModel(market.params, seed=seed, horizon_months=1).customers
        bought.append(population.choose(these).queries[paid].sum())
    assert bought[0] < bought[1]
