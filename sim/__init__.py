"""One run of the AI model market: clock, model, recorder. No file I/O.

>>> from sim import MarketModel, ModelParams
"""

from sim.model import ROLES, MarketModel, as_seed_sequence
from sim.params import ModelParams, Regime
from sim.run import RunResult, RunSpec, run_one

__all__ = [
    "ROLES",
    "MarketModel",
    "ModelParams",
    "Regime",
    "RunResult",
    "RunSpec",
    "as_seed_sequence",
    "run_one",
]
