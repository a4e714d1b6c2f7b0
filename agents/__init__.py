"""Decision makers of the market: firms, customers, and their policies.

Names are imported on first use (PEP 562), so that importing a light module such as
:mod:`aimarket.agents.business` does not load mesa.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "Allocation": "aimarket.agents.business",
    "BusinessModel": "aimarket.agents.business",
    "CONDUCT": "aimarket.agents.conduct",
    "Candidate": "aimarket.agents.strategy",
    "Choice": "aimarket.agents.customers",
    "CustomerPopulation": "aimarket.agents.customers",
    "Firm": "aimarket.agents.firms",
    "Lab": "aimarket.agents.firms",
    "MarketContext": "aimarket.agents.context",
    "Model": "aimarket.agents.products",
    "Offers": "aimarket.agents.products",
    "OpenWeights": "aimarket.agents.open_weights",
    "Product": "aimarket.agents.valuation",
    "Project": "aimarket.agents.firms",
    "Startup": "aimarket.agents.firms",
    "Tier": "aimarket.agents.products",
    "choose_project": "aimarket.agents.strategy",
    "funding_offer_usd": "aimarket.agents.policies",
    "next_price_usd": "aimarket.agents.policies",
    "value_candidates": "aimarket.agents.strategy",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'agents' has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)
