"""Customer demand: task success, utility, nested-logit shares and draws, surplus.

The one demand kernel of the simulator: the monthly choice of the customer population,
firms' valuations of projects and their price setting (:mod:`markets.pricing`) all use
these functions. Every function is pure numpy and vectorised. Arrays over offerings and
customers have shape ``(..., j, n)``: offerings first, customers along the contiguous axis,
which keeps the inner loops long when there are many customers and few offerings. The
outside option (no AI) is never an input row: its utility is a separate ``(n,)`` argument.

Utility is measured per token of a customer's work (a plain, non-reasoning answer's
tokens) and normalised by the scale of the customer's taste noise (see
:func:`utility_z`); the offerings form one nest of a nested logit (:func:`nest_shares`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "Draws",
    "NestShares",
    "consumer_surplus_usd",
    "draw_choices",
    "nest_shares",
    "odds",
    "success_from_odds",
    "success_probability",
    "utility_z",
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


def utility_z(
    value_usd: ArrayLike,
    success: ArrayLike,
    outside_success: ArrayLike,
    latency_cost: ArrayLike,
    price_usd: ArrayLike,
    served_frac: ArrayLike = 1.0,
    *,
    elasticity: float,
    baseline_frac: ArrayLike | None = None,
) -> NDArray[np.floating]:
    """Normalised utility of offerings relative to the outside option: the log of what an
    offering gains a customer per dollar it costs, times the elasticity ``eta``.

    ``z = eta * log(gain / price)``, ``gain = value * (served_frac * (success -
    outside_success - latency_cost) - baseline_frac)``

    per token of the customer's work: ``value`` is a successful query's worth per plain
    token (USD), ``outside_success`` what the best non-AI way achieves as a share of that
    worth (net of its cost), ``latency_cost`` the share lost to waiting, ``served_frac``
    the share of the work the offering takes (a plan's allowance over the customer's
    queries; the rest is done the non-AI way) and ``price`` what the customer pays per
    plain token (a per-token price times the offering's tokens per plain token, or a
    plan's fee over the month's plain tokens). ``baseline_frac`` (0 if None) is what the
    customer has without paying, as a share of the work's worth: an offering is worth
    what it adds to it (a paid plan over the best free one). The same holds per month:
    a month's worth as ``value`` and a plan's fee as ``price``. ``z = -inf`` where
    nothing is gained. The outside option has ``z = 0``: a customer is indifferent when
    the gain equals the price.

    This is logit choice in logarithms of value for money, i.e. nested CES demand
    (Anderson, de Palma & Thisse 1992, ch. 3): taste shocks are a share of value for money,
    so a customer's price elasticity is ``eta * (1 - share)`` whatever the work is worth,
    and markups come from ``eta``, the nest and the shares of close rivals, not from the
    value at stake. Arrays broadcast, e.g. ``(j, 1)`` offerings against ``(n,)`` customers
    give ``(j, n)``; float32 inputs give a float32 result.

    Examples
    --------
    >>> round(float(utility_z(100.0, 0.9, 0.5, 0.0, 10.0, elasticity=2.0)), 6)
    2.772589
    >>> float(utility_z(100.0, 0.4, 0.5, 0.0, 10.0, elasticity=2.0))
    -inf
    >>> round(float(utility_z(100.0, 0.9, 0.5, 0.0, 10.0, elasticity=2.0, baseline_frac=0.2)), 6)
    1.386294
    """
    gain = np.asarray(np.subtract(success, outside_success))  # 0-d stays an array
    parts = (latency_cost, value_usd, served_frac, 0.0 if baseline_frac is None else baseline_frac)
    shape = np.broadcast_shapes(gain.shape, *map(np.shape, parts))
    if gain.shape != shape:
        gain = np.broadcast_to(gain, shape).copy()
    gain -= latency_cost
    if baseline_frac is None:
        gain *= np.multiply(value_usd, served_frac, dtype=gain.dtype)
    else:
        gain *= served_frac
        gain -= baseline_frac
        gain *= np.asarray(value_usd, dtype=gain.dtype)
    with np.errstate(divide="ignore", invalid="ignore"):
        np.log(np.maximum(gain, 0.0, out=gain), out=gain)
    gain -= np.log(price_usd, dtype=gain.dtype)
    gain *= elasticity
    return gain


class NestShares(NamedTuple):
    """What :func:`nest_shares` returns (``...`` the batch shape of the inputs)."""

    #: ``(..., j, n)`` probability ``P_k`` that a customer buys each offering.
    probability: NDArray[np.float64]
    #: ``(..., j, n)`` each offering's share of the customer's nest weight ``c_k`` (the
    #: weight of rivals outside the ``j`` rows included), so ``P_k = c_k (1 - P_0)``.
    within: NDArray[np.float64]
    #: ``(..., n)`` probability ``P_0`` of the outside option.
    outside: NDArray[np.float64]
    #: ``(..., n)`` ``log(exp(z_0) + W**lambda)``: the expected maximum utility.
    logsum: NDArray[np.float64]


def nest_shares(
    z: ArrayLike,
    outside: ArrayLike | None = None,
    *,
    nest_frac: float = 1.0,
    rivals_log_weight: ArrayLike | None = None,
) -> NestShares:
    """Nested-logit choice probabilities, the offerings in one nest.

    The offerings are closer substitutes for one another than for the outside option (no
    AI): ``nest_frac`` (``lambda`` in ``(0, 1]``) is the nest's dissimilarity parameter
    (McFadden 1978). With the nest weight ``W = sum_k exp(z_k / lambda)`` (plus the
    rivals' weight, when given),

    ``P_k = exp(z_k / lambda) / W * W**lambda / (exp(z_0) + W**lambda)``;

    ``lambda = 1`` is the multinomial logit. Computed in logarithms, so extreme
    utilities neither overflow nor produce NaN.

    Parameters
    ----------
    z
        ``(..., j, n)`` utilities of ``j`` offerings for ``n`` customers, normalised by each
        customer's taste-noise scale; ``-inf`` marks an offering a customer cannot buy.
    outside
        ``(..., n)`` or scalar utility ``z_0`` of the outside option (default 0).
    nest_frac
        ``lambda``: 1 is plain logit; toward 0 the offerings become perfect substitutes.
    rivals_log_weight
        ``(..., n)`` ``log sum exp(z_l / lambda)`` over offerings in the nest that are not
        among the ``j`` rows (default: none), e.g. a firm's rivals when it values a line.

    Examples
    --------
    >>> s = nest_shares([[0.0], [0.0]])
    >>> s.probability.round(3).ravel().tolist(), s.outside.round(3).tolist()
    ([0.333, 0.333], [0.333])
    >>> nest_shares([[0.0], [0.0]], nest_frac=0.5).outside.round(3).tolist()
    [0.414]
    >>> nest_shares([[0.0]], rivals_log_weight=[0.0]).probability.round(3).ravel().tolist()
    [0.333]
    """
    if not 0 < nest_frac <= 1:
        raise ValueError(f"nest_frac must be in (0, 1], got {nest_frac}")
    zz = np.asarray(z)
    if zz.dtype != np.float32:
        zz = zz.astype(float)
    e = zz / zz.dtype.type(nest_frac)  # a new array: the work below is done in it
    if e.ndim < 2:
        raise ValueError(f"utilities must be (..., offerings, customers), got shape {e.shape}")
    batch = e.shape[:-2] + e.shape[-1:]
    dtype = e.dtype
    z0 = np.asarray(0.0 if outside is None else outside, dtype=dtype)
    top = e.max(axis=-2) if e.shape[-2] else np.full(batch, -np.inf, dtype=dtype)
    rivals = None
    if rivals_log_weight is not None:
        rivals = np.asarray(rivals_log_weight, dtype=dtype)
        top = np.maximum(top, rivals)
    shift = np.where(np.isfinite(top), top, 0.0)
    e -= shift[..., None, :]
    np.exp(e, out=e)
    total = e.sum(axis=-2)
    if rivals is not None:
        total = total + np.exp(rivals - shift)
    with np.errstate(divide="ignore"):
        nest_log = nest_frac * (shift + np.log(total))  # log W**lambda; -inf: nothing sold
    h = np.maximum(nest_log, z0)
    nest_w, out_w = np.exp(nest_log - h), np.exp(z0 - h)
    denom = nest_w + out_w
    p0 = out_w / denom
    # Where the total is 0 every weight in it is 0 too: dividing by 1 leaves them 0.
    within = np.divide(e, np.where(total > 0, total, 1.0)[..., None, :], out=e)
    return NestShares(within * (1.0 - p0)[..., None, :], within, p0, h + np.log(denom))


def consumer_surplus_usd(
    logsum: ArrayLike, outside: ArrayLike, scale_usd: ArrayLike
) -> NDArray[np.float64]:
    """Expected consumer surplus over the outside option, USD: ``s * (logsum - z_0)``.

    The log-sum of a (nested) logit is the expected maximum utility in units of the
    taste-noise scale ``s`` (Small & Rosen 1981; McFadden 1978 for the nested form), so
    this is what the offerings add to a customer's month. Shapes broadcast.

    Examples
    --------
    >>> float(consumer_surplus_usd(nest_shares([[0.0]]).logsum, 0.0, 2.0)[0].round(4))
    1.3863
    """
    diff = np.subtract(logsum, outside, dtype=float)
    return np.multiply(scale_usd, diff)


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
    #: ``(n,)`` as returned by :func:`nest_shares`.
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
    """One nested-logit draw per customer, and the log-sum: :func:`nest_shares` followed
    by an inverse-CDF draw, fused, for a population too large to keep probabilities.

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
        As in :func:`nest_shares`: ``(j, n)`` normalised utilities (``-inf``: cannot buy;
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
