"""Strategy maths: reasoning effort, candidate valuation, bounded-rational choice."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aimarket.agents.business import Allocation, BusinessModel
from aimarket.agents.policies import funding_offer_usd
from aimarket.agents.strategy import (
    EFFORT_STEPS_PER_OOM,
    Candidate,
    CustomerSample,
    MarketView,
    Rivals,
    SegmentProfile,
    blended_success,
    choose_project,
    monthly_profit_usd,
    reasoning_effort,
    value_candidates,
)
from aimarket.markets.demand import logit
from aimarket.markets.testtime import testtime_gain_oom


def _segments(value_usd: float = 10.0, difficulty: float = 27.0, s: int = 1) -> SegmentProfile:
    return SegmentProfile(
        tokens=np.full(s, 1000.0),
        value_usd=np.full(s, value_usd),
        difficulty_kappa=np.full(s, difficulty),
        hard_frac=np.full(s, 0.2),
        hard_extra_oom=np.full(s, 1.5),
        latency_value_frac_per_s=np.zeros(s),
    )


def _effort(usd_per_token, *, base=25.0, max_m=1e3, segments=None, tau=0.67, cap=1.0):
    usd = np.atleast_1d(np.asarray(usd_per_token, dtype=float))
    k = usd.shape[0]
    return reasoning_effort(
        np.full(k, base),
        np.full(k, max_m),
        usd,
        np.zeros(k),
        segments if segments is not None else _segments(),
        oom_per_oom=tau,
        cap_oom=cap,
        slope_per_oom=2.0,
    )


@settings(max_examples=60, deadline=None)
@given(
    log_cost=st.floats(-10, -2),
    base=st.floats(20, 35),
    max_m=st.sampled_from([1.0, 10.0, 1e3]),
    value=st.floats(0.01, 1e5),
    tau=st.floats(0.1, 1.0),
    cap=st.floats(0.0, 3.5),
)
def test_effort_stays_on_the_grid_and_pays_for_itself(log_cost, base, max_m, value, tau, cap):
    seg = _segments(value_usd=value)
    m, kappa = _effort(10.0**log_cost, base=base, max_m=max_m, segments=seg, tau=tau, cap=cap)
    assert 1.0 <= m[0, 0] <= max_m * (1 + 1e-9)
    steps = np.log10(m[0, 0]) * EFFORT_STEPS_PER_OOM
    assert steps == pytest.approx(round(steps), abs=1e-9)
    gain = testtime_gain_oom(m[0, 0], oom_per_oom=tau, cap_oom=cap)
    assert kappa[0, 0] == pytest.approx(base + gain)

    def net(mult: float) -> float:
        k = base + testtime_gain_oom(mult, oom_per_oom=tau, cap_oom=cap)
        p = blended_success(
            np.array([k]),
            seg.difficulty_kappa,
            seg.hard_frac,
            seg.hard_extra_oom,
            slope_per_oom=2.0,
        )[0, 0]
        return value * p - 1000.0 * mult * 10.0**log_cost

    assert net(m[0, 0]) >= net(1.0) - 1e-9 * max(1.0, abs(net(1.0)))


@settings(max_examples=40, deadline=None)
@given(log_cost=st.floats(-10, -3), ratio=st.floats(1.0, 1e3), value=st.floats(0.1, 1e4))
def test_cheaper_tokens_never_buy_less_reasoning(log_cost, ratio, value):
    m, _ = _effort([10.0**log_cost, 10.0**log_cost * ratio], segments=_segments(value))
    assert m[0, 0] >= m[0, 1]


def test_a_model_that_cannot_reason_spends_one_answer() -> None:
    m, kappa = _effort([1e-9, 1e-3], max_m=1.0)
    np.testing.assert_array_equal(m, 1.0)
    np.testing.assert_array_equal(kappa, 25.0)


def test_valuable_hard_work_gets_more_reasoning_than_chat() -> None:
    seg = SegmentProfile(
        tokens=np.array([1000.0, 1000.0]),
        value_usd=np.array([0.01, 1000.0]),
        difficulty_kappa=np.array([27.0, 27.0]),
        hard_frac=np.zeros(2),
        hard_extra_oom=np.zeros(2),
        latency_value_frac_per_s=np.zeros(2),
    )
    m, _ = _effort([1e-7], segments=seg)
    assert m[1, 0] > m[0, 0]


def test_blended_success_takes_one_kappa_per_customer() -> None:
    d = np.array([24.0, 26.0, 28.0])
    h, x = np.full(3, 0.3), np.full(3, 1.0)
    per_offer = blended_success(np.array([25.0, 27.0]), d, h, x, slope_per_oom=2.0)
    per_customer = blended_success(np.array([[25.0] * 3, [27.0] * 3]), d, h, x, slope_per_oom=2.0)
    np.testing.assert_allclose(per_offer, per_customer)


def _view(s: int = 2, n_per: int = 50, competitors: int = 1) -> MarketView:
    rng = np.random.default_rng(0)
    n = s * n_per
    seg = np.repeat(np.arange(s), n_per)
    q = np.full(n, 100.0)
    v = np.full(n, 1.0)
    sample = CustomerSample(
        difficulty_kappa=rng.normal(26.0, 0.5, n),
        hard_frac=np.full(n, 0.2),
        hard_extra_oom=np.full(n, 1.0),
        latency_value_frac_per_s=np.zeros(n),
        outside_z=np.full(n, 5.0),
        segment=seg,
        pay_units=q,
        queries=q,
        scale_usd=0.1 * q * v,
        price_coef=1.0 / v,
        weight=np.full(n, 1000.0),
        n_segments=s,
        noise_frac=0.1,
        nest_frac=0.5,
        slope_per_oom=2.0,
        segment_tokens=np.full(s, 1000.0),
    )
    return MarketView(
        sample=sample,
        rivals=Rivals(
            kappa=np.full((s, competitors), 26.5),
            price_usd=np.full((s, competitors), 0.2),
            latency_s=np.zeros((s, competitors)),
            available=np.ones((s, competitors), dtype=bool),
        ),
    )


def _candidate(*, usd_per_token=1e-6, cost_usd=0.0, kappa=27.0, s=2, months=0.0) -> Candidate:
    return Candidate(
        business_model=BusinessModel.UPFRONT_HEAVY,
        allocation=Allocation.CHINCHILLA,
        params=1e11,
        train_tokens=2e12,
        train_flop=1.2e24,
        base_kappa=kappa,
        kappa=np.full(s, kappa),
        inference_multiplier=np.ones(s),
        max_inference_multiplier=1.0,
        cost_usd=cost_usd,
        months_to_launch=months,
        usd_per_token=usd_per_token,
        latency_s_per_token=0.0,
    )


def _values(cands, view=None, **kw):
    return value_candidates(
        cands,
        view if view is not None else _view(),
        horizon_months=24,
        discount_per_month=0.99,
        kappa_growth_oom_per_month=0.05,
        cost_decline_per_month=0.03,
        **kw,
    )


def test_project_cost_comes_off_value_one_for_one() -> None:
    values, _ = _values([_candidate(cost_usd=0.0), _candidate(cost_usd=5e6)])
    assert values[0] - values[1] == pytest.approx(5e6)


def test_cheaper_serving_and_higher_capability_are_worth_more() -> None:
    values, _ = _values([_candidate(), _candidate(usd_per_token=1e-4), _candidate(kappa=28.0)])
    assert values[0] > values[1]
    assert values[2] > values[0]


def test_a_later_launch_is_worth_less() -> None:
    values, _ = _values([_candidate(months=0.0), _candidate(months=12.0)])
    assert values[0] > values[1]


def test_more_rivals_lower_a_project_value() -> None:
    one, _ = _values([_candidate()], _view(competitors=1))
    many, _ = _values([_candidate()], _view(competitors=6))
    assert many[0] < one[0]


def test_a_firms_own_offerings_are_not_its_rivals() -> None:
    view = _view(competitors=3)
    r = view.rivals
    first, rest = slice(0, 1), slice(1, None)
    fewer = Rivals(
        r.kappa[:, rest], r.price_usd[:, rest], r.latency_s[:, rest], r.available[:, rest]
    )
    r.kappa[:, first] = 28.0  # the firm's own, strong offering
    own = MarketView(view.sample, r, own=np.array([True, False, False]))
    with_own, _ = _values([_candidate()], own)
    without, _ = _values([_candidate()], MarketView(view.sample, fewer))
    np.testing.assert_allclose(with_own, without, rtol=1e-12)
    against_all, _ = _values([_candidate()], MarketView(view.sample, r))
    assert against_all[0] < with_own[0]


def test_fixed_costs_come_off_every_option_and_the_incumbent() -> None:
    base, keep = _values([_candidate()], incumbent=_candidate(kappa=26.0))
    fixed, keep_fixed = _values(
        [_candidate()], incumbent=_candidate(kappa=26.0), fixed_cost_usd_per_month=1e6
    )
    assert base[0] - fixed[0] == pytest.approx(keep - keep_fixed)
    assert keep - keep_fixed > 1e6 * 20  # 24 discounted months


def _restricted(view: MarketView, segment: int) -> MarketView:
    """The same view with only one segment's sampled customers."""
    sm = view.sample
    keep = sm.segment == segment
    per_customer = {
        f: getattr(sm, f)[keep]
        for f in sm.__dataclass_fields__
        if isinstance(getattr(sm, f), np.ndarray) and getattr(sm, f).shape == keep.shape
    }
    return MarketView(sample=dataclasses.replace(sm, **per_customer), rivals=view.rivals)


