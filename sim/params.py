"""Every knob of one run, with units in the names and a default for each.

``ModelParams`` is the ``[model]`` table of an experiment config: the agents' knobs
(:mod:`aimarket.agents.params`) with the hardware and algorithm trends of the run. All are
frozen pydantic models that forbid unknown keys and non-finite numbers. The source of
every default is in ``docs/model.md``.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator, model_validator

from aimarket.agents.capacity import CapacityTerms
from aimarket.agents.params import (
    DemandParams,
    EntryParams,
    FinanceParams,
    FirmParams,
    Fraction,
    Frozen,
    MarketParams,
    PositiveFloat,
    Regime,
    StrategyParams,
)
from aimarket.markets.calendar import normalise_month
from aimarket.markets.hardware import GPUS

__all__ = ["AlgorithmParams", "CapacityParams", "HardwareParams", "ModelParams", "Regime"]


class HardwareParams(Frozen):
    """Hardware performance, GPU supply and its rental price; see docs/model.md."""

    gpu: str = "h100"
    price_performance_doubling_years: PositiveFloat = 2.07
    memory_bandwidth_doubling_years: PositiveFloat = 4.1
    training_mfu_frac: Fraction = 0.4
    training_target_months: PositiveFloat = 4.0
    max_training_months: PositiveFloat = 24.0
    serving_mfu_frac: Fraction = 0.5
    serving_batch: Annotated[int, Field(ge=1)] = 64
    priority_batch: Annotated[int, Field(ge=1)] = 8
    batch_tier_batch: Annotated[int, Field(ge=1)] = 256
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


class CapacityParams(Frozen):
    """Serving capacity: contract terms and how far ahead firms provision; see
    docs/model.md, 'Compute capacity'."""

    lead_months: Annotated[int, Field(ge=1, le=60)] = 6
    contract_months: Annotated[int, Field(ge=1, le=120)] = 12
    contract_discount_frac: Annotated[float, Field(ge=0, lt=1)] = 0.35
    peak_to_average: Annotated[float, Field(ge=1)] = 1.23
    max_growth_per_month: Annotated[float, Field(ge=1)] = 1.38

    def terms(self) -> CapacityTerms:
        """The terms as the firms' provisioning rule takes them."""
        return CapacityTerms(
            lead_months=self.lead_months,
            contract_months=self.contract_months,
            contract_discount_frac=self.contract_discount_frac,
            peak_to_average=self.peak_to_average,
            max_growth_per_month=self.max_growth_per_month,
        )


class AlgorithmParams(Frozen):
    """Algorithmic progress; see docs/model.md, 'Hardware and algorithms'."""

    training_halving_months: PositiveFloat = 8.0
    serving_efficiency_per_year: Annotated[float, Field(ge=1)] = 1.5
    reference_month: str = "2020-01"

    @field_validator("reference_month")
    @classmethod
    def _month(cls, v: str) -> str:
        return normalise_month(v)


class ModelParams(Frozen):
    """Everything one run needs besides its seed, horizon and start month."""

    labs: Annotated[int, Field(ge=1, le=1000)] = 4
    customers: Annotated[int, Field(ge=1, le=100_000_000)] = 20_000
    hardware: HardwareParams = HardwareParams()
    capacity: CapacityParams = CapacityParams()
    algorithms: AlgorithmParams = AlgorithmParams()
    demand: DemandParams = DemandParams()
    market: MarketParams = MarketParams()
    firms: FirmParams = FirmParams()
    strategy: StrategyParams = StrategyParams()
    finance: FinanceParams = FinanceParams()
    entry: EntryParams = EntryParams()
