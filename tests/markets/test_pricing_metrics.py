"""Pricing and market metrics: line best responses are optima; concentration is bounded."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.optimize import minimize, root

from aimarket.agents.policies import next_price_usd
from aimarket.markets.demand import draw_choices, nest_shares
from aimarket.markets.metrics import concentration_ratio, gross_margin, hhi, lerner_index, shares
from aimarket.markets.pricing import (
    LineSums,
    line_best_response,
    line_pricing_sums,
    markup_price_usd,
    owner_best_response,
)


class Market:
    """``j`` offerings, ``n`` customers: normalised utility ``base - alpha * price``.

    ``a`` units paid per unit of price (tokens, or 1 for a plan), ``b`` tokens served;
    the outside option has utility ``outside``. Customers carry weights.
    """

    def __init__(self, rng: np.random.Generator, j: int, n: int, lam: float) -> None:
        self.lam = lam
        self.base = rng.normal(2.0, 1.5, (j, n))
        self.a = rng.uniform(0.5, 3.0, (j, n))
        scale = rng.uniform(0.5, 3.0, n)
        self.alpha = self.a / scale
        self.b = self.a * rng.uniform(0.5, 1.5, (j, n))
        self.outside = rng.normal(0.0, 1.0, n)
        self.weight = rng.uniform(0.5, 2.0, n)
        self.cost = rng.uniform(0.1, 1.0, j)

    def shares(self, prices: np.ndarray):
        z = self.base - self.alpha * prices[:, None]
        return nest_shares(z, self.outside, nest_frac=self.lam)

    def profit(self, prices: np.ndarray, own: np.ndarray) -> float:
        p = self.shares(prices).probability[own]
        margin = prices[own, None] * self.a[own] - self.cost[own, None] * self.b[own]
        return float((p * margin * self.weight).sum())

    def sums(self, prices: np.ndarray) -> LineSums:
        s = self.shares(prices)
        return line_pricing_sums(
            s.within, s.outside, self.a, self.alpha, self.b, self.weight, nest_frac=self.lam
        )


def _equilibrium(market: Market, owner: np.ndarray) -> np.ndarray:
    """Every firm's line best response at once: the Bertrand-Nash prices."""

    def gap(x: np.ndarray) -> np.ndarray:
        return np.log(owner_best_response(market.sums(np.exp(x)), market.cost, owner)) - x

    done = root(gap, np.log(market.cost * 2.0), tol=1e-13)
    assert np.abs(gap(done.x)).max() < 1e-9
    return np.exp(done.x)


def _own(sums: LineSums, own: np.ndarray) -> LineSums:
    """The sums of the offerings ``own`` (a boolean mask): one firm's line."""
    block = np.ix_(own, own)
    return LineSums(sums[0][own], sums[1][block], sums[2][block])


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), lam=st.sampled_from([1.0, 0.6, 0.3]))
@example(seed=625, lam=0.3)  # the optimum prices one offering out of the market
@example(seed=13392, lam=0.3)  # ... or nearly: a revenue share of 1e-14, yet not NaN
def test_the_line_condition_holds_at_the_numerical_optimum(seed: int, lam: float) -> None:
    # Firm 1 sells a line of three offerings against two rivals (fixed prices). At the
    # most profitable prices a numerical optimiser finds (from several starts: the profit
    # can have more than one peak), the line best response returns those prices.
    rng = np.random.default_rng(seed)
    market = Market(rng, 5, 40, lam)
    own = np.array([True, True, True, False, False])
    prices = market.cost * 2.0

    def loss(x: np.ndarray) -> float:
        trial = prices.copy()
        trial[own] = np.exp(x)
        return -market.profit(trial, own)

    def climb(start: np.ndarray) -> np.ndarray:
        options = {"xatol": 1e-10, "fatol": 1e-13, "maxiter": 20_000}
        return minimize(loss, np.log(start), method="Nelder-Mead", options=options).x

    starts = [market.cost[own] * f for f in (1.2, 2.0, 3.0, 10.0, 30.0)]
    best = min((climb(x) for x in starts), key=loss)
    at_best = prices.copy()
    at_best[own] = np.exp(best)
    sums = _own(market.sums(at_best), own)
    response = line_best_response(sums, market.cost[own])
    # An offering the optimum prices out of the market (nobody buys it, so its price does
    # not matter) has no condition: NaN by design when its demand is exactly 0; when it
    # is merely negligible, the optimiser stops anywhere on the flat profit. The rest
    # meet theirs.
    dead = sums.revenue_units <= 1e-9 * sums.revenue_units.sum()
    assert dead[np.isnan(response)].all()
    assert not dead.all()
    np.testing.assert_allclose(response[~dead], at_best[own][~dead], rtol=1e-4)
    # Away from it the condition is not met: it carries information.
    away = line_best_response(_own(market.sums(prices), own), market.cost[own])
    assert np.abs(away / prices[own] - 1).max() > 1e-2


