"""The month's technology: what a GPU-hour buys, what it costs, what algorithms add.

Built from :mod:`markets.hardware` trends and the GPU market's rental price; the hardware
process replaces ``MarketModel.technology`` with a new :class:`Technology` every month.
"""

from __future__ import annotations

from dataclasses import dataclass

from aimarket.markets.hardware import (
    algorithmic_inference_multiplier,
    algorithmic_training_multiplier,
    gpu_at,
    inference_chip_factor,
)
from aimarket.sim.clock import month_index
from aimarket.sim.params import ModelParams

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
        Rental price of one GPU-hour this month.
    training_multiplier
        Algorithmic effective-compute multiplier of training at this month, relative to
        ``algorithms.reference_month``.
    serving_efficiency
        Divisor of serving cost: serving-software progress since the start month, and an
        inference chip once it has arrived.
    """

    month: int
    peak_flop_per_s: float
    mem_bw_bytes_per_s: float
    mem_bytes: float
    usd_per_gpu_hour: float
    training_multiplier: float
    serving_efficiency: float


def technology_at(
    params: ModelParams, start_month: str, month: float, *, usd_per_gpu_hour: float
) -> Technology:
    """Technology ``month`` months after ``start_month`` (may be negative or fractional)."""
    hw, alg = params.hardware, params.algorithms
    gpu = gpu_at(
        month,
        base=hw.gpu,
        flop_doubling_years=hw.price_performance_doubling_years,
        bandwidth_doubling_years=hw.memory_bandwidth_doubling_years,
    )
    since_reference = month_index(start_month) + month - month_index(alg.reference_month)
    chip = 1.0
    if hw.inference_chip_month is not None:
        chip = float(
            inference_chip_factor(
                month,
                arrival_months=hw.inference_chip_month,
                cost_factor=hw.inference_chip_cost_factor,
            )
        )
    return Technology(
        month=int(month),
        peak_flop_per_s=float(gpu.peak_flop_per_s),
        mem_bw_bytes_per_s=float(gpu.mem_bw_bytes_per_s),
        mem_bytes=float(gpu.mem_bytes),
        usd_per_gpu_hour=usd_per_gpu_hour,
        training_multiplier=float(
            algorithmic_training_multiplier(
                since_reference, halving_months=alg.training_halving_months
            )
        ),
        serving_efficiency=float(
            algorithmic_inference_multiplier(
                max(month, 0.0), factor_per_year=alg.serving_efficiency_per_year
            )
        )
        / chip,
    )
