"""The compiled price search is the numpy maths it fuses: nest shares, the line's pricing
sums and best response, and a search that never ends below its best start."""

from __future__ import annotations

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from aimarket.markets.demand import nest_shares
from aimarket.markets.pricing import line_best_response, line_pricing_sums
from aimarket.markets.search import _best_response, _evaluate, _scaled_weights, line_search


@st.composite
def lines(draw):
    """One line of ``r`` offerings on ``m`` customers: utilities at a price of 1 (some
    not sold), units paid and served, costs, rivals' log weights (sometimes none),
    weights and prices at or above the unit cost."""
    r, m = draw(st.integers(1, 5)), draw(st.integers(1, 12))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    base = rng.normal(0.0, 3.0, (r, m))
    base[rng.random((r, m)) < 0.2] = -np.inf
    rival = rng.normal(0.0, 3.0, m)
    if draw(st.booleans()):
        rival[:] = -np.inf
    unit = 10.0 ** rng.uniform(-2, 1, r)
    return {
        "base": base,
        "pay": 10.0 ** rng.uniform(-1, 2, (r, m)),
        "serve": 10.0 ** rng.uniform(-1, 2, (r, m)),
        "cost": unit * rng.uniform(0.1, 1.0, r),
        "unit": unit,
        "rival": rival,
        "weight": rng.uniform(0.5, 3.0, m),
        "price": unit * 10.0 ** rng.uniform(0, 2, r),
        "nest_frac": draw(st.sampled_from([0.3, 0.5, 1.0])),
        "elasticity": draw(st.sampled_from([1.0, 2.0, 3.5])),
    }


def _compiled(x):
    """Profit, within shares and outside shares from the compiled evaluation."""
    r, m = x["base"].shape
    e, s_exp, rival_w = np.empty((r, m)), np.empty(m), np.empty(m)
    lam, eta = x["nest_frac"], x["elasticity"]
    _scaled_weights(x["base"], x["rival"], x["unit"], lam, eta, e, s_exp, rival_w)
    within, outside = np.empty((r, m)), np.empty(m)
    profit = _evaluate(
        e,
        e * x["pay"],
        e * x["serve"],
        s_exp,
        rival_w,
        x["unit"],
        x["cost"],
        x["price"],
        x["weight"],
        lam,
        eta,
        within,
        outside,
        np.empty(m),
        np.empty(m),
        np.empty(r),
    )
    return profit, within, outside


def _numpy(x):
    """The same from :func:`nest_shares`."""
    z = x["base"] - x["elasticity"] * np.log(x["price"])[:, None]
    shares = nest_shares(z, nest_frac=x["nest_frac"], rivals_log_weight=x["rival"] / 1.0)
    margin = x["price"][:, None] * x["pay"] - x["cost"][:, None] * x["serve"]
    return float((shares.probability * margin).sum(axis=0) @ x["weight"]), shares


@settings(max_examples=200, deadline=None)
@given(x=lines())
def test_the_compiled_evaluation_is_nest_shares(x):
    # nest_shares takes rivals' log weight in z / lambda units, as the search does.
    profit, within, outside = _compiled(x)
    expected, shares = _numpy(x)
    assert np.isclose(profit, expected, rtol=1e-9, atol=1e-12 * abs(expected))
    np.testing.assert_allclose(within, shares.within, rtol=1e-9, atol=1e-300)
    np.testing.assert_allclose(outside, shares.outside, rtol=1e-9, atol=1e-300)


@settings(max_examples=200, deadline=None)
@given(x=lines())
def test_the_compiled_best_response_is_the_line_first_order_condition(x):
    _, within, outside = _compiled(x)
    out = np.empty(x["base"].shape[0])
    lam, eta = x["nest_frac"], x["elasticity"]
    _best_response(within, outside, x["pay"], x["serve"], x["price"], x["cost"], x["weight"],
                   lam, eta, out)  # fmt: skip
    sums = line_pricing_sums(
        within,
        outside,
        x["pay"],
        (eta / x["price"])[:, None],
        x["serve"],
        x["weight"],
        nest_frac=lam,
    )
    # Where an offering's share is negligible the system is near singular, and the two
    # solves (LAPACK's and the kernel's elimination) round it to different answers.
    live = np.diagonal(sums.price_slope) < 0
    assume(not live.any() or np.linalg.cond(sums.price_slope[np.ix_(live, live)]) < 1e8)
    with np.errstate(invalid="ignore"):
        expected = line_best_response(sums, x["cost"])
    np.testing.assert_allclose(out, expected, rtol=1e-6, equal_nan=True)


@settings(max_examples=100, deadline=None)
@given(x=lines(), iterations=st.integers(0, 4))
def test_the_search_ends_at_or_above_its_best_start(x, iterations):
    starts = x["unit"] * np.array([[1.05], [2.0], [10.0]])  # (G, r)
    value, price = line_search(
        x["base"][None],
        x["pay"][None],
        x["serve"][None],
        x["cost"][None],
        x["unit"][None],
        100.0 * x["unit"][None],
        x["rival"][None],
        x["weight"],
        starts[None],
        np.ones(1),
        nest_frac=x["nest_frac"],
        elasticity=x["elasticity"],
        iterations=iterations,
    )
    at_starts = [_numpy({**x, "price": s})[0] for s in starts]
    assert value[0] >= max(at_starts) - 1e-9 * abs(max(at_starts)) - 1e-12
    assert np.isclose(value[0], _numpy({**x, "price": price[0]})[0], rtol=1e-9)
    assert np.all(price[0] >= x["unit"] * (1 - 1e-12))
    assert np.all(price[0] <= 100.0 * x["unit"] * (1 + 1e-12))