@pytest.mark.parametrize("n_per", [[7, 3, 5], [4, 4, 4]])
def test_a_segment_only_candidate_is_valued_on_its_segment_alone(n_per: list[int]) -> None:
    # Segments of unequal size are padded in the pair layout; padding must not count.
    view = _view(s=3, n_per=max(n_per), competitors=2)
    sm = view.sample
    keep = np.concatenate([np.flatnonzero(sm.segment == g)[:n] for g, n in enumerate(n_per)])
    fields = {
        f: getattr(sm, f)[keep]
        for f in sm.__dataclass_fields__
        if isinstance(getattr(sm, f), np.ndarray) and getattr(sm, f).shape == sm.segment.shape
    }
    view = MarketView(dataclasses.replace(sm, **fields), view.rivals)
    kappa = np.full((3, 2), 26.8)
    cost = np.full((3, 2), 0.01)
    lat = np.zeros((3, 2))
    moments = dict(kappa_shift=[0.0, 1.0], cost_factor=[1.0, 0.5])
    both = monthly_profit_usd(kappa, cost, lat, np.array([1, -1]), view, **moments)
    alone = monthly_profit_usd(
        kappa[:, :1], cost[:, :1], lat[:, :1], np.array([1]), _restricted(view, 1), **moments
    )
    np.testing.assert_allclose(both[:, 0], alone[:, 0], rtol=1e-12)
    assert np.all(both[:, 1] > both[:, 0])  # selling everywhere beats one segment


