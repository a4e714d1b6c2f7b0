"""What is on sale: models (each in a firm's product line), their tiers and plans.

A firm sells a *line* of models: flagships from its training projects and smaller versions
distilled from them. Each model is offered as several *offerings*: per-token tiers to
usage (API) customers (``standard``, ``priority``: a smaller batch, faster and dearer to
serve; ``batch``: a larger batch, cheaper, results later) and monthly plans with a usage
allowance to subscription customers. Offerings are keyed by model and tier, never by firm.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum, StrEnum

import numpy as np
from numpy.typing import NDArray

from aimarket.agents.business import Allocation, BusinessModel

__all__ = [
    "TIERS_PER_MODEL",
    "Model",
    "Offers",
    "Role",
    "Tier",
    "distilled_kappa",
    "offer_id",
    "retrained_size_frac",
    "scaffold_bonus_oom",
    "segment_leads",
    "tier_name",
]

#: Offer ids are ``model_id * TIERS_PER_MODEL + tier``: room for the three per-token tiers,
#: up to 8 plans and the free plan (the last tier).
TIERS_PER_MODEL = 16


class Tier(IntEnum):
    """Per-token tiers of a model; plans are tiers ``PLAN + k`` (the config's ``k``-th);
    ``FREE`` is the free plan (no fee, a small allowance: ``market.free_tier``)."""

    STANDARD = 0
    PRIORITY = 1
    BATCH = 2
    PLAN = 3
    FREE = 15


class Role(StrEnum):
    """A model's place in its line: the flagship of a training project, or a smaller
    version distilled from another model (its ``parent_id``)."""

    FLAGSHIP = "flagship"
    DISTILLED = "distilled"


def offer_id(model_id: int, tier: int) -> int:
    """The id of a model's tier (stable across months: customers stay with it).

    Examples
    --------
    >>> offer_id(3, Tier.BATCH)
    50
    """
    return model_id * TIERS_PER_MODEL + int(tier)


def tier_name(tier: int, plan_names: tuple[str, ...]) -> str:
    """``standard``, ``priority``, ``batch`` or the plan's name.

    Examples
    --------
    >>> tier_name(4, ("plus", "pro")), tier_name(Tier.FREE, ("plus", "pro"))
    ('pro', 'free')
    """
    if tier < Tier.PLAN or tier == Tier.FREE:
        return Tier(tier).name.lower()
    return plan_names[tier - Tier.PLAN]


@dataclass(frozen=True, slots=True)
class Model:
    """A trained model (or, for a wrapper, the product built on a supplier's model).

    Attributes
    ----------
    model_id
        Unique within the run.
    firm_id
        The firm that sells it.
    business_model, allocation
        How it was made.
    role, parent_id
        Flagship of a training project, or distilled from model ``parent_id``.
    params, train_tokens, train_flop
        Parameter count, training (or distillation) tokens, training FLOP (for a
        distilled model, its own training and the teacher's generation of its data).
    cost_usd
        What making it cost, amortised over ``firms.amortisation_months``.
    launched_month
        Simulation month it went on sale (negative: before the run started).
    kappa
        Capability index in OOM of effective compute (test-time gain not included).
    lead_oom
        ``(s,)`` its capability above (below, if negative) ``kappa`` in each customer
        segment's kind of work (OOM): what a pre-training run drew
        (``firms.segment_lead_sd_oom``; a distilled model keeps its teacher's); empty:
        none.
    max_inference_multiplier
        The most tokens per query, relative to a plain answer, the model is trained to
        spend reasoning (1: it does not reason).
    segment
        Index of the only customer segment it serves (specialists), else None.
    supplier_id, supplier_model_id
        Firm and model whose tokens a wrapper resells, else None.
    frontier_kappa_at_launch
        The frontier's capability when a wrapper launched: its scaffolding ages against it.
    posttrain_flop
        The part of ``train_flop`` spent on post-training (RL, fine-tuning).
    expected_inference_flop
        What its maker expected it to serve over the payback horizon when it chose the
        project, FLOP (None: not estimated).
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
    lead_oom: tuple[float, ...] = ()
    role: Role = Role.FLAGSHIP
    parent_id: int | None = None
    segment: int | None = None
    supplier_id: int | None = None
    supplier_model_id: int | None = None
    frontier_kappa_at_launch: float | None = None
    posttrain_flop: float = 0.0
    expected_inference_flop: float | None = None


@dataclass(frozen=True, slots=True)
class Offers:
    """Every offering on sale this month, as arrays over ``j`` offerings and ``s`` segments.

    An offering is either *per token* (sold to usage segments; ``price_usd`` per token) or
    a *plan* (sold to subscription segments; ``price_usd`` per subscriber and month, for
    up to ``allowance_queries`` a month). Costs and latency are per token; a query of a
    segment uses its ``tokens_per_query`` times the offering's ``inference_multiplier``
    there (:meth:`tokens_per_query`).

    Attributes
    ----------
    offer_ids
        ``(j,)`` ``model_id * TIERS_PER_MODEL + tier``.
    model_ids, firm_ids, tiers
        ``(j,)`` the model, its seller and the tier (:class:`Tier`; plans from
        ``Tier.PLAN``).
    developer_ids
        ``(j,)`` the firm that made the model (a wrapper's supplier; else the seller).
    base_kappa
        ``(j,)`` the model's capability without test-time compute.
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
    wait_s
        ``(j,)`` time before an answer starts (the batch tier's turnaround; else 0).
    allowance_queries
        ``(j,)`` a plan's queries a month (``inf`` for per-token offerings).
    served_frac
        ``(j,)`` share of its buyers' work the offering's GPUs served last month (1 unless
        its server was short of capacity): customers expect as much and do the rest the
        non-AI way.
    plan
        ``(j,)`` whether the offering is a plan (the free plan included).
    price_usd
        ``(j,)`` per token (per-token offerings) or per month (plans; 0 for the free
        plan).
    brand_utility
        ``(j,)`` what its seller's brand adds to every customer's utility of it (utility
        units, as ``demand.switching_inertia``; docs/model.md, "Brand").
    available
        ``(s, j)`` whether the offering is sold in the segment.
    """

    offer_ids: NDArray[np.int64]
    model_ids: NDArray[np.int64]
    firm_ids: NDArray[np.int64]
    developer_ids: NDArray[np.int64]
    tiers: NDArray[np.int8]
    base_kappa: NDArray[np.float64]
    kappa: NDArray[np.float64]
    inference_multiplier: NDArray[np.float64]
    usd_per_token: NDArray[np.float64]
    compute_usd_per_token: NDArray[np.float64]
    latency_s_per_token: NDArray[np.float64]
    wait_s: NDArray[np.float64]
    allowance_queries: NDArray[np.float64]
    served_frac: NDArray[np.float64]
    plan: NDArray[np.bool_]
    price_usd: NDArray[np.float64]
    available: NDArray[np.bool_]
    brand_utility: NDArray[np.float64]

    @property
    def size(self) -> int:
        """Number of offerings ``j``."""
        return int(self.offer_ids.shape[0])

    @property
    def free(self) -> NDArray[np.bool_]:
        """``(j,)`` whether the offering is a free plan (a plan with no fee)."""
        return self.tiers == Tier.FREE

    @property
    def paid(self) -> NDArray[np.bool_]:
        """``(s, j)`` where each offering is sold for money (free plans left out)."""
        return self.available.astype(bool, copy=False) & ~self.free[None, :]

    @property
    def free_sold(self) -> NDArray[np.bool_]:
        """``(s, j)`` where each free plan is offered."""
        return self.available.astype(bool, copy=False) & self.free[None, :]

    def tokens_per_query(self, plain_tokens: NDArray[np.float64]) -> NDArray[np.float64]:
        """``(s, j)`` tokens a query of each segment takes (its plain answer's
        ``plain_tokens`` ``(s,)`` times the offering's multiplier there)."""
        return plain_tokens[:, None] * self.inference_multiplier

    def latency_s_per_query(self, plain_tokens: NDArray[np.float64]) -> NDArray[np.float64]:
        """``(s, j)`` seconds a query of each segment waits: decode time and turnaround."""
        return self.tokens_per_query(plain_tokens) * self.latency_s_per_token + self.wait_s

    def take(self, cols: NDArray[np.intp]) -> Offers:
        """The offerings ``cols`` alone (every array cut along the offerings' axis)."""
        fields = {}
        for name in self.__slots__:
            arr = getattr(self, name)
            fields[name] = arr[:, cols] if arr.ndim == 2 else arr[cols]
        return Offers(**fields)

    def with_prices(self, price_usd: NDArray[np.float64]) -> Offers:
        """The same offerings at other prices."""
        fields = {name: getattr(self, name) for name in self.__slots__}
        return Offers(**{**fields, "price_usd": np.asarray(price_usd, dtype=float)})


def distilled_kappa(teacher_kappa: float, size_frac: float, gap_oom_per_oom: float) -> float:
    """Capability (OOM of effective compute) of a student of ``size_frac`` of its teacher's
    parameters: the teacher's less ``gap_oom_per_oom`` OOM per OOM of size.

    >>> distilled_kappa(27.0, 0.1, 1.0)
    26.0
    """
    return teacher_kappa - gap_oom_per_oom * math.log10(1.0 / size_frac)


def scaffold_bonus_oom(frontier_gain_oom: float, bonus_oom: float, decay_oom: float) -> float:
    """What a wrapper's scaffolding adds to its supplier's model (OOM of effective
    compute) once the frontier has gained ``frontier_gain_oom`` since it was built: the
    full ``bonus_oom`` at first, a factor ``e`` less for every ``decay_oom`` the frontier
    gains (better models need less help), so the faster the frontier moves, the sooner it
    is worth little.

    >>> scaffold_bonus_oom(0.0, 0.3, 0.5), round(scaffold_bonus_oom(0.5, 0.3, 0.5), 4)
    (0.3, 0.1104)
    """
    return bonus_oom * math.exp(-max(frontier_gain_oom, 0.0) / decay_oom)


def retrained_size_frac(multiplier_then: float, multiplier_now: float) -> float:
    """Share of the parameters a model needs to reach the same capability when trained
    now: the compute falls by ``A(then) / A(now)`` (``A`` the algorithmic multiplier) and
    parameters go as the square root of compute.

    >>> retrained_size_frac(1.0, 4.0)
    0.5
    """
    return math.sqrt(multiplier_then / multiplier_now)


def segment_leads(models: Sequence[Model], n_segments: int) -> NDArray[np.float64]:
    """``(n_segments, k)``: each of ``k`` models' capability lead in each segment (OOM;
    zeros for a model without leads).

    >>> kinds = (BusinessModel.UPFRONT_HEAVY, Allocation.CHINCHILLA)
    >>> led = Model(1, 1, *kinds, 1e9, 2e10, 1.2e20, 0.0, 0, 24.0, lead_oom=(0.2, -0.1))
    >>> plain = Model(2, 1, *kinds, 1e9, 2e10, 1.2e20, 0.0, 0, 24.0)
    >>> segment_leads([led, plain], 2).tolist()
    [[0.2, 0.0], [-0.1, 0.0]]
    """
    out = np.zeros((n_segments, len(models)))
    for k, m in enumerate(models):
        if m.lead_oom:
            out[:, k] = m.lead_oom
    return out
