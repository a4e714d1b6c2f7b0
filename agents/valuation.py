"""What a product line would earn: valuation of projects on a sample of customers.

A deciding firm sees a sample of customers (the demand model it believes in), its rivals'
offerings this month, and the trends everyone knows (capability growth at the frontier,
falling costs). For a line of products (its current models, with or without a project's
new ones) it prices the whole line jointly at its profit-maximising prices (the
multi-product first-order condition of :mod:`aimarket.markets.pricing`, so a cheap small
model's cannibalisation of the flagship is priced in) and reports the monthly profit. The
demand is the one kernel of :mod:`aimarket.markets.demand`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from aimarket.agents.effort import Ease
from aimarket.agents.products import Offers
from aimarket.markets.demand import success_from_odds, utility_z
from aimarket.markets.search import line_search

__all__ = ["CustomerSample", "Product", "Rivals", "line_prices_usd", "line_profit_usd"]


@dataclass(frozen=True, slots=True)
class Product:
    """A model as a valuation sees it: its standard per-token offering and, if ``plan``,
    a plan on it. ``kappa`` and ``multiplier`` are ``(s,)``: capability in each segment at
    the reasoning effort spent there and the tokens that effort takes per plain token;
    ``usd_per_token`` and ``latency_s_per_token`` are at today's prices; ``segment``
    limits a specialist to one segment; ``brand_utility`` what its seller's brand adds to
    customers' utility of it."""

    kappa: NDArray[np.float64]
    multiplier: NDArray[np.float64]
    usd_per_token: float
    latency_s_per_token: float
    segment: int | None = None
    plan: bool = False
    brand_utility: float = 0.0


@dataclass(frozen=True)
class CustomerSample:
    """The customers a deciding firm values its projects against: ``m`` sampled
    customers, sorted by segment, the same for every firm and review of a run.

    Arrays are ``(m,)``: ``value_usd_per_token`` is a successful query's value per plain
    token, ``plain_tokens`` a customer's plain-answer tokens a month, ``weight`` how many
    real customers each stands for. ``plan_allowance`` is the queries a month of the plan
    valuations assume (the first of the market's plans).
    """

    segment: NDArray[np.intp]
    subscription: NDArray[np.bool_]
    value_usd_per_token: NDArray[np.float64]
    outside_value_frac: NDArray[np.float64]
    latency_frac: NDArray[np.float64]
    queries: NDArray[np.float64]
    tokens_per_query: NDArray[np.float64]
    weight: NDArray[np.float64]
    difficulty_kappa: NDArray[np.float64]
    hard_frac: NDArray[np.float64]
    hard_extra_oom: NDArray[np.float64]
    n_segments: int
    nest_frac: float
    slope_per_oom: float
    plan_allowance: float

    @property
    def plain_tokens(self) -> NDArray[np.float64]:
        """``(m,)`` plain-answer tokens of each customer's work a month."""
        return self.queries * self.tokens_per_query

    @functools.cached_property
    def ease(self) -> Ease:
        """Per-customer factors of task success."""
        return Ease(
            self.difficulty_kappa,
            self.hard_frac,
            self.hard_extra_oom,
            slope_per_oom=self.slope_per_oom,
        )


