"""Customer demand: task success, utility, logit choice and consumer surplus.

Every function is pure numpy and vectorised. Arrays over offerings and customers have shape
``(j, n)``: offerings first, customers along the contiguous axis, which keeps the inner
loops long when there are many customers and few offerings. The outside option (no AI) is
never an input row: it has utility 0 and is added inside :func:`logit`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "Draws",
    "choice_probabilities",
    "draw_choices",
    "logit",
    "logsum_surplus_usd",
    "odds",
    "sample_choices",
    "success_from_odds",
    "success_probability",
    "utility_usd",
]


def success_probability(
    kappa: ArrayLike, difficulty: ArrayLike, *, slope_per_oom: float = 2.0
) -> NDArray[np.float64]:
    """Probability that a model of capability ``kappa`` solves a task of ``difficulty``.

    ``p = 1 / (1 + exp(-slope_per_oom * (kappa - difficulty)))``: both arguments are on the
    capability scale (OOM of effective training compute, see
    :func:`markets.scaling.capability_index`), so a task's difficulty is the capability
    that solves it half of the time.

    Parameters
    ----------
    kappa, difficulty
        Broadcastable arrays in OOM, e.g. ``kappa[:, None]`` of shape ``(j, 1)`` against
        ``difficulty`` of shape ``(n,)`` gives ``(j, n)``.
    slope_per_oom
        Log-odds gained per OOM of capability (assumption: 2 makes one OOM above a task's
        difficulty succeed 88% of the time, in line with benchmark curves that go from
        chance to saturation over 2–3 OOM of compute).

    Examples
    --------
    >>> float(success_probability(25.0, 25.0))
    0.5
    """
    if slope_per_oom <= 0:
        raise ValueError(f"slope_per_oom must be positive, got {slope_per_oom}")
    x = np.asarray(np.subtract(difficulty, kappa, dtype=float))
    x *= slope_per_oom
    with np.errstate(over="ignore"):
        np.exp(x, out=x)
    x += 1.0
    return np.reciprocal(x, out=x)


def odds(exponent: ArrayLike) -> NDArray[np.float64]:
    """``exp(exponent)`` with the exponent clipped to +-700: a factor of task success in
    odds form (see :func:`success_from_odds`).

    With ``e_i = odds(slope * (d_i - ref))`` per task and ``f = odds(-slope * (kappa -
    ref))`` per model, :func:`success_probability` is ``1 / (1 + e_i f)`` for any
    reference ``ref``: many models against many tasks then cost no exponential per pair.
    Past +-700 the rates are 0 or 1 to machine precision anyway.

    Examples
    --------
    >>> e, f = odds(2.0 * (26.0 - 25.0)), odds(-2.0 * (27.0 - 25.0))
    >>> round(float(1.0 / (1.0 + e * f)), 12) == round(float(success_probability(27.0, 26.0)), 12)
    True
    """
    # minimum(maximum(.)) is np.clip's result without its per-call overhead.
    return np.exp(np.minimum(np.maximum(exponent, -700.0), 700.0))


def success_from_odds(
    factor: ArrayLike, task_odds: Sequence[ArrayLike], weights: Sequence[ArrayLike]
) -> NDArray[np.float64]:
    """``sum_t weights_t / (1 + task_odds_t * factor)``: a success rate blended over kinds
    of work ``t`` (routine and hard), each weighted, for models with odds ``factor``.

    Arrays broadcast: e.g. ``factor`` ``(m, 1)`` against ``(n,)`` task odds gives ``(m, n)``.
    """
    out = None
    for task, weight in zip(task_odds, weights, strict=True):
        term = np.asarray(np.multiply(task, factor), dtype=float)  # 0-d stays an array
        term += 1.0
        np.divide(weight, term, out=term)
        if out is None:
            out = term
        else:
            out += term
    if out is None:
        raise ValueError("success_from_odds needs at least one kind of work")
    return out


def utility_usd(
    queries_per_month: ArrayLike,
    value_usd_per_success: ArrayLike,
    p_success: ArrayLike,
    price_usd_per_query: ArrayLike,
    latency_cost_usd_per_query: ArrayLike = 0.0,
) -> NDArray[np.float64]:
    """Monthly utility of an offering, in USD per month, relative to not using AI.

    ``U = queries * (value * p_success - price - latency_cost)``, broadcast over offerings
    ``(j, 1)`` and customers ``(n,)`` to ``(j, n)``.
    """
    q = np.asarray(queries_per_month, dtype=float)
    v = np.asarray(value_usd_per_success, dtype=float)
    return q * (
        v * np.asarray(p_success, dtype=float)
        - np.asarray(price_usd_per_query, dtype=float)
        - np.asarray(latency_cost_usd_per_query, dtype=float)
    )


def logit(
    z: ArrayLike, outside: ArrayLike | None = None, *, nest_frac: float = 1.0
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Nested-logit probabilities and log-sum, with the offerings in one nest.

    The offerings form a nest whose members are closer substitutes for one another than
    for the outside option (no AI): ``nest_frac`` (``lambda`` in ``(0, 1]``) is the nest's
    dissimilarity parameter (McFadden 1978). With ``D = sum_k exp(z_k / lambda)``,

    ``P_k = exp(z_k / lambda) / D * D**lambda / (exp(z_0) + D**lambda)``,

    and ``lambda = 1`` is the plain multinomial logit.

    Parameters
    ----------
    z
        ``(j, n)`` utilities of ``j`` offerings for ``n`` customers, each divided by the
        customer's taste-noise scale (dimensionless). ``-inf`` marks an offering a customer
        cannot buy.
    outside
        ``(n,)`` or scalar normalised utility ``z_0`` of the outside option (default 0).
    nest_frac
        ``lambda``: 1 is plain logit; toward 0 the offerings become perfect substitutes.

    Returns
    -------
    probabilities : ndarray
        ``(j + 1, n)``; row 0 is the outside option, row ``k + 1`` offering ``k``. Columns
        sum to 1. Computed with the max-subtraction trick, so extreme utilities neither
        overflow nor produce NaN.
    logsum : ndarray
        ``(n,)`` ``log(exp(z_0) + D**lambda)``: the expected maximum utility, in units of
        the scale.

    Examples
    --------
    >>> p, ls = logit([[0.0], [0.0]])
    >>> p.round(3).ravel().tolist(), round(float(ls[0]), 4)
    ([0.333, 0.333, 0.333], 1.0986)
    >>> p, _ = logit([[0.0], [0.0]], nest_frac=0.5)
    >>> p.round(3).ravel().tolist()
    [0.414, 0.293, 0.293]
    """
    if not 0 < nest_frac <= 1:
        raise ValueError(f"nest_frac must be in (0, 1], got {nest_frac}")
    zz = np.asarray(z, dtype=float)
    if zz.ndim != 2:
        raise ValueError(f"utilities must be 2-D (offerings, customers), got shape {zz.shape}")
    z0 = np.broadcast_to(np.asarray(0.0 if outside is None else outside, dtype=float), zz.shape[1:])
    e = np.empty((zz.shape[0] + 1, zz.shape[1]))
    if nest_frac == 1.0:
        e[0] = z0
        e[1:] = zz
        m = e.max(axis=0)
        e -= m
        np.exp(e, out=e)
        total = e.sum(axis=0)
        e /= total
        return e, m + np.log(total)
    inner = e[1:]
    np.divide(zz, nest_frac, out=inner)
    mz = inner.max(axis=0) if zz.shape[0] else np.full(zz.shape[1], -np.inf)
    finite = np.isfinite(mz)
    shift = np.where(finite, mz, 0.0)
    inner -= shift
    np.exp(inner, out=inner)
    d = inner.sum(axis=0)  # D / exp(shift)
    with np.errstate(divide="ignore"):
        nest_log = np.where(finite, nest_frac * (shift + np.log(d)), -np.inf)  # log D**lambda
    top = np.maximum(nest_log, z0)
    nest_w, out_w = np.exp(nest_log - top), np.exp(z0 - top)
    total = nest_w + out_w
    inner *= np.divide(nest_w / total, d, out=np.zeros_like(d), where=d > 0)
    e[0] = out_w / total
    return e, top + np.log(total)


