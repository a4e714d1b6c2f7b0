"""All customers as one mesa agent holding numpy arrays.

A run can hold a million customers without a million Python objects: customer ``i`` is
column ``i`` of every array, and customers are stored segment by segment (contiguous), so
per-segment work is slicing. Each month every customer picks one offering or none (the
outside option) by multinomial logit, paying a switching cost to move away from what they
used last month. With routing, a customer's routine and hard work are two separate choices.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import mesa
import numpy as np
from numpy.typing import NDArray

from aimarket.agents.business import Offers
from aimarket.markets.demand import draw_choices, odds, success_from_odds
from aimarket.markets.pricing import nest_best_response_sums

__all__ = ["Choice", "CustomerPopulation", "SegmentLike"]


class SegmentLike(Protocol):
    """What a customer segment must provide (``sim.params.SegmentParams`` does)."""

    name: str
    weight_frac: float
    value_usd_per_success: float
    value_log_sd: float
    difficulty_kappa: float
    difficulty_sd_oom: float
    queries_per_month: float
    queries_log_sd: float
    tokens_per_query: float
    latency_value_frac_per_s: float
    hard_task_frac: float
    hard_task_extra_oom: float
    outside_value_frac: float
    outside_value_sd: float
    subscription: bool


@dataclass(frozen=True, slots=True)
class Choice:
    """One month of choices, over ``j`` offerings and ``s`` segments (weighted to the market).

    Attributes
    ----------
    queries_by_segment
        ``(s, j)`` queries each offering served.
    pay_units_by_segment
        ``(s, j)`` units of price paid (queries for usage segments, subscriptions for
        subscription segments): revenue is ``price * pay_units``.
    spend_usd
        ``(j,)`` what customers paid each offering, summed customer by customer.
    pricing_sums
        ``(3, s, j)`` the demand each offering faced on the pricing sample (see
        :attr:`CustomerPopulation.pricing`), as the cost-free sums of its first-order
        condition (:func:`markets.pricing.best_response_sums`).
    surplus_usd
        Expected consumer surplus (logit log-sum, switching costs included).
    adopters_frac
        Fraction of customers who used any offering.
    subscribers_unprofitable_frac
        Of the customers on a flat subscription, the fraction whose queries cost the
        seller more to serve than their fee (NaN when nobody subscribes).
    """

    queries_by_segment: NDArray[np.float64]
    pay_units_by_segment: NDArray[np.float64]
    spend_usd: NDArray[np.float64]
    pricing_sums: NDArray[np.float64]
    surplus_usd: float
    adopters_frac: float
    subscribers_unprofitable_frac: float = float("nan")

    @property
    def queries(self) -> NDArray[np.float64]:
        """``(j,)`` queries each offering served."""
        return self.queries_by_segment.sum(axis=0)


@dataclass(frozen=True, slots=True)
class PricingSample:
    """Customers firms observe to price: ``m`` (customer, work stream) pairs.

    ``pay_units``, ``queries`` and ``scale_usd`` are ``(m,)`` inputs of
    :func:`markets.pricing.nest_best_response_sums`; ``segment`` groups them.
    """

    columns: NDArray[np.intp]
    #: The same columns as one slice of the population per segment.
    slices: tuple[slice, ...]
    segment: NDArray[np.intp]
    pay_units: NDArray[np.float64]
    queries: NDArray[np.float64]
    scale_usd: NDArray[np.float64]


class CustomerPopulation(mesa.Agent):
    """Every customer of the market, as arrays of shape ``(n,)``.

    Parameters
    ----------
    model
        The owning mesa model.
    segments
        Segment definitions. Small segments are oversampled: segment ``g`` gets
        ``n * (w_g / 2 + 1 / (2 s))`` simulated customers (largest remainder), half in
        proportion to its weight and half equally, and each of its customers stands for
        ``represented * w_g / count_g`` real ones (:attr:`segment_weight`). Rare, valuable
        work (science, frontier research) is then measured on hundreds of customers, not
        on one or two.
    n
        Number of customers.
    rng
        The customers' own generator (a role stream of the run seed).
    choice_noise_frac
        Logit taste-noise scale as a fraction of a customer's monthly value at stake.
    switching_inertia
        Switching (and adoption) cost in units of the taste-noise scale.
    success_slope_per_oom
        Slope of task success in capability (see :func:`markets.demand.success_probability`).
    represented
        Real customers the population stands for (default ``n``); each simulated customer
        carries its segment's weight in queries, spend and surplus.
    routing
        Whether routine and hard work are chosen separately.
    pricing_sample_size
        About how many customers firms observe when they price.
    nest_frac
        Nested-logit dissimilarity of the offerings (1: plain logit; see
        :func:`markets.demand.logit`).
    """

    def __init__(
        self,
        model: mesa.Model,
        *,
        segments: tuple[SegmentLike, ...],
        n: int,
        rng: np.random.Generator,
        choice_noise_frac: float,
        switching_inertia: float,
        success_slope_per_oom: float,
        represented: float | None = None,
        routing: bool = False,
        pricing_sample_size: int = 5000,
        nest_frac: float = 1.0,
    ) -> None:
        super().__init__(model)
        self._rng = rng
        self.choice_noise_frac = choice_noise_frac
        self.switching_inertia = switching_inertia
        self.success_slope_per_oom = success_slope_per_oom
        self.routing = routing
        self.nest_frac = nest_frac
        self.segment_names = tuple(s.name for s in segments)
        weights = np.array([s.weight_frac for s in segments])
        weights = weights / weights.sum()
        counts = _largest_remainder(n, 0.5 * weights + 0.5 / len(segments))
        self.bounds = np.concatenate(([0], np.cumsum(counts)))
        self.segment = np.repeat(np.arange(len(segments), dtype=np.intp), counts)
        self.subscription = np.array([s.subscription for s in segments], dtype=bool)
        #: ``(s,)`` tokens of a non-reasoning answer in each segment.
        self.tokens_per_query = np.array([s.tokens_per_query for s in segments], dtype=float)

        def per_segment(attr: str) -> NDArray[np.float64]:
            return np.array([getattr(s, attr) for s in segments], dtype=float)[self.segment]

        z_value, z_difficulty, z_queries, z_outside = rng.standard_normal((4, n))
        value_sd, queries_sd = per_segment("value_log_sd"), per_segment("queries_log_sd")
        self.value_usd_per_success = per_segment("value_usd_per_success") * np.exp(
            value_sd * z_value
        )
        self.difficulty_kappa = per_segment("difficulty_kappa") + (
            per_segment("difficulty_sd_oom") * z_difficulty
        )
        # Mean-preserving lognormal volume: heavy users exist within every segment.
        self.queries_per_month = per_segment("queries_per_month") * np.exp(
            queries_sd * z_queries - 0.5 * queries_sd**2
        )
        self.latency_value_frac_per_s = per_segment("latency_value_frac_per_s")
        self.hard_frac = per_segment("hard_task_frac")
        self.hard_extra_oom = per_segment("hard_task_extra_oom")
        #: What the best non-AI way of doing the work is worth, as a fraction of the value of
        #: a successful query (search, a colleague, doing it by hand), net of its cost.
        self.outside_value_frac = np.clip(
            per_segment("outside_value_frac") + per_segment("outside_value_sd") * z_outside,
            0.0,
            0.99,
        )
        self.scale_usd = choice_noise_frac * self.queries_per_month * self.value_usd_per_success
        sub = self.subscription[self.segment]
        #: What a customer pays per unit of price: queries (usage) or 1 (subscription).
        self.pay_units = np.where(sub, 1.0, self.queries_per_month)
        #: Normalised utility lost per USD of price: ``pay_units / (q v)``.
        self.price_coef = self.pay_units / (self.queries_per_month * self.value_usd_per_success)
        total = represented if represented is not None else n
        #: ``(s,)`` real customers each simulated customer of a segment stands for.
        self.segment_weight = np.divide(
            total * weights, counts, out=np.zeros(len(segments)), where=counts > 0
        )
        # Per-customer coefficients of the normalised utility, divided by the noise once.
        self._price_z = (self.price_coef / choice_noise_frac).astype(np.float32)
        self._latency_z = self.latency_value_frac_per_s / choice_noise_frac
        self._outside_z = self.outside_value_frac / choice_noise_frac + switching_inertia
        self._streams = self._make_streams()
        self._work = np.empty(0, dtype=np.float32)
        people = self.segment_weight[self.segment]
        #: ``(n,)`` real customers each simulated customer stands for, and their sum.
        self._people, self._people_total = people, float(people.sum())
        #: ``(n,)`` whether each customer pays a subscription.
        self._subscriber = sub
        self._stream_weights = [
            (
                self.queries_per_month * frac * people,
                self.pay_units * frac * people,
                self.scale_usd * frac * people,
            )
            for frac, _ in self._streams
        ]
        self.current_offer = [np.zeros(n, dtype=np.int64) for _ in self._streams]  # 0: none
        #: Per work stream and segment, success rates by capability (cached rows).
        self._success = [
            [
                _SuccessRows.build(
                    *self._success_terms(k, int(self.bounds[g]), int(self.bounds[g + 1])),
                    slope_per_oom=success_slope_per_oom,
                )
                for g in range(len(segments))
            ]
            for k in range(len(self._streams))
        ]
        self.pricing = self._make_pricing_sample(pricing_sample_size)

    # -- set-up -------------------------------------------------------------------------

    def _work_array(self, shape: tuple[int, ...]) -> NDArray[np.float32]:
        """A float32 array of ``shape`` kept from month to month (grown when needed): a
        fresh one each month costs page faults and cache misses comparable to the
        arithmetic done in it."""
        size = math.prod(shape)
        if self._work.shape[0] < size:
            self._work = np.empty(max(size, 2 * self._work.shape[0]), dtype=np.float32)
        return self._work[:size].reshape(shape)

    def _make_streams(self) -> list[tuple[NDArray[np.float64], NDArray[np.float64] | None]]:
        """Work streams as ``(share of each customer's queries, difficulty offset)``.

        Without routing one stream carries all work with blended success (offset None).
        A stream with a share ``f`` of a customer's work has utility and taste noise ``f``
        times the customer's, so its normalised utility has the same form.
        """
        if not self.routing:
            return [(np.ones(self.n), None)]
        return [(1.0 - self.hard_frac, np.zeros(self.n)), (self.hard_frac, self.hard_extra_oom)]

    def _success_terms(
        self, stream: int, lo: int, hi: int
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """``(weights, difficulties)``, each ``(t, hi - lo)``: a stream's success rate over
        the taste noise is ``sum_t weights_t * p(kappa - difficulties_t)``."""
        _, offset = self._streams[stream]
        d = self.difficulty_kappa[lo:hi]
        noise = self.choice_noise_frac
        if offset is None:  # routine and hard work blended in one choice
            h = self.hard_frac[lo:hi]
            return np.stack([(1.0 - h) / noise, h / noise]), np.stack(
                [d, d + self.hard_extra_oom[lo:hi]]
            )
        return np.full((1, hi - lo), 1.0 / noise), (d + offset[lo:hi])[None, :]

    def stratified_columns(self, size: int) -> NDArray[np.intp]:
        """About ``size`` customers, the same number from every segment (all of a small one).

        Customers within a segment are independent draws, so evenly spaced columns are a
        random sample; per-segment sums scale back with :meth:`segment_weights`.
        """
        return _indices(self._stratified_slices(size))

    def _stratified_slices(self, size: int) -> tuple[slice, ...]:
        """:meth:`stratified_columns` as one slice per segment."""
        per = max(1, size // max(self.n_segments, 1))
        out = []
        for g in range(self.n_segments):
            lo, hi = int(self.bounds[g]), int(self.bounds[g + 1])
            step = max(1, (hi - lo) // per)
            out.append(slice(lo, min(hi, lo + per * step), step))
        return tuple(out)

    def segment_weights(self, columns: NDArray[np.intp]) -> NDArray[np.float64]:
        """``(m,)`` real customers each sampled column stands for."""
        seg = self.segment[columns]
        sampled = np.bincount(seg, minlength=self.n_segments)
        return (np.diff(self.bounds) / np.maximum(sampled, 1) * self.segment_weight)[seg]

    def _make_pricing_sample(self, size: int) -> PricingSample:
        slices = self._stratified_slices(size)
        cols = _indices(slices)
        share = np.concatenate([frac[cols] for frac, _ in self._streams])
        tiled = np.tile(cols, len(self._streams))
        return PricingSample(
            columns=cols,
            slices=slices,
            segment=self.segment[tiled],
            pay_units=self.pay_units[tiled] * share,
            queries=self.queries_per_month[tiled] * share,
            scale_usd=self.scale_usd[tiled] * share,
        )

    @property
    def n(self) -> int:
        """Number of customers."""
        return self.segment.shape[0]

    @property
    def n_segments(self) -> int:
        """Number of segments ``s``."""
        return len(self.segment_names)

    # -- choice -------------------------------------------------------------------------

    def choose(self, offers: Offers) -> Choice:
        """Every customer picks one of the ``j`` offers or none, for each work stream.

        Normalised utility of offering ``k`` for customer ``i`` in segment ``g`` (utility
        over the logit scale ``noise * q_i * v_i``):

        ``z_ik = (p_success_ik - price_gk * a_i / (q_i v_i) - latency_frac_i * latency_k)
        / noise``; the outside option (no AI) is worth ``outside_value_frac_i / noise``; and a
        switching cost of ``inertia`` falls on every option but last month's (implemented
        as a bonus of ``inertia`` on last month's offering and on the outside option, which
        leaves choice probabilities unchanged). Surplus is measured against the outside
        option, so it is what AI adds.
        """
        j, n, s = offers.size, self.n, self.n_segments
        seg = self.segment
        pricing = self.pricing
        m = pricing.columns.shape[0]
        people, sub = self._people, self._subscriber
        queries_by = np.zeros((s, j))
        pay_by = np.zeros((s, j))
        spend = np.zeros(j)
        pricing_sums = np.zeros((3, s, j))
        surplus = 0.0
        adopters = np.zeros(n, dtype=bool)
        subscribers = unprofitable = 0.0
        cost_q = offers.per_query(offers.usd_per_token, self.tokens_per_query)  # (s, j)
        latency = offers.per_query(offers.latency_s_per_token, self.tokens_per_query)  # (s, j)
        ids = np.concatenate(([0], offers.offer_ids))
        price_pad = np.concatenate((np.zeros((s, 1)), offers.price_usd), axis=1)  # col 0: none
        cost_pad = np.concatenate((np.zeros((s, 1)), cost_q), axis=1)
        for k, (frac, _) in enumerate(self._streams):
            uniforms = self._rng.random(n)
            current = self.current_offer[k]
            # Utilities of every offering for every customer, -inf where it is not sold
            # (float32: they are only sampled, and priced against at that precision).
            z_all = self._work_array((j, n))
            for g in range(s):
                # Only the offerings sold in the segment enter its customers' choice.
                lo, hi = int(self.bounds[g]), int(self.bounds[g + 1])
                if hi == lo:
                    continue
                sold = offers.available[g]
                cols = sold.nonzero()[0]
                if cols.size < j:  # the rest are not sold here (with none, everyone keeps
                    # the outside option)
                    z_all[(~sold).nonzero()[0], lo:hi] = -np.inf
                if cols.size == 0:
                    continue
                # z = (p_success - price * a/(q v) - latency * latency_frac) / noise; a price
                # cost past float32's range is as good as no sale (utility -inf)
                price = np.minimum(offers.price_usd[g, cols], _F32_MAX).astype(np.float32)
                with np.errstate(over="ignore"):
                    z = np.multiply.outer(price, self._price_z[lo:hi])
                latency_z = latency[g, cols] * self._latency_z[lo]  # one value a segment
                z += latency_z.astype(np.float32)[:, None]
                success = self._success[k][g]
                slots = success.slots(offers.kappa[g, cols])
                if cols.size == j:  # straight into the population's block
                    block = z_all[:, lo:hi]
                    np.take(success.rows, slots, axis=0, out=block)
                    block -= z
                else:
                    z_all[cols, lo:hi] = np.subtract(success.rows[slots], z, out=z)
            if self.switching_inertia > 0 and j:
                # Last month's offering gets the inertia bonus (one scatter, not a pass).
                col_of_id = np.full(max(int(ids.max()), int(current.max(initial=0))) + 1, -1)
                col_of_id[offers.offer_ids] = np.arange(j)
                col = np.where(current > 0, col_of_id[current], -1)  # 0: no offering
                stay = np.flatnonzero(col >= 0)
                z_all.reshape(-1)[col[stay] * n + stay] += self.switching_inertia
            outside = self._outside_z
            row, logsum, weights, outside_frac, weight_sums = draw_choices(
                z_all,
                uniforms,
                outside=outside,
                nest_frac=self.nest_frac,
                columns=pricing.slices,
                overwrite_z=True,
            )
            # The demand firms price against: the pricing sample's sums of the
            # first-order condition, which only the cost completes.
            part = slice(k * m, (k + 1) * m)
            pricing_sums += nest_best_response_sums(
                weights,
                outside_frac,
                pricing.pay_units[part],
                pricing.queries[part],
                pricing.scale_usd[part],
                nest_frac=self.nest_frac,
                weight_sums=weight_sums,
            )
            picked = row > 0
            adopters |= picked
            # Per customer, weighted to the market: queries, units of price, surplus scale.
            queries_w, units_w, scale_w = self._stream_weights[k]
            cell = seg * (j + 1) + row  # (segment, offering or none) of each customer
            size = s * (j + 1)
            queries_by += (np.bincount(cell, queries_w, size).reshape(s, j + 1))[:, 1:]
            pay_by += (np.bincount(cell, units_w, size).reshape(s, j + 1))[:, 1:]
            paid = price_pad.take(cell)  # price_pad[seg, row]
            spend += np.bincount(row, units_w * paid, j + 1)[1:]
            if sub.any():
                # A subscriber pays the fee for this stream whatever it sends.
                served = self.queries_per_month * frac * cost_pad.take(cell)
                on = picked & sub
                subscribers += float(people[on].sum())
                unprofitable += float(people[on & (served > paid * frac)].sum())
            surplus += float(np.vecdot(scale_w, logsum - outside))
            self.current_offer[k] = ids[row]
        return Choice(
            queries_by_segment=queries_by,
            pay_units_by_segment=pay_by,
            spend_usd=spend,
            pricing_sums=pricing_sums,
            surplus_usd=surplus,
            adopters_frac=float(people[adopters].sum() / self._people_total) if n else 0.0,
            subscribers_unprofitable_frac=unprofitable / subscribers if subscribers else math.nan,
        )


_F32_MAX = float(np.finfo(np.float32).max)


class _SuccessRows:
    """Success rates over the taste noise of models of capability ``kappa`` for one
    segment's customers on one work stream, ``(m, w)``, cached by capability (in
    float32, as the population's utilities are).

    In odds form (:func:`markets.demand.success_from_odds`) a new row costs no exponential
    per customer. A model's capability in a segment changes only when its
    reasoning effort does, so most rows are reused; rows of capabilities not asked for in
    the last call are overwritten.
    """

    __slots__ = ("_ease", "_free", "_ref", "_rows", "_slope", "_slot", "_weight")

    def __init__(
        self, weight: NDArray[np.float64], ease: NDArray[np.float64], ref: float, slope: float
    ) -> None:
        self._weight, self._ease, self._ref, self._slope = weight, ease, ref, slope
        self._rows = np.empty((0, weight.shape[1]), dtype=np.float32)
        self._slot: dict[float, int] = {}
        self._free: list[int] = []  # rows holding nothing

    @classmethod
    def build(
        cls, weight: NDArray[np.float64], difficulty: NDArray[np.float64], *, slope_per_oom: float
    ) -> _SuccessRows:
        """From ``(t, w)`` term weights and difficulties (see ``_success_terms``)."""
        ref = float(difficulty.mean()) if difficulty.size else 0.0
        return cls(weight, odds(slope_per_oom * (difficulty - ref)), ref, slope_per_oom)

    def compute(self, kappa: NDArray[np.float64]) -> NDArray[np.float64]:
        """``(m, w)`` rates for ``(m,)`` capabilities, uncached."""
        factor = odds(-self._slope * (np.asarray(kappa) - self._ref))[:, None]
        return success_from_odds(factor, self._ease, self._weight)

    def take(self, kappa: NDArray[np.float64]) -> NDArray[np.float32]:
        """``(m, w)`` float32 rates for ``(m,)`` capabilities (a new array)."""
        slots = self.slots(kappa)  # first: it may grow the cache
        return self._rows[slots]

    def slots(self, kappa: NDArray[np.float64]) -> list[int]:
        """Rows of :attr:`rows` holding the rates of ``(m,)`` capabilities, computed where
        they are not cached. When the cache is full, rows of capabilities not asked for
        now are reused before it grows."""
        keys = kappa.tolist()
        slot = self._slot
        try:
            return [slot[k] for k in keys]
        except KeyError:
            pass
        missing = [k for k in dict.fromkeys(keys) if k not in slot]
        if len(missing) > len(self._free):
            wanted = set(keys)
            for k in [k for k in slot if k not in wanted]:
                self._free.append(slot.pop(k))
        if len(missing) > len(self._free):
            old = self._rows.shape[0]
            grown = max(2 * old, len(slot) + len(missing))
            rows = np.empty((grown, self._rows.shape[1]), dtype=np.float32)
            rows[:old] = self._rows
            self._rows = rows
            self._free.extend(range(grown - 1, old - 1, -1))
        new = [self._free.pop() for _ in missing]
        self._rows[new] = self.compute(np.array(missing))
        slot.update(zip(missing, new, strict=True))
        return [slot[k] for k in keys]

    @property
    def rows(self) -> NDArray[np.float32]:
        """The cache, ``(r, w)``: index it with :meth:`slots`."""
        return self._rows


def _indices(slices: tuple[slice, ...]) -> NDArray[np.intp]:
    """The indices of bounded slices with steps, concatenated."""
    return np.concatenate([np.arange(c.start, c.stop, c.step, dtype=np.intp) for c in slices])


def _largest_remainder(n: int, fractions: NDArray[np.float64]) -> NDArray[np.int64]:
    """Split ``n`` into integer counts proportional to ``fractions`` (Hamilton's method)."""
    raw = n * fractions
    counts = np.floor(raw).astype(np.int64)
    short = n - int(counts.sum())
    counts[np.argsort(-(raw - counts), kind="stable")[:short]] += 1
    return counts