def test_a_firm_prices_its_small_model_higher_in_a_line_than_alone() -> None:
    # Offerings 0 and 1 (a flagship and its small model) owned by one firm, then by two:
    # owning both, the firm prices in that a cheap small model takes the flagship's
    # customers, and charges more for it (and for the flagship).
    rng = np.random.default_rng(3)
    market = Market(rng, 4, 200, 0.5)
    together = _equilibrium(market, np.array([1, 1, 2, 3]))
    apart = _equilibrium(market, np.array([1, 4, 2, 3]))
    assert together[1] > apart[1]
    assert together[0] > apart[0]


@pytest.mark.parametrize("lam", [1.0, 0.5, 0.2])
def test_sums_over_parts_of_the_customers_add_up(lam: float) -> None:
    rng = np.random.default_rng(4)
    market = Market(rng, 3, 30, lam)
    s = market.shares(market.cost * 3)
    whole = line_pricing_sums(
        s.within, s.outside, market.a, market.alpha, market.b, market.weight, nest_frac=lam
    )
    halves = [
        line_pricing_sums(
            s.within[:, c],
            s.outside[c],
            market.a[:, c],
            market.alpha[:, c],
            market.b[:, c],
            market.weight[c],
            nest_frac=lam,
        )
        for c in (slice(0, 12), slice(12, None))
    ]
    for got, expected in zip(halves[0] + halves[1], whole, strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_batched_sums_equal_one_line_at_a_time() -> None:
    rng = np.random.default_rng(5)
    lines = [Market(rng, 2, 25, 0.5) for _ in range(3)]
    shares_ = [m.shares(m.cost * 2) for m in lines]
    batched = line_pricing_sums(
        np.stack([s.within for s in shares_]),
        np.stack([s.outside for s in shares_]),
        np.stack([m.a for m in lines]),
        np.stack([m.alpha for m in lines]),
        np.stack([m.b for m in lines]),
        np.stack([m.weight for m in lines]),
        nest_frac=0.5,
    )
    prices = line_best_response(batched, np.stack([m.cost for m in lines]))
    for k, m in enumerate(lines):
        one = line_best_response(m.sums(m.cost * 2), m.cost)
        np.testing.assert_allclose(prices[k], one, rtol=1e-10)


def test_no_demand_gives_nan_and_price_steps_to_floor() -> None:
    # Offering 1 is sold to nobody: its price is undefined, the other's is not.
    within = np.array([[0.5, 0.5], [0.0, 0.0]])
    sums = line_pricing_sums(within, [0.5, 0.5], 1.0, 1.0, 1.0)
    prices = line_best_response(sums, [0.1, 0.1])
    assert np.isfinite(prices[0])
    assert np.isnan(prices[1])
    stepped = next_price_usd(
        0.1,
        previous_price_usd=[3.0, 3.0],
        best_response_usd=prices,
        damping_frac=1.0,
        max_step=100.0,
    )
    assert stepped[1] == pytest.approx(0.1)
    # A firm moves part of the way, and at most a factor max_step a month.
    halfway = next_price_usd(0.1, previous_price_usd=4.0, best_response_usd=1.0, damping_frac=0.5)
    assert halfway == pytest.approx(2.0)
    capped = next_price_usd(0.1, previous_price_usd=1.0, best_response_usd=100.0, damping_frac=1.0)
    assert capped == pytest.approx(2.0)


def test_markup_price() -> None:
    assert markup_price_usd(2.0, markup_frac=0.0) == 2.0
    with pytest.raises(ValueError, match="non-negative"):
        markup_price_usd(1.0, markup_frac=-0.1)


def test_sums_from_a_draw_match_float64_shares() -> None:
    # The population's pricing sums come from the draw's float32 exponentials: they agree
    # with float64 shares to about 1e-6 (relative), far below the sample's own noise.
    rng = np.random.default_rng(8)
    j, n, lam = 5, 400, 0.5
    z = rng.normal(0.0, 3.0, (j, n))
    z[rng.random((j, n)) < 0.15] = -np.inf
    outside = rng.normal(1.0, 1.0, n)
    a, alpha, b = (rng.uniform(0.5, 3, (j, n)) for _ in range(3))
    draws = draw_choices(
        z.astype(np.float32), rng.random(n), outside=outside, nest_frac=lam, columns=np.arange(n)
    )
    within = draws.weights / draws.weight_sums
    got = line_pricing_sums(within, draws.outside_frac, a, alpha, b, nest_frac=lam)
    s = nest_shares(z.astype(np.float32).astype(float), outside, nest_frac=lam)
    expected = line_pricing_sums(s.within, s.outside, a, alpha, b, nest_frac=lam)
    for x, y in zip(got, expected, strict=True):
        np.testing.assert_allclose(x, y, rtol=2e-5, atol=1e-9 * np.abs(y).max())


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
