"""Price setting for product lines: the multi-product nested-logit first-order condition.

Pure numpy. A firm sells a line of ``r`` offerings (models and their tiers or plans) to
customers whose choice is nested logit with every AI offering in one nest (see
:mod:`markets.demand`). Customer ``i`` pays ``a_ik * p_k`` for offering ``k`` at price
``p_k`` (``a`` tokens for a per-token price, 1 for a monthly plan fee), the seller's cost
is ``b_ik * c_k`` (``b`` tokens served, ``c`` the cost of a token), and the price moves the
customer's normalised utility by ``-alpha_ik * p_k`` (``alpha = a / s``, ``s`` the scale
of the customer's taste noise). With ``W_i`` the customer's nest weight, ``c_ik`` the
offering's share of it, ``P0_i`` the outside option's probability and ``P_ik = c_ik (1 -
P0_i)``,

``dP_il / dz_ik = P_il (delta_lk / lambda - c_ik (1 / lambda - P0_i))``

(McFadden 1978). Holding the demand shape fixed, the firm's first-order conditions are
linear in its prices:

``R_k + sum_l p_l M_lk - sum_l c_l B_lk = 0`` for every ``k`` in the line, with
``R_k = sum_i a_ik P_ik``, ``M_lk = sum_i a_il dP_il/dp_k`` and ``B_lk = sum_i b_il
dP_il/dp_k``: the multi-product Bertrand-Nash condition (Anderson, de Palma & Thisse 1992,
ch. 7; the cross terms ``M_lk``, ``l != k``, price in the cannibalisation of the line's
other offerings). Evaluated at the current demand, its solution is one step of the
fixed-point iteration toward the equilibrium prices.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "LineSums",
    "line_best_response",
    "line_pricing_sums",
    "markup_price_usd",
    "owner_best_response",
]


class LineSums(NamedTuple):
    """The cost-free sums of the first-order condition (see the module docstring).

    ``revenue_units`` is ``(..., r)`` (``R``: units of price paid), ``price_slope`` and
    ``cost_slope`` are ``(..., r, r)`` (``M`` and ``B``; entry ``[l, k]`` is the effect of
    the price of ``k`` on the units paid, or served, of ``l``). Sums over more customers
    of the same offerings add.
    """

    revenue_units: NDArray[np.float64]
    price_slope: NDArray[np.float64]
    cost_slope: NDArray[np.float64]

    def __add__(self, other: object) -> LineSums:  # type: ignore[override]
        if not isinstance(other, LineSums):
            return NotImplemented
        return LineSums(*(x + y for x, y in zip(self, other, strict=True)))


def markup_price_usd(cost_usd: ArrayLike, *, markup_frac: float) -> NDArray[np.float64]:
    """Cost-plus price ``cost * (1 + markup_frac)``, in the unit of ``cost_usd``.

    Examples
    --------
    >>> float(markup_price_usd(2.0, markup_frac=0.5))
    3.0
    """
    if markup_frac < 0:
        raise ValueError(f"markup_frac must be non-negative, got {markup_frac}")
    return np.asarray(cost_usd, dtype=float) * (1.0 + markup_frac)


def line_pricing_sums(
    within: ArrayLike,
    outside_frac: ArrayLike,
    pay_units: ArrayLike,
    price_coef: ArrayLike,
    serve_units: ArrayLike,
    weight: ArrayLike | None = None,
    *,
    nest_frac: float = 1.0,
) -> LineSums:
    """The sums ``R``, ``M`` and ``B`` of the multi-product first-order condition.

    Parameters
    ----------
    within
        ``(..., r, m)`` each offering's share of the customer's nest weight, ``c_ik`` (0
        where it is not sold to the customer). Rivals outside the ``r`` offerings count in
        the nest weight but need no row.
    outside_frac
        ``(..., m)`` each customer's probability of the outside option, ``P0``.
    pay_units, price_coef, serve_units
        ``(..., r, m)`` (or broadcastable): ``a`` (units of price paid: tokens, or 1 for a
        plan), ``alpha = a / s`` (normalised utility lost per USD of price) and ``b``
        (tokens served).
    weight
        ``(..., m)`` how many real customers each stands for (default 1).
    nest_frac
        ``lambda`` of the nest (1: plain logit).

    Returns
    -------
    LineSums
        ``R`` ``(..., r)``, ``M`` and ``B`` ``(..., r, r)``.

    Examples
    --------
    A monopolist facing one customer who buys with probability 1/2, ``a = alpha = b = 1``:
    ``R = 1/2``, ``M = -P (1 - P) = -1/4``, so at zero cost the price is 2.

    >>> sums = line_pricing_sums([[1.0]], [0.5], [[1.0]], [[1.0]], [[1.0]])
    >>> line_best_response(sums, [0.0]).tolist()
    [2.0]
    """
    c = np.asarray(within, dtype=float)
    p0 = np.asarray(outside_frac, dtype=float)
    a = np.asarray(pay_units, dtype=float)  # each broadcasts against c
    alpha = np.asarray(price_coef, dtype=float)
    b = np.asarray(serve_units, dtype=float)
    inv = 1.0 / nest_frac
    inside = 1.0 - p0 if weight is None else (1.0 - p0) * np.asarray(weight, float)  # N_i w_i
    prob_w = c * inside[..., None, :]  # P_ik w_i
    kappa_w = ((inv - p0) * inside)[..., None, :]  # (1/lambda - P0_i) N_i w_i
    right = np.swapaxes(alpha * c, -1, -2)  # (..., m, r): alpha_ik c_ik
    revenue = (a * prob_w).sum(axis=-1)
    own_m = (a * alpha * prob_w).sum(axis=-1) * inv
    own_b = (b * alpha * prob_w).sum(axis=-1) * inv
    cross_m = (a * c * kappa_w) @ right
    cross_b = (b * c * kappa_w) @ right
    r = c.shape[-2]
    diagonal = np.arange(r)
    price_slope, cost_slope = cross_m, cross_b
    price_slope[..., diagonal, diagonal] -= own_m
    cost_slope[..., diagonal, diagonal] -= own_b
    return LineSums(revenue, price_slope, cost_slope)


def line_best_response(sums: LineSums, cost_usd: ArrayLike) -> NDArray[np.float64]:
    """Best-response prices of one line, ``(..., r)``, from its sums and marginal costs.

    Solves ``R_k + sum_l p_l M_lk - sum_l c_l B_lk = 0`` for every ``k``. Offerings
    nobody buys (``R_k = 0`` and ``M_kk = 0``) drop out of the system and get NaN (the
    caller decides); where the rest cannot be solved (a singular system), each price
    falls back to its own condition without cross terms.
    """
    r, m, b = (np.asarray(x, dtype=float) for x in sums)
    c = np.asarray(cost_usd, dtype=float)  # broadcasts against r
    if c.ndim == 0:
        c = np.full(r.shape, float(c))
    if r.shape[-1] == 1:  # one offering: its own condition, no system to solve
        with np.errstate(invalid="ignore", divide="ignore"):
            own = (b[..., 0] * c - r) / m[..., 0]
        return np.where(m[..., 0] < 0, own, np.nan)
    diag = np.diagonal(m, axis1=-2, axis2=-1)
    live = diag < 0  # an offering with demand has a strictly negative own price slope
    rhs = np.einsum("...lk,...l->...k", b, c) - r
    mt = np.swapaxes(m, -1, -2)  # row k: sum_l M_lk p_l
    # Offerings without demand: their rows and columns become the identity (price 0),
    # which leaves the others' system untouched; their prices are NaN afterwards.
    dead = ~live
    mask = dead[..., :, None] | dead[..., None, :]
    system = np.where(mask, np.eye(r.shape[-1]), mt)
    rhs = np.where(dead, 0.0, rhs)
    with np.errstate(invalid="ignore", divide="ignore"):
        try:
            out = np.linalg.solve(system, rhs[..., None])[..., 0]
        except np.linalg.LinAlgError:
            out = np.full(r.shape, np.nan)
        own = np.divide(
            np.einsum("...kk,...k->...k", b, c) - r,
            diag,
            out=np.full(r.shape, np.nan),
            where=live,
        )
        own += np.where(live, 0.0, np.nan)
    bad = ~np.isfinite(out).all(axis=-1, keepdims=True) | np.isnan(out)
    out = np.where(bad & live, own, out)
    return np.where(live, out, np.nan)


def owner_best_response(
    sums: LineSums, cost_usd: ArrayLike, owner: ArrayLike
) -> NDArray[np.float64]:
    """Best responses of every firm's line at once: ``(j,)`` prices for ``j`` offerings
    whose sums were taken together (``R`` ``(j,)``, ``M`` and ``B`` ``(j, j)``), each firm
    solving its own block (``owner``: ``(j,)`` firm of each offering). NaN where an
    offering has no demand.

    Examples
    --------
    Two offerings priced by two firms, then by one firm that prices in how each takes
    customers from the other (both prices rise):

    >>> sums = line_pricing_sums([[0.5], [0.25]], [0.25], [[1.0], [1.0]], [[1.0], [1.0]],
    ...                          [[1.0], [1.0]])
    >>> owner_best_response(sums, [0.0, 0.0], [1, 2]).round(4).tolist()
    [1.6, 1.2308]
    >>> owner_best_response(sums, [0.0, 0.0], [1, 1]).round(4).tolist()
    [2.2857, 2.2857]
    """
    r, m, b = (np.asarray(x, dtype=float) for x in sums)
    c = np.asarray(cost_usd, dtype=float)
    firms = np.asarray(owner)
    out = np.full(r.shape, np.nan)
    for firm in np.unique(firms):
        idx = np.flatnonzero(firms == firm)
        block = np.ix_(idx, idx)
        out[idx] = line_best_response(LineSums(r[idx], m[block], b[block]), c[idx])
    return out
