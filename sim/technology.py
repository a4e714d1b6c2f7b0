"""Builds the month's :class:`~aimarket.agents.technology.Technology` from the run's
hardware and algorithm trends (:mod:`aimarket.markets.hardware`) and the GPU market's
rental price; the hardware process replaces ``MarketModel.technology`` every month."""

from __future__ import annotations

from aimarket.agents.technology import Technology
from aimarket.markets.calendar import month_index
from aimarket.markets.hardware import (
    algorithmic_inference_multiplier,
    algorithmic_training_multiplier,
    gpu_at,
    inference_chip_factor,
)
from aimarket.sim.params import ModelParams

__all__ = ["technology_at"]


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
        training_mfu_frac=hw.training_mfu_frac,
        serving_mfu_frac=hw.serving_mfu_frac,
        bytes_per_param=hw.bytes_per_param,
        gpus_per_node=hw.gpus_per_node,
        max_training_gpus=hw.max_training_gpus,
        training_target_months=hw.training_target_months,
        max_training_months=hw.max_training_months,
    )
