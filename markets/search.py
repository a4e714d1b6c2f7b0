"""The price search of a product line on a sample of customers, compiled with numba.

A firm values a line (its models, with or without a project's new ones) at the prices
that maximise its monthly profit on a sample of customers (:mod:`agents.valuation`). The
search tries a grid of starting prices, then takes steps on the multi-product first-order
condition of :mod:`markets.pricing`, with demand the nested logit of
:mod:`markets.demand`. It is the same maths as :func:`markets.demand.nest_shares`,
:func:`markets.pricing.line_pricing_sums` and :func:`markets.pricing.line_best_response`
(``tests/markets/test_search.py`` checks each against them), fused into loops: a run makes
hundreds of thousands of small evaluations, which as numpy calls cost more in overhead
than in arithmetic (docs/benchmarks.md).

Two rearrangements make an evaluation cheap. With ``z_ik`` customer ``i``'s normalised
utility of offering ``k`` at its unit cost ``u_k``, the nest weight at price ``p_k`` is
``exp(z_ik / lambda) * (p_k / u_k) ** (-eta / lambda)``: the exponentials per customer and
offering are taken once per line (``E_ik``, scaled by the customer's largest term
``exp(S_i)``, rivals included), and a new price costs one power per offering. And the
outside option's share is ``P0_i = 1 / (1 + exp(lambda S_i) W_i ** lambda)`` for the scaled
nest weight ``W_i``: one power per customer. Everything is in float64.

Compiled on first use and cached on disk (``cache=True``: later processes load it in well
under a second). Without ``fastmath`` the compiled code neither reorders sums nor fuses
multiply-adds, so it rounds the same on every CPU whatever vector width it uses; its
``exp``, ``log`` and ``pow`` are the C library's, as numpy's float64 ones are under the
x86-64-v3 pin of :mod:`experiments.numerics`.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numpy.typing import NDArray

__all__ = ["line_search"]

_jit = numba.njit(cache=True, nogil=True)


@_jit
def _scaled_weights(
    base, rival, unit, nest_frac, elasticity, e, s_exp, rival_w
):  # pragma: no cover
    """One line at one moment: ``e`` ``(r, m)`` each offering's nest weight at its unit
    cost over the customer's largest term ``exp(S_i)``; ``s_exp`` ``(m,)``
    ``exp(lambda S_i)``; ``rival_w`` ``(m,)`` the rivals' weight over ``exp(S_i)``."""
    r, m = base.shape
    inv = 1.0 / nest_frac
    log_unit = np.empty(r)
    for k in range(r):
        log_unit[k] = elasticity * math.log(unit[k])
    for i in range(m):
        top = rival[i]
        for k in range(r):
            z = (base[k, i] - log_unit[k]) * inv
            e[k, i] = z
            if z > top:
                top = z
        shift = top if math.isfinite(top) else 0.0
        s_exp[i] = math.exp(nest_frac * shift)
        for k in range(r):
            e[k, i] = math.exp(e[k, i] - shift)
        rival_w[i] = math.exp(rival[i] - shift)


@_jit
def _evaluate(
    e,
    pay_e,
    serve_e,
    s_exp,
    rival_w,
    unit,
    cost,
    price,
    weight,
    nest_frac,
    elasticity,
    within,
    outside,
    nest_w,
    margin,
    power,
):  # pragma: no cover
    """Monthly profit of one line at ``price`` ``(r,)`` (``-inf`` if not finite); fills
    ``within`` ``(r, m)`` (each offering's share of the nest, ``c_ik``) and ``outside``
    ``(m,)`` (``P0_i``) when ``within`` has columns. ``pay_e`` and ``serve_e`` are ``e``
    times the units paid and the tokens served; the last three arguments are scratch."""
    r, m = e.shape
    for i in range(m):
        nest_w[i] = rival_w[i]
        margin[i] = 0.0
    for k in range(r):
        q = math.exp(-elasticity / nest_frac * math.log(price[k] / unit[k]))
        power[k] = q
        paid, served = q * price[k], q * cost[k]
        for i in range(m):
            nest_w[i] += e[k, i] * q
            margin[i] += paid * pay_e[k, i] - served * serve_e[k, i]
    profit = 0.0
    for i in range(m):
        w = nest_w[i]
        if w > 0.0:
            # W ** lambda: the default nest (0.5) needs only a square root.
            nest = math.sqrt(w) if nest_frac == 0.5 else w**nest_frac
            p0 = 1.0 / (1.0 + s_exp[i] * nest)
            profit += margin[i] * ((1.0 - p0) * weight[i] / w)
        else:  # nothing in the nest: the outside option takes the customer
            p0 = 1.0
            nest_w[i] = 1.0
        if within.shape[1]:
            outside[i] = p0
    if within.shape[1]:
        for k in range(r):
            for i in range(m):
                within[k, i] = e[k, i] * power[k] / nest_w[i]
    return profit if math.isfinite(profit) else -math.inf


