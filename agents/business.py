"""Business models and training allocations: where a firm spends compute.

A business model is a choice about where a firm spends compute: up front on pre-training,
or per query on test-time reasoning; or on distilling a small specialist; or on none at all
(a wrapper buys tokens). What each builds and sells is in :mod:`aimarket.agents.conduct`.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Allocation", "BusinessModel"]


class BusinessModel(StrEnum):
    """Where a firm's compute goes.

    ``upfront_heavy``: large pre-training, little test-time compute, low price per query.
    ``inference_heavy``: a smaller, overtrained model that reasons at query time.
    ``specialist``: a small model distilled from a teacher, for one segment.
    ``wrapper``: no training; buys tokens from a lab and adds scaffolding.
    ``open_weights``: the competitive fringe of hosts serving released open weights.
    ``captive``: a model a segment's big buyers built for themselves, sold at cost.
    """

    UPFRONT_HEAVY = "upfront_heavy"
    INFERENCE_HEAVY = "inference_heavy"
    SPECIALIST = "specialist"
    WRAPPER = "wrapper"
    OPEN_WEIGHTS = "open_weights"
    CAPTIVE = "captive"


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