def test_a_worse_outside_option_makes_a_candidate_worth_more() -> None:
    view = _view(s=1, n_per=20, competitors=1)
    args = (np.full((1, 1), 27.0), np.full((1, 1), 0.01), np.zeros((1, 1)), np.array([-1]))
    sm = view.sample
    profits = [
        monthly_profit_usd(
            *args,
            MarketView(dataclasses.replace(sm, outside_z=np.full(20, z)), view.rivals),
        )[0]
        for z in (5.0, 2.0, 0.0)
    ]
    assert np.all(np.isfinite(profits))
    assert profits[0] < profits[1] < profits[2]


@pytest.mark.parametrize("value_log_sd", [0.0, 1.5])
@pytest.mark.parametrize("outside_z", [5.0, 0.0])
def test_valuation_prices_reach_the_most_profitable_price(
    value_log_sd: float, outside_z: float
) -> None:
    # Against a brute-force search over prices of the same nested-logit profit: alike
    # customers (profit falls off a cliff past its peak) and customers whose values
    # spread over orders of magnitude (a flat, wide profit curve far above the cost).
    rng = np.random.default_rng(3)
    n, lam, noise, cost = 40, 0.5, 0.1, 0.01
    q = np.full(n, 100.0)
    v = np.exp(value_log_sd * rng.standard_normal(n))
    view = _view(s=1, n_per=n, competitors=1)
    sample = dataclasses.replace(
        view.sample,
        outside_z=np.full(n, outside_z),
        scale_usd=noise * q * v,
        price_coef=1.0 / v,
    )
    got = monthly_profit_usd(
        np.full((1, 1), 27.0),
        np.full((1, 1), cost),
        np.zeros((1, 1)),
        np.array([-1]),
        MarketView(sample, view.rivals),
    )[0]
    success = blended_success(
        np.array([27.0, 26.5]),
        sample.difficulty_kappa,
        sample.hard_frac,
        sample.hard_extra_oom,
        slope_per_oom=sample.slope_per_oom,
    )
    prices = cost * np.logspace(0.0, 6.0, 3000)  # the candidate's price per query
    z_rival = (success[1] - 0.2 * sample.price_coef) / noise
    z_own = (success[0][None, :] - prices[:, None] * sample.price_coef[None, :]) / noise
    profits = []
    for row, price in zip(z_own, prices, strict=True):
        p = logit(np.stack([row, z_rival]), outside=sample.outside_z, nest_frac=lam)[0][1]
        profits.append(float((sample.weight * p * q * (price - cost)).sum()))
    best = max(profits)
    assert best > 0
    # Spread-out customers give the profit a peak per group of them; two of nearly the
    # same height can be confused by the coarse grid the search starts from.
    tolerance = 0.01 if value_log_sd == 0 else 0.05
    assert (1 - tolerance) * best <= got <= 1.001 * best


