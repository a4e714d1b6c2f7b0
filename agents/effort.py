"""Reasoning effort and task success of a segment's typical customer.

How many tokens an offering spends on a query of each segment (test-time compute bought
where it pays), and the success rate of a capability on a customer's routine and hard
work, with the odds form that makes many models against many customers cheap.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from aimarket.markets.demand import odds, success_from_odds, success_probability
from aimarket.markets.posttraining import tool_token_frac
from aimarket.markets.testtime import testtime_gain_oom

__all__ = ["EFFORT_STEPS_PER_OOM", "Ease", "SegmentProfile", "blended_success", "reasoning_effort"]

#: Reasoning effort is chosen on a grid of this many steps per OOM of tokens per query.
EFFORT_STEPS_PER_OOM = 4


@dataclass(frozen=True, slots=True)
class SegmentProfile:
    """The typical customer of each segment, ``(s,)`` arrays: what reasoning effort is
    tuned for. ``value_usd`` is the median value of a successful query,
    ``difficulty_kappa`` the mean difficulty, ``tokens`` the tokens of a plain answer."""

    tokens: NDArray[np.float64]
    value_usd: NDArray[np.float64]
    difficulty_kappa: NDArray[np.float64]
    hard_frac: NDArray[np.float64]
    hard_extra_oom: NDArray[np.float64]
    latency_value_frac_per_s: NDArray[np.float64]


@functools.lru_cache(maxsize=64)
def _effort_grid(
    top: float, oom_per_oom: float, cap_oom: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``(g,)`` multipliers on the effort grid up to ``top`` and the capability each adds
    (memoised: the grid depends only on the run's settings)."""
    grid = 10.0 ** (
        np.arange(int(np.floor(np.log10(top) * EFFORT_STEPS_PER_OOM + 1e-9)) + 1)
        / EFFORT_STEPS_PER_OOM
    )
    gain = np.asarray(testtime_gain_oom(grid, oom_per_oom=oom_per_oom, cap_oom=cap_oom))
    grid.flags.writeable = False
    gain.flags.writeable = False
    return grid, gain