@_jit
def _pair_value(lines, p, price, within, scratch, nest_frac, elasticity):  # pragma: no cover
    """:func:`_evaluate` for pair ``p`` of the lines' arrays ``(e, pay_e, serve_e,
    s_exp, rival_w, unit, cost, weight)``, with ``scratch`` ``(outside, nest_w, margin,
    power)``."""
    e, pay_e, serve_e, s_exp, rival_w, unit, cost, weight = lines
    outside, nest_w, margin, power = scratch
    return _evaluate(
        e[p],
        pay_e[p],
        serve_e[p],
        s_exp[p],
        rival_w[p],
        unit[p],
        cost[p],
        price,
        weight,
        nest_frac,
        elasticity,
        within,
        outside,
        nest_w,
        margin,
        power,
    )


@_jit
def _best_response(
    within, outside, pay, serve, price, cost, weight, nest_frac, elasticity, out
):  # pragma: no cover
    """``out`` ``(r,)``: the line's best response (NaN where nobody buys), as
    :func:`markets.pricing.line_pricing_sums` then
    :func:`markets.pricing.line_best_response` give it with ``alpha = eta / p``."""
    r, m = within.shape
    inv = 1.0 / nest_frac
    revenue, own_m, own_b = np.zeros(r), np.zeros(r), np.zeros(r)
    slope_m, slope_b = np.zeros((r, r)), np.zeros((r, r))
    alpha = elasticity / price
    for i in range(m):
        inside = (1.0 - outside[i]) * weight[i]
        kappa_w = (inv - outside[i]) * inside
        for k in range(r):
            c = within[k, i]
            if c == 0.0:
                continue
            prob_w = c * inside
            revenue[k] += pay[k, i] * prob_w
            own_m[k] += pay[k, i] * alpha[k] * prob_w
            own_b[k] += serve[k, i] * alpha[k] * prob_w
            cross_m, cross_b = pay[k, i] * c * kappa_w, serve[k, i] * c * kappa_w
            for j in range(r):
                t = alpha[j] * within[j, i]
                slope_m[k, j] += cross_m * t
                slope_b[k, j] += cross_b * t
    for k in range(r):
        slope_m[k, k] -= own_m[k] * inv
        slope_b[k, k] -= own_b[k] * inv
    _solve_line(revenue, slope_m, slope_b, cost, out)


@_jit
def _solve_line(revenue, slope_m, slope_b, cost, out):  # pragma: no cover
    """``R_k + sum_l p_l M_lk - sum_l c_l B_lk = 0`` over the offerings with demand
    (``M_kk < 0``), by Gaussian elimination with partial pivoting; where that fails
    (singular, or not finite), each price from its own condition. NaN without demand."""
    r = revenue.shape[0]
    n = 0
    live = np.empty(r, dtype=np.int64)
    for k in range(r):
        if slope_m[k, k] < 0.0:
            live[n] = k
            n += 1
    a, rhs = np.empty((n, n)), np.empty(n)
    for x in range(n):
        k = live[x]
        total = -revenue[k]
        for j in range(r):
            total += slope_b[j, k] * cost[j]
        rhs[x] = total
        for y in range(n):
            a[x, y] = slope_m[live[y], k]
    solved = True
    for col in range(n):
        pivot, size = col, abs(a[col, col])
        for row in range(col + 1, n):
            if abs(a[row, col]) > size:
                pivot, size = row, abs(a[row, col])
        if not (size > 0.0 and math.isfinite(size)):
            solved = False
            break
        if pivot != col:
            for y in range(n):
                a[col, y], a[pivot, y] = a[pivot, y], a[col, y]
            rhs[col], rhs[pivot] = rhs[pivot], rhs[col]
        for row in range(col + 1, n):
            f = a[row, col] / a[col, col]
            for y in range(col, n):
                a[row, y] -= f * a[col, y]
            rhs[row] -= f * rhs[col]
    sol = np.empty(n)
    if solved:
        for x in range(n - 1, -1, -1):
            total = rhs[x]
            for y in range(x + 1, n):
                total -= a[x, y] * sol[y]
            sol[x] = total / a[x, x]
            solved = solved and math.isfinite(sol[x])
    out[:] = np.nan
    for x in range(n):
        k = live[x]
        out[k] = sol[x] if solved else (slope_b[k, k] * cost[k] - revenue[k]) / slope_m[k, k]


