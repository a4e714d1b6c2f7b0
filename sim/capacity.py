"""Serving capacity in the clearing phase: the GPUs each firm's tokens need, how much of
that its contracts and the spot market cover, the choices rationed to what was served,
what the month's serving cost each firm, and the contracts firms book for later.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from numpy.typing import NDArray

from aimarket.agents.capacity import Contract, capacity_order_gpus
from aimarket.agents.choice import Choice
from aimarket.markets.capacity import serve_from_capacity
from aimarket.markets.costs import HOURS_PER_MONTH

if TYPE_CHECKING:
    from aimarket.agents.firms import Firm
    from aimarket.sim.market import OfferRow
    from aimarket.sim.model import MarketModel

__all__ = ["Settlement", "book_capacity", "ration", "settle_serving"]


class Settlement(NamedTuple):
    """A month's serving, per firm ``(f,)`` and per offering ``(j,)``."""

    #: ``(f,)`` share of each firm's serving need that was served.
    served_frac: NDArray[np.float64]
    #: ``(f,)`` what its serving GPUs cost, USD: its contracts (used or not; less what
    #: research and training used) and its spot rental.
    gpu_usd: NDArray[np.float64]
    #: ``(j,)`` share served of each offering (its server's).
    offer_served_frac: NDArray[np.float64]


def settle_serving(
    model: MarketModel,
    firms: tuple[Firm, ...],
    rows: list[OfferRow],
    gpu_usd_j: NDArray[np.float64],
) -> Settlement:
    """Serve each firm's need from its contracts (what its research and training did not
    take this month), then from the spot pool (rationed when short). ``gpu_usd_j``
    ``(j,)`` is what each offering's tokens cost at the month's spot price; a wrapper's
    tokens are served on its supplier's GPUs."""
    index = {f.firm_id: k for k, f in enumerate(firms)}
    server = np.array([index[(r.supplier or r.firm).firm_id] for r in rows], dtype=np.intp)
    price = model.technology.usd_per_gpu_hour
    need = np.bincount(server, gpu_usd_j / (price * HOURS_PER_MONTH), len(firms))
    gpus = model.gpus
    held = np.array([gpus.held_gpus(f.firm_id) - f.month_contract_rnd_gpus for f in firms])
    held = np.maximum(held, 0.0)  # rounding
    serving = serve_from_capacity(need, held, max(gpus.free.level, 0.0))
    gpus.record_serving(serving)
    for k, firm in enumerate(firms):
        firm.serving_need_gpus.append(float(need[k]))
        del firm.serving_need_gpus[: -gpus.terms.base_months]
        firm.served_frac = float(serving.served_frac[k])
        firm.contract_serving_gpus = float(serving.from_contract[k])
    bills = np.array([gpus.contract_bill_usd(f.firm_id) - f.month_contract_rnd_usd for f in firms])
    bills = np.maximum(bills, 0.0)
    gpu_usd = bills + serving.from_spot * HOURS_PER_MONTH * price
    return Settlement(serving.served_frac, gpu_usd, serving.served_frac[server])


def ration(choice: Choice, plan: NDArray[np.bool_], served_frac: NDArray[np.float64]) -> Choice:
    """The month's choices cut to what was served, ``served_frac`` ``(j,)`` per offering:
    queries and tokens not served are lost; per-token customers pay only for what was
    served, subscribers pay their fee anyway (a rate-limited plan)."""
    if (served_frac >= 1.0).all():
        return choice
    pay = np.where(plan, 1.0, served_frac)
    return dataclasses.replace(
        choice,
        queries_by_segment=choice.queries_by_segment * served_frac,
        tokens_by_segment=choice.tokens_by_segment * served_frac,
        pay_units_by_segment=choice.pay_units_by_segment * pay,
        spend_by_segment=choice.spend_by_segment * pay,
    )


def book_capacity(model: MarketModel) -> None:
    """Each firm that serves its own models books the capacity it will need
    ``lead_months`` ahead (:func:`aimarket.agents.capacity.capacity_order_gpus`), at the
    contract discount to today's spot price."""
    gpus, terms = model.gpus, model.gpus.terms
    start = model.month + terms.lead_months
    price = (1.0 - terms.contract_discount_frac) * model.technology.usd_per_gpu_hour
    for firm in model.firms:
        if not (firm.active and firm.conduct.pays_upkeep):
            continue
        order = capacity_order_gpus(
            firm.serving_need_gpus, gpus.need_history, gpus.held_gpus(firm.firm_id, start), terms
        )
        if order > 0:
            gpus.sign(Contract(firm.firm_id, order, start, start + terms.contract_months, price))