def choice_probabilities(
    utility: ArrayLike, scale: ArrayLike, *, nest_frac: float = 1.0
) -> NDArray[np.float64]:
    """Multinomial-logit choice probabilities with an outside option of utility 0.

    Parameters
    ----------
    utility
        ``(j, n)`` utilities of the offerings, any unit.
    scale
        ``(n,)`` Gumbel scale of each customer's taste noise, same unit as ``utility``
        (strictly positive).

    Returns
    -------
    ndarray
        ``(j + 1, n)`` probabilities, outside option first (see :func:`logit`).

    Examples
    --------
    >>> p = choice_probabilities([[0.0], [0.0]], [1.0])
    >>> p.round(3).ravel().tolist()
    [0.333, 0.333, 0.333]
    """
    u = np.asarray(utility, dtype=float) / np.asarray(scale, dtype=float)
    return logit(u, nest_frac=nest_frac)[0]


def sample_choices(probabilities: ArrayLike, uniforms: ArrayLike) -> NDArray[np.intp]:
    """Draw one alternative per column by inverse CDF.

    Parameters
    ----------
    probabilities
        ``(k, n)`` columns summing to 1.
    uniforms
        ``(n,)`` draws from U[0, 1), one per column (the caller owns the generator).

    Returns
    -------
    ndarray
        ``(n,)`` row indices in ``[0, k)``.

    Examples
    --------
    >>> sample_choices([[0.2, 0.5], [0.8, 0.5]], [0.1, 0.9]).tolist()
    [0, 1]
    """
    p = np.asarray(probabilities, dtype=float)
    u = np.asarray(uniforms, dtype=float)
    # Count the rows whose running CDF is at or below u (scaled by the column total
    # against rounding), one row at a time: no (k, n) temporaries. The last row's CDF is
    # the total, never below u * total; the minimum guards rounding.
    target = u * p.sum(axis=0)
    return np.minimum(_running_sums_at_or_below(p, target), p.shape[0] - 1)


