"""Every knob of one run, with units in the names and a default for each.

``ModelParams`` is the ``[model]`` table of an experiment config. All models are frozen
pydantic models that forbid unknown keys and non-finite numbers. The source of every
default is in ``docs/model.md``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agents.business import BusinessModel
from markets.hardware import GPUS
from markets.testtime import TRADEOFFS, TaskClass
from sim.clock import normalise_month

__all__ = [
    "AlgorithmParams",
    "BusinessModelParams",
    "DemandParams",
    "FirmParams",
    "Frozen",
    "HardwareParams",
    "MarketParams",
    "ModelParams",
    "Regime",
    "SegmentParams",
    "regime_tradeoff",
]

PositiveFloat = Annotated[float, Field(gt=0)]
NonNegativeFloat = Annotated[float, Field(ge=0)]
Fraction = Annotated[float, Field(gt=0, le=1)]


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
        # assumption: a world where reasoning buys a quarter of the general-task lever.
        general = TRADEOFFS[TaskClass.GENERAL]
        return general.oom_per_oom * 0.5, general.cap_oom * 0.5
    task = TaskClass.VERIFIABLE if regime is Regime.INFERENCE_HEAVY else TaskClass.GENERAL
    return TRADEOFFS[task].oom_per_oom, TRADEOFFS[task].cap_oom


class HardwareParams(Frozen):
    """Hardware prices and performance; see docs/model.md, 'Hardware'."""

    gpu: str = "h100"
    usd_per_gpu_hour: PositiveFloat = 2.0
    price_performance_doubling_years: PositiveFloat = 2.07
    memory_bandwidth_doubling_years: PositiveFloat = 4.1
    training_mfu_frac: Fraction = 0.4
    serving_mfu_frac: Fraction = 0.5
    serving_batch: Annotated[int, Field(ge=1)] = 64
    gpus_per_node: Annotated[int, Field(ge=1)] = 8
    bytes_per_param: PositiveFloat = 2.0

    @field_validator("gpu")
    @classmethod
    def _known_gpu(cls, v: str) -> str:
        if v not in GPUS:
            raise ValueError(f"expected one of {sorted(GPUS)}")
        return v


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
    """A customer segment: what a successful query is worth and how hard it is."""

    name: Annotated[str, Field(min_length=1)]
    weight_frac: PositiveFloat
    value_usd_per_success: PositiveFloat
    value_log_sd: NonNegativeFloat = 1.0
    difficulty_kappa: float
    difficulty_sd_oom: NonNegativeFloat = 0.5
    queries_per_month: PositiveFloat
    latency_value_frac_per_s: NonNegativeFloat = 0.0


DEFAULT_SEGMENTS: tuple[SegmentParams, ...] = (
    SegmentParams(
        name="consumer_chat",
        weight_frac=0.60,
        value_usd_per_success=0.02,
        difficulty_kappa=24.5,
        queries_per_month=150,
        latency_value_frac_per_s=0.01,
    ),
    SegmentParams(
        name="knowledge_work",
        weight_frac=0.25,
        value_usd_per_success=0.5,
        difficulty_kappa=26.0,
        queries_per_month=300,
        latency_value_frac_per_s=0.002,
    ),
    SegmentParams(
        name="coding",
        weight_frac=0.10,
        value_usd_per_success=5.0,
        difficulty_kappa=27.0,
        queries_per_month=400,
        latency_value_frac_per_s=0.001,
    ),
    SegmentParams(
        name="enterprise_analytics",
        weight_frac=0.04,
        value_usd_per_success=100.0,
        difficulty_kappa=27.5,
        queries_per_month=200,
        latency_value_frac_per_s=0.0002,
    ),
    SegmentParams(
        name="science",
        weight_frac=0.01,
        value_usd_per_success=10_000.0,
        value_log_sd=1.5,
        difficulty_kappa=29.0,
        queries_per_month=20,
        latency_value_frac_per_s=0.0,
    ),
)


class DemandParams(Frozen):
    """Customers: segments, logit taste noise, inertia and task success."""

    segments: Annotated[tuple[SegmentParams, ...], Field(min_length=1)] = DEFAULT_SEGMENTS
    represented_customers: PositiveFloat = 1e8
    choice_noise_frac: PositiveFloat = 0.2
    switching_inertia: NonNegativeFloat = 1.0
    success_slope_per_oom: PositiveFloat = 2.0

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
    tokens_per_query: PositiveFloat = 1000.0
    initial_markup_frac: NonNegativeFloat = 1.0
    price_damping_frac: Fraction = 0.5


class BusinessModelParams(Frozen):
    """What a business model means for a lab's model and offering."""

    training_flop: PositiveFloat
    overtrain_factor: Annotated[float, Field(ge=1)] = 1.0
    inference_multiplier: Annotated[float, Field(ge=1)] = 1.0


class FirmParams(Frozen):
    """Labs' money and models at the start of the run."""

    initial_cash_usd: NonNegativeFloat = 5e9
    model_life_months: Annotated[int, Field(ge=1)] = 24
    training_flop_log_sd: NonNegativeFloat = 0.3
    model_age_months: Annotated[int, Field(ge=0)] = 6
    upfront_heavy: BusinessModelParams = BusinessModelParams(
        training_flop=3e25, overtrain_factor=1.0, inference_multiplier=1.0
    )
    inference_heavy: BusinessModelParams = BusinessModelParams(
        training_flop=3e24, overtrain_factor=10.0, inference_multiplier=30.0
    )
    business_models: Annotated[tuple[BusinessModel, ...], Field(min_length=1)] = (
        BusinessModel.UPFRONT_HEAVY,
        BusinessModel.INFERENCE_HEAVY,
    )

    @field_validator("business_models")
    @classmethod
    def _trainable(cls, v: tuple[BusinessModel, ...]) -> tuple[BusinessModel, ...]:
        allowed = {BusinessModel.UPFRONT_HEAVY, BusinessModel.INFERENCE_HEAVY}
        bad = [b.value for b in v if b not in allowed]
        if bad:
            raise ValueError(f"labs start as one of {sorted(allowed)}, got {bad}")
        return v

    def for_business_model(self, business_model: BusinessModel) -> BusinessModelParams:
        """The parameters of one business model."""
        return getattr(self, business_model.value)


class ModelParams(Frozen):
    """Everything one run needs besides its seed, horizon and start month."""

    labs: Annotated[int, Field(ge=1, le=1000)] = 4
    customers: Annotated[int, Field(ge=1, le=100_000_000)] = 20_000
    hardware: HardwareParams = HardwareParams()
    algorithms: AlgorithmParams = AlgorithmParams()
    demand: DemandParams = DemandParams()
    market: MarketParams = MarketParams()
    firms: FirmParams = FirmParams()
