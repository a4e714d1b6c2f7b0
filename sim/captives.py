"""Make or buy in a run (docs/model.md, "Make or buy"): *when* a segment's big buyers
review whether to own a model, and what follows; the decision is
:mod:`aimarket.agents.captive`'s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from aimarket.agents.captive import (
    Captive,
    CaptiveOption,
    buy_usd_per_success,
    captive_options,
    make_or_buy_values,
    trend_usd,
)
from aimarket.agents.context import MarketContext
from aimarket.agents.strategy import Candidate, Horizon, choose_project, horizon_for
from aimarket.sim.clock import Phase, at_phase
from aimarket.sim.processes import Process, exit_firm, start_project

if TYPE_CHECKING:
    from aimarket.sim.model import MarketModel

__all__ = ["buyers", "review_segment"]


def buyers(model: MarketModel) -> Process:
    """Strategy phase, every ``strategy.review_months`` from the first month served: the
    buyers of each segment of ``demand.captive.segments`` review make or buy."""
    names = model.customers.segment_names
    segments = [names.index(n) for n in model.params.demand.captive.segments]
    if not segments:
        return
    seen: dict[int, list[tuple[float, float]]] = {g: [] for g in segments}
    yield at_phase(model.env, 1, Phase.STRATEGY)
    while True:
        ctx = model.context()
        for g in segments:
            review_segment(model, ctx, g, seen[g])
        yield at_phase(model.env, model.params.strategy.review_months, Phase.STRATEGY)


def review_segment(
    model: MarketModel, ctx: MarketContext, g: int, seen: list[tuple[float, float]]
) -> None:
    """Segment ``g``'s buyers close their captive once keeping it saves nothing more over
    the horizon (its cost sunk, at this month's GPU prices); without one, they build the
    option worth most over buying, if any is (bounded rationality, against 0). They
    expect the market to get cheaper by the faster of the frontier's pace and the trend
    they have ``seen`` (``(month, USD)`` at their earlier reviews; this one's is
    appended)."""
    buy = buy_usd_per_success(ctx, g)
    seen.append((float(ctx.month), buy))
    owner = next(
        (f for f in model.firms if f.active and isinstance(f, Captive) and f.segment == g), None
    )
    if owner is not None:
        keep = owner.keep_option(ctx)
        if keep is not None and _values(model, ctx, g, [keep], seen)[0] <= 0:
            exit_firm(model, owner, reason="buy")
        return
    options = captive_options(ctx, g)
    if not options or not np.isfinite(buy):
        return
    pick = choose_project(
        _values(model, ctx, g, options, seen),
        rng=model.streams["captives"],
        rationality_frac=model.params.strategy.rationality_frac,
    )
    if pick is not None:
        _found(model, g, options[pick].candidate, horizon_for(ctx, 0.0))


def _values(
    model: MarketModel,
    ctx: MarketContext,
    g: int,
    options: list[CaptiveOption],
    seen: list[tuple[float, float]],
) -> np.ndarray:
    """What owning each option saves segment ``g``'s members over buying (USD)."""
    buy = seen[-1][1]
    if not np.isfinite(buy):
        return np.full(len(options), np.inf)  # nothing to buy: owning is the only way
    horizon = horizon_for(ctx, 0.0)
    later = buy_usd_per_success(
        ctx,
        g,
        kappa_shift_oom=horizon.kappa_growth_oom_per_month * horizon.months,
        price_factor=(1.0 - horizon.cost_decline_per_month) ** horizon.months,
    )
    trend = trend_usd(seen[:-1], month=ctx.month, usd=buy, months_ahead=horizon.months)
    if trend is not None:
        later = min(later, trend)
    members = model.params.demand.captive.members_frac
    return make_or_buy_values(
        options,
        queries_per_month=members * ctx.usage_tokens_by_segment[g] / ctx.profile.tokens[g],
        buy_now_usd=buy,
        buy_later_usd=later,
        horizon=horizon,
    )


def _found(model: MarketModel, g: int, cand: Candidate, horizon: Horizon) -> None:
    """The members fund the project and the model's upkeep over the horizon."""
    firm = Captive(model, segment=g, cash_usd=0.0, founded_month=model.env.now)
    firm.candidate = cand
    firm.receive_funding(cand.outlay_usd + horizon.upkeep_usd_per_month * horizon.months)
    model.firms.add(firm)
    model.entries_this_month += 1
    model.state_version += 1
    name = model.customers.segment_names[g]
    model.event(firm, "entry", amount_usd=firm.cash_usd, detail=f"captive {name}")
    start_project(model, firm, cand)
