"""All customers as one mesa agent holding numpy arrays.

A run can hold a million customers without a million Python objects: customer ``i`` is
column ``i`` of every array, and customers are stored segment by segment (contiguous), so
per-segment work is slicing. Each month every customer picks one offering or none (the
outside option) by nested logit (:mod:`aimarket.markets.demand`), paying a switching cost
to move away from what they used last month. Usage (API) customers pay the same price per
token of an offering as everyone else; subscribers pay a plan's monthly fee and are served
up to its allowance. With routing, a customer's routine and hard work are two choices.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import mesa
import numpy as np
from numpy.typing import NDArray

from aimarket.agents.books import stream_books
from aimarket.agents.choice import Choice, SegmentLike
from aimarket.agents.contracts import Contracts, lock_pricing_sample
from aimarket.agents.funnel import conversion_bonus, free_plan_rows, track_origin
from aimarket.agents.growth import DemandGrowth
from aimarket.agents.products import Offers
from aimarket.agents.success import SuccessRows
from aimarket.markets.demand import draw_choices, utility_z
from aimarket.markets.pricing import LineSums, line_pricing_sums

__all__ = ["Choice", "CustomerPopulation", "SegmentLike"]

F32 = np.float32


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
    elasticity
        Weight of the log of value for money in a customer's utility (see
        :func:`aimarket.markets.demand.utility_z`).
    switching_inertia
        Switching (and adoption) cost in units of utility (a factor ``exp(inertia /
        elasticity)`` of value for money).
    success_slope_per_oom
        Slope of task success in capability (see
        :func:`aimarket.markets.demand.success_probability`).
    represented
        Real customers the population stands for (default ``n``); each simulated customer
        carries its segment's weight in queries, spend and surplus.
    routing
        Whether routine and hard work are chosen separately.
    pricing_sample_size
        About how many customers firms observe when they price.
    nest_frac
        Nested-logit dissimilarity of the offerings (1: plain logit; see
        :func:`aimarket.markets.demand.nest_shares`).
    growth
        Each segment's adoption and usage, updated by :meth:`learn` (None: everyone
        considers AI and usage stays at its start).
    """

    def __init__(
        self,
        model: mesa.Model,
        *,
        segments: tuple[SegmentLike, ...],
        n: int,
        rng: np.random.Generator,
        elasticity: float,
        switching_inertia: float,
        success_slope_per_oom: float,
        represented: float | None = None,
        routing: bool = False,
        pricing_sample_size: int = 5000,
        nest_frac: float = 1.0,
        growth: DemandGrowth | None = None,
        contract_months: NDArray[np.int64] | None = None,
    ) -> None:
        super().__init__(model)
        self.growth = growth
        self._rng = rng
        self.elasticity = elasticity
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
        #: ``(s,)`` value lost per second of waiting, as a share of a query's value.
        self.latency_frac = np.array([s.latency_value_frac_per_s for s in segments], float)

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
        self.hard_frac = per_segment("hard_task_frac")
        self.hard_extra_oom = per_segment("hard_task_extra_oom")
        #: What the best non-AI way of doing the work is worth, as a fraction of the value of
        #: a successful query (search, a colleague, doing it by hand), net of its cost.
        self.outside_value_frac = np.clip(
            per_segment("outside_value_frac") + per_segment("outside_value_sd") * z_outside,
            0.0,
            0.99,
        )
        #: ``(n,)`` plain-answer tokens of a customer's work a month, and value per token.
        self.plain_tokens = self.queries_per_month * self.tokens_per_query[self.segment]
        self.value_usd_per_token = self.value_usd_per_success / self.tokens_per_query[self.segment]
        self._value32 = self.value_usd_per_token.astype(F32)
        self._outside32 = self.outside_value_frac.astype(F32)
        total = represented if represented is not None else n
        #: ``(s,)`` real customers each simulated customer of a segment stands for.
        self.segment_weight = np.divide(
            total * weights, counts, out=np.zeros(len(segments)), where=counts > 0
        )
        self._streams = self._make_streams()
        people = self.segment_weight[self.segment]
        #: ``(n,)`` real customers each simulated customer stands for, and their sum.
        self._people, self._people_total = people, float(people.sum())
        self.current_offer = [np.zeros(n, dtype=np.int64) for _ in self._streams]  # 0: none
        #: Per work stream, the lab whose free plan brought each customer to its paid plan
        #: (-1: none; :func:`aimarket.agents.funnel.track_origin`).
        self.origin = [np.full(n, -1, dtype=np.int64) for _ in self._streams]
        #: Customers under contract choose only at renewal (``contract_months`` ``(s,)``).
        months = np.ones(len(segments), np.int64) if contract_months is None else contract_months
        self.contracts = Contracts(
            np.asarray(months, dtype=np.int64)[self.segment], len(self._streams)
        )
        #: Months chosen so far (the month of the next choice, from 0).
        self.month = 0
        #: Per work stream and segment, success rates by capability (cached rows).
        self._success = [
            [
                SuccessRows.build(
                    *self._success_terms(k, int(self.bounds[g]), int(self.bounds[g + 1])),
                    slope_per_oom=success_slope_per_oom,
                )
                for g in range(len(segments))
            ]
            for k in range(len(self._streams))
        ]
        #: The customers firms observe to price: one slice of each segment.
        self.pricing = self._stratified_slices(pricing_sample_size)
        self._pricing_columns = [_indices((sl,)) for sl in self.pricing]
        #: Real customers each of them stands for.
        self._pricing_weights = [self.segment_weights(cols) for cols in self._pricing_columns]

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

    def _success_terms(
        self, stream: int, lo: int, hi: int
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """``(weights, difficulties)``, each ``(t, hi - lo)``: a stream's success rate is
        ``sum_t weights_t * p(kappa - difficulties_t)``."""
        _, offset = self._streams[stream]
        d = self.difficulty_kappa[lo:hi]
        if offset is None:  # routine and hard work blended in one choice
            h = self.hard_frac[lo:hi]
            return np.stack([1.0 - h, h]), np.stack([d, d + self.hard_extra_oom[lo:hi]])
        return np.ones((1, hi - lo)), (d + offset[lo:hi])[None, :]

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

    @property
    def represented_by_segment(self) -> NDArray[np.float64]:
        """``(s,)`` real customers each segment stands for."""
        return self.segment_weight * np.diff(self.bounds)

    @property
    def n(self) -> int:
        """Number of customers."""
        return self.segment.shape[0]

    @property
    def n_segments(self) -> int:
        """Number of segments ``s``."""
        return len(self.segment_names)

    # -- adoption and usage -------------------------------------------------------------

    def growth_terms(
        self,
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        """``(aware_frac, usage, value_factor)``, each ``(s,)``: the share of each
        segment's customers who consider AI, their work and its value per token relative to
        the start (all 1 without growth)."""
        if self.growth is None:
            ones = np.ones(self.n_segments)
            return ones, ones, ones
        g = self.growth
        return g.aware_frac, g.usage, g.value_factor

    def learn(self, offers: Offers, choice: Choice) -> None:
        """After a month: adoption spreads and usage follows the price per task (see
        :mod:`aimarket.agents.growth`)."""
        if self.growth is not None:
            plain = choice.queries_by_segment.sum(axis=1) * self.tokens_per_query
            self.growth.update(offers, choice.spend_by_segment.sum(axis=1), plain)

    # -- choice -------------------------------------------------------------------------

    def choose(self, offers: Offers) -> Choice:
        """Every customer picks one of the ``j`` offers or none, for each work stream.

        Utility is the log of value for money (:func:`aimarket.markets.demand.utility_z`):

        ``z_ik = eta * log(v_i / T_g * h_ik * (success_ik - outside_i - latency_g * wait_gk)
        / price_ik)``

        with ``price_ik`` the price per token times the offering's tokens per plain token
        (per-token offerings), or the plan's fee over the customer's plain tokens a month;
        ``h_ik`` is the share of the work a plan's allowance covers (1 otherwise). The
        outside option (no AI) has ``z = 0``; a switching cost of ``inertia`` falls on
        every option but last month's (a bonus on last month's offering and on the outside
        option, which leaves choice probabilities unchanged), and each offering's seller's
        brand adds ``offers.brand_utility`` to it. Consumer surplus is what the
        chosen offerings' work is worth over the outside option, less what it costs (taste
        shocks left out).
        """
        j, n, s = offers.size, self.n, self.n_segments
        seg = self.segment
        aware, usage, worth = self.growth_terms()
        # Customers who do not consider AI weigh nothing; usage scales everyone's work.
        people = self._people * aware[seg]
        queries = self.queries_per_month * usage[seg]
        month = _Month(queries, queries * self.tokens_per_query[seg], aware, worth)
        queries_by, tokens_by, units_by = np.zeros((s, j)), np.zeros((s, j)), np.zeros((s, j))
        spend = np.zeros((s, j))
        pricing = LineSums(np.zeros(j), np.zeros((j, j)), np.zeros((j, j)))
        surplus = 0.0
        adopters, paying = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
        funnel_by, conversions_by = np.zeros(j + 1), np.zeros(j + 1)
        subscribers = unprofitable = 0.0
        per_query = offers.tokens_per_query(self.tokens_per_query)  # (s, j)
        latency = self.latency_frac[:, None] * offers.latency_s_per_query(self.tokens_per_query)
        ids = np.concatenate(([0], offers.offer_ids))
        firm_pad = np.concatenate(([-1], offers.firm_ids))
        # The same, indexed by last month's column (``j``: none).
        free_last, firm_last = np.append(offers.free, False), np.append(offers.firm_ids, -1)
        # Per column (0: none) and per segment and column: what the month's books need.
        columns = {
            "plan": np.concatenate(([False], offers.plan)),
            "free": np.concatenate(([False], offers.free)),
            "allowance": np.concatenate(([0.0], offers.allowance_queries)),
            "price": np.concatenate(([0.0], offers.price_usd)),
            "cost": np.concatenate(([0.0], offers.usd_per_token)),
            "tokens_per_query": np.concatenate((np.zeros((s, 1)), per_query), axis=1),
            "latency": np.concatenate((np.zeros((s, 1)), latency), axis=1),
        }
        sold_by = [offers.paid[g].nonzero()[0] for g in range(s)]
        free_by = [offers.free_sold[g].nonzero()[0] for g in range(s)]
        for k, (frac, _) in enumerate(self._streams):
            uniforms = self._rng.random(n)
            last = self._last_columns(offers, self.current_offer[k])
            # The lab of each customer's free plan last month (-1: none).
            free_firm = np.where(free_last[last], firm_last[last], -1)
            row = np.zeros(n, dtype=np.intp)  # 0: the outside option, 1 + column otherwise
            rate = np.zeros(n)  # the chosen offering's success rate
            locked = np.zeros(n, dtype=bool)  # held to last month's offering by a contract
            for g in range(s):
                lo, hi = int(self.bounds[g]), int(self.bounds[g + 1])
                if hi > lo and sold_by[g].size:
                    choice = _SegmentChoice(
                        g, lo, hi, sold_by[g], uniforms, last, row, rate, free_firm, free_by[g],
                        locked,
                    )  # fmt: skip
                    pricing = pricing + self._segment_choice(
                        offers, k, choice, latency, per_query, frac, month
                    )
            if any(cols.size for cols in free_by):
                free_uniforms = self._rng.random(n)
                for g in range(s):
                    lo, hi = int(self.bounds[g]), int(self.bounds[g + 1])
                    if hi > lo and free_by[g].size:
                        cols = free_by[g]
                        choice = _SegmentChoice(
                            g, lo, hi, cols, free_uniforms, last, row, rate, free_firm, cols,
                            locked,
                        )  # fmt: skip
                        self._free_choice(offers, k, choice, latency, month)
            if self.contracts.active:
                self.contracts.sign(k, self.month, ~locked)
            # The funnel's origins, only where free plans are or were (nothing to do else).
            funnel = None
            if offers.free.any() or bool((self.origin[k] >= 0).any()):
                paid_plan = columns["plan"][row] & ~columns["free"][row]
                funnel = track_origin(self.origin[k], free_firm, firm_pad[row], paid_plan)
                self.origin[k] = funnel[0]
            books = stream_books(
                row, seg, people, queries, rate, self.outside_value_frac,
                self.value_usd_per_success, month.value_factor, frac, columns, funnel,
                adopters, paying,
            )  # fmt: skip
            sums = (queries_by, tokens_by, units_by, spend)
            for total, part in zip(sums, books.totals, strict=True):
                total += part[:, 1:]
            funnel_by += books.funnel_usd
            conversions_by += books.conversions
            subscribers += books.subscribers
            unprofitable += books.unprofitable
            surplus += books.surplus_usd
            self.current_offer[k] = ids[row]
        self.month += 1
        return Choice(
            queries_by_segment=queries_by,
            tokens_by_segment=tokens_by,
            pay_units_by_segment=units_by,
            spend_by_segment=spend,
            pricing=pricing,
            surplus_usd=surplus,
            adopters_frac=float(people[adopters].sum() / self._people_total) if n else 0.0,
            subscribers_unprofitable_frac=unprofitable / subscribers if subscribers else math.nan,
            paying_frac=float(people[paying].sum() / self._people_total) if n else 0.0,
            funnel_spend_usd=funnel_by[1:],
            conversions=conversions_by[1:],
        )

    @staticmethod
    def _last_columns(offers: Offers, current: NDArray[np.int64]) -> NDArray[np.intp]:
        """``(n,)`` each customer's offering of last month as a column (``j``: none, or
        one no longer sold)."""
        j = offers.size
        if not j:
            return np.zeros(current.shape[0], dtype=np.intp)
        # Offer ids are small non-negative integers (``model_id * 16 + tier``; 0: none):
        # a table from id to column, ``j`` where nothing is sold under the id.
        column = np.full(max(int(offers.offer_ids.max()), int(current.max())) + 1, j, np.intp)
        column[offers.offer_ids] = np.arange(j)
        return column[current]

    def _segment_choice(
        self,
        offers: Offers,
        stream: int,
        seg: _SegmentChoice,
        latency: NDArray[np.float64],
        per_query: NDArray[np.float64],
        frac: NDArray[np.float64],
        month: _Month,
    ) -> LineSums:
        """A segment's customers choose among the offerings sold to them (``seg.cols``):
        fills their ``row`` (0 or 1 + column) and the chosen ``rate`` of success; returns
        the pricing sample's sums of the first-order condition."""
        g, lo, hi, cols = seg.segment, seg.lo, seg.hi, seg.cols
        success = self._success[stream][g]
        slots = success.slots(offers.kappa[g, cols])  # first: it may grow the cache
        rates = success.rows[slots]  # (c, n_g)
        # Work served: last month's service of each offering (capacity), within a plan's
        # allowance; the rest is done the non-AI way.
        served = offers.served_frac[cols][:, None].astype(F32)
        waiting = latency[g, cols][:, None].astype(F32)
        value = self._value32[lo:hi] * F32(month.value_factor[g])
        baseline = None
        if self.subscription[g]:  # per month: the month's work's worth against the fee
            q = month.queries[lo:hi]
            served = served * _allowance_share(offers.allowance_queries[cols], q)
            served = served.astype(F32)
            if seg.free_cols.size:  # a paid plan is worth what it adds to the best free one
                baseline = self._free_gain_share(offers, stream, seg, latency, month)
            value = value * month.plain_tokens[lo:hi].astype(F32)
            price = offers.price_usd[cols][:, None]
        else:
            price = (offers.price_usd[cols] * offers.inference_multiplier[g, cols])[:, None]
        z = utility_z(
            value,
            rates,
            self._outside32[lo:hi],
            waiting,
            price.astype(F32),
            served,
            elasticity=self.elasticity,
            baseline_frac=baseline,
        )
        z += offers.brand_utility[cols][:, None].astype(F32)
        c, m = cols.size, hi - lo
        # Each customer's offering of last month as a row of ``cols`` (-1: none of them).
        position = np.full(offers.size + 1, -1)
        position[cols] = np.arange(c)
        mine = position[seg.last[lo:hi]]
        if self.switching_inertia > 0:
            # Last month's offering gets the inertia bonus (one scatter, not a pass); so
            # does the outside option (a switching cost on everything else).
            stay = np.flatnonzero(mine >= 0)
            z.reshape(-1)[mine[stay] * m + stay] += np.float32(self.switching_inertia)
            if self.subscription[g]:  # from a lab's free plan to its paid ones: no switch
                conversion_bonus(
                    z,
                    offers.firm_ids[cols],
                    offers.plan[cols],
                    seg.free_firm[lo:hi],
                    self.switching_inertia,
                )
        sample = self.pricing[g]
        in_sample = slice(sample.start - lo, sample.stop - lo, sample.step)
        rows, _, weights, outside_frac, weight_sums = draw_choices(
            z,
            seg.uniforms[lo:hi],
            outside=self.switching_inertia,
            nest_frac=self.nest_frac,
            columns=[in_sample],
            overwrite_z=True,
        )
        if self.contracts.active:  # under contract: last month's offering, whatever drawn
            held = self.contracts.locked(stream, self.month, lo, hi, mine)
            rows[held] = mine[held] + 1
            seg.locked[lo:hi] = held
            lock_pricing_sample(
                weights[0], weight_sums, outside_frac, mine[in_sample], held[in_sample]
            )
        chosen = np.flatnonzero(rows)
        seg.row[lo + chosen] = cols[rows[chosen] - 1] + 1
        seg.rate[lo + chosen] = rates[rows[chosen] - 1, chosen]
        return self._pricing_sums(
            offers, g, cols, weights[0], outside_frac, weight_sums, per_query, frac, month
        )

    def _free_gain_share(
        self,
        offers: Offers,
        stream: int,
        seg: _SegmentChoice,
        latency: NDArray[np.float64],
        month: _Month,
    ) -> NDArray[np.float64]:
        """``(m,)`` what the best free plan (``seg.free_cols``) gains each of the
        segment's customers, as a share of the value of all its work (0 if none gains):
        ``max_k h_k (p_k - o - latency_k)`` with ``h_k`` the share of the work its
        allowance serves."""
        g, lo, hi, cols = seg.segment, seg.lo, seg.hi, seg.free_cols
        rates, served = self._plan_service(offers, stream, g, cols, month.queries[lo:hi])
        net = rates - self.outside_value_frac[lo:hi] - latency[g, cols][:, None]
        return np.maximum((served * net).max(axis=0), 0.0)

    def _plan_service(
        self,
        offers: Offers,
        stream: int,
        g: int,
        cols: NDArray[np.intp],
        queries: NDArray[np.float64],
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Segment ``g``'s success rates with the plans ``cols``, ``(c, n_g)`` (every
        customer of the segment), and the share of the work each serves to customers
        with ``queries`` ``(m,)``, ``(c, m)``: last month's service within the allowance."""
        success = self._success[stream][g]
        slots = success.slots(offers.kappa[g, cols])  # first: it may grow the cache
        served = offers.served_frac[cols][:, None] * _allowance_share(
            offers.allowance_queries[cols], queries
        )
        return success.rows[slots], served

    def _free_choice(
        self,
        offers: Offers,
        stream: int,
        seg: _SegmentChoice,
        latency: NDArray[np.float64],
        month: _Month,
    ) -> None:
        """The segment's customers who bought nothing take a free plan (``seg.cols``) if
        one gains them anything (:func:`aimarket.agents.funnel.free_plan_rows`); last
        month's free plan keeps the inertia bonus. Fills their ``row`` and ``rate``."""
        g, lo, hi, cols = seg.segment, seg.lo, seg.hi, seg.cols
        idle = np.flatnonzero(seg.row[lo:hi] == 0)
        if not idle.size:
            return
        rates, served = self._plan_service(offers, stream, g, cols, month.queries[lo:hi][idle])
        rates = rates[:, idle]  # (c, m)
        z = utility_z(
            self._value32[lo:hi][idle] * F32(month.value_factor[g]),
            rates,
            self._outside32[lo:hi][idle],
            latency[g, cols][:, None].astype(F32),
            F32(1.0),  # no fee: a common price, which drops out of the choice among them
            served.astype(F32),
            elasticity=self.elasticity,
        )
        z += offers.brand_utility[cols][:, None].astype(F32)
        if self.switching_inertia > 0:
            z[seg.last[lo:hi][idle][None, :] == cols[:, None]] += F32(self.switching_inertia)
        rows = free_plan_rows(z, seg.uniforms[lo:hi][idle], nest_frac=self.nest_frac)
        chosen = np.flatnonzero(rows)
        seg.row[lo + idle[chosen]] = cols[rows[chosen] - 1] + 1
        seg.rate[lo + idle[chosen]] = rates[rows[chosen] - 1, chosen]

    def _pricing_sums(
        self,
        offers: Offers,
        g: int,
        cols: NDArray[np.intp],
        weights: NDArray[np.float32],
        outside_frac: NDArray[np.float64],
        weight_sums: NDArray[np.float32],
        per_query: NDArray[np.float64],
        frac: NDArray[np.float64],
        month: _Month,
    ) -> LineSums:
        """The pricing sample's sums of the first-order condition in segment ``g``, over
        the offerings sold there (``cols``), weighted to the market, as ``(j, ...)``."""
        j, m = offers.size, weights.shape[1]
        out = LineSums(np.zeros(j), np.zeros((j, j)), np.zeros((j, j)))
        if m == 0:
            return out
        columns = self._pricing_columns[g]
        sums = weight_sums.astype(float)
        within = np.divide(weights, np.where(sums > 0, sums, 1.0))  # all 0 where the sum is
        f, q = frac[columns], month.queries[columns]
        tokens = per_query[g, cols][:, None]
        if self.subscription[g]:
            pay = f[None, :]
            serve = f * np.minimum(q, offers.allowance_queries[cols][:, None]) * tokens
        else:
            pay = (f * q) * tokens
            serve = pay
        # z = eta * (log gain - log price): a price moves utility by -eta / price.
        price_coef = (self.elasticity / offers.price_usd[cols])[:, None]
        part = line_pricing_sums(
            within,
            outside_frac,
            pay,
            price_coef,
            serve,
            self._pricing_weights[g] * month.aware_frac[g],
            nest_frac=self.nest_frac,
        )
        block = np.ix_(cols, cols)
        out.revenue_units[cols] = part.revenue_units
        out.price_slope[block] = part.price_slope
        out.cost_slope[block] = part.cost_slope
        return out


def _allowance_share(
    allowance_queries: NDArray[np.float64], queries: NDArray[np.float64]
) -> NDArray[np.float64]:
    """``(c, m)`` the share ``min(1, A_k / q_i)`` of each customer's month of queries
    ``q`` that each plan's allowance ``A`` ``(c,)`` covers. Plans share two or three
    allowances: one row is computed per allowance and repeated.

    >>> _allowance_share(np.array([300.0, 30.0, 300.0]), np.array([150.0, 600.0]))
    array([[1.  , 0.5 ],
           [0.2 , 0.05],
           [1.  , 0.5 ]])
    """
    values, inverse = np.unique(allowance_queries, return_inverse=True)
    return np.minimum(1.0, values[:, None] / queries)[inverse]


@dataclass(frozen=True, slots=True)
class _Month:
    """This month's work per customer, ``(n,)`` (queries and plain-answer tokens, usage
    included), and each segment's share of customers who consider AI and value per token
    of their work relative to the start ``(s,)``."""

    queries: NDArray[np.float64]
    plain_tokens: NDArray[np.float64]
    aware_frac: NDArray[np.float64]
    value_factor: NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class _SegmentChoice:
    """One segment's customers ``lo:hi`` and the offerings sold to them (``cols``), with
    the stream's arrays its choice reads (``uniforms``, ``last``) and fills (``row``,
    ``rate``, and ``locked``: who a contract held to last month's offering)."""

    segment: int
    lo: int
    hi: int
    cols: NDArray[np.intp]
    uniforms: NDArray[np.float64]
    last: NDArray[np.intp]
    row: NDArray[np.intp]
    rate: NDArray[np.float64]
    free_firm: NDArray[np.int64]
    free_cols: NDArray[np.intp]
    locked: NDArray[np.bool_]


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
