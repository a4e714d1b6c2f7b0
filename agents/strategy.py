"""Strategy reviews: value candidate projects against the market a firm observes.

Pure functions of an observation: a firm sees a sample of customers (the demand model it
believes in), its competitors' current offerings, and the trends everyone knows
(capability growth at the frontier, falling serving costs). For each candidate project it
projects the monthly profit of the offering the project would launch, at the best-response
price, over a payback horizon, and subtracts what the project costs. A firm then picks
among the candidates and waiting with bounded rationality (a logit over values).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from aimarket.agents.business import Allocation, BusinessModel
from aimarket.markets.demand import odds, success_from_odds, success_probability
from aimarket.markets.testtime import testtime_gain_oom

__all__ = [
    "Candidate",
    "CustomerSample",
    "MarketView",
    "Rivals",
    "SegmentProfile",
    "blended_success",
    "choose_project",
    "reasoning_effort",
    "value_candidates",
]

#: Reasoning effort is chosen on a grid of this many steps per OOM of tokens per query.
EFFORT_STEPS_PER_OOM = 4


@dataclass(frozen=True, slots=True)
class Candidate:
    """A project a firm could start now.

    ``base_kappa`` is the model's capability without test-time compute; ``kappa`` and
    ``inference_multiplier`` are ``(s,)``: the capability customers of each segment would
    see at launch (reasoning effort and scaffolding included) and the tokens per query that
    effort takes, relative to a plain answer (:func:`reasoning_effort`);
    ``max_inference_multiplier`` is the most effort the model is trained for (1: no
    reasoning). ``usd_per_token`` and ``latency_s_per_token`` are the offering's at today's
    hardware prices. ``segment`` limits a specialist to one segment.
    """

    business_model: BusinessModel
    allocation: Allocation
    params: float
    train_tokens: float
    train_flop: float
    base_kappa: float
    kappa: NDArray[np.float64]
    inference_multiplier: NDArray[np.float64]
    max_inference_multiplier: float
    cost_usd: float
    months_to_launch: float
    usd_per_token: float
    latency_s_per_token: float
    segment: int | None = None
    supplier_id: int | None = None


@dataclass(frozen=True)
class CustomerSample:
    """The customers a deciding firm values its projects against: ``n`` sampled customers,
    sorted by segment, the same for every firm and every review of a run.

    Customer arrays are ``(n,)``; ``weight`` is how many real customers each sampled
    customer stands for; ``outside_z`` is each customer's normalised utility of the outside
    option. ``price_coef`` turns a segment price into normalised utility per unit of
    taste noise: ``a / (q v)`` (usage: ``1 / v``; subscription: ``1 / (q v)``).
    ``segment_tokens`` is ``(s,)``: tokens of a non-reasoning answer in each segment.
    What is derived from the sample alone is computed once (cached properties).
    """

    difficulty_kappa: NDArray[np.float64]
    hard_frac: NDArray[np.float64]
    hard_extra_oom: NDArray[np.float64]
    latency_value_frac_per_s: NDArray[np.float64]
    outside_z: NDArray[np.float64]
    segment: NDArray[np.intp]
    pay_units: NDArray[np.float64]
    queries: NDArray[np.float64]
    scale_usd: NDArray[np.float64]
    price_coef: NDArray[np.float64]
    weight: NDArray[np.float64]
    n_segments: int
    noise_frac: float
    nest_frac: float
    slope_per_oom: float
    segment_tokens: NDArray[np.float64]

    @property
    def segment_bounds(self) -> NDArray[np.intp]:
        """``(s + 1,)`` column bounds of each segment (sampled customers are sorted by it)."""
        return np.searchsorted(self.segment, np.arange(self.n_segments + 1))

    @functools.cached_property
    def cells(self) -> tuple[NDArray[np.intp], NDArray[np.bool_]]:
        """``(s, m)`` column of each sampled customer by segment, and which cells are real
        (segments with fewer than ``m`` sampled customers are padded)."""
        bounds = self.segment_bounds
        counts = np.diff(bounds)
        offsets = np.arange(int(counts.max(initial=0)))
        valid = offsets[None, :] < counts[:, None]
        return np.where(valid, bounds[:-1, None] + offsets[None, :], 0), valid

    @functools.cached_property
    def ease(self) -> _Ease:
        """Per-customer factors of task success (see :class:`_Ease`)."""
        return _Ease(self)

    @functools.cached_property
    def grid(self) -> _Grid:
        """The sample laid out ``(s, m)`` by segment (see :class:`_Grid`)."""
        return _Grid(self)


@dataclass(frozen=True)
class Rivals:
    """The offerings on sale this month as deciding firms see them: capability, price,
    latency per query and availability, each ``(s, c)``. Shared by every firm deciding
    this month; each firm leaves its own offerings out (:attr:`MarketView.own`)."""

    kappa: NDArray[np.float64]
    price_usd: NDArray[np.float64]
    latency_s: NDArray[np.float64]
    available: NDArray[np.bool_]

    def nest_terms(
        self,
        sample: CustomerSample,
        kappa_shift: NDArray[np.float64],
        cost_factor: NDArray[np.float64],
    ) -> NDArray[np.float64]:
        """``(t, c, n)`` each offering's ``exp(z / lambda)`` for each sampled customer at
        each of ``t`` moments (capability raised by ``kappa_shift``, prices scaled by
        ``cost_factor``); 0 where it is not sold. Memoised per sample and moments."""
        key = (kappa_shift.tobytes(), cost_factor.tobytes())
        cache = self.__dict__.setdefault("_nest_terms", {})
        if key not in cache or cache[key][0] is not sample:
            seg, ease = sample.segment, sample.ease
            factor = ease.factor(self.kappa.T[None, :, :] + kappa_shift[:, None, None])
            z = ease.success(factor[:, :, seg])  # (t, c, n)
            z -= np.multiply.outer(cost_factor, self.price_usd.T[:, seg] * sample.price_coef)
            z -= self.latency_s.T[:, seg] * sample.latency_value_frac_per_s
            z *= 1.0 / (sample.noise_frac * sample.nest_frac)
            np.minimum(z, 700.0, out=z)
            np.exp(z, out=z)
            z *= self.available.T[:, seg]
            cache.clear()  # one sample and one set of moments at a time
            cache[key] = (sample, z)
        return cache[key][1]


@dataclass(frozen=True, slots=True)
class MarketView:
    """What a deciding firm observes: the customer sample and its rivals, i.e. the
    month's offerings except its own (``own``, ``(c,)``; None: it sells nothing)."""

    sample: CustomerSample
    rivals: Rivals
    own: NDArray[np.bool_] | None = None


