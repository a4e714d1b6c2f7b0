"""Pricing and market metrics: best responses are optima; concentration is bounded."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.optimize import minimize_scalar

from aimarket.agents.policies import next_price_usd
from aimarket.markets.demand import logit
from aimarket.markets.metrics import concentration_ratio, gross_margin, hhi, lerner_index, shares
from aimarket.markets.pricing import (
    best_response_price_usd,
    best_response_sums,
    markup_price_usd,
    nest_best_response_sums,
)


def _best_response(p, a, q, s, cost, **kw) -> np.ndarray:
    """Best-response prices of ``(j, n)`` probabilities (keywords of best_response_sums)."""
    return best_response_price_usd(best_response_sums(p, a, q, s, **kw), cost)


def _shares(z: np.ndarray, lam: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """(j, n) nested-logit probabilities and within-nest shares of normalised utility z."""
    p = logit(z, nest_frac=lam)[0][1:]
    nest = p.sum(axis=0)
    return p, p / nest


def _profit(price: float, k: int, prices, values, q, s, a, cost, lam) -> float:
    prices = np.array(prices, dtype=float)
    prices[k] = price
    z = (q * values[:, None] - a * prices[:, None]) / s
    p, _ = _shares(z, lam)
    return float((p[k] * (a * price - q * cost[k])).sum())


@pytest.mark.parametrize("lam", [1.0, 0.5, 0.2])
@pytest.mark.parametrize("plan", ["usage", "subscription"])
def test_best_response_maximises_profit(lam: float, plan: str) -> None:
    rng = np.random.default_rng(1)
    n = 300
    q, s = rng.uniform(1, 5, n), rng.uniform(0.5, 2.0, n)
    a = q if plan == "usage" else np.ones(n)
    values, cost = np.array([2.0, 1.8]), np.array([0.3, 0.4])
    rival = 2.5 if plan == "usage" else 6.0
    best = minimize_scalar(
        lambda p: -_profit(p, 0, [0.0, rival], values, q, s, a, cost, lam),
        bounds=(0.0, 40.0),
        method="bounded",
        options={"xatol": 1e-10},
    )
    prices = np.array([best.x, rival])
    z = (q * values[:, None] - a * prices[:, None]) / s
    p, cond = _shares(z, lam)
    target = _best_response(p, a, q, s, cost, nest_frac=lam, conditional=cond)
    # At the optimum the first-order condition holds: the best response is the price itself.
    assert target[0] == pytest.approx(best.x, rel=1e-5)


def test_damped_iteration_converges_to_nash_duopoly() -> None:
    q, s = np.ones(1), np.ones(1)
    values, cost = np.array([3.0, 3.0]), np.array([1.0, 1.0])
    prices = np.array([1.5, 4.0])
    for _ in range(200):
        z = (values[:, None] - prices[:, None]) / s
        p, _ = _shares(z)
        target = _best_response(p, q, q, s, cost)
        prices = next_price_usd(
            cost, previous_price_usd=prices, best_response_usd=target, damping_frac=0.5
        )
    # Symmetric logit Nash: p - c = 1 / (1 - P) with P = exp(3 - p) / (1 + 2 exp(3 - p)).
    price = prices[0]
    share = np.exp(3 - price) / (1 + 2 * np.exp(3 - price))
    assert prices[1] == pytest.approx(price, rel=1e-9)
    assert price - 1.0 == pytest.approx(1 / (1 - share), rel=1e-9)


def test_grouped_prices_equal_separate_markets() -> None:
    rng = np.random.default_rng(2)
    p = rng.uniform(0.05, 0.5, (2, 10))
    q, s = rng.uniform(1, 3, 10), rng.uniform(1, 3, 10)
    cost = np.array([[0.1, 0.2], [0.3, 0.4]])  # a different cost per group
    groups = np.array([0] * 4 + [1] * 6)
    shuffled = np.array([1, 0, 1, 0, 1, 1, 0, 1, 0, 1])  # unsorted groups take another path
    together = _best_response(p, q, q, s, cost, groups=groups, n_groups=2)
    order = np.argsort(shuffled, kind="stable")
    again = _best_response(
        p[:, order.argsort()],
        q[order.argsort()],
        q[order.argsort()],
        s[order.argsort()],
        cost,
        groups=groups[order.argsort()],
        n_groups=2,
    )
    for g in (0, 1):
        m = groups == g
        np.testing.assert_allclose(together[g], _best_response(p[:, m], q[m], q[m], s[m], cost[g]))
    np.testing.assert_allclose(together, again)


@pytest.mark.parametrize("lam", [1.0, 0.4])
def test_sums_over_parts_of_the_sample_add_up_to_the_price(lam: float) -> None:
    # The population keeps the first-order condition's sums month by month, one work
    # stream at a time: summed over parts, they price like the whole sample at once.
    rng = np.random.default_rng(3)
    p = rng.dirichlet(np.ones(4), 12).T[1:]  # (3 offerings, 12 customers), outside first
    a, q, s = rng.uniform(1, 3, 12), rng.uniform(1, 3, 12), rng.uniform(1, 3, 12)
    cost = rng.uniform(0.1, 0.5, (2, 3))
    bounds = np.array([0, 5, 12])
    whole = _best_response(
        p, a, q, s, cost, groups=np.repeat([0, 1], [5, 7]), n_groups=2, nest_frac=lam
    )
    parts = sum(
        best_response_sums(p[:, cols], a[cols], q[cols], s[cols], nest_frac=lam, group_bounds=b)
        for cols, b in ((np.r_[0:2, 5:9], [0, 2, 6]), (np.r_[2:5, 9:12], [0, 3, 6]))
    )
    assert parts.shape == (3, 2, 3)
    np.testing.assert_allclose(best_response_price_usd(parts, cost), whole, rtol=1e-12)
    np.testing.assert_allclose(
        best_response_sums(p, a, q, s, nest_frac=lam, group_bounds=bounds).sum(axis=1),
        best_response_sums(p, a, q, s, nest_frac=lam),
        rtol=1e-12,
    )


def test_no_demand_gives_nan_and_price_steps_to_floor() -> None:
    target = _best_response(np.zeros((1, 3)), np.ones(3), np.ones(3), np.ones(3), [1.0])
    assert np.isnan(target[0])
    price = next_price_usd(
        1.0, previous_price_usd=5.0, best_response_usd=target[0], damping_frac=0.5
    )
    assert price == pytest.approx(3.0)


def test_markup_price() -> None:
    assert markup_price_usd(np.array([1.0, 2.0]), markup_frac=0.25).tolist() == [1.25, 2.5]
    with pytest.raises(ValueError, match="non-negative"):
        markup_price_usd(1.0, markup_frac=-0.1)


positive = arrays(float, st.integers(1, 12), elements=st.floats(0, 1e12))


@given(positive)
def test_hhi_bounds(values: np.ndarray) -> None:
    h = float(hhi(values))
    n_pos = int((values > 0).sum())
    if n_pos == 0:
        assert h == 0.0
    else:
        np.testing.assert_allclose(shares(values).sum(), 1.0, rtol=1e-12)
        assert 10_000 / n_pos - 1e-6 <= h <= 10_000


@given(positive)
def test_concentration_ratio_is_monotone_in_k(values: np.ndarray) -> None:
    crs = [float(concentration_ratio(values, k)) for k in range(1, len(values) + 1)]
    assert all(a <= b + 1e-12 for a, b in itertools.pairwise(crs))
    assert crs[-1] in (0.0, pytest.approx(1.0))


def test_margins() -> None:
    assert float(gross_margin(100.0, 25.0)) == 0.75
    assert np.isnan(gross_margin(0.0, 5.0))
    assert float(lerner_index(4.0, 1.0)) == 0.75
    with pytest.raises(ValueError, match="non-negative"):
        shares([-1.0, 2.0])


@given(
    st.integers(1, 4),
    st.integers(1, 30),
    st.floats(0.1, 1.0),
    st.integers(0, 2**32 - 1),
)
def test_nest_parts_give_the_same_sums_as_probabilities(
    j: int, n: int, lam: float, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    z = rng.normal(0.0, 3.0, (j, n))
    z[rng.random((j, n)) < 0.2] = -np.inf  # some offerings not sold to some customers
    outside = rng.normal(0.0, 2.0, n)
    p, _ = logit(z, outside=outside, nest_frac=lam)
    weights = np.exp(z / lam - np.max(z / lam, axis=0, initial=0.0))
    a, q, s = rng.uniform(0.5, 3, n), rng.uniform(0.5, 3, n), rng.uniform(0.5, 3, n)
    bounds = np.array([0, n // 2, n])
    expected = best_response_sums(p[1:], a, q, s, nest_frac=lam, group_bounds=bounds)
    got = nest_best_response_sums(weights, p[0], a, q, s, nest_frac=lam, group_bounds=bounds)
    scale = np.abs(expected).max(axis=-1, keepdims=True)
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12 * scale.max())
    # The same groups given as separate arrays, with the column sums precomputed.
    parts = (weights[:, : n // 2], weights[:, n // 2 :])
    again = nest_best_response_sums(
        parts, p[0], a, q, s, nest_frac=lam, weight_sums=weights.sum(axis=0)
    )
    np.testing.assert_array_equal(again, got)


def test_sums_from_a_draw_match_float64_probabilities() -> None:
    # The population's pricing sums come from the draw's float32 exponentials: they agree
    # with the float64 logit's to about 1e-6 (relative), far below the sample's own noise.
    from aimarket.markets.demand import draw_choices

    rng = np.random.default_rng(8)
    j, n, lam = 5, 400, 0.5
    z = rng.normal(0.0, 3.0, (j, n))
    z[rng.random((j, n)) < 0.15] = -np.inf
    outside = rng.normal(1.0, 1.0, n)
    a, q, s = rng.uniform(0.5, 3, n), rng.uniform(0.5, 3, n), rng.uniform(0.5, 3, n)
    bounds = np.array([0, 150, n])
    draws = draw_choices(
        z.astype(np.float32), rng.random(n), outside=outside, nest_frac=lam, columns=np.arange(n)
    )
    got = nest_best_response_sums(
        draws.weights, draws.outside_frac, a, q, s, nest_frac=lam, group_bounds=bounds
    )
    p, _ = logit(z.astype(np.float32).astype(float), outside=outside, nest_frac=lam)
    expected = best_response_sums(p[1:], a, q, s, nest_frac=lam, group_bounds=bounds)
    np.testing.assert_allclose(got, expected, rtol=2e-5)