def _running_sums_at_or_below(weights: NDArray[np.floating], target: NDArray) -> NDArray[np.intp]:
    """``(n,)`` how many of the running sums down ``(j, n)`` ``weights``, rows ``0..j-2``,
    are at or below ``target``: with a uniform draw scaled to the total as the target, the
    row drawn (a row at a time: numpy's cumulative sum down a column is several times
    slower; the count is kept in bytes when it fits, 8x less memory to pass over)."""
    j, n = weights.shape
    small = j < 256
    count = np.zeros(n, dtype=np.uint8 if small else np.intp)
    if j:
        acc = weights[0].copy()
        hit = np.empty(n, dtype=bool)
        for r in range(1, j):
            np.less_equal(acc, target, out=hit)
            count += hit.view(np.uint8) if small else hit
            acc += weights[r]
    return count.astype(np.intp, copy=False)


class Draws(NamedTuple):
    """What :func:`draw_choices` returns."""

    #: ``(n,)`` in ``[0, j]``: 0 is the outside option, ``k + 1`` offering ``k``.
    rows: NDArray[np.intp]
    #: ``(n,)`` as returned by :func:`logit`.
    logsum: NDArray[np.float64]
    #: ``(j, m)`` float32 weights in the nest of the customers at ``columns``,
    #: ``exp(z_k / lambda)`` over a per-customer factor (None without ``columns``):
    #: ``P_k = weights_k / sum(weights) * (1 - outside_frac)``. With ``columns`` a
    #: sequence of slices, a tuple of ``(j, m_g)`` views, one per slice (no copy).
    weights: NDArray[np.float32] | tuple[NDArray[np.float32], ...] | None = None
    #: ``(m,)`` their probability of the outside option ``P_0``.
    outside_frac: NDArray[np.float64] | None = None
    #: ``(m,)`` their ``sum(weights)`` over the offerings (float32, summed row by row).
    weight_sums: NDArray[np.float32] | None = None


