"""Decision makers of the market: firms, customers, and their policies as pure functions.

Names are imported on first use (PEP 562), so that importing a light module such as
:mod:`agents.business` does not load mesa.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "Allocation": "agents.business",
    "BusinessModel": "agents.business",
    "Offers": "agents.business",
    "Tier": "agents.business",
    "TrainedModel": "agents.business",
    "Choice": "agents.customers",
    "CustomerPopulation": "agents.customers",
    "Firm": "agents.firms",
    "Lab": "agents.firms",
    "Project": "agents.firms",
    "Startup": "agents.firms",
    "funding_offer_usd": "agents.policies",
    "next_price_usd": "agents.policies",
    "Candidate": "agents.strategy",
    "MarketView": "agents.strategy",
    "choose_project": "agents.strategy",
    "value_candidates": "agents.strategy",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'agents' has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)
