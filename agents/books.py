"""A month's books of one work stream of the customer population, in one compiled pass.

After every customer has chosen (:meth:`agents.customers.CustomerPopulation.choose`), the
market needs, per segment and offering, the queries and tokens served, the units paid for
and the spend, and, over the market, the funnel's revenue and conversions, the subscribers
a plan loses money on and the consumer surplus. As numpy expressions these are some
twenty passes over the customers; at a million customers they cost as much as a sixth of
the run (docs/benchmarks.md). :func:`stream_books` makes one pass.

Each total is summed customer by customer in the customers' order, as
:func:`numpy.bincount` sums, so the per-offering totals round exactly as the numpy
expressions did; the market-wide sums (subscribers, surplus) are sequential rather than
numpy's pairwise sums, which differ in the last bits only. Compiled on first use and cached
on disk; without ``fastmath`` the compiled code rounds the same on every CPU.
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np
from numpy.typing import NDArray

__all__ = ["StreamBooks", "stream_books"]

_jit = numba.njit(cache=True, nogil=True)


class StreamBooks(NamedTuple):
    """What :func:`stream_books` returns; ``j1`` is the number of offerings plus one (the
    outside option, column 0)."""

    #: ``(4, s, j1)`` people-weighted queries served, tokens served, units paid for
    #: (tokens, or months of a plan) and spend (USD), per segment and column.
    totals: NDArray[np.float64]
    #: ``(j1,)`` spend on paid plans by customers a lab's free plan brought (USD).
    funnel_usd: NDArray[np.float64]
    #: ``(j1,)`` people converting from a lab's free plan to its paid plan.
    conversions: NDArray[np.float64]
    #: People on paid plans, and those among them who cost more to serve than they pay.
    subscribers: float
    unprofitable: float
    #: What the chosen work is worth over the outside option, less what it cost (USD).
    surplus_usd: float


@_jit
def _books(
    row,
    seg,
    people,
    queries,
    rate,
    outside_frac,
    value_usd,
    value_factor,
    frac,
    plan,
    free,
    allowance,
    tokens_per_query,
    latency,
    price,
    cost,
    origin,
    converted,
    funnel_open,
    adopters,
    paying,
    s,
):  # pragma: no cover  (compiled; tests/agents/test_books.py checks it against numpy)
    j1 = plan.shape[0]
    totals = np.zeros((4, s * j1))
    funnel = np.zeros(j1)
    conversions = np.zeros(j1)
    subscribers = unprofitable = surplus = 0.0
    for i in range(row.shape[0]):
        r = row[i]
        c = seg[i] * j1 + r
        w = people[i]
        picked = r > 0
        q = frac[i] * min(queries[i], allowance[r])
        tok = q * tokens_per_query[c]
        units = (frac[i] if plan[r] else tok) * (1.0 if picked else 0.0)
        paid = units * price[r]
        totals[0, c] += q * w
        totals[1, c] += tok * w
        totals[2, c] += units * w
        totals[3, c] += paid * w
        paid_plan = plan[r] and not free[r]
        if picked:
            adopters[i] = True
            if not free[r]:
                paying[i] = True
        if funnel_open:
            if origin[i] >= 0 and paid_plan:
                funnel[r] += paid * w
            if converted[i]:
                conversions[r] += w
        if paid_plan:
            subscribers += w
            if tok * cost[r] > paid:
                unprofitable += w
        worth = 0.0
        if picked:
            gain = rate[i] - outside_frac[i] - latency[c]
            worth = value_usd[i] * value_factor[seg[i]] * q * gain
        surplus += (worth - paid) * w
    return totals, funnel, conversions, subscribers, unprofitable, surplus


def stream_books(
    row: NDArray[np.intp],
    seg: NDArray[np.intp],
    people: NDArray[np.float64],
    queries: NDArray[np.float64],
    rate: NDArray[np.float64],
    outside_frac: NDArray[np.float64],
    value_usd: NDArray[np.float64],
    value_factor: NDArray[np.float64],
    frac: NDArray[np.float64],
    columns: dict[str, NDArray],
    funnel: tuple[NDArray[np.int64], NDArray[np.bool_]] | None,
    adopters: NDArray[np.bool_],
    paying: NDArray[np.bool_],
) -> StreamBooks:
    """The books of one work stream's month; marks ``adopters`` and ``paying`` in place.

    Per customer ``i`` (all ``(n,)``): ``row`` its choice (0: none, ``1 + k``: offering
    ``k``), ``seg`` its segment, ``people`` how many it stands for, ``queries`` its
    queries a month, ``rate`` the chosen offering's success rate, ``outside_frac`` the
    outside option's, ``value_usd`` a success's worth per plain token (times
    ``value_factor`` ``(s,)`` of its segment) and ``frac`` the stream's share of its work.
    ``columns`` holds, per column (``(j1,)``, 0: none), ``plan``, ``free``, ``allowance``
    (queries), ``price`` (USD per unit) and ``cost`` (USD per token), and per segment and
    column (``(s, j1)``) ``tokens_per_query`` and ``latency`` (share of worth lost).
    ``funnel`` is each customer's funnel origin after the month and whether it converted
    (None: no free plan is or was on sale).

    Examples
    --------
    >>> cols = dict(plan=np.array([False, False]), free=np.array([False, False]),
    ...             allowance=np.array([0.0, np.inf]), price=np.array([0.0, 2.0]),
    ...             cost=np.array([0.0, 1.0]), tokens_per_query=np.array([[0.0, 10.0]]),
    ...             latency=np.zeros((1, 2)))
    >>> one = np.ones(2)
    >>> books = stream_books(np.array([1, 0]), np.zeros(2, np.intp), one, 3 * one,
    ...                      0.9 * one, 0.5 * one, one, np.ones(1), one, cols, None,
    ...                      np.zeros(2, bool), np.zeros(2, bool))
    >>> books.totals[:, 0, 1].tolist(), round(books.surplus_usd, 6)
    ([3.0, 30.0, 30.0, 60.0], -58.8)
    """
    s, j1 = columns["tokens_per_query"].shape
    origin, converted = funnel if funnel is not None else (row, adopters)  # unread
    totals, funnel_usd, conversions, subscribers, unprofitable, surplus = _books(
        row, seg, people, queries, rate, outside_frac, value_usd, value_factor, frac,
        columns["plan"], columns["free"], columns["allowance"],
        np.ascontiguousarray(columns["tokens_per_query"]).reshape(-1),
        np.ascontiguousarray(columns["latency"]).reshape(-1),
        columns["price"], columns["cost"], origin, converted, funnel is not None,
        adopters, paying, s,
    )  # fmt: skip
    return StreamBooks(
        totals.reshape(4, s, j1), funnel_usd, conversions, subscribers, unprofitable, surplus
    )
