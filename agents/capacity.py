"""A firm's serving capacity: how many GPUs it contracts ahead, and on what terms.

GPUs for serving are booked ``lead_months`` ahead on take-or-pay contracts of
``contract_months``, at a discount to the spot price (:class:`CapacityTerms`). Each month
a firm forecasts its serving need at the month its new contracts would start (its last
need, grown at the market's recent trend) and books the gap between its provisioned peak (the
forecast times the peak-to-average load) and what it already holds then
(:func:`capacity_order_gpus`). What it under-books it rents on the spot market, or goes
without when the spot market is short; what it over-books it pays for anyway, and puts to
work: each month its contracted GPUs go to serving first (as much as serving drew from
them last month), then to its research, then to its final training run
(:func:`contract_use`); only the rest of its research and training is rented.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

__all__ = ["CapacityTerms", "Contract", "ContractUse", "capacity_order_gpus", "contract_use"]


@dataclass(frozen=True, slots=True)
class CapacityTerms:
    """Contract terms and the firm's provisioning rule (``model.capacity``; sources in
    docs/model.md)."""

    lead_months: int
    contract_months: int
    contract_discount_frac: float
    peak_to_average: float
    max_growth_per_month: float
    #: Months of need the trend is read over (assumption: the last year's growth).
    trend_months: int = 12
    #: Months of its own need a firm's base load is the least of (assumption: a quarter).
    base_months: int = 3


@dataclass(frozen=True, slots=True)
class Contract:
    """``gpus`` for the months ``[start_month, end_month)``, at ``usd_per_gpu_hour``,
    paid whether used or not."""

    firm_id: int
    gpus: float
    start_month: int
    end_month: int
    usd_per_gpu_hour: float

    def active(self, month: int) -> bool:
        """Whether the contract runs in ``month``."""
        return self.start_month <= month < self.end_month


def capacity_order_gpus(
    need_history_gpus: list[float],
    market_need_history_gpus: list[float],
    contracted_then_gpus: float,
    terms: CapacityTerms,
) -> float:
    """GPUs to book now for the month ``terms.lead_months`` ahead.

    ``order = max(0, peak_to_average * base * g**lead - contracted_then)`` with ``base``
    the firm's base load, the least of its serving needs (GPUs, averaged over a month) of
    the last ``base_months`` (what it is confident it will keep: its own need swings as
    customers switch, and the spot market takes the rest), and ``g`` the monthly growth of
    the whole market's serving need over the last ``trend_months`` (the firm expects to
    keep its share), between 1 (no firm plans for decline: its contracts simply run out)
    and ``max_growth_per_month``.

    Examples
    --------
    >>> terms = CapacityTerms(6, 12, 0.35, 1.25, 1.4, trend_months=3)
    >>> capacity_order_gpus([100.0], [50.0, 50.0, 50.0, 50.0], 0.0, terms)
    125.0
    >>> capacity_order_gpus([300.0, 100.0, 200.0], [50.0, 50.0, 50.0, 50.0], 0.0, terms)
    125.0
    >>> capacity_order_gpus([100.0], [50.0, 50.0, 50.0, 50.0], 200.0, terms)
    0.0
    >>> round(capacity_order_gpus([100.0], [50.0, 55.0, 60.5, 66.55], 0.0, terms), 1)  # +10%/mo
    221.4
    """
    need_gpus = min(need_history_gpus[-terms.base_months :], default=0.0)
    if need_gpus <= 0:
        return 0.0
    history, k = market_need_history_gpus, terms.trend_months
    growth = 1.0
    if len(history) > k and history[-1 - k] > 0:
        growth = (history[-1] / history[-1 - k]) ** (1.0 / k)
    growth = min(max(growth, 1.0), terms.max_growth_per_month)
    target = terms.peak_to_average * need_gpus * growth**terms.lead_months
    return max(0.0, target - contracted_then_gpus)


class ContractUse(NamedTuple):
    """What a firm's contracted GPUs do in a month besides serving (GPUs)."""

    research_gpus: float
    training_gpus: float


def contract_use(
    held_gpus: float, serving_gpus: float, research_gpus: float, training_gpus: float
) -> ContractUse:
    """A month's allocation of a firm's ``held_gpus`` contracted GPUs: serving first (the
    ``serving_gpus`` it drew from them last month), then the firm's ``research_gpus``,
    then its final training run's ``training_gpus``. What serving needs beyond last
    month's level it rents on the spot market.

    >>> contract_use(100.0, 70.0, 20.0, 50.0)
    ContractUse(research_gpus=20.0, training_gpus=10.0)
    >>> contract_use(100.0, 120.0, 20.0, 50.0)
    ContractUse(research_gpus=0.0, training_gpus=0.0)
    """
    idle = max(held_gpus - serving_gpus, 0.0)
    research = min(idle, max(research_gpus, 0.0))
    return ContractUse(research, min(idle - research, max(training_gpus, 0.0)))
