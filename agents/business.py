"""Business models, trained models and the offerings on sale.

A business model is a choice about where a firm spends compute: up front on pre-training,
or per query on test-time reasoning; or on distilling a small specialist; or on none at all
(a wrapper buys tokens). ``TrainedModel`` and ``Offers`` are plain frozen records passed
between agents and the simulation.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum

import numpy as np
from numpy.typing import NDArray

__all__ = ["Allocation", "BusinessModel", "Offers", "Tier", "TrainedModel"]


class BusinessModel(StrEnum):
    """Where a firm's compute goes.

    ``upfront_heavy``: large pre-training, little test-time compute, low price per query.
    ``inference_heavy``: a smaller, overtrained model that reasons at query time.
    ``specialist``: a small model distilled from a teacher, for one segment.
    ``wrapper``: no training; buys tokens from a lab and adds scaffolding.
    ``open_weights``: the competitive fringe of hosts serving released open weights.
    """

    UPFRONT_HEAVY = "upfront_heavy"
    INFERENCE_HEAVY = "inference_heavy"
    SPECIALIST = "specialist"
    WRAPPER = "wrapper"
    OPEN_WEIGHTS = "open_weights"


class Allocation(StrEnum):
    """How a training budget is split between parameters and tokens.

    ``chinchilla``: compute-optimal (Hoffmann et al. 2022). ``inference_aware``: the
    smaller, longer-trained model that reaches the same loss for less lifetime compute
    (Sardana et al. 2024). ``distilled``: a small student trained on a teacher's outputs.
    ``none``: no training (wrappers).
    """

    CHINCHILLA = "chinchilla"
    INFERENCE_AWARE = "inference_aware"
    DISTILLED = "distilled"
    NONE = "none"


class Tier(IntEnum):
    """Service tier of an offering: the fast tier serves at a smaller batch."""

    STANDARD = 0
    FAST = 1


@dataclass(frozen=True, slots=True)
class TrainedModel:
    """A trained model (or, for a wrapper, the supplier's model it resells).

    Attributes
    ----------
    model_id
        Unique within the run.
    firm_id
        The firm that trained (or wraps) it.
    business_model, allocation
        How it was made.
    params, train_tokens, train_flop
        Parameter count, pre-training (or distillation) tokens, ``6 * params * tokens``.
    cost_usd
        What training it cost, amortised over the model's life.
    launched_month
        Simulation month it became available (negative: before the run started).
    kappa
        Capability index in OOM of effective compute (test-time gain not included).
    max_inference_multiplier
        The most tokens per query, relative to a plain answer, the model is trained to
        spend reasoning (1: it does not reason); the effort it actually spends is chosen
        per segment each month (:func:`agents.strategy.reasoning_effort`).
    segment
        Index of the only customer segment it serves (specialists), else None.
    supplier_id
        Firm whose tokens a wrapper resells, else None.
    frontier_kappa_at_launch
        The frontier's capability when a wrapper launched: its scaffolding ages against it.
    """

    model_id: int
    firm_id: int
    business_model: BusinessModel
    allocation: Allocation
    params: float
    train_tokens: float
    train_flop: float
    cost_usd: float
    launched_month: int
    kappa: float
    max_inference_multiplier: float = 1.0
    segment: int | None = None
    supplier_id: int | None = None
    frontier_kappa_at_launch: float | None = None


@dataclass(frozen=True, slots=True)
class Offers:
    """Every offering on sale this month, as arrays over ``j`` offerings and ``s`` segments.

    Costs and latency are per token; a query of a segment uses ``tokens_per_query`` of the
    segment times the offering's ``inference_multiplier`` there (:meth:`per_query`).

    Attributes
    ----------
    offer_ids
        ``(j,)`` ``2 * firm_id + tier``: stable across months, so customers can stay.
    firm_ids, tiers
        ``(j,)`` seller and :class:`Tier`.
    kappa
        ``(s, j)`` capability in each segment, including the test-time gain of the
        reasoning effort spent there and any scaffolding.
    inference_multiplier
        ``(s, j)`` tokens per query relative to a non-reasoning answer.
    usd_per_token
        ``(j,)`` marginal cost of a token to the seller (compute, or wholesale tokens).
    compute_usd_per_token
        ``(j,)`` GPU cost of a token, whoever pays it.
    latency_s_per_token
        ``(j,)`` decode time per token.
    price_usd
        ``(s, j)`` price in each segment: per query for usage segments, per month for
        subscription segments.
    available
        ``(s, j)`` whether the offering is sold in the segment.
    """

    offer_ids: NDArray[np.int64]
    firm_ids: NDArray[np.int64]
    tiers: NDArray[np.int8]
    kappa: NDArray[np.float64]
    inference_multiplier: NDArray[np.float64]
    usd_per_token: NDArray[np.float64]
    compute_usd_per_token: NDArray[np.float64]
    latency_s_per_token: NDArray[np.float64]
    price_usd: NDArray[np.float64]
    available: NDArray[np.bool_]

    @property
    def size(self) -> int:
        """Number of offerings ``j``."""
        return int(self.offer_ids.shape[0])

    def per_query(
        self, per_token: NDArray[np.float64], tokens_per_query: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        """``(s, j)``: a per-token array of the offerings, per query of each segment."""
        return tokens_per_query[:, None] * per_token[None, :] * self.inference_multiplier

    @staticmethod
    def offer_id(firm_id: int, tier: Tier) -> int:
        """The offer id of a firm's tier."""
        return 2 * firm_id + int(tier)
