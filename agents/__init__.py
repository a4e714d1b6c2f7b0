"""Decision makers of the market: firms, customers, and their policies as pure functions.

Names are imported on first use (PEP 562), so that importing a light module such as
:mod:`agents.business` does not load mesa.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "Allocation": "aimarket.agents.business",
    "BusinessModel": "aimarket.agents.business",
    "Offers": "aimarket.agents.business",
    "Tier": "aimarket.agents.business",
    "TrainedModel": "aimarket.agents.business",
    "Choice": "aimarket.agents.customers",
    "CustomerPopulation": "aimarket.agents.customers",
    "Firm": "aimarket.agents.firms",
    "Lab": "aimarket.agents.firms",
    "Project": "aimarket.agents.firms",
    "Startup": "aimarket.agents.firms",
    "funding_offer_usd": "aimarket.agents.policies",
    "next_price_usd": "aimarket.agents.policies",
    "Candidate": "aimarket.agents.strategy",
    "MarketView": "aimarket.agents.strategy",
    "choose_project": "aimarket.agents.strategy",
    "value_candidates": "aimarket.agents.strategy",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'agents' has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)
