"""What each business model builds and sells: one object per business model.

:data:`CONDUCT` maps a :class:`~aimarket.agents.business.BusinessModel` to an object that
says which projects it can start this month (:meth:`Conduct.candidates`), which tiers and
plans its models are sold in (:meth:`Conduct.tiers`), and whether its models pay upkeep.
Every firm's training project also may be followed by smaller versions of its own models
(:func:`distillations`). Candidates are built from the month's context alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aimarket.agents.business import Allocation, BusinessModel
from aimarket.agents.context import MarketContext
from aimarket.agents.products import (
    Model,
    Tier,
    distilled_kappa,
    retrained_size_frac,
    segment_leads,
)
from aimarket.agents.strategy import Candidate
from aimarket.agents.valuation import Product
from aimarket.markets.scaling import capability_index, compute_optimal, inference_optimal

__all__ = [
    "CONDUCT",
    "CaptiveConduct",
    "Conduct",
    "OpenHosts",
    "Specialist",
    "Trainer",
    "Wrapper",
    "distillations",
]


@dataclass(frozen=True)
class Conduct:
    """A business model's conduct (the base class builds nothing)."""

    kind: BusinessModel
    #: Whether its models are its own weights (which it may distil).
    trains: bool = False
    #: Whether each model on sale costs ``firms.model_upkeep_usd_per_month``.
    pays_upkeep: bool = True
    #: Whether it may offer a free plan on its cheapest model (:mod:`agents.funnel`).
    free_plan: bool = False

    def candidates(self, ctx: MarketContext) -> list[Candidate]:
        """Projects of this business model a firm could start now."""
        return []

    def tiers(self, ctx: MarketContext, *, top: bool) -> tuple[int, ...]:
        """Tiers a model is sold in: the standard per-token tier, and the first plan on
        the firm's most capable model (``top``)."""
        return (Tier.STANDARD, Tier.PLAN) if top else (Tier.STANDARD,)


@dataclass(frozen=True)
class Trainer(Conduct):
    """A lab's business model: pre-train a frontier model, compute-optimal or
    inference-aware, at a budget around the largest model on sale; ``reasons``: trained
    with RL to spend test-time compute (the inference-heavy model)."""

    reasons: bool = False
    trains: bool = True
    free_plan: bool = True

    def tiers(self, ctx: MarketContext, *, top: bool) -> tuple[int, ...]:
        """Every per-token tier the market offers; every plan on the most capable model."""
        market = ctx.params.market
        out = [Tier.STANDARD]
        out += [Tier.PRIORITY] if market.priority_tier else []
        out += [Tier.BATCH] if market.batch_tier else []
        out += [Tier.PLAN + k for k in range(len(market.plans))] if top else []
        return tuple(out)

    def candidates(self, ctx: MarketContext) -> list[Candidate]:
        fp, tech = ctx.params.firms, ctx.technology
        if self.reasons and not fp.reasoning_possible(ctx.calendar_month):
            return []  # the technique is not known yet (firms.reasoning_from)
        budgets = np.array(ctx.params.strategy.budget_multiples) * ctx.frontier_train_flop
        n_opt, d_opt = (np.asarray(x, dtype=float) for x in compute_optimal(budgets))
        max_mult = fp.max_reasoning_multiplier if self.reasons else 1.0
        post_frac, post_gain = ctx.params.post_training(reasons=self.reasons)
        rl = 1.0 + post_frac
        # What a new model would serve over the payback horizon (its share of last
        # month's tokens) at the effort a compute-optimal model of the budget would spend.
        standard = ctx.params.batches[0]
        usd_opt, lat_opt = tech.token_economics(n_opt, batch=standard)
        mult_opt, _ = ctx.effort(
            np.asarray(capability_index(n_opt, d_opt), dtype=float),
            np.full(n_opt.shape, max_mult),
            usd_opt,
            lat_opt,
        )
        share = 1.0 / max(ctx.sellers, 1)
        lifetime = (ctx.usage_tokens_by_segment * share * ctx.params.strategy.payback_months) @ (
            mult_opt
        )
        aware = inference_optimal(n_opt, d_opt, np.maximum(lifetime, 1.0))
        n_aware = np.asarray(aware.params)
        # Overtrained only as far as the largest cluster can train within the longest run
        # a firm plans: the best overtrained model that can launch at all.
        most = tech.max_training_gpus * tech.flop_per_gpu_month() * tech.max_training_months
        d_aware = np.minimum(np.asarray(aware.tokens), most / (6.0 * n_aware * rl))
        allocs = [
            (Allocation.CHINCHILLA, n_opt, d_opt),
            (Allocation.INFERENCE_AWARE, n_aware, d_aware),
        ]
        labels = [a for a, n_p, _ in allocs for _ in n_p]
        n_p = np.concatenate([x for _, x, _ in allocs])
        n_t = np.concatenate([x for _, _, x in allocs])
        served = np.concatenate([lifetime for _ in allocs])  # tokens it expects to serve
        flop = 6.0 * n_p * n_t * rl
        _, months, cost = tech.training_plan(flop)
        # A run the largest cluster cannot finish within the longest a firm plans is no
        # project (its launch, capability and payback lie beyond any horizon).
        keep = months <= tech.max_training_months * (1.0 + 1e-9)
        labels = [a for a, k in zip(labels, keep, strict=True) if k]
        if not keep.any():
            return []
        n_p, n_t, flop, months, cost = n_p[keep], n_t[keep], flop[keep], months[keep], cost[keep]
        served = served[keep]
        base = post_gain + np.asarray(
            capability_index(
                n_p, n_t, algorithmic_multiplier=ctx.multiplier_at(ctx.month + months)
            ),
            dtype=float,
        )
        products = _products(ctx, n_p, base, np.full(n_p.shape, max_mult), plan=True)
        # A new flagship needs experiments alongside its final run (docs/model.md).
        research = ctx.params.firms.research_flop_per_training_flop
        out = [
            Candidate(
                business_model=self.kind,
                allocation=alloc,
                params=float(n_p[k]),
                train_tokens=float(n_t[k]),
                train_flop=float(flop[k]),
                base_kappa=float(base[k]),
                max_inference_multiplier=max_mult,
                cost_usd=float(cost[k]),
                months_to_launch=float(months[k]),
                products=(products[k],),
                research_usd=research * float(cost[k]),
                posttrain_flop=float(flop[k]) * (1.0 - 1.0 / rl),
                post_gain_oom=post_gain,
                expected_inference_flop=2.0 * float(n_p[k] * served[k]),
            )
            for k, alloc in enumerate(labels)
        ]
        return out