@dataclass(frozen=True)
class Rivals:
    """This month's offerings as deciding firms see them, with their nest terms on the
    sample at the moments valuations look at (computed once a month: every deciding firm
    of the month shares them and leaves out its own, :meth:`log_weight`)."""

    offers: Offers
    #: ``(t, j, m)`` each offering's nest weight ``exp(z / lambda - shift)`` per sampled
    #: customer at each moment (0 where it is not sold to the customer).
    weight: NDArray[np.float64]
    #: ``(t, m)`` the largest ``z / lambda`` of any offering (0 where none is sold).
    shift: NDArray[np.float64]

    @classmethod
    def build(
        cls,
        offers: Offers,
        sample: CustomerSample,
        *,
        elasticity: float,
        kappa_shift: NDArray[np.float64],
        cost_factor: NDArray[np.float64],
    ) -> Rivals:
        """Rivals' capability raised by ``kappa_shift`` ``(t,)`` OOM and prices scaled by
        ``cost_factor`` ``(t,)``."""
        seg = sample.segment
        kappa = offers.kappa.T[:, seg]  # (j, m)
        success = sample.ease.success(
            sample.ease.factor(kappa[None] + kappa_shift[:, None, None])
        )  # (t, j, m)
        plain = sample_segment_tokens(sample)
        latency = offers.latency_s_per_query(plain)[seg].T  # (j, m)
        served = offers.served_frac[:, None] * np.where(
            offers.plan[:, None],
            np.minimum(1.0, offers.allowance_queries[:, None] / sample.queries),
            1.0,
        )
        units = np.where(
            offers.plan[:, None],
            1.0 / sample.plain_tokens,
            offers.inference_multiplier[seg].T,
        )  # price -> price per plain token
        fee = np.where(offers.free, 1.0, offers.price_usd)  # a free plan is left out below
        price = fee[:, None] * units * cost_factor[:, None, None]  # (t, j, m)
        z = utility_z(
            sample.value_usd_per_token,
            success,
            sample.outside_value_frac,
            sample.latency_frac * latency,
            price,
            served,
            elasticity=elasticity,
        )
        z = z + offers.brand_utility[None, :, None]
        sold = offers.paid.T[:, seg]  # a free plan is no rival for money (agents.funnel)
        z = np.where(sold[None], z / sample.nest_frac, -np.inf)
        top = z.max(axis=1, initial=-np.inf)
        shift = np.where(np.isfinite(top), top, 0.0)
        return cls(offers, np.exp(z - shift[:, None, :]), shift)

    def log_weight(self, own: NDArray[np.bool_] | None) -> NDArray[np.float64]:
        """``(t, m)`` ``log sum exp(z / lambda)`` over the offerings not ``own`` (the
        exponentials are taken once a month, each firm sums the rows it does not own)."""
        keep = np.ones(self.weight.shape[1]) if own is None else (~own).astype(float)
        with np.errstate(divide="ignore"):
            return self.shift + np.log(np.einsum("j,tjm->tm", keep, self.weight))


def sample_segment_tokens(sample: CustomerSample) -> NDArray[np.float64]:
    """``(s,)`` plain-answer tokens of a query in each segment (1 where nobody was
    sampled)."""
    out = np.ones(sample.n_segments)
    out[sample.segment] = sample.tokens_per_query
    return out


#: Starting markups of the price search: geometric from 5% to 100 times the cost; and
#: the shares of the way (in logarithms) from the cost to the most eager customer's price.
_MARKUPS = np.geomspace(0.05, 100.0, 5)
_REACH = np.array([0.4, 0.6, 0.8, 0.95])


def line_profit_usd(
    lines: list[tuple[Product, ...]],
    sample: CustomerSample,
    rivals_log_weight: NDArray[np.float64],
    *,
    elasticity: float,
    kappa_shift: NDArray[np.float64],
    cost_factor: NDArray[np.float64],
    iterations: int = 4,
) -> NDArray[np.float64]:
    """Monthly variable profit (USD) of each line at its jointly optimal prices, ``(t, L)``.

    At each of ``t`` moments (products' costs scaled by ``cost_factor``; rivals as in
    ``rivals_log_weight`` ``(t, m)``) each line prices its per-token offerings (one price
    per token for every usage customer) and its plans jointly: the best of a few uniform
    markups over cost, then ``iterations`` steps on the multi-product first-order
    condition (:func:`aimarket.markets.pricing.line_best_response`); the value is the best
    profit seen. No customer sees both a per-token offering and a plan, so the two price
    a line's usage and subscription customers separately and their profits add.
    """
    t = kappa_shift.shape[0]
    out = np.zeros((t, len(lines)))
    if not lines or t == 0:
        return out
    for plans in (False, True):
        block = _Block.build(lines, sample, plans=plans)
        if block is not None:
            out += block.profit(
                sample,
                rivals_log_weight,
                elasticity=elasticity,
                kappa_shift=kappa_shift,
                cost_factor=cost_factor,
                iterations=iterations,
            )[0]
    return out


