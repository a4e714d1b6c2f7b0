"""Strategy reviews: candidate projects, their value to the firm, and the choice.

A project yields new products (a flagship, a smaller distilled version, a specialist or a
wrapper's product). Its value is what the firm's whole line earns with the new products
from their launch, against what the line earns as it is, over a payback horizon, minus
what the project costs (:func:`value_candidates`); a firm then picks among its candidates
and keeping things as they are with bounded rationality (:func:`choose_project`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from aimarket.agents.business import Allocation, BusinessModel
from aimarket.agents.context import MarketContext
from aimarket.agents.valuation import CustomerSample, Product, line_profit_usd

__all__ = [
    "Candidate",
    "Horizon",
    "choose_entry",
    "choose_project",
    "horizon_for",
    "pick_project",
    "value_candidates",
]


@dataclass(frozen=True, slots=True)
class Candidate:
    """A project a firm could start now.

    ``products`` are what it puts on sale at launch (for a training project, its flagship
    first). ``params``, ``train_tokens``, ``train_flop`` and ``base_kappa`` describe the
    model it trains (the student, for a distillation); ``max_inference_multiplier`` is
    the most reasoning effort it is trained for (1: none). ``teacher_id`` is the model a
    distillation learns from, ``supplier_id`` the firm whose tokens a wrapper resells,
    ``segment`` a specialist's only segment. ``research_usd`` is what the experiments a
    flagship run needs alongside it cost at today's prices (``cost_usd`` is the final run's);
    ``outlay_usd`` the two together, what the firm must fund. ``lead_oom`` is what a
    distillation keeps of its teacher's segment leads (a pre-training run's are drawn at
    launch, unknown before). ``posttrain_flop`` is the part of ``train_flop`` spent on
    post-training, ``post_gain_oom`` the capability it adds
    (:meth:`aimarket.agents.params.PostTrainingParams.split`), and
    ``expected_inference_flop`` what the firm expects its flagship to serve over the
    payback horizon (its share of last month's tokens, ``2 * params`` FLOP a token).
    """

    business_model: BusinessModel
    allocation: Allocation
    params: float
    train_tokens: float
    train_flop: float
    base_kappa: float
    max_inference_multiplier: float
    cost_usd: float
    months_to_launch: float
    products: tuple[Product, ...]
    segment: int | None = None
    supplier_id: int | None = None
    teacher_id: int | None = None
    research_usd: float = 0.0
    lead_oom: tuple[float, ...] = ()
    posttrain_flop: float = 0.0
    post_gain_oom: float = 0.0
    expected_inference_flop: float | None = None

    @property
    def outlay_usd(self) -> float:
        """The final run and its research, USD."""
        return self.cost_usd + self.research_usd

    def branded(self, brand_utility: float) -> Candidate:
        """The project as its firm values it: its products sold under the firm's brand."""
        if brand_utility == 0:
            return self
        products = tuple(replace(p, brand_utility=brand_utility) for p in self.products)
        return replace(self, products=products)


@dataclass(frozen=True, slots=True)
class Horizon:
    """How far ahead and how a firm looks: ``months`` of payback, a monthly discount
    factor, the frontier's capability growth (OOM a month) and the fall of costs (a
    fraction a month) it expects, and its fixed cost and each model's upkeep (USD a
    month)."""

    months: int
    discount_per_month: float
    kappa_growth_oom_per_month: float
    cost_decline_per_month: float
    fixed_cost_usd_per_month: float = 0.0
    upkeep_usd_per_month: float = 0.0


def value_candidates(
    candidates: list[Candidate],
    sample: CustomerSample,
    rivals_log_weight: NDArray[np.float64],
    horizon: Horizon,
    *,
    line: tuple[Product, ...] = (),
    elasticity: float,
) -> tuple[NDArray[np.float64], float]:
    """Expected value (USD) of each candidate, and of keeping the line as it is.

    The firm's line (``line``: what it sells now, empty for a would-be entrant) earns its
    monthly profit until a candidate launches and the line with the candidate's products
    earns after, both priced jointly at their best (:func:`line_profit_usd`), from the
    start to the end of the horizon (rivals' capability growing at the frontier's pace,
    costs and prices falling; interpolated between the two moments) and discounted; minus
    the candidate's cost and the new products' upkeep. Keeping the line is worth its own
    discounted profit. The fixed cost over the horizon comes off every option, so that
    staying out (value 0) wins when the market cannot carry the firm. ``rivals_log_weight``
    is ``(2, m)``: the rivals' nest weight on the sample now and at the horizon's end.

    Returns
    -------
    values : ndarray
        ``(k,)`` USD.
    keep : float
        USD.
    """
    points = np.array([0.0, float(horizon.months)])
    lines = [line, *(line + c.products for c in candidates)]
    profits = line_profit_usd(
        lines,
        sample,
        rivals_log_weight,
        elasticity=elasticity,
        kappa_shift=horizon.kappa_growth_oom_per_month * points,
        cost_factor=(1.0 - horizon.cost_decline_per_month) ** points,
    )  # (2, 1 + k)
    months = np.arange(horizon.months, dtype=float)
    path = profits[0][:, None] + np.multiply.outer(profits[1] - profits[0], months / points[1])
    discount = horizon.discount_per_month**months
    fixed = horizon.fixed_cost_usd_per_month * float(discount.sum())
    keep_path = path[0] * discount
    if not candidates:
        return np.empty(0), float(keep_path.sum()) - fixed
    lead = np.array([c.months_to_launch for c in candidates])
    live = months[None, :] >= lead[:, None]  # (k, horizon): earns from launch on
    new = np.array([len(c.products) for c in candidates], dtype=float)
    upkeep = horizon.upkeep_usd_per_month * new[:, None] * live
    after = (path[1:] - upkeep) * discount
    values = np.where(live, after, keep_path[None, :]).sum(axis=1)
    values -= np.array([c.outlay_usd for c in candidates]) + fixed
    return values, float(keep_path.sum()) - fixed


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


def choose_entry(
    ctx: MarketContext, capital_usd: float, rng: np.random.Generator
) -> Candidate | None:
    """A would-be entrant's decision: its best affordable project of the entry business
    models, if worth more than staying out (the logit of :func:`choose_project` against 0)."""
    return pick_project(
        ctx,
        ctx.candidates(ctx.params.entry.business_models),
        budget_usd=capital_usd,
        firm_id=None,
        opex_usd_per_month=ctx.params.finance.startup_opex_usd_per_month,
        line=None,
        rng=rng,
    )


def pick_project(
    ctx: MarketContext,
    candidates: list[Candidate],
    *,
    budget_usd: float,
    firm_id: int | None,
    opex_usd_per_month: float,
    line: tuple[Product, ...] | None,
    rng: np.random.Generator,
) -> Candidate | None:
    """The affordable candidate chosen with bounded rationality against keeping the line
    as it is (``line``; None: against staying out, a value of 0), or None."""
    affordable = [c for c in candidates if c.outlay_usd <= budget_usd]
    if not affordable:
        return None
    values, keep = value_candidates(
        affordable,
        ctx.sample,
        ctx.rivals_log_weight(firm_id),
        horizon_for(ctx, opex_usd_per_month),
        line=line or (),
        elasticity=ctx.params.demand.elasticity,
    )
    pick = choose_project(
        values,
        rng=rng,
        rationality_frac=ctx.params.strategy.rationality_frac,
        keep=keep if line is not None else 0.0,
    )
    return None if pick is None else affordable[pick]


def horizon_for(ctx: MarketContext, fixed_usd_per_month: float) -> Horizon:
    """How a firm with ``fixed_usd_per_month`` of fixed costs looks ahead this month
    (``strategy`` parameters; the frontier's pace and the fall of costs as observed)."""
    st = ctx.params.strategy
    return Horizon(
        months=st.payback_months,
        discount_per_month=(1.0 + st.discount_rate_per_year) ** (-1.0 / 12.0),
        kappa_growth_oom_per_month=ctx.frontier_growth_oom_per_month,
        cost_decline_per_month=ctx.cost_decline_per_month,
        fixed_cost_usd_per_month=fixed_usd_per_month,
        upkeep_usd_per_month=ctx.params.firms.model_upkeep_usd_per_month,
    )
