"""One run of the AI model market: clock, model, recorder. No file I/O.

Names are imported on first use (PEP 562): a sweep's parent process needs run specs and
parameters, not the model (and mesa) itself.

>>> from sim import MarketModel, ModelParams
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "ROLES": "sim.model",
    "MarketModel": "sim.model",
    "as_seed_sequence": "sim.model",
    "ModelParams": "sim.params",
    "Regime": "sim.params",
    "RunResult": "sim.run",
    "RunSpec": "sim.run",
    "run_one": "sim.run",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)
