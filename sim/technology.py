"""The month's technology: what a GPU-hour buys and what algorithms add.

Built from :mod:`markets.hardware` trends; the hardware process replaces
``MarketModel.technology`` with a new :class:`Technology` every month.
"""

from __future__ import annotations

from dataclasses import dataclass

from markets.hardware import (
    algorithmic_inference_multiplier,
    algorithmic_training_multiplier,
    gpu_at,
)
from sim.clock import month_index
from sim.params import ModelParams

__all__ = ["Technology", "technology_at"]


@dataclass(frozen=True, slots=True)
class Technology:
    """Hardware and algorithms in one month.

    Attributes
    ----------
    month
        Simulation month (0 = the start month).
    peak_flop_per_s, mem_bw_bytes_per_s, mem_bytes
        Per rented GPU: the GPU you rent for ``usd_per_gpu_hour`` gets better over time.
    usd_per_gpu_hour
        Rental price of one GPU-hour.
    training_multiplier
        Algorithmic effective-compute multiplier of training at this month, relative to
        ``algorithms.reference_month``.
    serving_efficiency
        Divisor of serving cost from serving-software progress since the start month.
    """

    month: int
    peak_flop_per_s: float
    mem_bw_bytes_per_s: float
    mem_bytes: float
    usd_per_gpu_hour: float
    training_multiplier: float
    serving_efficiency: float


def technology_at(params: ModelParams, start_month: str, month: int) -> Technology:
    """Technology ``month`` months after ``start_month`` (month may be negative)."""
    hw, alg = params.hardware, params.algorithms
    gpu = gpu_at(
        month,
        base=hw.gpu,
        flop_doubling_years=hw.price_performance_doubling_years,
        bandwidth_doubling_years=hw.memory_bandwidth_doubling_years,
    )
    since_reference = month_index(start_month) + month - month_index(alg.reference_month)
    return Technology(
        month=month,
        peak_flop_per_s=float(gpu.peak_flop_per_s),
        mem_bw_bytes_per_s=float(gpu.mem_bw_bytes_per_s),
        mem_bytes=float(gpu.mem_bytes),
        usd_per_gpu_hour=hw.usd_per_gpu_hour,
        training_multiplier=float(
            algorithmic_training_multiplier(
                since_reference, halving_months=alg.training_halving_months
            )
        ),
        serving_efficiency=float(
            algorithmic_inference_multiplier(month, factor_per_year=alg.serving_efficiency_per_year)
        ),
    )
