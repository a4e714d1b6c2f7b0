"""The simulation's simpy processes: plain generator functions of the model.

Monthly processes wake once a month in their phase (see :mod:`sim.clock`): hardware and
the GPU market, then model ageing and exits, in the state phase; strategy reviews and
pricing in the strategy phase; then clearing; then recording. Training runs are processes
that hold GPUs for months; startups arrive as a Poisson stream at any time.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING

import numpy as np
import simpy

from aimarket.agents.business import BusinessModel, TrainedModel
from aimarket.agents.firms import Firm, Project, Startup
from aimarket.agents.policies import funding_offer_usd
from aimarket.agents.strategy import Candidate, choose_project, value_candidates
from aimarket.markets.costs import HOURS_PER_MONTH
from aimarket.markets.scaling import capability_index
from aimarket.sim.clock import Phase, at_phase
from aimarket.sim.market import clear_market, set_prices
from aimarket.sim.observe import observe
from aimarket.sim.projects import (
    SECONDS_PER_MONTH,
    build_candidates,
    incumbent_candidate,
    market_view,
    training_plan,
)

if TYPE_CHECKING:
    from aimarket.sim.model import MarketModel

__all__ = [
    "arrivals",
    "hardware",
    "housekeeping",
    "launch",
    "release_open_weights",
    "review",
    "start_processes",
    "training",
]

Process = Generator[simpy.events.Event, None, None]


def hardware(model: MarketModel) -> Process:
    """State phase: GPU supply grows; this month's technology and rental price."""
    while True:
        model.gpus.grow_to(model.env.now)
        model.refresh_technology()
        yield model.env.timeout(1)


def housekeeping(model: MarketModel) -> Process:
    """State phase (after hardware): models age out, broke firms raise money or exit."""
    yield at_phase(model.env, 0, Phase.HOUSEKEEPING)
    while True:
        month = model.month
        life = model.params.firms.model_life_months
        release_open_weights(model)
        for firm in [f for f in model.firms if f.active and f not in model.fringe]:
            t = firm.trained
            wrapper = t is not None and t.business_model is BusinessModel.WRAPPER
            if t is not None and not wrapper and month - t.launched_month >= life:
                model.event(firm, "retire", detail=f"model {t.model_id}")
                firm.trained = None
            if firm.cash_usd < 0 and not _raise(model, firm, -firm.cash_usd, reason="bridge"):
                exit_firm(model, firm, reason="cash")
                continue
            if firm.trained is None and firm.project is None:
                firm.idle_months += 1
                if firm.idle_months >= model.params.firms.idle_exit_months:
                    exit_firm(model, firm, reason="idle")
            else:
                firm.idle_months = 0
        yield at_phase(model.env, 1, Phase.HOUSEKEEPING)


def release_open_weights(model: MarketModel) -> None:
    """Each open-weights fringe firm serves the capability of the most capable lab model
    launched at least ``firms.open_weights.lag_months`` ago (less its ``gap_oom``), in a
    model re-trained at this month's algorithmic efficiency: the same capability needs
    ``A(then) / A(now)`` of the compute, so (Chinchilla, ``N ~ C**0.5``) ``sqrt`` of that
    many parameters, times its ``params_frac``."""
    if not model.fringe:
        return
    due = model.month - model.params.firms.open_weights.lag_months
    released = [t for t in model.lab_models if t.launched_month <= due]
    if not released:
        return
    best = max(released, key=lambda t: t.kappa)
    now = float(model.training_multiplier_at(model.month))
    for fringe in model.fringe:
        if fringe.source is None or best.kappa > fringe.source.kappa:
            fringe.source = best
            fringe.trained = dataclasses.replace(
                best,
                model_id=model.next_model_id(),
                firm_id=fringe.firm_id,
                business_model=BusinessModel.OPEN_WEIGHTS,
                cost_usd=0.0,
                launched_month=model.month,
                kappa=best.kappa - fringe.gap_oom,
                params=best.params * fringe.params_frac,
            )
            model.record_model(fringe.trained)
            model.event(fringe, "launch", detail=f"open weights of model {best.model_id}")
        src = fringe.source
        then = float(model.training_multiplier_at(max(src.launched_month, 0)))
        fringe.trained = dataclasses.replace(
            fringe.trained, params=src.params * fringe.params_frac * (then / now) ** 0.5
        )