def draw_choices(
    z: ArrayLike,
    uniforms: ArrayLike,
    outside: ArrayLike | None = None,
    *,
    nest_frac: float = 1.0,
    columns: ArrayLike | Sequence[slice] | None = None,
    overwrite_z: bool = False,
) -> Draws:
    """One nested-logit draw per customer, and the log-sum: :func:`logit` followed by
    :func:`sample_choices`, fused, for a population too large to keep probabilities.

    The exponentials and logarithms are taken in float32, 3-4x faster than in float64,
    with a relative error of about 1e-6 in each probability. That is far below the sampling
    noise of one draw; the maximum utility is subtracted in float64 (from float64
    utilities, before rounding), so the log-sum keeps an absolute error below about 1e-6
    (float32 utilities carry their own rounding, about 1e-7 of their size). For a sample
    of customers (``columns``) it returns the nest's parts, from which their probabilities
    follow to the same precision (see :func:`markets.pricing.nest_best_response_sums`).

    Parameters
    ----------
    z, outside, nest_frac
        As in :func:`logit`: ``(j, n)`` normalised utilities (``-inf``: cannot buy;
        float32 is taken as is), the outside option's ``(n,)`` or scalar utility, the
        nest's ``lambda``.
    uniforms
        ``(n,)`` draws from U[0, 1), one per customer (the caller owns the generator).
    columns
        Optional ``(m,)`` customers whose nest weights and outside share to return, or
        a sequence of slices of customers (their weights are then views, not copies).
    overwrite_z
        Work in ``z`` itself when it is a float32 array (it is left holding the
        exponentials): saves a ``(j, n)`` array.

    Examples
    --------
    >>> rows, logsum, *_ = draw_choices([[0.0, 0.0], [0.0, 0.0]], [0.1, 0.9])
    >>> rows.tolist(), logsum.round(4).tolist()
    ([0, 2], [1.0986, 1.0986])
    """
    if not 0 < nest_frac <= 1:
        raise ValueError(f"nest_frac must be in (0, 1], got {nest_frac}")
    zz = np.asarray(z)
    if zz.dtype not in (np.float32, np.float64):
        zz = zz.astype(float)
    if zz.ndim != 2:
        raise ValueError(f"utilities must be 2-D (offerings, customers), got shape {zz.shape}")
    j, n = zz.shape
    z0 = np.broadcast_to(np.asarray(0.0 if outside is None else outside, dtype=float), (n,))
    u = np.asarray(uniforms, dtype=float)
    inv = 1.0 / nest_frac
    mz = zz.max(axis=0).astype(float) * inv if j else np.full(n, -np.inf)
    shift = np.where(np.isfinite(mz), mz, 0.0)
    # A utility far below the best one can leave float32's range: -inf, weight 0.
    with np.errstate(over="ignore"):
        if zz.dtype == np.float64:  # the maximum comes off before rounding to float32
            e = np.empty((j, n), dtype=np.float32)
            e[...] = zz * inv - shift
        else:
            e = zz if overwrite_z else np.empty((j, n), dtype=np.float32)
            np.multiply(zz, np.float32(inv), out=e)
            e -= shift.astype(np.float32)
    np.exp(e, out=e)
    # D / exp(shift), summed a row at a time in float32 like the running sums of the draw
    # below, so that their last one is this total exactly. Per customer, the logarithms
    # and exponentials are float32 too (without AVX-512 numpy's float64 ones are scalar
    # code, ~3x slower); what they feed is float64.
    d = e.sum(axis=0)
    with np.errstate(divide="ignore"):
        nest_log = np.where(d > 0, nest_frac * (shift + np.log(d)), -np.inf)  # log D**lambda
    # The larger of the nest's and the outside option's weights is 1: one exponential.
    top = np.maximum(nest_log, z0)
    nest_first = nest_log >= z0
    other = np.exp(-np.abs(nest_log - z0).astype(np.float32))
    total = 1.0 + other.astype(float)
    nest_share = np.where(nest_first, 1.0, other) / total
    p_out = np.where(nest_first, other, 1.0) / total
    weights = outside_frac = weight_sums = None
    if columns is not None:
        if isinstance(columns, (list, tuple)) and all(isinstance(c, slice) for c in columns):
            weights = tuple(e[:, c] for c in columns)
            outside_frac = np.concatenate([p_out[c] for c in columns] or [p_out[:0]])
            weight_sums = np.concatenate([d[c] for c in columns] or [d[:0]])
        else:
            cols = np.asarray(columns, dtype=np.intp)
            weights = np.take(e, cols, axis=1)
            outside_frac, weight_sums = p_out[cols], d[cols]
    # Past the outside option, u falls among the offerings where the running sum of
    # exp(z_k / lambda - shift) first exceeds (u - P_0) / P_nest * D.
    with np.errstate(over="ignore"):
        target = np.divide((u - p_out) * d, nest_share, out=np.full(n, -1.0), where=nest_share > 0)
    target = np.clip(target, -1.0, np.finfo(np.float32).max).astype(np.float32)
    # Count the rows whose running sum is at or below the target, the last excepted.
    rows = np.where(u < p_out, 0, 1 + _running_sums_at_or_below(e, target))
    return Draws(rows, top + np.log(total.astype(np.float32)), weights, outside_frac, weight_sums)


def logsum_surplus_usd(utility: ArrayLike, scale: ArrayLike) -> NDArray[np.float64]:
    """Expected consumer surplus of a logit choice, in the unit of ``utility``.

    ``CS = scale * log(1 + sum_j exp(U_j / scale))`` (Small & Rosen 1981), relative to the
    outside option (utility 0). Shapes as in :func:`choice_probabilities`; returns ``(n,)``,
    non-negative by construction.

    Examples
    --------
    >>> float(logsum_surplus_usd([[0.0]], [1.0]).round(4)[0])
    0.6931
    """
    s = np.asarray(scale, dtype=float)
    return s * logit(np.asarray(utility, dtype=float) / s)[1]
