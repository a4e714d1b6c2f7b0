"""Price setting: cost-plus and the logit best response, for usage and subscription plans.

Pure numpy. A firm sells one offering to customers whose choice is multinomial logit (see
:mod:`markets.demand`). Customer ``i`` pays ``a_i * p`` for price ``p``: ``a_i`` is the
customer's queries for a usage price per query, or 1 for a flat monthly subscription fee.
Serving the customer costs the firm ``q_i * c``, and the customer's taste noise has scale
``s_i`` (USD per month).
"""

from __future__ import annotations

import itertools

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "best_response_price_usd",
    "best_response_sums",
    "markup_price_usd",
    "nest_best_response_sums",
]


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


def best_response_sums(
    probabilities: ArrayLike,
    pay_units: ArrayLike,
    queries: ArrayLike,
    scale_usd: ArrayLike,
    *,
    groups: ArrayLike | None = None,
    n_groups: int = 1,
    nest_frac: float = 1.0,
    conditional: ArrayLike | None = None,
    group_bounds: ArrayLike | None = None,
) -> NDArray[np.float64]:
    """The logit best response of each offering, holding the demand shape fixed, as three
    sums that do not depend on the cost; :func:`best_response_price_usd` completes them.

    Profit is ``sum_i P_i (a_i p - q_i c)`` and nested logit (one nest of offerings,
    dissimilarity ``lambda``; see :func:`markets.demand.logit`) gives
    ``dP_i/dp = -(a_i / s_i) D_i`` with ``D_i = P_i (1/lambda - (1/lambda - 1) P_i|nest - P_i)``
    (``D_i = P_i (1 - P_i)`` for plain logit), so the first-order condition is

    ``p = (sum_i a_i P_i + c sum_i q_i a_i D_i / s_i) / sum_i a_i**2 D_i / s_i``.

    For a usage price (``a = q``) this is the single-product Bertrand–Nash markup of logit
    demand, ``p - c = sum q P / sum (q**2 / s) P (1 - P)`` (Anderson, de Palma & Thisse
    1992, ch. 7); for a subscription (``a = 1``) the fee trades the subscribers it wins
    against what heavy users cost to serve. Evaluated at the current probabilities it is
    one step of the fixed-point iteration that converges to the equilibrium price. With
    groups the sums run within each group (one price per customer segment); sums of the
    same offerings over more customers add.

    Parameters
    ----------
    probabilities
        ``(j, n)`` choice probabilities of each offering (outside option excluded).
    pay_units
        ``(n,)`` ``a_i``: what a customer pays per unit of price.
    queries
        ``(n,)`` queries each customer sends to the offering it chooses, per month.
    scale_usd
        ``(n,)`` logit scale of each customer's monthly utility, USD per month. These
        three may also be ``(j, n)`` when each offering faces customers of its own
        (without groups).
    groups
        Optional ``(n,)`` integer group (segment) of each customer, in ``[0, n_groups)``.
    nest_frac
        ``lambda`` of the nest of offerings (1: plain logit).
    conditional
        ``(j, n)`` probability of each offering given that the customer buys in the nest;
        default ``P / sum_k P_k``, right when ``probabilities`` are one market's.
    group_bounds
        Optional ``(n_groups + 1,)`` column bounds when the groups are contiguous and
        sorted (column ``i`` is in group ``g`` for ``bounds[g] <= i < bounds[g + 1]``):
        a faster path for a caller that sums the same groups many times.

    Returns
    -------
    ndarray
        ``(3, j)``, or ``(3, n_groups, j)`` with groups: ``sum a P`` (units of price
        paid), ``sum q a D / s`` and ``sum a**2 D / s`` (per USD).

    Examples
    --------
    A monopolist facing identical customers with P = 0.5 and q = a = s = 1 at zero cost
    sets ``p = 0.5 / 0.25 = 2``:

    >>> sums = best_response_sums([[0.5]], [1.0], [1.0], [1.0])
    >>> best_response_price_usd(sums, [0.0]).tolist()
    [2.0]
    """
    p = np.asarray(probabilities, dtype=float)
    a = np.asarray(pay_units, dtype=float)
    q = np.asarray(queries, dtype=float)
    s = np.asarray(scale_usd, dtype=float)
    if group_bounds is not None:
        n_groups = np.shape(group_bounds)[0] - 1
    grouped = groups is not None or group_bounds is not None
    if p.shape[0] == 0:
        return np.zeros((3, n_groups, 0) if grouped else (3, 0))
    if nest_frac == 1.0:
        slope = p * (1.0 - p)
    else:
        if conditional is None:
            nest = p.sum(axis=0)
            conditional = np.divide(p, nest, out=np.zeros_like(p), where=nest > 0)
        inv = 1.0 / nest_frac
        slope = p * (inv - (inv - 1.0) * np.asarray(conditional, dtype=float) - p)
    slope *= a / s  # -dP/dp, (j, n)
    terms = (p * a, slope * q, slope * a)
    if group_bounds is not None:
        bounds = np.asarray(group_bounds, dtype=np.intp)
        return np.stack([_contiguous_sums(t, bounds) for t in terms])
    if groups is None:
        return np.stack([t.sum(axis=1) for t in terms])
    g = np.asarray(groups, dtype=np.intp)
    return np.stack([_group_sums(t, g, n_groups) for t in terms])