@dataclass(frozen=True)
class Specialist(Conduct):
    """A startup's small model distilled from the best lab model on sale, for one
    segment (``firms.specialist``)."""

    def candidates(self, ctx: MarketContext) -> list[Candidate]:
        supply = ctx.suppliers()
        if not supply:
            return []
        teacher, sp = supply[0], ctx.params.firms.specialist
        tokens = ctx.params.firms.distill.tokens
        student = sp.params_frac * teacher.model.params
        # The teacher writes the distillation data at the effort it spends in the segment.
        flop = 6.0 * student * tokens + 2.0 * teacher.model.params * tokens * teacher.multiplier
        _, months, cost = ctx.technology.training_plan(flop)
        usd, latency = ctx.technology.token_economics(student, batch=ctx.params.batches[0])
        s = teacher.kappa.shape[0]
        out = []
        for g in range(s):
            kappa = float(teacher.kappa[g]) - sp.gap_oom
            product = Product(
                kappa=np.full(s, kappa),
                multiplier=np.ones(s),
                usd_per_token=float(usd),
                latency_s_per_token=float(latency),
                segment=g,
                plan=True,
            )
            out.append(
                Candidate(
                    business_model=self.kind,
                    allocation=Allocation.DISTILLED,
                    params=student,
                    train_tokens=tokens,
                    train_flop=float(flop[g]),
                    base_kappa=kappa,
                    max_inference_multiplier=1.0,
                    cost_usd=float(cost[g]),
                    months_to_launch=float(months[g]),
                    products=(product,),
                    segment=g,
                    teacher_id=teacher.model.model_id,
                )
            )
        return out


@dataclass(frozen=True)
class Wrapper(Conduct):
    """A startup that builds scaffolding on a lab's model and resells its tokens
    (``firms.wrapper``): one of the three most capable labs' models."""

    def candidates(self, ctx: MarketContext) -> list[Candidate]:
        wp = ctx.params.firms.wrapper
        out = []
        for supply in ctx.suppliers()[:3]:
            product = Product(
                kappa=supply.kappa + wp.scaffold_bonus_oom,
                multiplier=supply.multiplier * wp.token_overhead,
                usd_per_token=supply.price_usd_per_token * (1.0 - wp.wholesale_discount_frac),
                latency_s_per_token=supply.latency_s_per_token,
                plan=True,
            )
            out.append(
                Candidate(
                    business_model=self.kind,
                    allocation=Allocation.NONE,
                    params=supply.model.params,
                    train_tokens=0.0,
                    train_flop=0.0,
                    base_kappa=supply.model.kappa,
                    max_inference_multiplier=supply.model.max_inference_multiplier,
                    cost_usd=wp.scaffold_cost_usd,
                    months_to_launch=0.0,
                    products=(product,),
                    supplier_id=supply.firm_id,
                    teacher_id=supply.model.model_id,
                )
            )
        return out