def exit_firm(model: MarketModel, firm: Firm, *, reason: str) -> None:
    """A firm leaves: offerings withdrawn, GPUs of a running project released."""
    firm.active = False
    firm.exit_month = model.month
    model.exits_this_month += 1
    if firm.project is not None:
        if firm.project.gpus > 0:
            model.gpus.free.put(firm.project.gpus)
        firm.project = None
    model.event(firm, "exit", amount_usd=firm.cash_usd, detail=reason)


def _raise(model: MarketModel, firm: Firm, need_usd: float, *, reason: str) -> bool:
    """Raise ``need_usd`` (plus the reserve) if investors will put it in; True on success.

    Bridge rounds (a firm out of cash) are priced on traction alone; a lab's base round is
    available only to fund a new project.
    """
    fin = model.params.finance
    amount = need_usd + model.reserve_usd(firm)
    if amount <= 0:
        return True
    last = firm.last_round_month
    if last is not None and model.month - last < fin.months_between_rounds:
        return False  # investors will not come back so soon
    offer = funding_offer_usd(
        annual_revenue_usd=firm.annual_revenue_usd,
        revenue_multiple=fin.revenue_multiple,
        base_round_usd=fin.lab_round_usd if firm.kind == "lab" and reason == "project" else 0.0,
        capital_market_index=fin.capital_market_index,
        dilution_frac=fin.dilution_frac,
    )
    if offer < amount:
        return False
    firm.receive_funding(amount)
    firm.last_round_month = model.month
    model.event(firm, "funding", amount_usd=amount, detail=reason)
    return True


def review(model: MarketModel, firm: Firm, *, first_delay: float) -> Process:
    """Strategy phase, every ``strategy.review_months``: choose a project, or wait."""
    yield at_phase(model.env, first_delay, Phase.STRATEGY)
    while firm.active:
        if firm.project is None:
            decide(
                model,
                firm,
                model.params.firms.business_models
                if firm.kind == "lab"
                else model.params.entry.business_models,
            )
        yield at_phase(model.env, model.params.strategy.review_months, Phase.STRATEGY)


def _affordable(
    model: MarketModel, cash_usd: float, candidates: list[Candidate], firm: Firm | None
):
    fin = model.params.finance
    offer = 0.0
    if firm is not None:
        last = firm.last_round_month
        if last is None or model.month - last >= fin.months_between_rounds:
            offer = funding_offer_usd(
                annual_revenue_usd=firm.annual_revenue_usd,
                revenue_multiple=fin.revenue_multiple,
                base_round_usd=fin.lab_round_usd if firm.kind == "lab" else 0.0,
                capital_market_index=fin.capital_market_index,
                dilution_frac=fin.dilution_frac,
            )
    budget = cash_usd + offer
    return np.array([c.cost_usd <= budget for c in candidates], dtype=bool)


def _values(
    model: MarketModel,
    candidates: list[Candidate],
    firm_id: int,
    incumbent: Candidate | None = None,
    fixed_cost_usd_per_month: float = 0.0,
) -> tuple[np.ndarray, float]:
    st = model.params.strategy
    view = market_view(model, model.offers, exclude_firm=firm_id)
    return value_candidates(
        candidates,
        view,
        horizon_months=st.payback_months,
        discount_per_month=(1.0 + st.discount_rate_per_year) ** (-1.0 / 12.0),
        kappa_growth_oom_per_month=model.frontier_growth_oom_per_month(),
        cost_decline_per_month=model.cost_decline_per_month,
        incumbent=incumbent,
        fixed_cost_usd_per_month=fixed_cost_usd_per_month,
    )