def test_choice_is_greedy_without_noise_and_never_picks_the_impossible() -> None:
    rng = np.random.default_rng(1)
    assert choose_project(np.array([1.0, 3.0, 2.0]), rng=rng, rationality_frac=0.0) == 1
    assert choose_project(np.array([-1.0, -2.0]), rng=rng, rationality_frac=0.0) is None
    values = np.array([-np.inf, 5.0])
    picks = {choose_project(values, rng=rng, rationality_frac=5.0) for _ in range(200)}
    assert 0 not in picks


def test_bounded_rationality_sometimes_errs_but_prefers_the_best() -> None:
    rng = np.random.default_rng(2)
    values = np.array([1.0, 1.2])
    picks = [choose_project(values, rng=rng, rationality_frac=0.5, keep=0.9) for _ in range(2000)]
    counts = {k: picks.count(k) for k in (None, 0, 1)}
    assert counts[1] > counts[0] > 0
    assert counts[None] > 0


def test_a_round_sells_at_most_the_dilution_share() -> None:
    kw = dict(annual_revenue_usd=1e9, revenue_multiple=10.0, base_round_usd=0.0)
    full = funding_offer_usd(**kw, capital_market_index=1.0)
    part = funding_offer_usd(**kw, capital_market_index=1.0, dilution_frac=0.2)
    assert part == pytest.approx(0.2 * full)
    assert funding_offer_usd(**kw, capital_market_index=0.0, dilution_frac=0.2) == 0.0
    with pytest.raises(ValueError, match="dilution_frac"):
        funding_offer_usd(**kw, capital_market_index=1.0, dilution_frac=1.5)
