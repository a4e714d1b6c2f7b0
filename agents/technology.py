"""The month's technology: what a GPU-hour buys and costs, and what algorithms add.

A plain record of numbers (built each month by :mod:`aimarket.sim.technology`) with the
two computations every decision needs: the cost and latency of serving a token of a model
of a given size (the roofline of :func:`aimarket.markets.costs.serving_cost`), and the
plan of a training run (GPUs, months, cost).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from aimarket.markets.costs import HOURS_PER_MONTH, serving_cost

__all__ = ["SECONDS_PER_MONTH", "Technology"]

SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600.0


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
    training_mfu_frac, serving_mfu_frac, bytes_per_param, gpus_per_node
        How GPUs are used (``hardware.*``).
    max_training_gpus, training_target_months, max_training_months
        The largest training cluster a firm can rent, how long a run is planned to take
        when it fits, and the longest run a firm plans at all.
    """

    month: int
    peak_flop_per_s: float
    mem_bw_bytes_per_s: float
    mem_bytes: float
    usd_per_gpu_hour: float
    training_multiplier: float
    serving_efficiency: float
    training_mfu_frac: float = 0.4
    serving_mfu_frac: float = 0.5
    bytes_per_param: float = 2.0
    gpus_per_node: int = 8
    max_training_gpus: float = 100_000.0
    training_target_months: float = 4.0
    max_training_months: float = 24.0

    def token_economics(
        self, params_count: ArrayLike, *, batch: ArrayLike
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """GPU cost (USD) and decode latency (s) of one token of models of ``params_count``
        parameters served at ``batch`` (arrays broadcast): the decode roofline
        (:func:`aimarket.markets.costs.serving_cost`), its cost divided by the month's
        serving efficiency."""
        serving = serving_cost(
            np.asarray(params_count, dtype=float),
            batch=batch,
            peak_flop_per_s=self.peak_flop_per_s,
            mem_bw_bytes_per_s=self.mem_bw_bytes_per_s,
            mem_bytes=self.mem_bytes,
            usd_per_gpu_hour=self.usd_per_gpu_hour,
            gpus_per_node=self.gpus_per_node,
            bytes_per_param=self.bytes_per_param,
            mfu=self.serving_mfu_frac,
        )
        usd = np.asarray(serving.usd_per_token, dtype=float) / self.serving_efficiency
        return usd, np.asarray(serving.latency_s_per_token, dtype=float)

    def training_plan(self, flop: ArrayLike) -> tuple[Any, Any, Any]:
        """``(gpus, months, cost_usd)`` of a training run of ``flop`` planned now (arrays like
        ``flop``): enough GPUs to finish in ``training_target_months``, capped at
        ``max_training_gpus``, at this month's rental price."""
        per_gpu_month = self.peak_flop_per_s * self.training_mfu_frac * SECONDS_PER_MONTH
        flop = np.asarray(flop, dtype=float)
        wanted = flop / (per_gpu_month * self.training_target_months)
        gpus = np.maximum(np.minimum(wanted, self.max_training_gpus), 1.0)
        months = flop / (gpus * per_gpu_month)
        return gpus, months, gpus * months * HOURS_PER_MONTH * self.usd_per_gpu_hour

    def flop_per_gpu_month(self) -> float:
        """Training FLOP one rented GPU delivers in a month at the training MFU."""
        return self.peak_flop_per_s * self.training_mfu_frac * SECONDS_PER_MONTH
