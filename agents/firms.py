"""Firms: labs and startups as mesa agents.

A firm holds cash, the model it serves, at most one project in training and the prices of
its offerings. What it decides is computed by pure functions (:mod:`agents.policies`,
:mod:`agents.strategy`); the simulation tells it what each month cost and earned through
:meth:`Firm.book`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import mesa
import numpy as np
from numpy.typing import NDArray

from aimarket.agents.business import BusinessModel, Tier, TrainedModel
from aimarket.agents.strategy import Candidate

__all__ = ["Firm", "Lab", "OpenWeights", "Project", "Startup"]


@dataclass
class Project:
    """A training run in progress.

    ``gpus`` are held from the GPU supply until the run ends; ``spent_usd`` accumulates the
    monthly rental paid so far.
    """

    candidate: Candidate
    started_month: float
    gpus: float
    flop_done: float = 0.0
    spent_usd: float = 0.0


class Firm(mesa.Agent):
    """A firm that sells AI offerings.

    Parameters
    ----------
    model
        The owning mesa model.
    business_model
        Where the firm's compute goes (may change at each new project).
    cash_usd
        Cash at founding.
    trained
        The model it serves, or None until its first project launches.
    founded_month
        Simulation month of founding (negative for the starting labs).
    """

    kind: ClassVar[str] = "firm"

    def __init__(
        self,
        model: mesa.Model,
        *,
        business_model: BusinessModel,
        cash_usd: float,
        trained: TrainedModel | None = None,
        founded_month: float = 0.0,
    ) -> None:
        super().__init__(model)
        self.business_model = business_model
        self.cash_usd = float(cash_usd)
        self.trained = trained
        self.project: Project | None = None
        self.founded_month = founded_month
        self.active = True
        self.exit_month: int | None = None
        self.idle_months = 0
        #: Month of the last funding round (None: never raised).
        self.last_round_month: int | None = None
        #: ``(s,)`` price of each tier's offering per segment; absent until first priced.
        self.prices: dict[Tier, NDArray[np.float64]] = {}
        #: Revenue of the last twelve months (USD), newest last: traction for investors.
        self.revenue_history: list[float] = []
        # This month's flows, booked at clearing and reset after recording.
        self.month_training_usd = 0.0
        self.month_funding_usd = 0.0

    @property
    def firm_id(self) -> int:
        """The mesa ``unique_id``: stable for the whole run."""
        return self.unique_id

    @property
    def annual_revenue_usd(self) -> float:
        """Revenue of the last twelve months, annualised if the firm is younger."""
        if not self.revenue_history:
            return 0.0
        recent = self.revenue_history  # at most the last twelve months (see :meth:`book`)
        return sum(recent) / len(recent) * 12

    def book(
        self,
        *,
        revenue_usd: float,
        serving_cost_usd: float,
        training_spend_usd: float = 0.0,
        opex_usd: float = 0.0,
    ) -> None:
        """Book one month's operations: ``cash += revenue - serving - training - opex``.

        Funding is not booked here: it reaches the cash when raised
        (:meth:`receive_funding`), so that decisions in the same month can use it.
        """
        self.cash_usd += revenue_usd - serving_cost_usd - training_spend_usd - opex_usd
        self.revenue_history.append(revenue_usd)
        del self.revenue_history[:-12]

    def receive_funding(self, amount_usd: float) -> None:
        """Investors' money arrives now; it is also this month's ``funding_usd``."""
        if amount_usd < 0:
            raise ValueError(f"funding must be non-negative, got {amount_usd}")
        self.cash_usd += amount_usd
        self.month_funding_usd += amount_usd


class Lab(Firm):
    """An established lab that trains its own frontier models."""

    kind: ClassVar[str] = "lab"


class Startup(Firm):
    """A new entrant that raised venture funding to enter."""

    kind: ClassVar[str] = "startup"


class OpenWeights(Firm):
    """The competitive fringe: many hosts serving an open-weights model at a small markup
    over cost. It makes no strategic choices, has no fixed costs and never exits;
    concentration measures treat it as atomistic (see :func:`markets.metrics.hhi`).

    ``params_frac`` and ``gap_oom`` describe the open model against the lab model it
    reproduces: 1 and 0 for the full-size release, smaller for a distilled small one.
    """

    kind: ClassVar[str] = "open_weights"

    def __init__(
        self, model: mesa.Model, *, params_frac: float = 1.0, gap_oom: float = 0.0, **kwargs: Any
    ) -> None:
        super().__init__(model, **kwargs)
        self.params_frac = params_frac
        self.gap_oom = gap_oom
        #: The lab model whose capability the fringe serves.
        self.source: TrainedModel | None = None
