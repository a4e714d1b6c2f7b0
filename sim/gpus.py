"""The GPU market: a growing supply that training runs draw on, and its rental price.

Training runs take GPUs from a simpy ``Container`` for their whole duration; serving needs
GPUs too, in proportion to the queries served. The rental price of a GPU-hour rises with
the utilisation of the supply (:func:`markets.hardware.gpu_rental_usd_per_hour`): a
training boom makes compute scarce and dear for everyone, as in 2023.
"""

from __future__ import annotations

import simpy

from aimarket.markets.costs import HOURS_PER_MONTH
from aimarket.markets.hardware import gpu_rental_usd_per_hour, gpu_supply_multiplier
from aimarket.sim.params import HardwareParams

__all__ = ["GpuMarket"]


class GpuMarket:
    """GPU supply and demand of the market, in GPUs of the run's reference type.

    Parameters
    ----------
    env
        The run's clock.
    params
        Hardware parameters: starting supply, its growth, the rental-price curve.
    """

    def __init__(self, env: simpy.Environment, params: HardwareParams) -> None:
        self.env = env
        self.params = params
        self.supply = params.gpu_supply
        #: GPUs not held by training runs.
        self.free = simpy.Container(env, capacity=float("inf"), init=params.gpu_supply)
        self.serving_gpus = 0.0

    @property
    def training_gpus(self) -> float:
        """GPUs held by training runs now."""
        return self.supply - self.free.level

    @property
    def utilisation_frac(self) -> float:
        """``(training + serving GPUs) / supply``; above 1 means demand is rationed."""
        return (self.training_gpus + self.serving_gpus) / self.supply

    @property
    def usd_per_gpu_hour(self) -> float:
        """Rental price at the current utilisation."""
        p = self.params
        return float(
            gpu_rental_usd_per_hour(
                self.utilisation_frac,
                floor_usd_per_hour=p.rental_floor_usd_per_hour,
                scarcity_usd_per_hour=p.rental_scarcity_usd_per_hour,
                convexity=p.rental_convexity,
            )
        )

    def grow_to(self, month: float) -> None:
        """Add the supply installed since the last call (supply grows exponentially)."""
        target = self.params.gpu_supply * float(
            gpu_supply_multiplier(month, growth_per_year=self.params.gpu_supply_growth_per_year)
        )
        if target > self.supply:
            self.free.put(target - self.supply)
            self.supply = target

    def set_serving(self, gpu_hours_per_month: float) -> None:
        """Record the GPUs serving needed last month."""
        self.serving_gpus = gpu_hours_per_month / HOURS_PER_MONTH
