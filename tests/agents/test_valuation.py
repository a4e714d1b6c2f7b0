"""Valuation of product lines: profits at the line's best prices, and project values."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from aimarket.agents.business import Allocation, BusinessModel
from aimarket.agents.effort import blended_success
from aimarket.agents.products import Offers
from aimarket.agents.strategy import Candidate, Horizon, value_candidates
from aimarket.agents.valuation import CustomerSample, Product, Rivals, line_profit_usd
from aimarket.markets.demand import nest_shares, utility_z

ETA = 2.0


def _sample(s: int = 2, n_per: int = 40, *, subscription: int = 0, seed: int = 0):
    """``s`` segments (the first ``subscription`` of them on plans), ``n_per`` customers
    each, values per success spread lognormally."""
    rng = np.random.default_rng(seed)
    n = s * n_per
    seg = np.repeat(np.arange(s), n_per)
    return CustomerSample(
        segment=seg,
        subscription=seg < subscription,
        value_usd_per_token=np.exp(rng.normal(np.log(1e-4), 1.0, n)),
        outside_value_frac=np.full(n, 0.3),
        latency_frac=np.zeros(n),
        queries=np.full(n, 100.0),
        tokens_per_query=np.full(n, 1000.0),
        weight=np.full(n, 1000.0),
        difficulty_kappa=rng.normal(26.0, 0.5, n),
        hard_frac=np.full(n, 0.2),
        hard_extra_oom=np.full(n, 1.0),
        n_segments=s,
        nest_frac=0.5,
        slope_per_oom=2.0,
        plan_allowance=300.0,
    )


def _offers(s: int, rivals: int, *, kappa: float = 26.5, price: float = 2e-6) -> Offers:
    j = rivals
    return Offers(
        offer_ids=np.arange(1, j + 1) * 16,
        model_ids=np.arange(1, j + 1),
        firm_ids=np.arange(1, j + 1) + 100,
        developer_ids=np.arange(1, j + 1) + 100,
        tiers=np.zeros(j, dtype=np.int8),
        base_kappa=np.full(j, kappa),
        kappa=np.full((s, j), kappa),
        inference_multiplier=np.ones((s, j)),
        usd_per_token=np.full(j, 1e-6),
        compute_usd_per_token=np.full(j, 1e-6),
        latency_s_per_token=np.zeros(j),
        wait_s=np.zeros(j),
        allowance_queries=np.full(j, np.inf),
        served_frac=np.ones(j),
        plan=np.zeros(j, dtype=bool),
        price_usd=np.full(j, price),
        available=np.ones((s, j), dtype=bool),
        brand_utility=np.zeros(j),
    )


MOMENTS = {"kappa_shift": np.array([0.0, 1.0]), "cost_factor": np.array([1.0, 0.5])}


def _rival_weight(sample: CustomerSample, rivals: int = 1, **kw) -> np.ndarray:
    if rivals == 0:
        return np.full((2, sample.segment.shape[0]), -np.inf)
    built = Rivals.build(
        _offers(sample.n_segments, rivals, **kw), sample, elasticity=ETA, **MOMENTS
    )
    return built.log_weight(None)


def _product(s: int = 2, *, kappa: float = 27.0, usd: float = 1e-6, **kw) -> Product:
    return Product(np.full(s, kappa), np.ones(s), usd, 0.0, **kw)


def _candidate(*, usd=1e-6, cost_usd=0.0, kappa=27.0, s=2, months=0.0, **kw) -> Candidate:
    return Candidate(
        business_model=BusinessModel.UPFRONT_HEAVY,
        allocation=Allocation.CHINCHILLA,
        params=1e11,
        train_tokens=2e12,
        train_flop=1.2e24,
        base_kappa=kappa,
        max_inference_multiplier=1.0,
        cost_usd=cost_usd,
        months_to_launch=months,
        products=(_product(s, kappa=kappa, usd=usd, **kw),),
    )


def _values(cands, sample=None, rivals=1, line=(), **horizon):
    sample = sample if sample is not None else _sample()
    h = {
        "months": 24,
        "discount_per_month": 0.99,
        "kappa_growth_oom_per_month": 0.05,
        "cost_decline_per_month": 0.03,
        **horizon,
    }
    return value_candidates(
        cands,
        sample,
        _rival_weight(sample, rivals) if isinstance(rivals, int) else rivals,
        Horizon(**h),
        line=line,
        elasticity=ETA,
    )


def test_project_cost_comes_off_value_one_for_one() -> None:
    values, _ = _values([_candidate(cost_usd=0.0), _candidate(cost_usd=5e6)])
    assert values[0] - values[1] == pytest.approx(5e6)


def test_cheaper_serving_and_higher_capability_are_worth_more() -> None:
    values, _ = _values([_candidate(), _candidate(usd=1e-5), _candidate(kappa=28.0)])
    assert values[0] > values[1]
    assert values[2] > values[0]


@pytest.mark.parametrize("subscription", [0, 2])
def test_valuations_see_brands_their_own_and_their_rivals(subscription: int) -> None:
    # Per-token lines and plans alike: a line under a brand earns more at its best
    # prices; against a rival with a brand, less.
    sample = _sample(subscription=subscription)
    rivals = [_rival_weight(sample)]
    branded = _offers(sample.n_segments, 1)
    branded = dataclasses.replace(branded, brand_utility=np.ones(1))
    built = Rivals.build(branded, sample, elasticity=ETA, **MOMENTS)
    rivals.append(built.log_weight(None))
    lines = [(_product(plan=True),), (_product(plan=True, brand_utility=1.0),)]
    plain_rival, known_rival = (
        line_profit_usd(lines, sample, r, elasticity=ETA, **MOMENTS) for r in rivals
    )
    assert (plain_rival[:, 1] > plain_rival[:, 0]).all()
    assert (known_rival < plain_rival).all()


def test_a_later_launch_is_worth_less() -> None:
    values, _ = _values([_candidate(months=0.0), _candidate(months=12.0)])
    assert values[0] > values[1]


def test_more_rivals_lower_a_project_value() -> None:
    one, _ = _values([_candidate()], rivals=1)
    many, _ = _values([_candidate()], rivals=6)
    assert many[0] < one[0]


def test_fixed_costs_and_upkeep_come_off() -> None:
    base, keep = _values([_candidate()], line=(_product(kappa=26.0),))
    fixed, keep_fixed = _values(
        [_candidate()], line=(_product(kappa=26.0),), fixed_cost_usd_per_month=1e6
    )
    assert base[0] - fixed[0] == pytest.approx(keep - keep_fixed)
    assert keep - keep_fixed > 1e6 * 20  # 24 discounted months
    upkeep, keep_upkeep = _values(
        [_candidate()], line=(_product(kappa=26.0),), upkeep_usd_per_month=1e6
    )
    assert keep_upkeep == pytest.approx(keep)  # the line's own models are already paid for
    assert base[0] - upkeep[0] > 1e6 * 20  # the new model's upkeep


def test_a_new_model_that_takes_the_lines_customers_adds_less_than_alone() -> None:
    # Cannibalisation: a better flagship is worth less to a firm that already sells a good
    # model than to a newcomer, and keeping the line is worth what the line earns.
    newcomer, zero = _values([_candidate(kappa=27.5)])
    incumbent, keep = _values([_candidate(kappa=27.5)], line=(_product(kappa=27.0),))
    assert zero == 0 < keep  # a newcomer keeps nothing (no fixed cost here)
    assert incumbent[0] - keep < newcomer[0]


def test_a_segment_only_product_is_valued_on_its_segment_alone() -> None:
    sample = _sample(s=3, n_per=20)
    only = _product(3, segment=1)
    both = line_profit_usd(
        [(only,), (_product(3),)],
        sample,
        _rival_weight(sample),
        elasticity=ETA,
        **MOMENTS,
    )
    keep = sample.segment == 1
    restricted = dataclasses.replace(
        sample,
        **{
            f.name: getattr(sample, f.name)[keep]
            for f in dataclasses.fields(sample)
            if isinstance(getattr(sample, f.name), np.ndarray)
        },
    )
    alone = line_profit_usd(
        [(only,)], restricted, _rival_weight(sample)[:, keep], elasticity=ETA, **MOMENTS
    )
    np.testing.assert_allclose(both[:, 0], alone[:, 0], rtol=1e-6)
    assert np.all(both[:, 1] > both[:, 0])  # selling everywhere beats one segment


def test_a_worse_outside_option_makes_a_line_earn_more() -> None:
    sample = _sample(s=1, n_per=30)
    profits = [
        line_profit_usd(
            [(_product(1),)],
            dataclasses.replace(sample, outside_value_frac=np.full(30, o)),
            _rival_weight(sample),
            elasticity=ETA,
            **MOMENTS,
        )[0, 0]
        for o in (0.6, 0.3, 0.0)
    ]
    assert profits[0] < profits[1] < profits[2]


def _brute_force(sample, products, rival, prices) -> float:
    """The most profitable of ``prices`` ``(G, r)`` per-token prices of a line, by the
    demand kernel itself (usage customers; moment 0)."""
    success = np.stack(
        [
            blended_success(
                p.kappa[sample.segment],
                sample.difficulty_kappa,
                sample.hard_frac,
                sample.hard_extra_oom,
                slope_per_oom=sample.slope_per_oom,
            )[0]
            for p in products
        ]
    )  # (r, m)
    cost = np.array([p.usd_per_token for p in products])[:, None]
    tokens = sample.queries * sample.tokens_per_query
    best = -np.inf
    for row in prices:
        z = utility_z(
            sample.value_usd_per_token,
            success,
            sample.outside_value_frac,
            0.0,
            row[:, None],
            elasticity=ETA,
        )
        prob = nest_shares(z, nest_frac=sample.nest_frac, rivals_log_weight=rival).probability
        best = max(best, float((prob * (row[:, None] - cost) * tokens * sample.weight).sum()))
    return best


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_price_search_reaches_the_most_profitable_prices(seed: int) -> None:
    # One model, then a flagship and a cheaper, weaker small model priced jointly, against
    # a brute-force grid over their prices.
    sample = _sample(s=1, n_per=40, seed=seed)
    rival = _rival_weight(sample)
    flagship, small = _product(1, kappa=27.0, usd=1e-6), _product(1, kappa=26.2, usd=1e-7)
    got = line_profit_usd(
        [(flagship,), (flagship, small)],
        sample,
        rival,
        elasticity=ETA,
        kappa_shift=np.zeros(1),
        cost_factor=np.ones(1),
    )[0]
    grid = np.geomspace(1e-7, 1e-3, 400)
    one = _brute_force(sample, [flagship], rival[0], grid[:, None])
    pairs = np.array([(a, b) for a in grid[::8] for b in grid[::8]])
    two = _brute_force(sample, [flagship, small], rival[0], pairs)
    assert 0.99 * one <= got[0] <= 1.001 * one
    assert 0.99 * two <= got[1] <= 1.02 * two  # the two-price grid itself is coarse
    assert got[1] > got[0]  # a second version adds profit


def test_plans_and_per_token_sales_price_apart() -> None:
    # Subscribers see plans only and usage customers per-token offerings only: a line's
    # profit is the sum of the two.
    sample = _sample(s=2, n_per=30, subscription=1)
    rival = np.full((2, 60), -np.inf)
    product = _product(2, plan=True)
    whole = line_profit_usd([(product,)], sample, rival, elasticity=ETA, **MOMENTS)
    usage_only = line_profit_usd(
        [(dataclasses.replace(product, plan=False),)], sample, rival, elasticity=ETA, **MOMENTS
    )
    assert np.all(whole > usage_only)
    assert np.all(usage_only > 0)


def test_rivals_leave_out_the_deciding_firms_offerings() -> None:
    sample = _sample()
    offers = _offers(2, 3)
    built = Rivals.build(offers, sample, elasticity=ETA, **MOMENTS)
    own = offers.firm_ids == offers.firm_ids[0]
    fewer = Rivals.build(
        dataclasses.replace(
            offers,
            **{f.name: getattr(offers, f.name)[..., ~own] for f in dataclasses.fields(offers)},
        ),
        sample,
        elasticity=ETA,
        **MOMENTS,
    )
    np.testing.assert_allclose(built.log_weight(own), fewer.log_weight(None), rtol=1e-12)
    assert np.all(built.log_weight(None) >= built.log_weight(own))
    assert np.any(built.log_weight(None) > built.log_weight(own))