def decide(model: MarketModel, firm: Firm, business_models: tuple[BusinessModel, ...]) -> None:
    """Value the firm's candidate projects against keeping its current offering, and start
    the one it picks, if any."""
    candidates = build_candidates(model, business_models, exclude_firm=firm.firm_id)
    if not candidates:
        return
    # Only affordable candidates are valued (the others could never be picked).
    affordable = _affordable(model, firm.cash_usd, candidates, firm)
    values = np.full(len(candidates), -np.inf)
    values[affordable], keep = _values(
        model,
        [c for c, ok in zip(candidates, affordable, strict=True) if ok],
        firm.firm_id,
        incumbent_candidate(model, firm),
        model.opex_usd(firm),
    )
    pick = choose_project(
        values,
        rng=model.streams["firms"],
        rationality_frac=model.params.strategy.rationality_frac,
        keep=keep,
    )
    if pick is not None:
        start_project(model, firm, candidates[pick])


def start_project(model: MarketModel, firm: Firm, cand: Candidate) -> None:
    """Fund and start a project: a training process, or (wrappers) switch supply now."""
    shortfall = cand.cost_usd + model.reserve_usd(firm) - firm.cash_usd
    if shortfall > 0 and not _raise(
        model, firm, shortfall - model.reserve_usd(firm), reason="project"
    ):
        return
    if cand.business_model is BusinessModel.WRAPPER:
        # Building the scaffolding is paid now, like a (short) training run.
        firm.month_training_usd += cand.cost_usd
        launch(
            model,
            firm,
            cand,
            kappa=cand.base_kappa,
            cost_usd=cand.cost_usd,
            detail=f"wrapper of firm {cand.supplier_id}",
            frontier_kappa_at_launch=model.frontier_kappa,
        )
        return
    model.env.process(training(model, firm, cand))


def launch(
    model: MarketModel,
    firm: Firm,
    cand: Candidate,
    *,
    kappa: float,
    cost_usd: float,
    detail: str,
    frontier_kappa_at_launch: float | None = None,
) -> None:
    """A project's model goes on sale: it replaces the firm's current one."""
    firm.business_model = cand.business_model
    firm.trained = TrainedModel(
        model_id=model.next_model_id(),
        firm_id=firm.firm_id,
        business_model=cand.business_model,
        allocation=cand.allocation,
        params=cand.params,
        train_tokens=cand.train_tokens,
        train_flop=cand.train_flop,
        cost_usd=cost_usd,
        launched_month=model.month,
        kappa=kappa,
        max_inference_multiplier=cand.max_inference_multiplier,
        segment=cand.segment,
        supplier_id=cand.supplier_id,
        frontier_kappa_at_launch=frontier_kappa_at_launch,
    )
    model.record_model(firm.trained)
    model.event(firm, "launch", amount_usd=cost_usd if cost_usd > 0 else None, detail=detail)


