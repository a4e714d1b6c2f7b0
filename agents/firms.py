"""Firms: labs and startups as mesa agents.

A firm holds cash, one trained model and the price of its offering. What it decides is
computed by pure functions in :mod:`agents.policies`; the simulation tells it what each
month cost and earned through :meth:`Firm.book`.
"""

from __future__ import annotations

from typing import ClassVar

import mesa
import numpy as np

from agents.business import BusinessModel, TrainedModel

__all__ = ["Firm", "Lab", "Startup"]


class Firm(mesa.Agent):
    """A firm that sells one AI offering.

    Parameters
    ----------
    model
        The owning mesa model.
    business_model
        Where the firm's compute goes.
    cash_usd
        Cash at entry.
    trained
        The model it serves.
    inference_multiplier
        Tokens per query relative to a non-reasoning answer (1 = no test-time compute).
    """

    kind: ClassVar[str] = "firm"

    def __init__(
        self,
        model: mesa.Model,
        *,
        business_model: BusinessModel,
        cash_usd: float,
        trained: TrainedModel,
        inference_multiplier: float,
    ) -> None:
        super().__init__(model)
        self.business_model = business_model
        self.cash_usd = float(cash_usd)
        self.trained = trained
        self.inference_multiplier = float(inference_multiplier)
        #: ``(s,)`` price per query in each customer segment; empty until first priced.
        self.prices_usd_per_query = np.empty(0)
        self.active = True

    @property
    def firm_id(self) -> int:
        """The mesa ``unique_id``: stable for the whole run."""
        return self.unique_id

    def book(
        self,
        *,
        revenue_usd: float,
        serving_cost_usd: float,
        training_spend_usd: float = 0.0,
        funding_usd: float = 0.0,
    ) -> None:
        """Record one month's cash flows: ``cash += revenue - serving - training + funding``."""
        self.cash_usd += revenue_usd - serving_cost_usd - training_spend_usd + funding_usd


class Lab(Firm):
    """An established lab that trains its own models."""

    kind: ClassVar[str] = "lab"


class Startup(Firm):
    """A new entrant that raised funding to enter."""

    kind: ClassVar[str] = "startup"
