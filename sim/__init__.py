"""One run of the AI model market: clock, model, recorder. No file I/O.

Names are imported on first use (PEP 562): a sweep's parent process needs run specs and
parameters, not the model (and mesa) itself.

>>> from aimarket.sim import MarketModel, ModelParams
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "ROLES": "aimarket.sim.model",
    "MarketModel": "aimarket.sim.model",
    "as_seed_sequence": "aimarket.sim.model",
    "ModelParams": "aimarket.sim.params",
    "Regime": "aimarket.sim.params",
    "RunResult": "aimarket.sim.run",
    "RunSpec": "aimarket.sim.run",
    "run_one": "aimarket.sim.run",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)