def training(model: MarketModel, firm: Firm, cand: Candidate) -> Process:
    """A training run: hold GPUs, pay rent monthly, launch the model when the FLOP are done.

    The run waits (paying nothing) until at least a quarter of its planned GPUs are free,
    then takes up to its plan.
    """
    hw = model.params.hardware
    project = Project(candidate=cand, started_month=model.env.now, gpus=0.0)
    firm.project = project
    planned = float(training_plan(cand.train_flop, model)[0])
    while model.gpus.free.level < 0.25 * planned:
        yield model.env.timeout(1)  # too few GPUs free: wait for next month's supply
        if not firm.active or firm.project is not project:
            return
    gpus = min(planned, model.gpus.free.level)
    yield model.gpus.free.get(gpus)
    project.gpus = gpus
    if not firm.active:  # exited while the request was served
        model.gpus.free.put(gpus)
        return
    model.event(
        firm,
        "training_start",
        amount_usd=cand.cost_usd,
        detail=f"{cand.business_model.value} {cand.allocation.value} {cand.train_flop:.3g} FLOP",
    )
    while project.flop_done < cand.train_flop:
        tech = model.technology
        per_month = gpus * tech.peak_flop_per_s * hw.training_mfu_frac * SECONDS_PER_MONTH
        frac = min(1.0, (cand.train_flop - project.flop_done) / per_month)
        spend = gpus * HOURS_PER_MONTH * frac * tech.usd_per_gpu_hour
        project.flop_done += per_month * frac
        project.spent_usd += spend
        firm.month_training_usd += spend
        yield model.env.timeout(1)
        if not firm.active or firm.project is not project:
            return
    model.gpus.free.put(gpus)
    firm.project = None
    # Capability is credited with algorithmic progress up to the launch month; a
    # specialist's is fixed by its teacher.
    kappa = (
        cand.base_kappa
        if cand.business_model is BusinessModel.SPECIALIST
        else float(
            capability_index(
                cand.params,
                cand.train_tokens,
                algorithmic_multiplier=model.training_multiplier_at(model.month),
            )
        )
    )
    launch(
        model,
        firm,
        cand,
        kappa=kappa,
        cost_usd=project.spent_usd,
        detail=cand.business_model.value,
    )


def arrivals(model: MarketModel) -> Process:
    """Startups consider entering as a Poisson stream; one enters only if its best
    affordable project has positive expected value and it can raise the money."""
    entry, fin = model.params.entry, model.params.finance
    if entry.startup_arrivals_per_year <= 0:
        return
    rng = model.streams["entry"]
    while True:
        yield model.env.timeout(rng.exponential(12.0 / entry.startup_arrivals_per_year))
        capital = (
            fin.venture_round_usd
            * fin.capital_market_index
            * float(np.exp(fin.venture_round_log_sd * rng.standard_normal()))
        )
        if capital <= 0 or model.offers is None:
            continue
        candidates = build_candidates(model, entry.business_models)
        if not candidates:
            continue
        opex = model.params.finance.startup_opex_usd_per_month
        affordable = np.array([c.cost_usd <= capital for c in candidates])
        values = np.full(len(candidates), -np.inf)
        if affordable.any():
            values[affordable], _ = _values(
                model,
                [c for c, ok in zip(candidates, affordable, strict=True) if ok],
                firm_id=0,
                fixed_cost_usd_per_month=opex,
            )
        pick = choose_project(
            values, rng=rng, rationality_frac=model.params.strategy.rationality_frac
        )
        if pick is None:
            continue
        firm = Startup(
            model,
            business_model=candidates[pick].business_model,
            cash_usd=0.0,
            founded_month=model.env.now,
        )
        firm.receive_funding(capital)
        firm.last_round_month = model.month
        model.firms.append(firm)
        model.entries_this_month += 1
        model.event(firm, "entry", amount_usd=capital, detail=candidates[pick].business_model.value)
        start_project(model, firm, candidates[pick])
        review_delay = float(model.params.strategy.review_months)
        model.env.process(review(model, firm, first_delay=review_delay))


def _monthly(model: MarketModel, phase: Phase, action: Callable[[MarketModel], None]) -> Process:
    yield at_phase(model.env, 0, phase)
    while True:
        action(model)
        yield at_phase(model.env, 1, phase)


def _price(model: MarketModel) -> None:
    model.offers = set_prices(model)


def _clear(model: MarketModel) -> None:
    model.outcome = clear_market(model)


def start_processes(model: MarketModel) -> None:
    """Start every process of a run (the start order does not matter: phases do)."""
    env = model.env
    env.process(hardware(model))
    env.process(housekeeping(model))
    for k, firm in enumerate(f for f in model.firms if f not in model.fringe):
        delay = k % model.params.strategy.review_months
        env.process(review(model, firm, first_delay=delay))
    env.process(_monthly(model, Phase.PRICING, _price))
    env.process(_monthly(model, Phase.CLEARING, _clear))
    env.process(_monthly(model, Phase.RECORDING, observe))
    env.process(arrivals(model))
