"""The compiled books of a customer month against the numpy expressions they replace."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from aimarket.agents.books import stream_books


def _numpy_books(row, seg, people, queries, rate, outside, value, factor, frac, cols, funnel):
    """The books as numpy expressions (what choose computed before the compiled pass)."""
    s, j1 = cols["tokens_per_query"].shape
    picked = row > 0
    paid_plan = cols["plan"][row] & ~cols["free"][row]
    served_q = frac * np.minimum(queries, cols["allowance"][row])
    cell = seg * j1 + row
    tokens = served_q * cols["tokens_per_query"].reshape(-1)[cell]
    units = np.where(cols["plan"][row], frac, tokens) * picked
    paid = units * cols["price"][row]
    totals = np.stack(
        [
            np.bincount(cell, v * people, s * j1).reshape(s, j1)
            for v in (served_q, tokens, units, paid)
        ]
    )
    origin, converted = funnel
    funnel_usd = np.bincount(row, paid * people * ((origin >= 0) & paid_plan), j1)
    conversions = np.bincount(row, people * converted, j1)
    served = tokens * cols["cost"][row]
    subscribers = people[paid_plan].sum()
    unprofitable = people[paid_plan & (served > paid)].sum()
    gain = rate - outside - cols["latency"].reshape(-1)[cell]
    worth = np.where(picked, value * factor[seg] * served_q * gain, 0.0)
    surplus = np.vecdot(worth - paid, people)
    return totals, funnel_usd, conversions, subscribers, unprofitable, surplus


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(0, 40),
    s=st.integers(1, 3),
    j=st.integers(0, 5),
    seed=st.integers(0, 2**32 - 1),
)
def test_compiled_books_match_the_numpy_expressions(n: int, s: int, j: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    j1 = j + 1
    plan = np.concatenate(([False], rng.random(j) < 0.5))
    cols = {
        "plan": plan,
        "free": np.concatenate(([False], plan[1:] & (rng.random(j) < 0.5))),
        "allowance": np.concatenate(([0.0], np.where(plan[1:], rng.uniform(1, 50, j), np.inf))),
        "price": np.concatenate(([0.0], rng.uniform(0, 3, j))),
        "cost": np.concatenate(([0.0], rng.uniform(0, 3, j))),
        "tokens_per_query": np.hstack((np.zeros((s, 1)), rng.uniform(1, 9, (s, j)))),
        "latency": np.hstack((np.zeros((s, 1)), rng.uniform(0, 0.2, (s, j)))),
    }
    row = rng.integers(0, j1, n)
    seg = np.sort(rng.integers(0, s, n)).astype(np.intp)
    args = (
        row,
        seg,
        rng.uniform(0.5, 3, n),  # people
        rng.uniform(1, 100, n),  # queries
        rng.random(n),  # rate
        rng.uniform(0, 0.5, n),  # outside
        rng.lognormal(size=n),  # value
        rng.uniform(0.5, 2, s),  # value factor
        rng.uniform(0.2, 1, n),  # frac
    )
    funnel = (rng.integers(-1, 3, n), rng.random(n) < 0.3)
    adopters, paying = np.zeros(n, bool), np.zeros(n, bool)
    books = stream_books(*args, cols, funnel, adopters, paying)
    want = _numpy_books(*args, cols, funnel)
    np.testing.assert_array_equal(books.totals, want[0])  # summed in the same order
    np.testing.assert_array_equal(books.funnel_usd, want[1])
    np.testing.assert_array_equal(books.conversions, want[2])
    got = (books.subscribers, books.unprofitable, books.surplus_usd)
    np.testing.assert_allclose(got, want[3:], rtol=1e-12, atol=1e-9)
    np.testing.assert_array_equal(adopters, row > 0)
    np.testing.assert_array_equal(paying, (row > 0) & ~cols["free"][row])


def test_books_without_a_funnel_count_no_funnel_revenue() -> None:
    cols = {
        "plan": np.array([False, True]),
        "free": np.array([False, False]),
        "allowance": np.array([0.0, 10.0]),
        "price": np.array([0.0, 20.0]),
        "cost": np.array([0.0, 1.0]),
        "tokens_per_query": np.array([[0.0, 2.0]]),
        "latency": np.zeros((1, 2)),
    }
    one = np.ones(3)
    row = np.array([1, 1, 0])
    books = stream_books(
        row, np.zeros(3, np.intp), one, 5 * one, one, 0 * one, one, np.ones(1), one,
        cols, None, np.zeros(3, bool), np.zeros(3, bool),
    )  # fmt: skip
    assert books.funnel_usd.sum() == 0
    assert books.conversions.sum() == 0
    assert books.subscribers == 2.0
    assert books.totals[3, 0, 1] == 40.0
