"""The knobs of the agents: customers, the market's rules, firms, strategy and finance.

Frozen pydantic models that forbid unknown keys and non-finite numbers; units are in the
names. :class:`aimarket.sim.params.ModelParams` (the ``[model]`` table of an experiment
config) gathers them with the hardware and algorithm knobs. The source of every default is
in ``docs/model.md``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field, field_validator, model_validator

from aimarket.agents.business import BusinessModel
from aimarket.agents.fields import (
    Fraction,
    Frozen,
    NonNegativeFloat,
    PositiveFloat,
    UnitInterval,
)
from aimarket.agents.firm_params import (
    DistillParams,
    FirmParams,
    OpenWeightsParams,
    PostTrainingParams,
    ReachParams,
    SpecialistParams,
    WrapperParams,
)
from aimarket.markets.testtime import TRADEOFFS, TaskClass

__all__ = [
    "AdoptionParams",
    "CaptiveParams",
    "DemandParams",
    "DistillParams",
    "EntryParams",
    "FinanceParams",
    "FirmParams",
    "FreeTierParams",
    "Frozen",
    "MarketParams",
    "OpenWeightsParams",
    "PlanParams",
    "PostTrainingParams",
    "ReachParams",
    "ReferenceLevels",
    "Regime",
    "SegmentParams",
    "SpecialistParams",
    "StrategyParams",
    "ToolParams",
    "UsageParams",
    "WrapperParams",
    "regime_tradeoff",
]


class Regime(StrEnum):
    """A preset of the technology (not of firms' choices).

    ``upfront_heavy``: capability comes mainly from pre-training, test-time compute buys
    little. ``inference_heavy``: test-time compute is a strong lever, so a smaller
    pre-training reaches frontier capability at a higher cost per query. ``balanced``:
    the Epoch trade-off for most tasks.
    """

    BALANCED = "balanced"
    UPFRONT_HEAVY = "upfront_heavy"
    INFERENCE_HEAVY = "inference_heavy"


def regime_tradeoff(regime: Regime) -> tuple[float, float]:
    """Test-time trade-off ``(oom_per_oom, cap_oom)`` of a regime (see docs/model.md)."""
    if regime is Regime.UPFRONT_HEAVY:
        # assumption: a world where reasoning buys half the general-task lever and cap.
        general = TRADEOFFS[TaskClass.GENERAL]
        return general.oom_per_oom * 0.5, general.cap_oom * 0.5
    task = TaskClass.VERIFIABLE if regime is Regime.INFERENCE_HEAVY else TaskClass.GENERAL
    return TRADEOFFS[task].oom_per_oom, TRADEOFFS[task].cap_oom


class SegmentParams(Frozen):
    """A customer segment: what a successful query is worth, how hard it is, how it pays."""

    name: Annotated[str, Field(min_length=1)]
    weight_frac: PositiveFloat
    value_usd_per_success: PositiveFloat
    value_log_sd: NonNegativeFloat = 1.0
    difficulty_kappa: float
    difficulty_sd_oom: NonNegativeFloat = 0.5
    queries_per_month: PositiveFloat
    queries_log_sd: NonNegativeFloat = 0.8
    tokens_per_query: PositiveFloat = 1000.0
    latency_value_frac_per_s: NonNegativeFloat = 0.0
    hard_task_frac: UnitInterval = 0.3
    hard_task_extra_oom: NonNegativeFloat = 3.0
    outside_value_frac: Annotated[float, Field(ge=0, lt=1)] = 0.5
    outside_value_sd: NonNegativeFloat = 0.25
    subscription: bool = False


DEFAULT_SEGMENTS: tuple[SegmentParams, ...] = (
    SegmentParams(
        name="consumer_chat",
        weight_frac=0.80,
        value_usd_per_success=0.2,
        difficulty_kappa=24.5,
        difficulty_sd_oom=1.0,
        queries_per_month=150,
        tokens_per_query=2000,
        latency_value_frac_per_s=0.01,
        subscription=True,
        outside_value_frac=0.7,
    ),
    SegmentParams(
        name="knowledge_work",
        weight_frac=0.15,
        value_usd_per_success=2.0,
        difficulty_kappa=26.5,
        difficulty_sd_oom=1.0,
        queries_per_month=200,
        tokens_per_query=4000,
        latency_value_frac_per_s=0.002,
        subscription=True,
        outside_value_frac=0.6,
    ),
    SegmentParams(
        name="coding",
        weight_frac=0.04,
        value_usd_per_success=5.0,
        difficulty_kappa=28.0,
        difficulty_sd_oom=1.0,
        queries_per_month=300,
        tokens_per_query=20_000,
        latency_value_frac_per_s=0.0005,
        outside_value_frac=0.5,
    ),
    SegmentParams(
        name="enterprise_analytics",
        weight_frac=0.009,
        value_usd_per_success=20.0,
        difficulty_kappa=28.5,
        difficulty_sd_oom=1.0,
        queries_per_month=200,
        tokens_per_query=8000,
        latency_value_frac_per_s=0.0002,
        outside_value_frac=0.5,
    ),
    SegmentParams(
        name="science",
        weight_frac=0.0009,
        value_usd_per_success=1000.0,
        value_log_sd=1.5,
        difficulty_kappa=31.0,
        difficulty_sd_oom=1.5,
        queries_per_month=20,
        tokens_per_query=50_000,
        latency_value_frac_per_s=0.0,
        outside_value_frac=0.3,
    ),
    SegmentParams(
        name="frontier_research",
        weight_frac=0.0001,
        value_usd_per_success=1e5,
        value_log_sd=2.0,
        difficulty_kappa=34.0,
        difficulty_sd_oom=1.5,
        queries_per_month=5,
        tokens_per_query=100_000,
        latency_value_frac_per_s=0.0,
        outside_value_frac=0.2,
    ),
)


class AdoptionParams(Frozen):
    """Diffusion of AI use through each segment (Bass 1969; docs/model.md, "Adoption"):
    the share of customers who consider AI moves toward a potential set by the best
    capability on sale against the segment's difficulty."""

    initial_frac: UnitInterval = 0.4
    innovation_per_month: UnitInterval = 6.6e-4
    imitation_per_month: UnitInterval = 0.098


class UsageParams(Frozen):
    """How much work a customer gives AI (docs/model.md, "Usage"): a constant elasticity
    to the price per task (usage segments) and a rise with capability, up to all of a
    customer's work (``work_share_at_start_frac``: the share AI did at the start; 0: no
    bound)."""

    price_elasticity: NonNegativeFloat = 0.5
    work_oom_per_capability_oom: NonNegativeFloat = 0.3
    work_share_at_start_frac: UnitInterval = 0.05
    value_dilution: UnitInterval = 0.5
    adjustment_per_month: Fraction = 0.2


class ToolParams(Frozen):
    """Tool use (docs/model.md, "Tool use"): a model at least ``min_kappa`` capable in a
    segment's kind of work does ``hard_token_saving_frac`` of the tokens of the segment's
    hard work with cheap tools (a calculator, a script) instead of generating them; 0
    turns tool use off."""

    min_kappa: float = 25.89
    hard_token_saving_frac: UnitInterval = 0.5


class CaptiveParams(Frozen):
    """Make or buy (docs/model.md, "Make or buy"): the segments whose big buyers may build
    a captive model of their own (none: nobody builds), the share of the segment's work
    those buyers do, and the pre-training budgets they consider, as fractions of the
    frontier's pre-training compute."""

    segments: tuple[str, ...] = ()
    members_frac: Fraction = 0.5
    budget_fracs: Annotated[tuple[PositiveFloat, ...], Field(max_length=4)] = (0.01, 0.1)


class DemandParams(Frozen):
    """Customers: segments, taste, inertia, task success, routing.

    A customer chooses by the log of value for money with taste shocks (nested CES
    demand): ``elasticity`` is the weight of that log, so a customer's price elasticity
    among offerings is about ``elasticity * (1 - share)``, whatever the work is worth
    (docs/model.md, "Taste").
    """

    segments: Annotated[tuple[SegmentParams, ...], Field(min_length=1)] = DEFAULT_SEGMENTS
    represented_customers: PositiveFloat = 1e9
    elasticity: Annotated[float, Field(gt=1)] = 2.0
    nest_frac: Fraction = 0.5
    switching_inertia: NonNegativeFloat = 1.0
    success_slope_per_oom: PositiveFloat = 2.0
    routing: bool = False
    pricing_sample_size: Annotated[int, Field(ge=10)] = 2500
    adoption: AdoptionParams = AdoptionParams()
    usage: UsageParams = UsageParams()
    tools: ToolParams = ToolParams()
    captive: CaptiveParams = CaptiveParams()
    #: Segments whose customers buy under contracts, and the months between renewals
    #: (1: they choose every month, as everyone else does; docs/model.md, "Contracts").
    contract_segments: tuple[str, ...] = ("enterprise_analytics",)
    contract_months: Annotated[int, Field(ge=1, le=60)] = 12
    #: A firm's brand: customers' utility for its offerings rises by ``brand_utility``
    #: times its installed base, its share of the market's AI work remembered over
    #: ``brand_memory_months`` (docs/model.md, "Brand").
    brand_utility: NonNegativeFloat = 1.0
    brand_memory_months: Annotated[float, Field(ge=1)] = 12.0

    @field_validator("segments")
    @classmethod
    def _unique_names(cls, v: tuple[SegmentParams, ...]) -> tuple[SegmentParams, ...]:
        names = [s.name for s in v]
        if len(set(names)) != len(names):
            raise ValueError(f"segment names must be unique, got {names}")
        return v

    @model_validator(mode="after")
    def _contract_segments(self) -> DemandParams:
        # The default names a default segment; with segments of one's own it lapses.
        names = [s.name for s in self.segments]
        unknown = sorted(set(self.contract_segments) - set(names))
        if unknown and "contract_segments" in self.model_fields_set:
            raise ValueError(f"contract_segments names no segment: {unknown}; segments are {names}")
        usage = [s.name for s in self.segments if not s.subscription]
        bad = sorted(set(self.captive.segments) - set(usage))
        if bad:
            raise ValueError(
                f"captive.segments must name segments sold per token, got {bad}; those are {usage}"
            )
        return self

    def contract_months_by_segment(self) -> tuple[int, ...]:
        """``(s,)`` each segment's months between renewals (1: no contract)."""
        return tuple(
            self.contract_months if s.name in self.contract_segments else 1 for s in self.segments
        )


class PlanParams(Frozen):
    """A subscription plan: one fee a month for every subscriber, up to an allowance."""

    name: Annotated[str, Field(min_length=1, pattern=r"^[a-z][a-z0-9_]*$")]
    allowance_queries_per_month: PositiveFloat


class FreeTierParams(Frozen):
    """The free plan a lab may offer on its cheapest model: no fee, up to an allowance
    (0: nobody offers one). Whether a lab offers it is its own decision
    (``firms.free_tier_review_months``)."""

    allowance_queries_per_month: NonNegativeFloat = 300.0


class ReferenceLevels(Frozen):
    """Capabilities (OOM of effective compute) whose cheapest price the market table
    tracks, ``price_usd_per_mtok_at_<level>``; derivations in docs/model.md."""

    gpt3: float = 23.43
    gpt35: float = 25.89
    gpt4: float = 26.95


class MarketParams(Frozen):
    """Market-wide technology regime and how AI is sold: per-token menus and plans.

    Per-token (API) customers choose among every model's tiers: ``standard`` at
    ``hardware.serving_batch``, ``priority`` at ``hardware.priority_batch`` (faster,
    dearer to serve) and ``batch`` at ``hardware.batch_tier_batch`` (cheaper, results after
    ``batch_turnaround_s``). Subscription customers choose among plans.
    """

    regime: Regime = Regime.BALANCED
    initial_markup_frac: NonNegativeFloat = 1.0
    price_damping_frac: Fraction = 0.5
    max_price_step: Annotated[float, Field(gt=1)] = 2.0
    priority_tier: bool = True
    batch_tier: bool = True
    batch_turnaround_s: NonNegativeFloat = 3600.0
    plans: Annotated[tuple[PlanParams, ...], Field(min_length=1, max_length=8)] = (
        PlanParams(name="plus", allowance_queries_per_month=300.0),
        PlanParams(name="pro", allowance_queries_per_month=3000.0),
    )
    free_tier: FreeTierParams = FreeTierParams()
    reference_kappa: float = 26.95
    reference_levels: ReferenceLevels = ReferenceLevels()

    @field_validator("plans")
    @classmethod
    def _unique_plans(cls, v: tuple[PlanParams, ...]) -> tuple[PlanParams, ...]:
        names = [plan.name for plan in v]
        reserved = {"standard", "priority", "batch", "free"} & set(names)
        if len(set(names)) != len(names) or reserved:
            raise ValueError(f"plan names must be unique and not a tier's name, got {names}")
        return v


class StrategyParams(Frozen):
    """How firms choose projects: what they consider and how far ahead they look."""

    review_months: Annotated[int, Field(ge=1)] = 6
    payback_months: Annotated[int, Field(ge=1)] = 24
    discount_rate_per_year: NonNegativeFloat = 0.15
    rationality_frac: NonNegativeFloat = 0.2
    budget_multiples: Annotated[tuple[PositiveFloat, ...], Field(min_length=1)] = (
        0.3,
        1.0,
        3.0,
    )
    frontier_growth_prior_oom_per_year: NonNegativeFloat = 1.0
    valuation_customers: Annotated[int, Field(ge=10)] = 240


class FinanceParams(Frozen):
    """Money: starting cash, the capital market, the cash a firm keeps in reserve."""

    lab_initial_cash_usd: NonNegativeFloat = 5e9
    lab_opex_usd_per_month: NonNegativeFloat = 1e8
    startup_opex_usd_per_month: NonNegativeFloat = 2e7
    capital_market_index: NonNegativeFloat = 1.0
    revenue_multiple: NonNegativeFloat = 10.0
    dilution_frac: UnitInterval = 0.2
    months_between_rounds: Annotated[int, Field(ge=0)] = 12
    lab_round_usd: NonNegativeFloat = 2e9
    venture_round_usd: NonNegativeFloat = 3e8
    venture_round_log_sd: NonNegativeFloat = 1.0
    reserve_months: NonNegativeFloat = 3.0


class EntryParams(Frozen):
    """Startups: how often one considers entering, and which business models it may pick."""

    startup_arrivals_per_year: NonNegativeFloat = 4.0
    business_models: Annotated[tuple[BusinessModel, ...], Field(min_length=1)] = (
        BusinessModel.UPFRONT_HEAVY,
        BusinessModel.INFERENCE_HEAVY,
        BusinessModel.SPECIALIST,
        BusinessModel.WRAPPER,
    )
