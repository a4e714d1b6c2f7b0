"""The GPU market: a growing supply, training runs and capacity contracts that hold parts
of it, a spot market for the rest, and the spot rental price.

Training runs and running capacity contracts take GPUs from a simpy ``Container`` (the
GPUs nobody holds) for as long as they last, so a run or a contract that finds too few
GPUs free gets fewer (a contract is partly delivered) or waits (a run). Serving draws on a
firm's own contracts first and then on the spot pool, the Container's level, which it can
exhaust: then serving is rationed (:func:`aimarket.markets.capacity.serve_from_capacity`).
The spot price of a GPU-hour rises with the share of the supply taken
(:func:`markets.hardware.gpu_rental_usd_per_hour`): a boom in training or in serving makes
compute scarce and dear for everyone, as in 2023.
"""

from __future__ import annotations

import dataclasses

import simpy

from aimarket.agents.capacity import CapacityTerms, Contract
from aimarket.markets.capacity import Serving
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
    terms
        Capacity contract terms (``model.capacity``).
    """

    def __init__(self, env: simpy.Environment, params: HardwareParams, terms: CapacityTerms):
        self.env = env
        self.params = params
        self.terms = terms
        self.supply = params.gpu_supply
        #: GPUs held by neither training runs nor contracts: the spot pool.
        self.free = simpy.Container(env, capacity=float("inf"), init=params.gpu_supply)
        #: Contracts signed and not yet started, and those running (``gpus`` delivered).
        self.pending: list[Contract] = []
        self.running: list[Contract] = []
        #: Last month's serving: spot need before rationing, and GPUs served from spot
        #: and from contracts.
        self.spot_demand_gpus = 0.0
        self.spot_serving_gpus = 0.0
        self.contract_serving_gpus = 0.0
        #: The market's serving need of recent months (GPUs), newest last.
        self.need_history: list[float] = []

    @property
    def contracted_gpus(self) -> float:
        """GPUs held under running contracts."""
        return sum(c.gpus for c in self.running)

    @property
    def training_gpus(self) -> float:
        """GPUs held by training runs now."""
        return self.supply - self.free.level - self.contracted_gpus

    @property
    def trainable_gpus(self) -> float:
        """GPUs a new training run may take: the spot pool less what serving drew from it
        last month (serving comes first)."""
        return max(self.free.level - self.spot_serving_gpus, 0.0)

    @property
    def utilisation_frac(self) -> float:
        """``(training + contracted + spot serving demand) / supply``: the share of the
        supply taken or asked for; above 1 means spot serving is rationed. (Not below 0:
        with nothing taken, the free pool's rounding could leave -1e-16.)"""
        taken = self.training_gpus + self.contracted_gpus + self.spot_demand_gpus
        return max(taken / self.supply, 0.0)

    @property
    def usd_per_gpu_hour(self) -> float:
        """Spot rental price at the current utilisation."""
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
        """Add the supply installed since the last call (supply grows exponentially), end
        contracts that run out and deliver those that start, as far as GPUs are free."""
        target = self.params.gpu_supply * float(
            gpu_supply_multiplier(month, growth_per_year=self.params.gpu_supply_growth_per_year)
        )
        if target > self.supply:
            self.free.put(target - self.supply)
            self.supply = target
        now = round(month)
        self._end([c for c in self.running if c.end_month <= now])
        for c in [c for c in self.pending if c.start_month <= now]:
            self.pending.remove(c)
            self._deliver(dataclasses.replace(c, gpus=min(c.gpus, self.free.level)))

    def _end(self, contracts: list[Contract]) -> None:
        """Running ``contracts`` end: their GPUs go back to the spot pool."""
        for c in contracts:
            self.running.remove(c)
            if c.gpus > 0:
                self.free.put(c.gpus)

    def _deliver(self, contract: Contract) -> None:
        if contract.gpus > 0:
            self.free.get(contract.gpus)  # immediate: the level covers it
        self.running.append(contract)

    def sign(self, contract: Contract) -> None:
        """Book a contract; it is delivered at the start of its ``start_month``, a later
        month (a contract signed after a month's clearing cannot serve that month)."""
        if contract.start_month <= round(self.env.now):
            raise ValueError(f"a contract must start after month {self.env.now}: {contract}")
        self.pending.append(contract)

    def held_gpus(self, firm_id: int, month: int | None = None) -> float:
        """GPUs the firm holds under contract now, or (``month``) will hold then under the
        contracts signed so far."""
        if month is None:
            return sum(c.gpus for c in self.running if c.firm_id == firm_id)
        return sum(
            c.gpus for c in self.running + self.pending if c.firm_id == firm_id and c.active(month)
        )

    def contract_bill_usd(self, firm_id: int) -> float:
        """What the firm's running contracts cost this month, used or not (take-or-pay)."""
        return sum(
            c.gpus * HOURS_PER_MONTH * c.usd_per_gpu_hour
            for c in self.running
            if c.firm_id == firm_id
        )

    def contract_usd_per_gpu_hour(self, firm_id: int) -> float:
        """What a GPU-hour of the firm's running contracts costs on average (0: none)."""
        held = self.held_gpus(firm_id)
        return self.contract_bill_usd(firm_id) / (held * HOURS_PER_MONTH) if held > 0 else 0.0

    def release(self, firm_id: int) -> None:
        """A firm's contracts end with it (it has left the market)."""
        self._end([c for c in self.running if c.firm_id == firm_id])
        self.pending = [c for c in self.pending if c.firm_id != firm_id]

    def record_serving(self, serving: Serving) -> None:
        """Record the month's serving (the spot price next month follows its demand)."""
        self.spot_demand_gpus = serving.spot_demand
        self.spot_serving_gpus = float(serving.from_spot.sum())
        self.contract_serving_gpus = float(serving.from_contract.sum())
        self.need_history.append(self.contract_serving_gpus + serving.spot_demand)
        del self.need_history[: -(self.terms.trend_months + 1)]
