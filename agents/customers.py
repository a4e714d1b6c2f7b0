"""All customers as one mesa agent holding numpy arrays.

A run can hold a million customers without a million Python objects: customer ``i`` is
row ``i`` of every array. Each month every customer picks one offering or none (the
outside option) by multinomial logit, paying a switching cost to move away from what they
used last month.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import mesa
import numpy as np
from numpy.typing import NDArray

from agents.business import Offers
from markets.demand import logit, sample_choices, success_probability

__all__ = ["Choice", "CustomerPopulation", "SegmentLike"]


class SegmentLike(Protocol):
    """What a customer segment must provide (``sim.params.SegmentParams`` does)."""

    name: str
    weight_frac: float
    value_usd_per_success: float
    value_log_sd: float
    difficulty_kappa: float
    difficulty_sd_oom: float
    queries_per_month: float
    latency_value_frac_per_s: float


@dataclass(frozen=True, slots=True)
class Choice:
    """One month of choices.

    Attributes
    ----------
    queries
        ``(j,)`` queries sent to each offering this month.
    queries_by_segment
        ``(s, j)`` the same, split by customer segment.
    spend_usd
        ``(j,)`` what customers paid each offering, summed customer by customer.
    probabilities
        ``(j, n)`` choice probabilities of the offerings (outside option excluded): the
        demand each firm faced, used for next month's pricing.
    surplus_usd
        Expected consumer surplus this month, USD (logit log-sum, switching costs included).
    adopters
        Simulated customers who used any offering this month (unweighted count).

    Queries, spend and surplus are for the represented market (weighted).
    """

    queries: NDArray[np.float64]
    queries_by_segment: NDArray[np.float64]
    spend_usd: NDArray[np.float64]
    probabilities: NDArray[np.float64]
    surplus_usd: float
    adopters: int

    def revenue_by_segment(self, price_usd_per_query: NDArray[np.float64]) -> NDArray[np.float64]:
        """``(j,)`` revenue of each offering from ``(s, j)`` segment prices."""
        return (price_usd_per_query * self.queries_by_segment).sum(axis=0)


class CustomerPopulation(mesa.Agent):
    """Every customer of the market, as arrays of shape ``(n,)``.

    Parameters
    ----------
    model
        The owning mesa model.
    segments
        Segment definitions; customers are split by ``weight_frac`` (largest remainder).
    n
        Number of customers.
    rng
        The customers' own generator (a role stream of the run seed).
    choice_noise_frac
        Logit taste-noise scale as a fraction of a customer's monthly value at stake.
    switching_inertia
        Switching (and adoption) cost in units of the taste-noise scale.
    success_slope_per_oom
        Slope of task success in capability (see :func:`markets.demand.success_probability`).
    represented
        Real customers the population stands for; each simulated customer carries a weight
        of ``represented / n`` in queries, spend and surplus (default: ``n``, weight 1).
    """

    def __init__(
        self,
        model: mesa.Model,
        *,
        segments: tuple[SegmentLike, ...],
        n: int,
        rng: np.random.Generator,
        choice_noise_frac: float,
        switching_inertia: float,
        success_slope_per_oom: float,
        represented: float | None = None,
    ) -> None:
        super().__init__(model)
        self._rng = rng
        self.choice_noise_frac = choice_noise_frac
        self.switching_inertia = switching_inertia
        self.success_slope_per_oom = success_slope_per_oom
        self.segment_names = tuple(s.name for s in segments)
        weights = np.array([s.weight_frac for s in segments])
        counts = _largest_remainder(n, weights / weights.sum())
        self.segment = np.repeat(np.arange(len(segments), dtype=np.int16), counts)

        def per_segment(attr: str) -> NDArray[np.float64]:
            return np.array([getattr(s, attr) for s in segments], dtype=float)[self.segment]

        z_value = rng.standard_normal(n)
        z_difficulty = rng.standard_normal(n)
        self.value_usd_per_success = per_segment("value_usd_per_success") * np.exp(
            per_segment("value_log_sd") * z_value
        )
        self.difficulty_kappa = per_segment("difficulty_kappa") + (
            per_segment("difficulty_sd_oom") * z_difficulty
        )
        self.queries_per_month = per_segment("queries_per_month")
        self.latency_value_frac_per_s = per_segment("latency_value_frac_per_s")
        self.scale_usd = choice_noise_frac * self.queries_per_month * self.value_usd_per_success
        self._inv_value = 1.0 / self.value_usd_per_success
        self.current_firm = np.zeros(n, dtype=np.int64)  # 0: no AI
        self.weight = (represented if represented is not None else n) / n

    @property
    def n_segments(self) -> int:
        """Number of segments ``s``."""
        return len(self.segment_names)

    @property
    def n(self) -> int:
        """Number of customers."""
        return self.segment.shape[0]

    def choose(self, offers: Offers) -> Choice:
        """Every customer picks one of the ``j`` offers or none.

        Normalised utility of offering ``k`` for customer ``i`` in segment ``g`` (utility
        over the logit scale ``noise * q_i * v_i``, so the query volume cancels):

        ``z_ik = (p_success_ik - price_gk / v_i - latency_frac_i * latency_k) / noise
        - inertia * [k is not what i used last month]``.
        """
        j = offers.size
        z = success_probability(
            offers.kappa[:, None], self.difficulty_kappa, slope_per_oom=self.success_slope_per_oom
        )  # (j, n)
        price = offers.price_usd_per_query.T[:, self.segment]  # (j, n)
        z -= price * self._inv_value
        z -= offers.latency_s_per_query[:, None] * self.latency_value_frac_per_s
        z /= self.choice_noise_frac
        if self.switching_inertia > 0 and j > 0:
            z -= self.switching_inertia
            z += self.switching_inertia * (offers.firm_ids[:, None] == self.current_firm)
        probabilities, logsum = logit(z)
        row = sample_choices(probabilities, self._rng.random(self.n))
        self.current_firm = np.concatenate(([0], offers.firm_ids))[row]
        paid = np.take_along_axis(np.vstack((np.zeros(self.n), price)), row[None, :], axis=0)[0]
        s = self.n_segments
        queries = self.queries_per_month * self.weight
        by_segment = np.bincount(
            self.segment * (j + 1) + row, weights=queries, minlength=s * (j + 1)
        ).reshape(s, j + 1)
        spend = np.bincount(row, weights=queries * paid, minlength=j + 1)
        return Choice(
            queries=by_segment[:, 1:].sum(axis=0),
            queries_by_segment=by_segment[:, 1:],
            spend_usd=spend[1:],
            probabilities=probabilities[1:],
            surplus_usd=float(np.dot(self.scale_usd, logsum)) * self.weight,
            adopters=int(np.count_nonzero(row)),
        )


def _largest_remainder(n: int, fractions: NDArray[np.float64]) -> NDArray[np.int64]:
    """Split ``n`` into integer counts proportional to ``fractions`` (Hamilton's method)."""
    raw = n * fractions
    counts = np.floor(raw).astype(np.int64)
    short = n - int(counts.sum())
    counts[np.argsort(-(raw - counts), kind="stable")[:short]] += 1
    return counts