def reasoning_effort(
    base_kappa: NDArray[np.float64],
    max_multiplier: NDArray[np.float64],
    usd_per_token: NDArray[np.float64],
    latency_s_per_token: NDArray[np.float64],
    segments: SegmentProfile,
    *,
    oom_per_oom: float,
    cap_oom: float,
    slope_per_oom: float,
    lead_oom: NDArray[np.float64] | None = None,
    tool_min_kappa: float = np.inf,
    tool_saving_frac: float = 0.0,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Tokens per query each offering spends in each segment, and the capability it buys.

    A model trained to reason can think longer on a query: ``m`` times the tokens of a
    plain answer raise its capability by :func:`markets.testtime.testtime_gain_oom`. The
    seller picks, per segment, the ``m`` on a grid of :data:`EFFORT_STEPS_PER_OOM` steps
    per OOM in ``[1, max_multiplier]`` that maximises the typical customer's value net of
    the compute and waiting it costs,

    ``v * success(base + gain(m)) - tokens * m * t * (usd_per_token + v * latency_frac *
    latency_s_per_token)``,

    where ``t`` is the share of the tokens a model still generates once it hands part of
    the segment's hard work to tools (:func:`markets.posttraining.tool_token_frac`, on the
    model's capability in the segment's work without reasoning; 1 below
    ``tool_min_kappa``).

    With logit demand the profit-maximising quality is the one that maximises this net
    value (the markup is set separately by the price), so cheaper tokens buy longer
    reasoning, and high-value segments get more of it than chat.

    Parameters
    ----------
    base_kappa, max_multiplier, usd_per_token, latency_s_per_token
        ``(k,)`` per offering: capability without test-time compute (OOM), the largest
        multiplier it can use (>= 1), and its cost (USD) and decode time (s) per token.
    segments
        The typical customer of each of ``s`` segments.
    oom_per_oom, cap_oom, slope_per_oom
        The test-time trade-off (see :func:`markets.testtime.testtime_gain_oom`) and the
        slope of task success (see :func:`markets.demand.success_probability`).
    lead_oom
        ``(s, k)`` each model's capability above ``base_kappa`` in each segment's kind of
        work (OOM; :attr:`agents.products.Model.lead_oom`); None: none.
    tool_min_kappa, tool_saving_frac
        Tool use (``demand.tools``): the capability from which a model uses tools, and
        the share of the hard work's tokens they save.

    Returns
    -------
    multiplier, kappa : ndarray
        ``(s, k)`` tokens per query relative to a plain answer (the chosen effort times
        ``t``) and the capability the effort gives.

    Examples
    --------
    Cheap tokens buy more reasoning than dear ones:

    >>> seg = SegmentProfile(*(np.array([x]) for x in (1000.0, 10.0, 27.0, 0.0, 0.0, 0.0)))
    >>> m, _ = reasoning_effort(np.array([25.0, 25.0]), np.array([1e3, 1e3]),
    ...                         np.array([1e-8, 1e-3]), np.zeros(2), seg,
    ...                         oom_per_oom=0.67, cap_oom=1.0, slope_per_oom=2.0)
    >>> m.round(1).tolist()
    [[31.6, 1.0]]
    """
    max_mult = np.asarray(max_multiplier, dtype=float)
    top = max(float(max_mult.max()), 1.0) if max_mult.size else 1.0
    grid, gain = _effort_grid(top, oom_per_oom, cap_oom)
    base = np.asarray(base_kappa, dtype=float)
    k, g, s = base.shape[0], gain.shape[0], segments.difficulty_kappa.shape[0]
    lead = np.zeros((s, k)) if lead_oom is None else np.asarray(lead_oom, dtype=float)
    # (k * g, s): each model at each effort, in each segment's work (its lead there)
    kappa = (base[:, None, None] + gain[None, :, None] + lead.T[:, None, :]).reshape(k * g, s)
    sg = segments
    success = blended_success(
        kappa,
        sg.difficulty_kappa,
        sg.hard_frac,
        sg.hard_extra_oom,
        slope_per_oom=slope_per_oom,
    )  # the segments' typical customers stand in for customers
    success = success.reshape(k, g, s).transpose(2, 0, 1)  # (s, k, g)
    tools = np.asarray(
        tool_token_frac(
            base[None, :] + lead,
            sg.hard_frac[:, None],
            min_kappa=tool_min_kappa,
            saving_frac=tool_saving_frac,
        )
    )  # (s, k)
    per_token = tools * (
        np.asarray(usd_per_token, dtype=float)[None, :]
        + (sg.value_usd * sg.latency_value_frac_per_s)[:, None]
        * np.asarray(latency_s_per_token, dtype=float)[None, :]
    )  # (s, k)
    net = sg.value_usd[:, None, None] * success - (
        sg.tokens[:, None, None] * per_token[:, :, None] * grid[None, None, :]
    )
    net = np.where(grid[None, None, :] <= max_mult[None, :, None] * (1 + 1e-9), net, -np.inf)
    best = np.argmax(net, axis=2)  # (s, k); ties go to the smaller effort
    return grid[best] * tools, base[None, :] + lead + gain[best]


def blended_success(
    kappa: NDArray[np.float64],
    difficulty_kappa: NDArray[np.float64],
    hard_frac: NDArray[np.float64],
    hard_extra_oom: NDArray[np.float64],
    *,
    slope_per_oom: float,
) -> NDArray[np.float64]:
    """Success rate over a customer's routine and hard work, ``(j, n)``.

    ``(1 - h) * p(kappa - d) + h * p(kappa - d - extra)`` with ``p`` from
    :func:`markets.demand.success_probability`. ``kappa`` is ``(j,)`` (one capability per
    offering) or ``(j, n)`` (one per offering and customer).
    """
    k = np.asarray(kappa, dtype=float)
    if k.ndim == 1:
        k = k[:, None]
    routine = success_probability(k, difficulty_kappa, slope_per_oom=slope_per_oom)
    hard = success_probability(k, difficulty_kappa + hard_extra_oom, slope_per_oom=slope_per_oom)
    return routine + hard_frac * (hard - routine)


class Ease:
    """Task success without an exponential per customer: customers' routine and hard
    work in odds form (:func:`markets.demand.odds`), so :func:`blended_success` for many
    models costs a few multiplications per cell."""

    __slots__ = ("hard", "hard_frac", "ref", "routine", "slope")

    def __init__(
        self,
        difficulty_kappa: NDArray[np.float64],
        hard_frac: NDArray[np.float64],
        hard_extra_oom: NDArray[np.float64],
        *,
        slope_per_oom: float,
    ) -> None:
        d = difficulty_kappa
        self.slope = slope_per_oom
        self.ref = float(d.mean()) if d.size else 0.0
        self.routine = odds(self.slope * (d - self.ref))
        self.hard = odds(self.slope * (d + hard_extra_oom - self.ref))
        self.hard_frac = hard_frac

    def factor(self, kappa: NDArray[np.float64]) -> NDArray[np.float64]:
        """``exp(-slope * (kappa - ref))``, same shape as ``kappa``."""
        return odds(-self.slope * (np.asarray(kappa, dtype=float) - self.ref))

    def success(self, factor: NDArray[np.float64]) -> NDArray[np.float64]:
        """Blended success rate of models with ``factor`` (broadcast against ``(n,)``) for
        every customer."""
        h = self.hard_frac
        return success_from_odds(factor, (self.routine, self.hard), (1.0 - h, h))
