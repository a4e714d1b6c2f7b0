"""Business models and the things firms sell.

A business model is a choice about where a firm spends compute: up front on pre-training,
or per query on test-time reasoning. ``TrainedModel`` and ``Offering`` are plain frozen
records passed between agents and the simulation.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

__all__ = ["BusinessModel", "Offers", "TrainedModel"]


class BusinessModel(StrEnum):
    """Where a firm's compute goes.

    ``upfront_heavy``: large pre-training, little test-time compute, low price per query.
    ``inference_heavy``: a smaller, overtrained model that reasons at query time.
    ``specialist``: a small model distilled from a teacher, for one segment.
    ``wrapper``: no training; buys tokens from a lab and adds scaffolding.
    """

    UPFRONT_HEAVY = "upfront_heavy"
    INFERENCE_HEAVY = "inference_heavy"
    SPECIALIST = "specialist"
    WRAPPER = "wrapper"


@dataclass(frozen=True, slots=True)
class TrainedModel:
    """A trained model.

    Attributes
    ----------
    params, train_tokens
        Parameter count and pre-training tokens.
    train_flop
        ``6 * params * train_tokens``.
    cost_usd
        Training cost at the month's GPU price.
    launched_month
        Simulation month the model became available (negative: before the run started).
    kappa
        Capability index in OOM of effective compute (no test-time compute included).
    """

    params: float
    train_tokens: float
    train_flop: float
    cost_usd: float
    launched_month: int
    kappa: float


@dataclass(frozen=True, slots=True)
class Offers:
    """Every offering on sale this month, as arrays over the ``j`` offering firms.

    Attributes
    ----------
    firm_ids
        ``(j,)`` mesa ids of the selling firms.
    kappa
        ``(j,)`` capability including the test-time gain of ``inference_multiplier``.
    inference_multiplier
        ``(j,)`` tokens per query relative to a non-reasoning answer.
    cost_usd_per_query
        ``(j,)`` serving cost of one query.
    price_usd_per_query
        ``(s, j)`` price of one query in each of the ``s`` customer segments (firms
        price-discriminate by segment: consumer plans, professional, enterprise contracts).
    latency_s_per_query
        ``(j,)`` seconds until the answer is complete.
    """

    firm_ids: NDArray[np.int64]
    kappa: NDArray[np.float64]
    inference_multiplier: NDArray[np.float64]
    cost_usd_per_query: NDArray[np.float64]
    price_usd_per_query: NDArray[np.float64]
    latency_s_per_query: NDArray[np.float64]

    @property
    def size(self) -> int:
        """Number of offerings ``j``."""
        return int(self.firm_ids.shape[0])