@_jit
def _search(
    base,
    pay,
    serve,
    cost,
    unit,
    ceiling,
    rival,
    weight,
    starts,
    ratio,
    nest_frac,
    elasticity,
    iterations,
):  # pragma: no cover
    n_pairs, r, m = base.shape
    n_lines, n_starts = starts.shape[0], starts.shape[1]
    e, s_exp, rival_w = np.empty((n_pairs, r, m)), np.empty((n_pairs, m)), np.empty((n_pairs, m))
    for p in range(n_pairs):
        _scaled_weights(
            base[p], rival[p], unit[p], nest_frac, elasticity, e[p], s_exp[p], rival_w[p]
        )
    pay_e, serve_e = e * pay, e * serve
    within, outside = np.empty((r, m)), np.empty(m)
    none = np.empty((r, 0))
    lines = (e, pay_e, serve_e, s_exp, rival_w, unit, cost, weight)
    scratch = (outside, np.empty(m), np.empty(m), np.empty(r))
    value, best = np.full(n_pairs, -math.inf), np.empty((n_pairs, r))
    start = np.empty((n_lines, r))
    for p in range(n_lines):  # the first moment's pairs: the best start of the grid
        chosen = 0
        for g in range(n_starts):
            v = _pair_value(lines, p, starts[p, g], none, scratch, nest_frac, elasticity)
            if v > value[p]:
                value[p], chosen = v, g
        start[p] = starts[p, chosen]
    price, response = np.empty(r), np.empty(r)
    for p in range(n_pairs):
        price[:] = start[p % n_lines] * ratio[p]
        best[p] = price
        for step in range(iterations + 1):
            last = step == iterations
            into = none if last else within
            v = _pair_value(lines, p, price, into, scratch, nest_frac, elasticity)
            if v > value[p]:
                value[p] = v
                best[p] = price
            if last:
                break
            _best_response(
                within,
                outside,
                pay[p],
                serve[p],
                price,
                cost[p],
                weight,
                nest_frac,
                elasticity,
                response,
            )
            for k in range(r):
                x = response[k]
                if not (math.isfinite(x) and x > 0.0):
                    x = price[k]
                # Half a step in logarithms (a full step can overshoot into a two-cycle),
                # kept between the unit cost and the ceiling.
                price[k] = min(max(math.sqrt(price[k] * x), unit[p, k]), ceiling[p, k])
    return value, best


def line_search(
    base: NDArray[np.float64],
    pay: NDArray[np.float64],
    serve: NDArray[np.float64],
    cost_usd: NDArray[np.float64],
    unit_usd: NDArray[np.float64],
    ceiling_usd: NDArray[np.float64],
    rivals_log_weight: NDArray[np.float64],
    weight: NDArray[np.float64],
    starts_usd: NDArray[np.float64],
    start_scale: NDArray[np.float64],
    *,
    nest_frac: float,
    elasticity: float,
    iterations: int,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Best monthly profit (USD) of ``P`` pairs of a line and a moment, and its prices.

    Each pair prices ``r`` offerings (padding rows sold to nobody) to ``m`` customers.
    The first ``L`` pairs (``L = starts_usd.shape[0]``, a moment's lines) try each of
    their ``G`` starting price vectors and keep the most profitable; every pair ``p`` then
    starts from its line's (pair ``p mod L``) best start times ``start_scale[p]`` and
    takes ``iterations`` half-steps in logarithms toward the best response of
    :func:`markets.pricing.line_best_response`, kept within ``[unit, ceiling]``. The
    value is the best profit seen, ``-inf`` if none was finite.

    Parameters
    ----------
    base
        ``(P, r, m)`` normalised utility ``z`` at a price of 1 per unit of price
        (:func:`markets.demand.utility_z`); ``-inf`` where not sold.
    pay, serve
        ``(P, r, m)`` units of price each customer pays (tokens, or 1 for a plan) and the
        tokens served, were it to buy.
    cost_usd, unit_usd, ceiling_usd
        ``(P, r)`` USD per token served; cost per unit of price (the lowest price);
        the highest price.
    rivals_log_weight
        ``(P, m)`` ``log`` of the rivals' nest weight (``-inf``: none).
    weight
        ``(m,)`` customers each sampled customer stands for.
    starts_usd, start_scale
        ``(L, G, r)`` starting prices of the first ``L`` pairs; ``(P,)`` scale of the
        chosen start for each pair.

    Returns
    -------
    value : ndarray
        ``(P,)`` USD a month.
    price : ndarray
        ``(P, r)`` the prices that earn it.

    Examples
    --------
    One customer, one offering, no rivals, free to serve, utility ``-2 log p`` (``eta =
    2``, plain logit): profit ``p / (1 + p**2)`` peaks at ``p = 1``, worth 1/2.

    >>> one = np.ones((1, 1, 1))
    >>> value, price = line_search(
    ...     np.zeros((1, 1, 1)), one, one, np.zeros((1, 1)), np.full((1, 1), 0.01),
    ...     np.full((1, 1), 100.0), np.full((1, 1), -np.inf), np.ones(1),
    ...     np.array([[[0.5], [3.0]]]), np.ones(1), nest_frac=1.0, elasticity=2.0,
    ...     iterations=30)
    >>> round(float(value[0]), 6), round(float(price[0, 0]), 3)
    (0.5, 1.0)
    """
    f64 = np.float64
    return _search(
        np.ascontiguousarray(base, dtype=f64),
        np.ascontiguousarray(pay, dtype=f64),
        np.ascontiguousarray(serve, dtype=f64),
        np.ascontiguousarray(cost_usd, dtype=f64),
        np.ascontiguousarray(unit_usd, dtype=f64),
        np.ascontiguousarray(ceiling_usd, dtype=f64),
        np.ascontiguousarray(rivals_log_weight, dtype=f64),
        np.ascontiguousarray(weight, dtype=f64),
        np.ascontiguousarray(starts_usd, dtype=f64),
        np.ascontiguousarray(start_scale, dtype=f64),
        float(nest_frac),
        float(elasticity),
        int(iterations),
    )