def line_prices_usd(
    line: tuple[Product, ...],
    sample: CustomerSample,
    rivals_log_weight: NDArray[np.float64],
    *,
    elasticity: float,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The line's most profitable prices now, as :func:`line_profit_usd` finds them:
    ``(per_token, plan)``, each ``(k,)`` over the line's products (USD per token; USD per
    month for a product's plan, NaN for a product without one or a block nobody buys).
    ``rivals_log_weight`` is ``(m,)``."""
    out = []
    rival = np.asarray(rivals_log_weight, dtype=float)[None, :]
    for plans in (False, True):
        prices = np.full(len(line), np.nan)
        block = _Block.build([line], sample, plans=plans)
        if block is not None:
            _, best = block.profit(
                sample,
                rival,
                elasticity=elasticity,
                kappa_shift=np.zeros(1),
                cost_factor=np.ones(1),
                iterations=4,
            )
            rows = [k for k, product in enumerate(line) if product.plan or not plans]
            prices[rows] = best[0, 0, : len(rows)]
        out.append(prices)
    return out[0], out[1]


@dataclass(frozen=True, slots=True)
class _Block:
    """Every line's per-token offerings over the usage customers, or its plans over the
    subscribers: padded ``(L, r, ...)`` arrays (padding rows are sold to nobody)."""

    customers: NDArray[np.intp]  # (m,) columns of the sample
    kappa: NDArray[np.float64]  # (L, r, m) capability for each customer's segment
    latency: NDArray[np.float64]  # (L, r, m) seconds waited per query
    served: NDArray[np.float64]  # (L, r, m) share of the work served
    sold: NDArray[np.bool_]  # (L, r, m)
    pay: NDArray[np.float64]  # (L, r, m) units of price paid
    serve: NDArray[np.float64]  # (L, r, m) tokens served
    units: NDArray[np.float64]  # (L, r, m) units of price per plain token
    cost: NDArray[np.float64]  # (L, r) USD per token
    unit: NDArray[np.float64]  # (L, r) cost per unit of price (start of the search)
    brand: NDArray[np.float64]  # (L, r) utility its seller's brand adds

    @classmethod
    def build(cls, lines: list[tuple[Product, ...]], sample: CustomerSample, *, plans: bool):
        """The block of ``plans`` (or per-token offerings); None if no line sells one."""
        cols = np.flatnonzero(sample.subscription if plans else ~sample.subscription)
        specs = [[p for p in line if p.plan or not plans] for line in lines]
        r = max((len(x) for x in specs), default=0)
        if r == 0 or cols.size == 0:
            return None
        seg = sample.segment[cols]
        q, tokens = sample.queries[cols], sample.tokens_per_query[cols]
        n_lines, m = len(lines), cols.size
        at = [(li, ri) for li, line in enumerate(specs) for ri in range(len(line))]
        where = tuple(np.array(at, dtype=np.intp).T)  # (line, row) of each product
        products = [p for line in specs for p in line]
        mult = np.array([p.multiplier for p in products])[:, seg]  # (n, m)
        usd = np.array([p.usd_per_token for p in products])
        only = np.array([-1 if p.segment is None else p.segment for p in products])
        kappa, latency = np.zeros((2, n_lines, r, m))
        served, units = np.ones((2, n_lines, r, m))
        sold = np.zeros((n_lines, r, m), dtype=bool)
        pay, serve = np.zeros((2, n_lines, r, m))
        cost, unit = np.ones((2, n_lines, r))
        brand = np.zeros((n_lines, r))
        brand[where] = [p.brand_utility for p in products]
        kappa[where] = np.array([p.kappa for p in products])[:, seg]
        wait = np.array([p.latency_s_per_token for p in products])
        latency[where] = tokens * mult * wait[:, None]
        sold[where] = (only[:, None] < 0) | (seg == only[:, None])
        cost[where] = usd
        if plans:
            allowance = np.minimum(q, sample.plan_allowance)
            served[where] = allowance / q
            pay[where] = 1.0
            serve[where] = allowance * tokens * mult
            units[where] = 1.0 / (q * tokens)
            w = sample.weight[cols] * sold[where]
            total = w.sum(axis=1)
            mean = (w * serve[where]).sum(axis=1) / np.where(total > 0, total, 1.0)
            unit[where] = usd * np.where(total > 0, mean, 1.0)
        else:
            pay[where] = serve[where] = q * tokens * mult
            units[where] = mult
            unit[where] = usd
        return cls(cols, kappa, latency, served, sold, pay, serve, units, cost, unit, brand)

    def profit(
        self,
        sample: CustomerSample,
        rivals_log_weight: NDArray[np.float64],
        *,
        elasticity: float,
        kappa_shift: NDArray[np.float64],
        cost_factor: NDArray[np.float64],
        iterations: int,
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """``(t, L)`` each line's best monthly profit on this block's customers, and the
        ``(t, L, r)`` prices that earn it."""
        t, n_lines = kappa_shift.shape[0], self.cost.shape[0]
        line, moment = np.tile(np.arange(n_lines), t), np.repeat(np.arange(t), n_lines)
        cols, factor = self.customers, cost_factor[moment]
        ease = sample.ease
        # (P, r, m) the log of what each offering gains each customer per plain token, at
        # a price of 1 per unit of price.
        success = success_from_odds(
            ease.factor(self.kappa[line] + kappa_shift[moment][:, None, None]),
            (ease.routine[cols], ease.hard[cols]),
            (1.0 - ease.hard_frac[cols], ease.hard_frac[cols]),
        )
        base = utility_z(
            sample.value_usd_per_token[cols],
            success,
            sample.outside_value_frac[cols],
            sample.latency_frac[cols] * self.latency[line],
            self.units[line],
            self.served[line],
            elasticity=elasticity,
        )
        base += self.brand[line][:, :, None]
        base[~self.sold[line]] = -np.inf
        unit = self.unit[line] * factor[:, None]  # (P, r)
        # Starting prices, at the first moment: every offering at the same markup over its
        # own cost; every offering at the same price (a markup over the line's dearest
        # cost: a cheap version priced close to the flagship, so as not to take its
        # customers); and prices reaching toward the most eager customer's (where only the
        # most valuable work still buys: customers' values span orders of magnitude, so a
        # line's profit can peak there). Later moments start from the first's best,
        # scaled with costs.
        first = moment == 0
        sold = np.isfinite(base).any(axis=2)
        dearest = np.where(sold, unit, 0.0).max(axis=1, keepdims=True)
        # The price at which the most eager customer's value for money is 1 (z = 0).
        eager = np.exp(np.max(base, axis=2, initial=-np.inf) / elasticity)
        top = np.maximum(eager, 2.0 * unit)
        grid = (1.0 + _MARKUPS)[None, :, None]
        reach = (top / unit)[first][:, None, :] ** _REACH[None, :, None]
        families = [unit[first][:, None, :] * grid, unit[first][:, None, :] * reach]
        if unit.shape[1] > 1:  # with one offering a line, the same price is the same markup
            families.insert(1, np.maximum(unit, dearest)[first][:, None, :] * grid)
        value, best_price = line_search(
            base,
            self.pay[line],
            self.serve[line],
            self.cost[line] * factor[:, None],
            unit,
            10.0 * top,
            rivals_log_weight[moment][:, cols],
            sample.weight[cols],
            np.concatenate(families, axis=1),  # (L, G, r)
            factor / cost_factor[0],
            nest_frac=sample.nest_frac,
            elasticity=elasticity,
            iterations=iterations,
        )
        r = best_price.shape[-1]
        # A line can always price itself out of the market: its value is never negative.
        return np.maximum(value, 0.0).reshape(t, n_lines), best_price.reshape(t, n_lines, r)
