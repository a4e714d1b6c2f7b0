"""The customer population: value span, stratified sampling and its weights."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from aimarket.agents.customers import CustomerPopulation
from aimarket.agents.effort import blended_success
from aimarket.agents.products import Tier
from aimarket.sim.model import MarketModel
from aimarket.sim.params import ModelParams


@pytest.fixture(scope="module")
def population():
    model = MarketModel(ModelParams(customers=10_000), seed=4, horizon_months=1)
    return model.customers, model.params


def test_value_per_success_spans_eight_orders_of_magnitude(population) -> None:
    customers, _ = population
    v = customers.value_usd_per_success
    assert np.log10(v.max() / v.min()) >= 8.0  # consumer chat to frontier research


def test_small_segments_are_oversampled_and_weighted_back(population) -> None:
    customers, params = population
    s = customers.n_segments
    counts = np.diff(customers.bounds)
    assert counts.sum() == customers.n
    assert counts.min() >= customers.n // (2 * s) - 1  # half the sample is split equally
    represented = params.demand.represented_customers
    people = customers.segment_weight * counts
    weights = np.array([g.weight_frac for g in params.demand.segments])
    np.testing.assert_allclose(people, represented * weights / weights.sum())
    cols = customers.stratified_columns(600)
    assert customers.segment_weights(cols).sum() == pytest.approx(represented)


def test_the_rarest_segment_has_hundreds_of_customers(population) -> None:
    customers, params = population
    rarest = int(np.argmin([g.weight_frac for g in params.demand.segments]))
    assert np.diff(customers.bounds)[rarest] >= 500


def test_cached_success_rows_match_the_blended_success_rate(population) -> None:
    customers, params = population
    lo, hi = int(customers.bounds[2]), int(customers.bounds[3])
    rows = customers._success[0][2]
    kappa = np.array([24.0, 27.5, 31.0, 27.5])
    expected = blended_success(
        kappa,
        customers.difficulty_kappa[lo:hi],
        customers.hard_frac[lo:hi],
        customers.hard_extra_oom[lo:hi],
        slope_per_oom=params.demand.success_slope_per_oom,
    )
    # Stored in float32, as the population's utilities are.
    np.testing.assert_allclose(rows.take(kappa), expected, rtol=1e-6, atol=1e-6)
    # Asked again with one new capability, the cached rows come back in the asked order.
    again = np.array([31.0, 20.0, 24.0])
    np.testing.assert_array_equal(rows.take(again)[[0, 2]], rows.take(kappa)[[2, 0]])
    assert np.all(rows.take(again)[1] < expected[0])  # a weaker model does worse


def test_success_row_cache_reuses_rows_without_mixing_them_up(population) -> None:
    # Capabilities come and go month by month: rows of ones no longer asked for are
    # reused before the cache grows, and every row asked for is always its own.
    customers, _ = population
    rows = customers._success[0][1]
    rng = np.random.default_rng(3)
    pool = np.round(rng.uniform(20.0, 32.0, 40), 3)
    sizes = []
    for _ in range(60):
        kappa = rng.choice(pool, size=int(rng.integers(1, 9)))
        np.testing.assert_array_equal(rows.take(kappa), rows.compute(kappa).astype(np.float32))
        sizes.append(rows.rows.shape[0])
    assert max(sizes) <= 16  # bounded by twice the largest set asked for at once


def test_usage_customers_all_pay_one_price_per_token() -> None:
    # Every usage customer who buys a model's tier pays its one list price per token,
    # whatever their segment: what each segment paid over the tokens it bought is the
    # same price (per-segment prices would make these differ).
    model = MarketModel(ModelParams(customers=4000), seed=9, horizon_months=6)
    usage = ~model.customers.subscription
    checked = 0
    for _ in range(6):
        model.step()
        out = model.outcome
        offers, choice = out.offers, out.choice
        for k in np.flatnonzero(~offers.plan):
            bought = usage & (choice.pay_units_by_segment[:, k] > 0)
            paid = choice.spend_by_segment[bought, k] / choice.pay_units_by_segment[bought, k]
            np.testing.assert_allclose(paid, offers.price_usd[k], rtol=1e-12)
            checked += int(bought.sum() > 1)
    assert checked > 0  # some offering sold to more than one segment
    assert (offers.tiers != Tier.STANDARD).any()


def _year_old_market(seed: int) -> MarketModel:
    """The baseline market after its first year (3,000 customers)."""
    market = MarketModel(ModelParams(customers=3000), seed=seed, horizon_months=12)
    for _ in range(12):
        market.step()
    return market


def _fresh_population(seed: int, **demand) -> CustomerPopulation:
    """Customers nobody has served yet (no last month's choice), seeded as the market."""
    params = ModelParams(customers=3000, demand=demand)
    return MarketModel(params, seed=seed, horizon_months=1).customers


@pytest.mark.parametrize("seed", [1, 2, 4])
def test_routing_makes_routine_and_hard_work_two_choices(seed: int) -> None:
    # The same offers (a year-old market's), chosen by the same customers with and without
    # routing: without it one choice carries all of a customer's work; with it routine and
    # hard work are chosen separately, judged on their own success, and for some customers
    # the two choices differ. (Which way that moves the share of queries served by models
    # cheaper to serve is not implied: per token, cheaper is not always less capable once
    # reasoning effort is chosen per segment; docs/findings.md, question 5.)
    market = _year_old_market(seed)
    offers = market.outcome.offers
    chosen = {}
    for routing in (False, True):  # fresh populations: nobody has a last month's choice
        population = _fresh_population(seed, routing=routing)
        population.choose(offers)
        chosen[routing] = population.current_offer
    assert len(chosen[False]) == 1
    routine, hard = chosen[True]
    assert (routine != hard).mean() > 0.01


@pytest.mark.parametrize("seed", [1, 2, 4])
def test_customers_turn_away_from_offerings_that_were_short_of_capacity(seed: int) -> None:
    # The same offers and customers; the most bought offering's GPUs served only half of
    # last month's work: customers expect as much, and fewer choose it.
    market = _year_old_market(seed)
    offers = market.outcome.offers
    top = int(np.argmax(market.outcome.choice.queries))
    short = np.ones(offers.size)
    short[top] = 0.5
    rationed = dataclasses.replace(offers, served_frac=short)
    queries = []
    for these in (offers, rationed):
        queries.append(_fresh_population(seed).choose(these).queries[top])
    assert queries[1] < queries[0]
