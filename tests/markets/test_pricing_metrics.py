"""Pricing and market metrics: best responses are optima; concentration is bounded."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.optimize import minimize_scalar

from agents.policies import next_price_usd
from markets.demand import logit
from markets.metrics import concentration_ratio, gross_margin, hhi, lerner_index, shares
from markets.pricing import logit_best_response_markup_usd, markup_price_usd


def _demand(prices: np.ndarray, values: np.ndarray, q: np.ndarray, s: np.ndarray) -> np.ndarray:
    """(j, n) logit probabilities when utility is q * (value - price)."""
    z = q * (values[:, None] - prices[:, None]) / s
    return logit(z)[0][1:]


def test_monopoly_markup_maximises_profit() -> None:
    rng = np.random.default_rng(1)
    n = 400
    q, s = rng.uniform(1, 5, n), rng.uniform(0.5, 2.0, n)
    value, cost = np.array([2.0]), 0.3

    def profit(p: float) -> float:
        return float(-(_demand(np.array([p]), value, q, s) * q).sum() * (p - cost))

    best = minimize_scalar(profit, bounds=(cost, 20), method="bounded", options={"xatol": 1e-9})
    p_star = best.x
    markup = logit_best_response_markup_usd(_demand(np.array([p_star]), value, q, s), q, s)
    # At the optimum the first-order condition holds: markup(P(p*)) = p* - cost.
    assert markup[0] == pytest.approx(p_star - cost, rel=1e-5)


def test_damped_iteration_converges_to_nash_duopoly() -> None:
    q, s = np.ones(1), np.ones(1)
    values, cost = np.array([3.0, 3.0]), np.array([1.0, 1.0])
    prices = np.array([1.5, 4.0])
    for _ in range(200):
        markup = logit_best_response_markup_usd(_demand(prices, values, q, s), q, s)
        prices = next_price_usd(
            cost, previous_price_usd=prices, best_response_markup_usd=markup, damping_frac=0.5
        )
    # Symmetric logit Nash: p - c = 1 / (1 - P) with P = exp(3 - p) / (1 + 2 exp(3 - p)).
    p = prices[0]
    share = np.exp(3 - p) / (1 + 2 * np.exp(3 - p))
    assert prices[1] == pytest.approx(p, rel=1e-9)
    assert p - 1.0 == pytest.approx(1 / (1 - share), rel=1e-9)


def test_grouped_markups_equal_separate_markets() -> None:
    rng = np.random.default_rng(2)
    p = rng.uniform(0.05, 0.5, (2, 10))
    q, s = rng.uniform(1, 3, 10), rng.uniform(1, 3, 10)
    groups = np.array([0] * 4 + [1] * 6)
    together = logit_best_response_markup_usd(p, q, s, groups=groups, n_groups=2)
    for g in (0, 1):
        m = groups == g
        np.testing.assert_allclose(together[g], logit_best_response_markup_usd(p[:, m], q[m], s[m]))


def test_no_demand_means_infinite_markup_and_price_steps_to_cost() -> None:
    markup = logit_best_response_markup_usd(np.zeros((1, 3)), np.ones(3), np.ones(3))
    assert np.isinf(markup[0])
    price = next_price_usd(
        1.0, previous_price_usd=5.0, best_response_markup_usd=markup[0], damping_frac=0.5
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
