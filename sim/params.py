"""Every knob of one run, with units in the names and a default for each.

``ModelParams`` is the ``[model]`` table of an experiment config. All models are frozen
pydantic models that forbid unknown keys and non-finite numbers. The source of every
default is in ``docs/model.md``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from aimarket.agents.business import BusinessModel
from aimarket.markets.hardware import GPUS
from aimarket.markets.testtime import TRADEOFFS, TaskClass
from aimarket.sim.clock import normalise_month

__all__ = [
    "AlgorithmParams",
    "DemandParams",
    "EntryParams",
    "FinanceParams",
    "FirmParams",
    "Frozen",
    "HardwareParams",
    "MarketParams",
    "ModelParams",
    "OpenWeightsParams",
    "Regime",
    "SegmentParams",
    "SpecialistParams",
    "StrategyParams",
    "WrapperParams",
    "regime_tradeoff",
]

PositiveFloat = Annotated[float, Field(gt=0)]
NonNegativeFloat = Annotated[float, Field(ge=0)]
Fraction = Annotated[float, Field(gt=0, le=1)]
UnitInterval = Annotated[float, Field(ge=0, le=1)]


class Frozen(BaseModel):
    """Base for every config model: immutable, unknown keys and NaN/inf are errors."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", allow_inf_nan=False, validate_default=True
    )


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


class HardwareParams(Frozen):
    """Hardware performance, GPU supply and its rental price; see docs/model.md."""

    gpu: str = "h100"
    price_performance_doubling_years: PositiveFloat = 2.07
    memory_bandwidth_doubling_years: PositiveFloat = 4.1
    training_mfu_frac: Fraction = 0.4
    serving_mfu_frac: Fraction = 0.5
    serving_batch: Annotated[int, Field(ge=1)] = 64
    fast_batch: Annotated[int, Field(ge=1)] = 8
    gpus_per_node: Annotated[int, Field(ge=1)] = 8
    bytes_per_param: PositiveFloat = 2.0
    gpu_supply: PositiveFloat = 400_000.0
    gpu_supply_growth_per_year: Annotated[float, Field(ge=1)] = 1.6
    max_training_gpus: PositiveFloat = 100_000.0
    rental_floor_usd_per_hour: PositiveFloat = 1.65
    rental_scarcity_usd_per_hour: PositiveFloat = 8.0
    rental_convexity: PositiveFloat = 8.0
    inference_chip_month: Annotated[int, Field(ge=0)] | None = None
    inference_chip_cost_factor: Fraction = 0.5

    @field_validator("gpu")
    @classmethod
    def _known_gpu(cls, v: str) -> str:
        if v not in GPUS:
            raise ValueError(f"expected one of {sorted(GPUS)}")
        return v

    @model_validator(mode="after")
    def _rental_order(self) -> HardwareParams:
        if self.rental_scarcity_usd_per_hour < self.rental_floor_usd_per_hour:
            raise ValueError("rental_scarcity_usd_per_hour must be >= rental_floor_usd_per_hour")
        return self


class AlgorithmParams(Frozen):
    """Algorithmic progress; see docs/model.md, 'Hardware and algorithms'."""

    training_halving_months: PositiveFloat = 8.0
    serving_efficiency_per_year: Annotated[float, Field(ge=1)] = 1.5
    reference_month: str = "2020-01"

    @field_validator("reference_month")
    @classmethod
    def _month(cls, v: str) -> str:
        return normalise_month(v)


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


class DemandParams(Frozen):
    """Customers: segments, logit taste noise, inertia, task success, routing."""

    segments: Annotated[tuple[SegmentParams, ...], Field(min_length=1)] = DEFAULT_SEGMENTS
    represented_customers: PositiveFloat = 1e8
    choice_noise_frac: PositiveFloat = 0.1
    nest_frac: Fraction = 0.5
    switching_inertia: NonNegativeFloat = 1.0
    success_slope_per_oom: PositiveFloat = 2.0
    routing: bool = False
    pricing_sample_size: Annotated[int, Field(ge=10)] = 2500

    @field_validator("segments")
    @classmethod
    def _unique_names(cls, v: tuple[SegmentParams, ...]) -> tuple[SegmentParams, ...]:
        names = [s.name for s in v]
        if len(set(names)) != len(names):
            raise ValueError(f"segment names must be unique, got {names}")
        return v