@dataclass(frozen=True)
class OpenHosts(Conduct):
    """The open-weights fringe: many hosts serving released weights near cost. It
    chooses no projects and pays no upkeep
    (see :class:`aimarket.agents.open_weights.OpenWeights`)."""

    pays_upkeep: bool = False


@dataclass(frozen=True)
class CaptiveConduct(Conduct):
    """A captive model's conduct: its buyers decide when to build
    (:mod:`aimarket.agents.captive`); it is sold in one tier, in its segment only."""

    def tiers(self, ctx: MarketContext, *, top: bool) -> tuple[int, ...]:
        return (Tier.STANDARD,)


CONDUCT: dict[BusinessModel, Conduct] = {
    BusinessModel.UPFRONT_HEAVY: Trainer(BusinessModel.UPFRONT_HEAVY),
    BusinessModel.INFERENCE_HEAVY: Trainer(BusinessModel.INFERENCE_HEAVY, reasons=True),
    BusinessModel.SPECIALIST: Specialist(BusinessModel.SPECIALIST),
    BusinessModel.WRAPPER: Wrapper(BusinessModel.WRAPPER),
    BusinessModel.OPEN_WEIGHTS: OpenHosts(BusinessModel.OPEN_WEIGHTS),
    BusinessModel.CAPTIVE: CaptiveConduct(BusinessModel.CAPTIVE),
}


def distillations(ctx: MarketContext, line: tuple[Model, ...]) -> list[Candidate]:
    """Smaller versions of a firm's most capable own model (``firms.distill``).

    A student of ``f`` of the teacher's parameters keeps its capability less
    ``gap_oom_per_oom * log10(1 / f)`` OOM; trained now, it reaches that capability with
    ``sqrt(A(then) / A(now))`` fewer parameters again (``A`` the algorithmic multiplier,
    ``N ~ C**0.5``), so re-distilling old capability later gives a smaller model. It costs
    ``6 N_student D + 2 N_teacher D`` FLOP (``D`` distillation tokens the teacher labels).
    A size the firm already sells (a model at least as capable and no larger) is skipped.
    """
    own = [m for m in line if CONDUCT[m.business_model].trains]
    if not own:
        return []
    teacher = max(own, key=lambda m: m.kappa)
    dp = ctx.params.firms.distill
    then = ctx.multiplier_at(float(teacher.launched_month))
    shrink = retrained_size_frac(then, ctx.multiplier_at(float(ctx.month)))
    out = []
    for frac in dp.params_fracs:
        params = frac * teacher.params * shrink
        kappa = distilled_kappa(teacher.kappa, frac, dp.gap_oom_per_oom)
        if any(m.params <= params and m.kappa >= kappa - 1e-9 for m in line):
            continue
        flop = 6.0 * params * dp.tokens + 2.0 * teacher.params * dp.tokens
        _, months, cost = ctx.technology.training_plan(flop)
        max_mult = teacher.max_inference_multiplier
        out.append(
            Candidate(
                business_model=teacher.business_model,
                allocation=Allocation.DISTILLED,
                params=params,
                train_tokens=dp.tokens,
                train_flop=flop,
                base_kappa=kappa,
                max_inference_multiplier=max_mult,
                cost_usd=float(cost),
                months_to_launch=float(months),
                products=tuple(
                    _products(
                        ctx,
                        np.array([params]),
                        np.array([kappa]),
                        np.array([max_mult]),
                        plan=False,
                        lead_oom=segment_leads([teacher], ctx.profile.tokens.shape[0]),
                    )
                ),
                teacher_id=teacher.model_id,
                lead_oom=teacher.lead_oom,
            )
        )
    return out


def _products(
    ctx: MarketContext,
    params: np.ndarray,
    kappa: np.ndarray,
    max_mult: np.ndarray,
    *,
    plan: bool,
    lead_oom: np.ndarray | None = None,
) -> list[Product]:
    """The standard offerings ``k`` models of ``params`` and capability ``kappa`` (and
    ``(s, k)`` segment leads) would be now (one call for all)."""
    usd, latency = ctx.technology.token_economics(params, batch=ctx.params.batches[0])
    mult, kappa_s = ctx.effort(kappa, max_mult, usd, latency, lead_oom)
    return [
        Product(
            kappa=kappa_s[:, k],
            multiplier=mult[:, k],
            usd_per_token=float(usd[k]),
            latency_s_per_token=float(latency[k]),
            plan=plan,
        )
        for k in range(params.shape[0])
    ]
