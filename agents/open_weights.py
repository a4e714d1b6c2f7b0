"""The open-weights fringe: many hosts serving open models at a markup over cost, as one
firm agent with no strategy, no fixed costs and no exit."""

from __future__ import annotations

from typing import ClassVar

import mesa
import numpy as np
from numpy.typing import NDArray

from aimarket.agents.business import BusinessModel
from aimarket.agents.context import AgentParams, MarketContext
from aimarket.agents.firms import Firm, Menu
from aimarket.agents.products import Model, Role, distilled_kappa, retrained_size_frac
from aimarket.agents.strategy import Candidate

__all__ = ["OpenWeights"]


class OpenWeights(Firm):
    """The competitive fringe: many hosts serving open-weights models at a small markup
    over cost. It makes no strategic choices, has no fixed costs and never exits;
    concentration measures treat it as atomistic (see :func:`aimarket.markets.metrics.hhi`).

    Its line is a family released after the lab model it reproduces: the full size and
    distilled smaller ones (``firms.open_weights.family_params_fracs``).
    """

    kind: ClassVar[str] = "open_weights"

    def __init__(self, model: mesa.Model, **kwargs) -> None:
        super().__init__(model, business_model=BusinessModel.OPEN_WEIGHTS, cash_usd=0.0, **kwargs)
        #: The lab model whose capability the fringe serves.
        self.source: Model | None = None

    def review(
        self, ctx: MarketContext, rng: np.random.Generator, *, distil_only: bool = False
    ) -> Candidate | None:
        return None

    def opex_usd(self, params: AgentParams) -> float:
        return 0.0

    def set_prices(
        self,
        ctx: MarketContext,
        menu: Menu,
        best_response_usd: NDArray[np.float64],
    ) -> NDArray[np.float64]:
        """Hosts compete: cost plus their markup (``firms.open_weights.host_markup_frac``),
        whatever the demand."""
        prices = menu.unit_usd * (1.0 + ctx.params.firms.open_weights.host_markup_frac)
        self.prices = {int(o): float(p) for o, p in zip(menu.offer_ids, prices, strict=True)}
        return prices

    def family(
        self,
        source: Model,
        *,
        month: int,
        multiplier_then: float,
        multiplier_now: float,
        fracs: tuple[float, ...],
        gap_oom_per_oom: float,
        next_id,
    ) -> list[Model]:
        """The open family of ``source`` re-trained at this month's efficiency: the same
        capability needs ``A(then) / A(now)`` of the compute, so (``N ~ C**0.5``)
        ``sqrt`` of that many parameters; a member of ``f`` of the size keeps the source's
        capability less ``gap_oom_per_oom * log10(1 / f)`` OOM. ``next_id()`` gives model
        ids to new members (the family is re-released, with new ids, when ``source``
        changes; otherwise its members keep their ids and shrink)."""
        shrink = retrained_size_frac(multiplier_then, multiplier_now)
        fresh = self.source is None or source.model_id != self.source.model_id
        self.source = source
        out = []
        for k, frac in enumerate(sorted(fracs, reverse=True)):
            base = self.line[k] if not fresh and k < len(self.line) else None
            member = Model(
                model_id=next_id() if base is None else base.model_id,
                firm_id=self.firm_id,
                business_model=BusinessModel.OPEN_WEIGHTS,
                allocation=source.allocation,
                params=source.params * frac * shrink,
                train_tokens=source.train_tokens,
                train_flop=source.train_flop,
                posttrain_flop=source.posttrain_flop,
                cost_usd=0.0,
                launched_month=month if base is None else base.launched_month,
                kappa=distilled_kappa(source.kappa, frac, gap_oom_per_oom),
                lead_oom=source.lead_oom,
                max_inference_multiplier=source.max_inference_multiplier,
                role=Role.FLAGSHIP if k == 0 else Role.DISTILLED,
                parent_id=None if k == 0 else out[0].model_id,
            )
            out.append(member)
        return out