@dataclass(frozen=True, slots=True)
class SegmentProfile:
    """The typical customer of each segment, ``(s,)`` arrays: what reasoning effort is
    tuned for. ``value_usd`` is the median value of a successful query,
    ``difficulty_kappa`` the mean difficulty, ``tokens`` the tokens of a plain answer."""

    tokens: NDArray[np.float64]
    value_usd: NDArray[np.float64]
    difficulty_kappa: NDArray[np.float64]
    hard_frac: NDArray[np.float64]
    hard_extra_oom: NDArray[np.float64]
    latency_value_frac_per_s: NDArray[np.float64]


@functools.lru_cache(maxsize=64)
def _effort_grid(
    top: float, oom_per_oom: float, cap_oom: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``(g,)`` multipliers on the effort grid up to ``top`` and the capability each adds
    (memoised: the grid depends only on the run's settings)."""
    grid = 10.0 ** (
        np.arange(int(np.floor(np.log10(top) * EFFORT_STEPS_PER_OOM + 1e-9)) + 1)
        / EFFORT_STEPS_PER_OOM
    )
    gain = np.asarray(testtime_gain_oom(grid, oom_per_oom=oom_per_oom, cap_oom=cap_oom))
    grid.flags.writeable = False
    gain.flags.writeable = False
    return grid, gain


def reasoning_effort(
    base_kappa: NDArray[np.float64],
    max_multiplier: NDArray[np.float64],
    usd_per_token: NDArray[np.float64],
    latency_s_per_token: NDArray[np.float64],
    segments: SegmentProfile,
    *,
    oom_per_oom: float,
    cap_oom: float,
    slope_per_oom: float,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Tokens per query each offering spends in each segment, and the capability it buys.

    A model trained to reason can think longer on a query: ``m`` times the tokens of a
    plain answer raise its capability by :func:`markets.testtime.testtime_gain_oom`. The
    seller picks, per segment, the ``m`` on a grid of :data:`EFFORT_STEPS_PER_OOM` steps
    per OOM in ``[1, max_multiplier]`` that maximises the typical customer's value net of
    the compute and waiting it costs,

    ``v * success(base + gain(m)) - tokens * m * (usd_per_token + v * latency_frac *
    latency_s_per_token)``.

    With logit demand the profit-maximising quality is the one that maximises this net
    value (the markup is set separately by the price), so cheaper tokens buy longer
    reasoning, and high-value segments get more of it than chat.

    Parameters
    ----------
    base_kappa, max_multiplier, usd_per_token, latency_s_per_token
        ``(k,)`` per offering: capability without test-time compute (OOM), the largest
        multiplier it can use (>= 1), and its cost (USD) and decode time (s) per token.
    segments
        The typical customer of each of ``s`` segments.
    oom_per_oom, cap_oom, slope_per_oom
        The test-time trade-off (see :func:`markets.testtime.testtime_gain_oom`) and the
        slope of task success (see :func:`markets.demand.success_probability`).

    Returns
    -------
    multiplier, kappa : ndarray
        ``(s, k)`` chosen multipliers and the capability they give.

    Examples
    --------
    Cheap tokens buy more reasoning than dear ones:

    >>> seg = SegmentProfile(*(np.array([x]) for x in (1000.0, 10.0, 27.0, 0.0, 0.0, 0.0)))
    >>> m, _ = reasoning_effort(np.array([25.0, 25.0]), np.array([1e3, 1e3]),
    ...                         np.array([1e-8, 1e-3]), np.zeros(2), seg,
    ...                         oom_per_oom=0.67, cap_oom=1.0, slope_per_oom=2.0)
    >>> m.round(1).tolist()
    [[31.6, 1.0]]
    """
    max_mult = np.asarray(max_multiplier, dtype=float)
    top = max(float(max_mult.max()), 1.0) if max_mult.size else 1.0
    grid, gain = _effort_grid(top, oom_per_oom, cap_oom)
    base = np.asarray(base_kappa, dtype=float)
    kappa = base[:, None] + gain[None, :]  # (k, g)
    sg = segments
    k, g = kappa.shape
    success = blended_success(
        kappa.reshape(k * g),
        sg.difficulty_kappa,
        sg.hard_frac,
        sg.hard_extra_oom,
        slope_per_oom=slope_per_oom,
    )  # (k * g, s): the segments' typical customers stand in for customers
    success = success.reshape(k, g, -1).transpose(2, 0, 1)  # (s, k, g)
    per_token = (
        np.asarray(usd_per_token, dtype=float)[None, :]
        + (sg.value_usd * sg.latency_value_frac_per_s)[:, None]
        * np.asarray(latency_s_per_token, dtype=float)[None, :]
    )  # (s, k)
    net = sg.value_usd[:, None, None] * success - (
        sg.tokens[:, None, None] * per_token[:, :, None] * grid[None, None, :]
    )
    net = np.where(grid[None, None, :] <= max_mult[None, :, None] * (1 + 1e-9), net, -np.inf)
    best = np.argmax(net, axis=2)  # (s, k); ties go to the smaller effort
    return grid[best], base[None, :] + gain[best]


def blended_success(
    kappa: NDArray[np.float64],
    difficulty_kappa: NDArray[np.float64],
    hard_frac: NDArray[np.float64],
    hard_extra_oom: NDArray[np.float64],
    *,
    slope_per_oom: float,
) -> NDArray[np.float64]:
    """Success rate over a customer's routine and hard work, ``(j, n)``.

    ``(1 - h) * p(kappa - d) + h * p(kappa - d - extra)`` with ``p`` from
    :func:`markets.demand.success_probability`. ``kappa`` is ``(j,)`` (one capability per
    offering) or ``(j, n)`` (one per offering and customer).
    """
    k = np.asarray(kappa, dtype=float)
    if k.ndim == 1:
        k = k[:, None]
    routine = success_probability(k, difficulty_kappa, slope_per_oom=slope_per_oom)
    hard = success_probability(k, difficulty_kappa + hard_extra_oom, slope_per_oom=slope_per_oom)
    return routine + hard_frac * (hard - routine)


class _Ease:
    """Task success without an exponential per customer: the sample's routine and hard
    work in odds form (:func:`markets.demand.odds`), so :func:`blended_success` for many
    models costs a few multiplications per cell."""

    __slots__ = ("hard", "hard_frac", "ref", "routine", "slope")

    def __init__(self, sample: CustomerSample) -> None:
        d = sample.difficulty_kappa
        self.slope = sample.slope_per_oom
        self.ref = float(d.mean()) if d.size else 0.0
        self.routine = odds(self.slope * (d - self.ref))
        self.hard = odds(self.slope * (d + sample.hard_extra_oom - self.ref))
        self.hard_frac = sample.hard_frac

    def factor(self, kappa: NDArray[np.float64]) -> NDArray[np.float64]:
        """``exp(-slope * (kappa - ref))``, same shape as ``kappa``."""
        return odds(-self.slope * (np.asarray(kappa, dtype=float) - self.ref))

    def success(self, factor: NDArray[np.float64]) -> NDArray[np.float64]:
        """Blended success rate of models with ``factor`` (broadcast against ``(n,)``) for
        every sampled customer."""
        h = self.hard_frac
        return success_from_odds(factor, (self.routine, self.hard), (1.0 - h, h))


class _Grid:
    """What a valuation needs of the sample, ``(s, m)``: row ``g`` holds segment ``g``'s
    sampled customers (padded; ``valid`` marks real ones), so a valuation gathers whole
    rows. What the price steps use is float32 (they need about six digits)."""

    __slots__ = (
        "a32",
        "aa_s32",
        "aw",
        "coef32",
        "cols",
        "hard",
        "hard_frac",
        "latency",
        "min_noise_price",
        "outside_z",
        "price_coef",
        "qa_s32",
        "qw",
        "routine",
        "typical",
        "valid",
    )

    def __init__(self, sample: CustomerSample) -> None:
        self.cols, self.valid = cols, valid = sample.cells
        f32 = np.float32
        count = valid.sum(axis=1)
        a, q = sample.pay_units[cols], sample.queries[cols]
        #: ``(s,)`` price units per query of a segment's average sampled customer (1 in a
        #: segment nobody was sampled from: any finite price earns nothing there).
        typical = np.where(valid, a / q, 0.0).sum(axis=1) / np.maximum(count, 1)
        self.typical = np.where(count > 0, typical, 1.0)
        weight = np.where(valid, sample.weight[cols], 0.0)
        #: Units of price paid and queries, times the real customers a cell stands for.
        self.aw, self.qw = (a * weight).astype(f32), (q * weight).astype(f32)
        a_over_s = a / sample.scale_usd[cols]
        #: ``a``, ``a**2 / s`` and ``q a / s``: the first-order condition's weights.
        a, q = np.where(valid, a, 0.0), np.where(valid, q, 0.0)  # padding counts for nothing
        self.a32 = a.astype(f32)
        self.aa_s32, self.qa_s32 = (a * a_over_s).astype(f32), (q * a_over_s).astype(f32)
        #: Normalised utility in the nest per unit of price.
        coef = sample.price_coef[cols] / (sample.noise_frac * sample.nest_frac)
        self.coef32 = coef.astype(f32)
        self.price_coef = np.where(valid, sample.price_coef[cols], np.inf)
        #: ``(s,)`` the least price worth one unit of that utility to a segment's customers
        #: (1 in a segment nobody was sampled from).
        least = np.where(valid, 1.0 / coef, np.inf).min(axis=1, initial=np.inf)
        self.min_noise_price = np.where(count > 0, least, 1.0)
        self.outside_z = sample.outside_z[cols]
        self.latency = sample.latency_value_frac_per_s[cols]
        ease = sample.ease
        self.routine, self.hard = ease.routine[cols], ease.hard[cols]
        self.hard_frac = ease.hard_frac[cols]


def _competitor_denominator(
    view: MarketView, kappa_shift: NDArray[np.float64], cost_factor: NDArray[np.float64]
) -> NDArray[np.float64]:
    """``(t, n)`` ``sum_c exp(z_c / lambda)`` per sampled customer at each of ``t`` moments:
    the rivals' part of the nest."""
    t, n = kappa_shift.shape[0], view.sample.segment.shape[0]
    if view.rivals.kappa.size == 0:
        return np.zeros((t, n))
    terms = view.rivals.nest_terms(view.sample, kappa_shift, cost_factor)
    if view.own is not None and view.own.any():
        terms = terms[:, ~view.own, :]
    return terms.sum(axis=1)


def monthly_profit_usd(
    kappa: NDArray[np.float64],
    usd_per_query: NDArray[np.float64],
    latency_s_per_query: NDArray[np.float64],
    segment_only: NDArray[np.intp],
    view: MarketView,
    *,
    kappa_shift: float | Sequence[float] = 0.0,
    cost_factor: float | Sequence[float] = 1.0,
    iterations: int = 3,
    start_prices: int = 8,
) -> NDArray[np.float64]:
    """Monthly variable profit of ``k`` candidate offerings at their best-response prices.

    ``kappa``, ``usd_per_query`` and ``latency_s_per_query`` are ``(s, k)``. Each candidate
    faces the view's competitors (their capability raised by ``kappa_shift`` OOM, their
    prices and everyone's costs scaled by ``cost_factor``) and sets its profit-maximising
    price in each segment: the best of ``start_prices`` geometrically spaced starting
    prices, then ``iterations`` steps on the logit first-order condition (see the comments
    in the code). A candidate with ``segment_only[k] >= 0`` sells only in that segment.
    Returns ``(k,)`` USD/month; with sequences of ``t`` shifts and factors (moments of a
    horizon), ``(t, k)``, solved together in one pass.

    The work is laid out by *pairs* (moment, candidate, segment it sells in), each a row
    over that segment's sampled customers: one price per row, and a segment-only
    candidate costs one segment's customers, not all of them.
    """
    shifts = np.atleast_1d(np.asarray(kappa_shift, dtype=float))
    factors = np.atleast_1d(np.asarray(cost_factor, dtype=float))
    if shifts.shape != factors.shape:
        raise ValueError("kappa_shift and cost_factor must have the same length")
    sm = view.sample
    t = shifts.shape[0]
    kappa = np.asarray(kappa, dtype=float)
    n_seg, k = kappa.shape
    only = np.asarray(segment_only)
    sells = (only[None, :] < 0) | (only[None, :] == np.arange(n_seg)[:, None])  # (s, k)
    g1, c1 = np.nonzero(sells)
    mom = np.repeat(np.arange(t), g1.shape[0])
    g, cand = np.concatenate([g1] * t), np.concatenate([c1] * t)  # (P,) segment, candidate
    grid = sm.grid
    lam = sm.nest_frac
    # (P, m) rows of the grid: each pair's segment. The rivals' log nest weight is taken
    # once per moment and sampled customer, before it is spread over the pairs.
    with np.errstate(divide="ignore"):
        log_rivals = np.log(_competitor_denominator(view, shifts, factors))[:, grid.cols][mom, g]
    h_frac = grid.hard_frac[g]
    succ = success_from_odds(
        sm.ease.factor(kappa[g, cand])[:, None],
        (grid.routine[g], grid.hard[g]),
        (1.0 - h_frac, h_frac),
    )
    latency = np.asarray(latency_s_per_query, dtype=float)[g, cand]
    # Utility over the nest's scale, -inf where a pair's customer is padding.
    succ -= latency[:, None] * grid.latency[g]
    valid = grid.valid[g]
    base = np.where(valid, succ / (sm.noise_frac * lam), -np.inf)
    outside_z = grid.outside_z[g]
    # The price steps run in float32 (they only need about six digits), on the nest's
    # weights over each cell's largest possible one, exp(h): the candidate's at price 0,
    # the rivals' and the outside option's. So every weight is at most 1 and none
    # overflows, whatever the utilities.
    h = np.maximum(np.maximum(base, log_rivals), outside_z / lam)
    f32 = np.float32
    base = (base - h).astype(f32)
    denom = np.exp((log_rivals - h).astype(f32))
    outside = np.exp((outside_z - lam * h).astype(f32))
    coef, aa_s, qa_s = grid.coef32[g], grid.aa_s32[g], grid.qa_s32[g]
    a32, aw, qw = grid.a32[g], grid.aw[g], grid.qw[g]  # aw, qw: a and q times weight
    cost = np.asarray(usd_per_query, dtype=float)[g, cand] * factors[mom]  # (P,)
    # Only where nothing in the nest is sold is the nest's weight 0: never divide by it.
    denom += np.finfo(f32).tiny
    rivals = denom / f32(lam)

    def shares(
        price: NDArray[np.float64], slope: bool = True
    ) -> tuple[NDArray[np.float32], NDArray[np.float32] | None]:
        """Nested-logit share ``P`` of each pair's candidate alone against the rivals at
        ``(P, G)`` prices, ``(P, G, m)``, and ``-dP/dp / (P a / s)``,
        ``1/lambda - (1/lambda - 1) P|nest - P``, written as
        ``rivals|nest / lambda + P|nest * outside`` so that it keeps full precision when
        ``P`` is near 1."""
        e = price.astype(f32)[:, :, None] * coef[:, None, :]
        np.subtract(base[:, None, :], e, out=e)
        # Weights below exp(-80) of the largest are negligible; smaller ones would come
        # out of exp as subnormal floats, several times slower to compute with.
        np.maximum(e, f32(-80.0), out=e)
        np.exp(e, out=e)
        d = denom[:, None, :] + e
        if not slope:  # P = P|nest * nest / (outside + nest), nest = d**lam, in 3 passes
            t = d ** (1.0 - lam)  # a square root at lam = 1/2
            t *= outside[:, None, :]
            t += d
            e /= t
            return e, None
        nest = d**lam
        total = outside[:, None, :] + nest
        e /= d  # P|nest
        out = None
        if slope:
            out = rivals[:, None, :] / d
            out += e * outside[:, None, :] / total
        np.divide(nest, total, out=nest)  # P(nest)
        e *= nest  # P = P|nest * P(nest)
        return e, out

    def profit(price: NDArray[np.float64], prob: NDArray[np.float32]) -> NDArray[np.float64]:
        """``(P, G)`` monthly profit of each pair at each of its ``(P, G)`` prices."""
        revenue_units = np.vecdot(prob, aw[:, None, :]).astype(float)
        return price * revenue_units - cost[:, None] * np.vecdot(prob, qw[:, None, :])

    # Optimal prices run from about the cost to 1e5 times it (value-based pricing in
    # high-value segments); with customers of widely different values the profit has a
    # peak for each group of them it could serve, and with alike customers it falls off a
    # cliff past its peak. So each pair starts from the best of a geometric grid of prices
    # from its unit cost plus the smallest logit markup of its customers (the price one
    # unit of taste noise is worth to them) up to the most any of them would pay for the
    # candidate alone; then solves the first-order condition ``log p = log BR(p)`` by
    # steps to the best response, and by the secant between the last two prices once a
    # step has passed the root (so prices cannot oscillate). The value is the best profit
    # at any price tried. (Against 400 starting prices and ten steps, on the baseline's
    # valuations: median error 0.4% of a call's largest value, 90th percentile 1.6%, worst
    # 8%; bench/valuation_accuracy.py.)
    unit = cost / np.maximum(grid.typical[g], 1e-300)
    low = unit + grid.min_noise_price[g]
    with np.errstate(divide="ignore", invalid="ignore"):
        high = np.max(np.where(valid, succ / grid.price_coef[g], 0.0), axis=1)
    high = np.maximum(high, 4.0 * low)
    starts = low[:, None] * (high / low)[:, None] ** _spacing(start_prices)  # (P, start_prices)
    tried = profit(starts, shares(starts, slope=False)[0])
    best = np.argmax(tried, axis=1)
    rows = np.arange(starts.shape[0])
    value = tried[rows, best]
    price = starts[rows, best][:, None]  # (P, 1)
    x = np.log(price)
    last_x, last_gap = x, np.zeros_like(x)
    with np.errstate(divide="ignore", invalid="ignore"):
        for _ in range(iterations):
            prob, slope = shares(price)
            value = np.maximum(value, profit(price, prob)[:, 0])
            # Logit first-order condition, one price per pair (see
            # :func:`markets.pricing.best_response_sums`):
            # BR = (sum P a + c sum D q a / s) / sum D a a / s with D = P * slope.
            slope *= prob
            br = np.vecdot(prob, a32[:, None, :]) + cost[:, None] * np.vecdot(
                slope, qa_s[:, None, :]
            )
            br /= np.vecdot(slope, aa_s[:, None, :])
            gap = np.log(br) - x  # log BR - log p; not finite: no demand, stay
            gap[~np.isfinite(gap)] = 0.0
            # Past the root (the gap changed sign): the secant between the last two prices.
            crossed = gap * last_gap < 0
            secant = x - gap * (x - last_x) / (gap - last_gap)
            last_x, last_gap = x, gap
            x = np.where(crossed, secant, x + gap)
            price = np.exp(x)
    out = np.bincount(mom * k + cand, value, t * k).reshape(t, k)
    return out if np.ndim(kappa_shift) or np.ndim(cost_factor) else out[0]


@functools.lru_cache(maxsize=8)
def _spacing(points: int) -> NDArray[np.float64]:
    """``(points,)`` evenly spaced in ``[0, 1]`` (memoised: a valuation asks every time)."""
    out = np.linspace(0.0, 1.0, points)
    out.flags.writeable = False
    return out


def value_candidates(
    candidates: list[Candidate],
    view: MarketView,
    *,
    horizon_months: int,
    discount_per_month: float,
    kappa_growth_oom_per_month: float,
    cost_decline_per_month: float,
    incumbent: Candidate | None = None,
    fixed_cost_usd_per_month: float = 0.0,
) -> tuple[NDArray[np.float64], float]:
    """Expected value (USD) of each candidate, and of keeping the incumbent offering.

    A candidate's value is its discounted monthly profit from launch to the end of the
    horizon, minus its cost, plus what the firm's current offering (``incumbent``, if
    any) earns until the launch replaces it. Keeping the incumbent is worth its discounted
    profit over the whole horizon. Profit is evaluated at the start and the end of the
    horizon (competitors' capability growing at the frontier's pace, costs and prices
    falling with hardware) and interpolated; so a new model has to beat the old one by
    more than it costs. The firm's fixed operating cost over the horizon is subtracted from
    every option, so that staying out (value 0) wins when the market cannot carry it.

    Returns
    -------
    values : ndarray
        ``(k,)`` USD.
    keep : float
        USD; 0 without an incumbent.
    """
    options = list(candidates) + ([incumbent] if incumbent is not None else [])
    if not options:
        return np.empty(0), 0.0
    kappa = np.stack([c.kappa for c in options], axis=1)  # (s, k)
    per_query = view.sample.segment_tokens[:, None] * np.stack(
        [c.inference_multiplier for c in options], axis=1
    )  # (s, k)
    cost = per_query * np.array([c.usd_per_token for c in options])
    latency = per_query * np.array([c.latency_s_per_token for c in options])
    segment_only = np.array([-1 if c.segment is None else c.segment for c in options])
    lead = np.array([c.months_to_launch for c in options])
    points = np.array([0.0, float(horizon_months)])
    profits = monthly_profit_usd(
        kappa,
        cost,
        latency,
        segment_only,
        view,
        kappa_shift=kappa_growth_oom_per_month * points,
        cost_factor=(1.0 - cost_decline_per_month) ** points,
    ).reshape(points.shape[0], -1)  # (2, k): profit now and at the end of the horizon
    months = np.arange(horizon_months, dtype=float)
    # Linear between the two moments: (k, horizon) monthly profits.
    path = profits[0][:, None] + np.multiply.outer(profits[1] - profits[0], months / points[1])
    discount = discount_per_month**months
    live = months[None, :] >= lead[:, None]  # earns from launch on
    fixed = fixed_cost_usd_per_month * float(discount.sum())
    values = (path * discount * live).sum(axis=1) - np.array([c.cost_usd for c in options])
    values -= fixed
    if incumbent is None:
        return values, 0.0
    old = path[-1] * discount
    earned = np.concatenate(([0.0], np.cumsum(old)))  # the incumbent's until each month
    before = earned[np.ceil(np.minimum(lead, horizon_months)).astype(np.intp)]
    return values[:-1] + before[:-1], float(old.sum()) - fixed


def choose_project(
    values: NDArray[np.float64],
    *,
    rng: np.random.Generator,
    rationality_frac: float,
    keep: float = 0.0,
) -> int | None:
    """Pick a candidate or keep things as they are, by a logit over values.

    ``keep`` is the value of doing nothing (the incumbent offering, or 0 for a would-be
    entrant). The logit scale is ``rationality_frac`` times the largest absolute value on
    the table, so the rule is unit-free: ``0`` always picks the best option (ties keep),
    larger values make mistakes more often (bounded rationality). ``-inf`` values (e.g.
    unaffordable) are never picked. Returns the candidate's index, or None to keep.
    """
    if values.size == 0:
        return None
    options = np.concatenate(([keep], values))
    finite = np.isfinite(options)
    options = np.where(finite, options, -np.inf)
    scale = rationality_frac * float(np.max(np.abs(options[finite])))
    if scale <= 0:
        best = int(np.argmax(options))
    else:
        # Inverse CDF of the logit, as ``rng.choice(p=...)`` draws it (same draws) without
        # its checks of ``p``.
        cdf = np.cumsum(np.exp((options - options.max()) / scale))
        best = int(np.searchsorted(cdf / cdf[-1], rng.random(), side="right"))
    return None if best == 0 else best - 1
