"""The simulation's simpy processes: *when* things happen, not what is decided.

Monthly processes wake once a month in their phase (see :mod:`aimarket.sim.clock`):
hardware and the GPU market, then housekeeping (open-weights releases, retirements,
exits), in the state phase; strategy reviews in the strategy phase; pricing; clearing;
recording. Training runs are processes that hold GPUs for months; would-be entrants arrive
as a Poisson stream at any time. Every decision is a firm's own
(:mod:`aimarket.agents.firms`), taken from the month's context.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING

import numpy as np
import simpy

from aimarket.agents.business import Allocation, BusinessModel
from aimarket.agents.capacity import ContractUse, contract_use
from aimarket.agents.conduct import CONDUCT
from aimarket.agents.firms import Firm, Project, Startup
from aimarket.agents.products import Model, Role
from aimarket.agents.strategy import Candidate, choose_entry
from aimarket.markets.calendar import add_months
from aimarket.markets.costs import HOURS_PER_MONTH
from aimarket.markets.scaling import capability_index
from aimarket.sim.capacity import book_capacity
from aimarket.sim.clock import Phase, at_phase
from aimarket.sim.market import clear_market, set_prices
from aimarket.sim.observe import observe

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
    """State phase (after hardware): open weights are released, firms withdraw models
    that no longer pay, broke firms raise money or exit, idle ones leave."""
    yield at_phase(model.env, 0, Phase.HOUSEKEEPING)
    while True:
        month, fp = model.month, model.params.firms
        release_open_weights(model)
        for firm in [f for f in model.firms if f.active and f is not model.fringe]:
            for m in firm.retirements(month, fp):
                firm.retire(m)
                model.recorder.retire(m.model_id, month)
                model.event(firm, "retire", detail=f"model {m.model_id}")
                model.state_version += 1
            if firm.cash_usd < 0 and not _raise(model, firm, -firm.cash_usd, reason="bridge"):
                exit_firm(model, firm, reason="cash")
                continue
            if not firm.line and firm.project is None:
                firm.idle_months += 1
                if firm.idle_months >= fp.idle_exit_months:
                    exit_firm(model, firm, reason="idle")
            else:
                firm.idle_months = 0
        yield at_phase(model.env, 1, Phase.HOUSEKEEPING)


def release_weights(model: MarketModel, firm: Firm, released: Model) -> None:
    """A firm releases a model's weights: it leaves the firm's line; the fringe serves it
    from next month (:func:`release_open_weights`)."""
    firm.retire(released)
    model.recorder.retire(released.model_id, model.month)
    model.open_releases.append(released)
    model.state_version += 1
    model.event(firm, "release", detail=f"model {released.model_id}")


def release_open_weights(model: MarketModel) -> None:
    """The fringe serves the family of the most capable model open to it, re-trained at
    this month's algorithmic efficiency (:meth:`aimarket.agents.firms.OpenWeights.family`):
    a lab flagship launched at least the release lag ago (``firms.open_weights.releases =
    "lag"``; the lag in calendar time), or one a firm released (``"decision"``)."""
    fringe = model.fringe
    if fringe is None:
        return
    ow = model.params.firms.open_weights
    if ow.releases == "decision":
        released = list(model.open_releases)
    else:
        due = model.month - ow.lag_months_at(add_months(model.start_month, model.month))
        released = [t for t in model.lab_models if t.launched_month <= due]
    if not released:
        return
    best = max(released, key=lambda t: t.kappa)
    if fringe.source is not None and best.kappa <= fringe.source.kappa:
        best = fringe.source
    fresh = fringe.source is None or best.model_id != fringe.source.model_id
    family = fringe.family(
        best,
        month=model.month,
        multiplier_then=model.training_multiplier_at(float(max(best.launched_month, 0))),
        multiplier_now=model.training_multiplier_at(float(model.month)),
        fracs=ow.family_params_fracs,
        gap_oom_per_oom=model.params.firms.distill.gap_oom_per_oom,
        next_id=model.next_model_id,
    )
    if fresh:
        for old in fringe.line:
            model.recorder.retire(old.model_id, model.month)
        for member in family:
            model.record_model(member)
        model.event(fringe, "launch", detail=f"open weights of model {best.model_id}")
        fringe.launched.extend(family)
    fringe.line = family
    model.state_version += 1


def exit_firm(model: MarketModel, firm: Firm, *, reason: str) -> None:
    """A firm leaves: offerings withdrawn, GPUs of a running project released."""
    firm.active = False
    firm.exit_month = model.month
    model.exits_this_month += 1
    model.state_version += 1
    for m in firm.line:
        model.recorder.retire(m.model_id, model.month)
    if firm.project is not None:
        if firm.project.gpus > 0:
            model.gpus.free.put(firm.project.gpus)
        firm.project = None
    model.gpus.release(firm.firm_id)
    model.event(firm, "exit", amount_usd=firm.cash_usd, detail=reason)


def _raise(model: MarketModel, firm: Firm, need_usd: float, *, reason: str) -> bool:
    """Raise ``need_usd`` (plus the reserve) if investors will put it in; True on success.

    Bridge rounds (a firm out of cash) are priced on traction alone; a lab's base round is
    available only to fund a new project.
    """
    amount = need_usd + model.reserve_usd(firm)
    if amount <= 0:
        return True
    if firm.funding_offer_usd(model.context(), for_project=reason == "project") < amount:
        return False
    firm.receive_funding(amount)
    firm.last_round_month = model.month
    model.event(firm, "funding", amount_usd=amount, detail=reason)
    return True


def review(
    model: MarketModel, firm: Firm, *, first_delay: float, after_launch: bool = False
) -> Process:
    """Strategy phase, every ``strategy.review_months``: the firm reviews its strategy if
    it has no project running, and starts the one it picks. ``after_launch``: once, the
    month after a launch, only whether to distil the new model."""
    yield at_phase(model.env, first_delay, Phase.STRATEGY)
    while firm.active:
        if not after_launch and firm is not model.fringe:
            ctx = model.context()
            firm.choose_reach(ctx)
            released = firm.choose_release(ctx)
            if released is not None:
                release_weights(model, firm, released)
        if firm.project is None:
            ctx = model.context()
            pick = firm.review(ctx, model.streams["firms"], distil_only=after_launch)
            if pick is not None:
                start_project(model, firm, pick)
        if after_launch:
            return
        yield at_phase(model.env, model.params.strategy.review_months, Phase.STRATEGY)


def start_project(model: MarketModel, firm: Firm, cand: Candidate) -> None:
    """Fund and start a project: a training process, or (wrappers) launch now."""
    shortfall = cand.outlay_usd + model.reserve_usd(firm) - firm.cash_usd
    if shortfall > 0 and not _raise(
        model, firm, shortfall - model.reserve_usd(firm), reason="project"
    ):
        return
    if cand.business_model is BusinessModel.WRAPPER:
        # Building the scaffolding is paid now, like a (short) training run.
        firm.month_training_usd += cand.cost_usd
        launch(model, firm, cand, kappa=cand.base_kappa, cost_usd=cand.cost_usd)
        return
    model.env.process(training(model, firm, cand))


def launch(
    model: MarketModel, firm: Firm, cand: Candidate, *, kappa: float, cost_usd: float
) -> None:
    """A project's model goes on sale, in the firm's line (a wrapper's replaces its old
    one: it resells one lab's model at a time); the firm reviews its line next month."""
    firm.business_model = cand.business_model
    wrapper = cand.business_model is BusinessModel.WRAPPER
    distilled = cand.allocation is Allocation.DISTILLED and cand.segment is None
    pretrained = CONDUCT[cand.business_model].trains and not distilled
    made = Model(
        model_id=model.next_model_id(),
        firm_id=firm.firm_id,
        business_model=cand.business_model,
        allocation=cand.allocation,
        params=cand.params,
        train_tokens=cand.train_tokens,
        train_flop=cand.train_flop,
        posttrain_flop=cand.posttrain_flop,
        expected_inference_flop=cand.expected_inference_flop,
        cost_usd=cost_usd,
        launched_month=model.month,
        kappa=kappa,
        max_inference_multiplier=cand.max_inference_multiplier,
        lead_oom=model.draw_leads() if pretrained else cand.lead_oom,
        role=Role.DISTILLED if distilled else Role.FLAGSHIP,
        parent_id=cand.teacher_id if distilled else None,
        segment=cand.segment,
        supplier_id=cand.supplier_id,
        supplier_model_id=cand.teacher_id if wrapper else None,
        frontier_kappa_at_launch=model.frontier_kappa if wrapper else None,
    )
    if wrapper:
        for old in list(firm.line):
            firm.retire(old)
            model.recorder.retire(old.model_id, model.month)
    firm.launch([made])
    model.record_model(made)
    model.state_version += 1
    detail = f"wrapper of firm {cand.supplier_id}" if wrapper else made.role.value
    model.event(firm, "launch", amount_usd=cost_usd if cost_usd > 0 else None, detail=detail)
    if not wrapper:  # a new model: is a smaller version of it worth making?
        model.env.process(review(model, firm, first_delay=1, after_launch=True))


def training(model: MarketModel, firm: Firm, cand: Candidate) -> Process:
    """A training run: hold GPUs, pay for them monthly, launch the model when the FLOP are
    done.

    A flagship's research (experiments, synthetic data, runs never released) uses
    ``research_usd / cost_usd`` GPUs per GPU of the final run for as long as it lasts, and
    is paid as research. Each month the firm's own contracted GPUs that serving left idle
    last month go to research first, then to the final run
    (:func:`aimarket.agents.capacity.contract_use`); the rest is rented from the spot pool.
    The run waits (paying nothing) until at least a quarter of the GPUs it plans for both
    is free (serving comes first: GPUs the spot market served last month are not free for
    training), then takes up to its plan, and keeps that size while GPUs allow.
    """
    project = Project(candidate=cand, started_month=model.env.now, gpus=0.0)
    firm.project = project
    research = cand.research_usd / cand.cost_usd if cand.cost_usd > 0 else 0.0
    planned = float(model.technology.training_plan(cand.train_flop)[0]) * (1.0 + research)
    while model.gpus.trainable_gpus + _idle_contract_gpus(model, firm) < 0.25 * planned:
        yield model.env.timeout(1)  # too few GPUs free: wait for next month's supply
        if not firm.active or firm.project is not project:
            return
    project.size_gpus = min(planned, model.gpus.trainable_gpus + _idle_contract_gpus(model, firm))
    model.event(
        firm,
        "training_start",
        amount_usd=cand.cost_usd,
        detail=f"{cand.business_model.value} {cand.allocation.value} {cand.train_flop:.3g} FLOP",
    )
    while project.flop_done < cand.train_flop:
        size = project.size_gpus
        use = contract_use(
            model.gpus.held_gpus(firm.firm_id),
            firm.contract_serving_gpus,
            size * research / (1.0 + research),
            size / (1.0 + research),
        )
        yield from _rent_for_run(model, firm, project, size - use.research_gpus - use.training_gpus)
        if not firm.active or firm.project is not project:
            return
        _train_month(model, firm, project, use, research)
        yield model.env.timeout(1)
        if not firm.active or firm.project is not project:
            return
    if project.gpus > 0:
        model.gpus.free.put(project.gpus)
    project.gpus = 0.0
    firm.project = None
    # A pre-trained model is credited with algorithmic progress up to its launch, and
    # with its post-training; a distilled one's capability is fixed by its teacher.
    kappa = (
        cand.base_kappa
        if cand.allocation is Allocation.DISTILLED
        else cand.post_gain_oom
        + float(
            capability_index(
                cand.params,
                cand.train_tokens,
                algorithmic_multiplier=model.training_multiplier_at(float(model.month)),
            )
        )
    )
    launch(model, firm, cand, kappa=kappa, cost_usd=project.spent_usd)


def _idle_contract_gpus(model: MarketModel, firm: Firm) -> float:
    """The firm's contracted GPUs that serving did not use last month."""
    return max(model.gpus.held_gpus(firm.firm_id) - firm.contract_serving_gpus, 0.0)


def _rent_for_run(model: MarketModel, firm: Firm, project: Project, want_gpus: float) -> Process:
    """Rent ``want_gpus`` from the spot pool for the firm's run: return what it holds
    beyond, take what it lacks as far as the pool has GPUs free for training."""
    extra = project.gpus - max(want_gpus, 0.0)
    if extra > 0:
        model.gpus.free.put(extra)
        project.gpus -= extra
    take = min(-extra, model.gpus.trainable_gpus)
    if take > 0:
        yield model.gpus.free.get(take)
        if firm.project is project:
            project.gpus += take
        else:  # the firm left (its exit released what the run held) or dropped the run
            model.gpus.free.put(take)


def _train_month(
    model: MarketModel, firm: Firm, project: Project, use: ContractUse, research: float
) -> None:
    """A month of a run on its rented GPUs and the firm's contracted ones (``use``): FLOP
    done, and what it costs, research's GPUs (contracted first) apart from the final
    run's; the contracted GPUs' share of the firm's contract bill moves to R&D."""
    tech, cand = model.technology, project.candidate
    total = project.gpus + use.research_gpus + use.training_gpus
    gpus = total / (1.0 + research)  # the final run's
    per_month = gpus * tech.flop_per_gpu_month()
    frac = min(1.0, (cand.train_flop - project.flop_done) / per_month) if per_month > 0 else 0.0
    spot, contract = tech.usd_per_gpu_hour, model.gpus.contract_usd_per_gpu_hour(firm.firm_id)
    hours = HOURS_PER_MONTH * frac
    final = hours * (use.training_gpus * contract + (gpus - use.training_gpus) * spot)
    rnd = hours * (use.research_gpus * contract + (total - gpus - use.research_gpus) * spot)
    project.flop_done += per_month * frac
    project.spent_usd += final
    firm.month_training_usd += final
    firm.month_research_usd += rnd
    firm.month_contract_rnd_gpus += (use.research_gpus + use.training_gpus) * frac
    firm.month_contract_rnd_usd += hours * (use.research_gpus + use.training_gpus) * contract


def arrivals(model: MarketModel) -> Process:
    """Would-be entrants arrive as a Poisson stream; one enters only if its best
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
        pick = choose_entry(model.context(), capital, rng)
        if pick is None:
            continue
        firm = Startup(
            model, business_model=pick.business_model, cash_usd=0.0, founded_month=model.env.now
        )
        firm.receive_funding(capital)
        firm.last_round_month = model.month
        model.firms.add(firm)
        model.entries_this_month += 1
        model.state_version += 1
        model.event(firm, "entry", amount_usd=capital, detail=pick.business_model.value)
        start_project(model, firm, pick)
        review_delay = float(model.params.strategy.review_months)
        model.env.process(review(model, firm, first_delay=review_delay))


def _monthly(model: MarketModel, phase: Phase, action: Callable[[MarketModel], None]) -> Process:
    yield at_phase(model.env, 0, phase)
    while True:
        action(model)
        yield at_phase(model.env, 1, phase)


def _price(model: MarketModel) -> None:
    model.offers = set_prices(model)
    model.state_version += 1


def _clear(model: MarketModel) -> None:
    model.outcome = clear_market(model)
    book_capacity(model)


def _learn(model: MarketModel) -> None:
    model.customers.learn(model.outcome.offers, model.outcome.choice)


def start_processes(model: MarketModel) -> None:
    """Start every process of a run (the start order does not matter: phases do)."""
    env = model.env
    env.process(hardware(model))
    env.process(housekeeping(model))
    # A firm reviews its strategy once it has seen a month of the market (its serving
    # need, which comes before new training runs, is known only then), staggered after.
    for k, firm in enumerate(f for f in model.firms if f is not model.fringe):
        delay = 1 + k % model.params.strategy.review_months
        env.process(review(model, firm, first_delay=delay))
    env.process(_monthly(model, Phase.PRICING, _price))
    env.process(_monthly(model, Phase.CLEARING, _clear))
    env.process(_monthly(model, Phase.RECORDING, observe))
    env.process(_monthly(model, Phase.LEARNING, _learn))
    env.process(arrivals(model))
