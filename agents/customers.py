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

from agents.business import Offers
from agents.strategy import blended_success
from markets.demand import logit, sample_choices, success_probability

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
    pricing_probabilities
        ``(j, m)`` choice probabilities on the pricing sample (see
        :attr:`CustomerPopulation.pricing`): the demand each firm faced.
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
    pricing_probabilities: NDArray[np.float64]
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
    :func:`markets.pricing.logit_best_response_price_usd`; ``segment`` groups them.
    """

    columns: NDArray[np.intp]
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
        self._price_z = self.price_coef / choice_noise_frac
        self._latency_z = self.latency_value_frac_per_s / choice_noise_frac
        self._outside_z = self.outside_value_frac / choice_noise_frac + switching_inertia
        self._streams = self._make_streams()
        self.current_offer = [np.zeros(n, dtype=np.int64) for _ in self._streams]  # 0: none
        self._success_cache: dict[tuple[int, int, float], NDArray[np.float64]] = {}
        self.pricing = self._make_pricing_sample(pricing_sample_size)

    # -- set-up -------------------------------------------------------------------------

    def _make_streams(self) -> list[tuple[NDArray[np.float64], NDArray[np.float64] | None]]:
        """Work streams as ``(share of each customer's queries, difficulty offset)``.

        Without routing one stream carries all work with blended success (offset None).
        A stream with a share ``f`` of a customer's work has utility and taste noise ``f``
        times the customer's, so its normalised utility has the same form.
        """
        if not self.routing:
            return [(np.ones(self.n), None)]
        return [(1.0 - self.hard_frac, np.zeros(self.n)), (self.hard_frac, self.hard_extra_oom)]

    def stratified_columns(self, size: int) -> NDArray[np.intp]:
        """About ``size`` customers, the same number from every segment (all of a small one).

        Customers within a segment are independent draws, so evenly spaced columns are a
        random sample; per-segment sums scale back with :meth:`segment_weights`.
        """
        per = max(1, size // max(self.n_segments, 1))
        cols = []
        for g in range(self.n_segments):
            lo, hi = int(self.bounds[g]), int(self.bounds[g + 1])
            step = max(1, (hi - lo) // per)
            cols.append(np.arange(lo, hi, step)[:per])
        return np.concatenate(cols)

    def segment_weights(self, columns: NDArray[np.intp]) -> NDArray[np.float64]:
        """``(m,)`` real customers each sampled column stands for."""
        seg = self.segment[columns]
        sampled = np.bincount(seg, minlength=self.n_segments)
        return (np.diff(self.bounds) / np.maximum(sampled, 1) * self.segment_weight)[seg]

    def _make_pricing_sample(self, size: int) -> PricingSample:
        cols = self.stratified_columns(size)
        share = np.concatenate([frac[cols] for frac, _ in self._streams])
        tiled = np.tile(cols, len(self._streams))
        return PricingSample(
            columns=cols,
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

    def _success(self, stream: int, segment: int, kappa: float) -> NDArray[np.float64]:
        """Success rate of a model of capability ``kappa`` for a segment's customers on a
        work stream, divided by the taste noise, ``(customers in the segment,)`` (cached: a
        model's capability in a segment changes only when its reasoning effort does)."""
        key = (stream, segment, kappa)
        row = self._success_cache.get(key)
        if row is None:
            _, offset = self._streams[stream]
            lo, hi = int(self.bounds[segment]), int(self.bounds[segment + 1])
            difficulty = self.difficulty_kappa[lo:hi]
            if offset is None:
                row = blended_success(
                    np.array([kappa]),
                    difficulty,
                    self.hard_frac[lo:hi],
                    self.hard_extra_oom[lo:hi],
                    slope_per_oom=self.success_slope_per_oom,
                )[0]
            else:
                row = success_probability(
                    kappa, difficulty + offset[lo:hi], slope_per_oom=self.success_slope_per_oom
                )
            row = row / self.choice_noise_frac
            self._success_cache[key] = row
        return row

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
        live = {
            (k, g, float(kap))
            for k in range(len(self._streams))
            for g in range(s)
            for kap in offers.kappa[g]
        }
        self._success_cache = {k: v for k, v in self._success_cache.items() if k in live}
        queries_by = np.zeros((s, j))
        pay_by = np.zeros((s, j))
        spend = np.zeros(j)
        pricing = np.zeros((len(self._streams), j, self.pricing.columns.shape[0]))
        surplus = 0.0
        adopters = np.zeros(n, dtype=bool)
        subscribers = unprofitable = 0.0
        cost_q = offers.per_query(offers.usd_per_token, self.tokens_per_query)  # (s, j)
        latency = offers.per_query(offers.latency_s_per_token, self.tokens_per_query)  # (s, j)
        ids = np.concatenate(([0], offers.offer_ids))
        sample = self.pricing.columns
        for k, (frac, _) in enumerate(self._streams):
            uniforms = self._rng.random(n)
            current = self.current_offer[k]
            chosen_ids = np.zeros(n, dtype=np.int64)
            for g in range(s):
                # Only the offerings sold in the segment enter its customers' choice.
                lo, hi = int(self.bounds[g]), int(self.bounds[g + 1])
                cols = np.flatnonzero(offers.available[g])
                if hi == lo:
                    continue
                if cols.size == 0:  # nothing on sale here: everyone keeps the outside option
                    chosen_ids[lo:hi] = 0
                    continue
                width = hi - lo
                z = np.empty((cols.shape[0], width))
                tmp = np.empty(width)
                price_z, latency_z = self._price_z[lo:hi], self._latency_z[lo:hi]
                for r, col in enumerate(cols):
                    # z = (p_success - price * a/(q v) - latency * latency_frac) / noise
                    np.multiply(price_z, offers.price_usd[g, col], out=z[r])
                    np.multiply(latency_z, latency[g, col], out=tmp)
                    z[r] += tmp
                    np.subtract(self._success(k, g, float(offers.kappa[g, col])), z[r], out=z[r])
                if self.switching_inertia > 0 and cols.size:
                    # Last month's offering gets the inertia bonus (one scatter, not a pass).
                    cur = current[lo:hi]
                    order = np.argsort(ids[cols + 1])
                    sorted_ids = ids[cols + 1][order]
                    pos = np.minimum(np.searchsorted(sorted_ids, cur), cols.size - 1)
                    stay = np.flatnonzero((sorted_ids[pos] == cur) & (cur > 0))
                    z[order[pos[stay]], stay] += self.switching_inertia
                outside = self._outside_z[lo:hi]
                probabilities, logsum = logit(z, outside=outside, nest_frac=self.nest_frac)
                row = sample_choices(probabilities, uniforms[lo:hi])
                offer_col = np.concatenate(([-1], cols))[row]  # -1: none
                picked = row > 0
                chosen_ids[lo:hi] = ids[offer_col + 1]
                adopters[lo:hi] |= picked
                units = self.pay_units[lo:hi] * frac[lo:hi]
                queries = self.queries_per_month[lo:hi] * frac[lo:hi]
                m = cols.shape[0] + 1
                queries_by[g, cols] += np.bincount(row, queries, m)[1:] * self.segment_weight[g]
                pay_by[g, cols] += np.bincount(row, units, m)[1:] * self.segment_weight[g]
                paid = np.where(picked, offers.price_usd[g, np.maximum(offer_col, 0)], 0.0)
                wg = self.segment_weight[g]
                spend += np.bincount(np.maximum(offer_col, 0), units * paid, j) * wg
                in_seg = np.flatnonzero((sample >= lo) & (sample < hi))
                pricing[k][np.ix_(cols, in_seg)] = probabilities[1:, sample[in_seg] - lo]
                if self.subscription[g]:
                    # A subscriber pays the fee for this stream whatever it sends.
                    served = queries * cost_q[g, np.maximum(offer_col, 0)]
                    subscribers += wg * float(picked.sum())
                    unprofitable += wg * float((picked & (served > paid * frac[lo:hi])).sum())
                surplus += wg * float(
                    (self.scale_usd[lo:hi] * frac[lo:hi] * (logsum - outside)).sum()
                )
            self.current_offer[k] = chosen_ids
        people = self.segment_weight[self.segment]
        return Choice(
            queries_by_segment=queries_by,
            pay_units_by_segment=pay_by,
            spend_usd=spend,
            pricing_probabilities=np.concatenate(list(pricing), axis=1),
            surplus_usd=surplus,
            adopters_frac=float(people[adopters].sum() / people.sum()) if n else 0.0,
            subscribers_unprofitable_frac=unprofitable / subscribers if subscribers else math.nan,
        )


def _largest_remainder(n: int, fractions: NDArray[np.float64]) -> NDArray[np.int64]:
    """Split ``n`` into integer counts proportional to ``fractions`` (Hamilton's method)."""
    raw = n * fractions
    counts = np.floor(raw).astype(np.int64)
    short = n - int(counts.sum())
    counts[np.argsort(-(raw - counts), kind="stable")[:short]] += 1
    return counts