def nest_best_response_sums(
    weights: ArrayLike,
    outside_frac: ArrayLike,
    pay_units: ArrayLike,
    queries: ArrayLike,
    scale_usd: ArrayLike,
    *,
    nest_frac: float = 1.0,
    group_bounds: ArrayLike | None = None,
    weight_sums: ArrayLike | None = None,
) -> NDArray[np.float64]:
    """:func:`best_response_sums` from the nest's parts instead of probabilities.

    With ``c_k = w_k / sum w`` the share of offering ``k`` within the nest and
    ``N = 1 - P_0`` the nest's share, ``P_k = c_k N`` and
    ``D_k = P_k (1/lambda - c_k (1/lambda - P_0))``, so every sum is ``c`` or ``c**2``
    times a per-customer weight: two small matrix products per group, with no
    ``(j, n)`` temporaries beyond ``c``. (The difference of the two products cancels only
    when ``D`` is below about 1e-12 of ``P``, i.e. for a customer who buys with certainty.)

    Parameters
    ----------
    weights
        ``(j, n)`` each offering's weight in the nest, ``exp(z_k / lambda)`` up to a
        per-customer factor (any float dtype; 0 where not sold); or a sequence of
        ``(j, n_g)`` arrays, the columns of each group (``group_bounds`` then follows).
    outside_frac
        ``(n,)`` ``P_0``, each customer's probability of the outside option.
    pay_units, queries, scale_usd, nest_frac
        As in :func:`best_response_sums`.
    group_bounds
        Optional ``(g + 1,)`` bounds of contiguous column groups.
    weight_sums
        Optional ``(n,)`` column sums of ``weights``, if the caller has them.

    Returns
    -------
    ndarray
        ``(3, j)``, or ``(3, g, j)`` with groups.
    """
    if isinstance(weights, (list, tuple)):
        parts = [np.asarray(w) for w in weights]
        grouped = True
        bounds = np.concatenate(([0], np.cumsum([w.shape[1] for w in parts])))
    else:
        w = np.asarray(weights)
        grouped = group_bounds is not None
        bounds = np.asarray(group_bounds) if grouped else np.array([0, w.shape[1]])
        parts = [w[:, lo:hi] for lo, hi in itertools.pairwise(bounds)]
    j = parts[0].shape[0] if parts else 0
    p0 = np.asarray(outside_frac, dtype=float)
    a = np.asarray(pay_units, dtype=float)
    q = np.asarray(queries, dtype=float)
    s = np.asarray(scale_usd, dtype=float)
    inv = 1.0 / nest_frac
    if weight_sums is not None:
        d = np.asarray(weight_sums, dtype=float)
    else:
        d = np.concatenate([w.sum(axis=0, dtype=np.float64) for w in parts]) if parts else p0 * 0
    recip = np.divide(1.0, d, out=np.zeros_like(d), where=d > 0)
    inside = (1.0 - p0) * recip  # P_k = w_k N / sum w
    per_q, per_a = inside * q * a / s, inside * a * a / s
    linear = np.stack([inside * a, inv * per_q, inv * per_a], axis=1)  # (n, 3)
    quadratic = np.stack([per_q, per_a], axis=1) * ((inv - p0) * recip)[:, None]  # (n, 2)
    out = np.zeros((3, bounds.shape[0] - 1, j))
    for g, (lo, hi) in enumerate(itertools.pairwise(bounds)):
        if hi > lo:  # one group at a time: products small enough for one BLAS thread
            part = parts[g].astype(float)
            lin = part @ linear[lo:hi]  # (j, 3)
            part *= part
            quad = part @ quadratic[lo:hi]  # (j, 2)
            out[0, g] = lin[:, 0]
            out[1:, g] = (lin[:, 1:] - quad).T
    return out if grouped else out[:, 0]


def best_response_price_usd(sums: ArrayLike, cost_usd_per_query: ArrayLike) -> NDArray[np.float64]:
    """Best-response prices from :func:`best_response_sums` ``(3, ...)`` and marginal costs
    per query shaped like one of them (``(j,)``, or ``(n_groups, j)``):
    ``(sum a P + c sum q a D / s) / sum a**2 D / s``, USD per query (usage) or per month
    (subscription); NaN where an offering has no demand at all (the caller decides)."""
    revenue_units, cost_units, curvature = np.asarray(sums, dtype=float)
    c = np.asarray(cost_usd_per_query, dtype=float)
    out = np.full(np.broadcast_shapes(curvature.shape, c.shape), np.nan)
    np.divide(revenue_units + c * cost_units, curvature, out=out, where=curvature > 0)
    return out


def _group_sums(t: NDArray[np.float64], g: NDArray[np.intp], n_groups: int) -> NDArray[np.float64]:
    """``(n_groups, j)`` sums of ``(j, n)`` rows over the columns of each group."""
    j = t.shape[0]
    if g.size and (g[1:] >= g[:-1]).all():  # sorted groups: contiguous slices
        counts = np.bincount(g, minlength=n_groups)
        return _contiguous_sums(t, np.concatenate(([0], np.cumsum(counts))))
    flat = (g[None, :] * j + np.arange(j)[:, None]).ravel()
    return np.bincount(flat, t.ravel(), n_groups * j).reshape(n_groups, j)


def _contiguous_sums(t: NDArray[np.float64], bounds: NDArray[np.intp]) -> NDArray[np.float64]:
    """``(groups, j)`` sums of ``(j, n)`` rows over contiguous column ranges."""
    out = np.zeros((bounds.shape[0] - 1, t.shape[0]))
    present = bounds[1:] > bounds[:-1]
    if present.any():
        out[present] = np.add.reduceat(t, bounds[:-1][present], axis=1).T
    return out