class MarketParams(Frozen):
    """Market-wide technology regime and how queries are served and priced."""

    regime: Regime = Regime.BALANCED
    initial_markup_frac: NonNegativeFloat = 1.0
    price_damping_frac: Fraction = 0.5
    fast_tier: bool = True
    reference_kappa: float = 26.7


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


class SpecialistParams(Frozen):
    """A small model distilled from the best model a firm can access, for one segment."""

    params_frac: Annotated[float, Field(gt=0, le=1)] = 0.1
    distill_tokens: PositiveFloat = 1e12
    gap_oom: NonNegativeFloat = 0.5


class WrapperParams(Frozen):
    """Reselling a lab's tokens with scaffolding whose advantage fades with progress."""

    scaffold_bonus_oom: NonNegativeFloat = 0.3
    scaffold_decay_oom: PositiveFloat = 0.5
    token_overhead: Annotated[float, Field(ge=1)] = 1.5
    wholesale_discount_frac: Annotated[float, Field(ge=0, lt=1)] = 0.2
    scaffold_cost_usd: NonNegativeFloat = 2e7


class OpenWeightsParams(Frozen):
    """The open-weights fringe: closed models' capability, released after a lag and served
    near cost by many hosts."""

    enabled: bool = True
    lag_months: Annotated[int, Field(ge=0)] = 12
    host_markup_frac: NonNegativeFloat = 0.2
    small_params_frac: Annotated[float, Field(gt=0, le=1)] = 0.1
    small_gap_oom: NonNegativeFloat = 0.5


class FirmParams(Frozen):
    """The starting labs, model lives and what each business model means."""

    model_life_months: Annotated[int, Field(ge=1)] = 24
    training_flop_log_sd: NonNegativeFloat = 0.3
    model_age_months: Annotated[int, Field(ge=0)] = 6
    upfront_training_flop: PositiveFloat = 3e25
    inference_training_flop: PositiveFloat = 3e24
    inference_overtrain_factor: Annotated[float, Field(ge=1)] = 10.0
    max_reasoning_multiplier: Annotated[float, Field(ge=1)] = 1000.0
    reasoning_rl_frac: NonNegativeFloat = 0.3
    training_target_months: PositiveFloat = 4.0
    idle_exit_months: Annotated[int, Field(ge=1)] = 6
    business_models: Annotated[tuple[BusinessModel, ...], Field(min_length=1)] = (
        BusinessModel.UPFRONT_HEAVY,
        BusinessModel.INFERENCE_HEAVY,
    )
    specialist: SpecialistParams = SpecialistParams()
    wrapper: WrapperParams = WrapperParams()
    open_weights: OpenWeightsParams = OpenWeightsParams()

    @field_validator("business_models")
    @classmethod
    def _trainable(cls, v: tuple[BusinessModel, ...]) -> tuple[BusinessModel, ...]:
        allowed = {BusinessModel.UPFRONT_HEAVY, BusinessModel.INFERENCE_HEAVY}
        bad = [b.value for b in v if b not in allowed]
        if bad:
            raise ValueError(f"labs start as one of {sorted(allowed)}, got {bad}")
        return v


class ModelParams(Frozen):
    """Everything one run needs besides its seed, horizon and start month."""

    labs: Annotated[int, Field(ge=1, le=1000)] = 4
    customers: Annotated[int, Field(ge=1, le=100_000_000)] = 20_000
    hardware: HardwareParams = HardwareParams()
    algorithms: AlgorithmParams = AlgorithmParams()
    demand: DemandParams = DemandParams()
    market: MarketParams = MarketParams()
    firms: FirmParams = FirmParams()
    strategy: StrategyParams = StrategyParams()
    finance: FinanceParams = FinanceParams()
    entry: EntryParams = EntryParams()
