"""How demand grows: diffusion of adoption and the intensity of use.

Two pure rules, applied per customer segment once a month:

- **Adoption** (:func:`bass_step`): the share of a segment's customers who consider AI at
  all follows Bass (1969) diffusion toward a *potential* that rises with what the best
  model on sale can do for the segment (:func:`adoption_potential`), so a model crossing
  a segment's difficulty sets off its diffusion instead of a date.
- **Usage** (:func:`usage_multiplier`): the work a customer gives AI each month responds
  to the price per task with a constant elasticity (cheaper tokens, more tokens: the
  Jevons effect) and grows with capability (agentic and long-context work), up to all of
  the customer's work: the elasticities act on the odds of a piece of work going to AI, so
  the multiplier saturates at one over the share AI did at the start.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from aimarket.markets.demand import success_probability

__all__ = ["adoption_potential", "bass_step", "installed_base_step", "usage_multiplier"]


def adoption_potential(
    best_kappa: ArrayLike, difficulty_kappa: ArrayLike, *, slope_per_oom: float
) -> NDArray[np.float64]:
    """Share of a segment's customers AI can serve at all: the success rate of the best
    model on sale on the segment's typical task, ``p(best_kappa - difficulty)``
    (:func:`aimarket.markets.demand.success_probability`); 0 where nothing is on sale
    (``best_kappa`` NaN or ``-inf``). Shapes broadcast.

    Examples
    --------
    >>> adoption_potential([24.0, 26.0, np.nan], 25.0, slope_per_oom=2.0).round(3).tolist()
    [0.119, 0.881, 0.0]
    """
    kappa = np.asarray(best_kappa, dtype=float)
    safe = np.where(np.isfinite(kappa), kappa, -np.inf)
    return success_probability(safe, difficulty_kappa, slope_per_oom=slope_per_oom)


def bass_step(
    adopted_frac: ArrayLike,
    potential_frac: ArrayLike,
    *,
    innovation_per_month: float,
    imitation_per_month: float,
) -> NDArray[np.float64]:
    """One month of Bass diffusion: ``A + (p + q A / M) (M - A)``, never above the
    potential ``M`` and never down (customers who adopted stay; a potential that falls
    stops diffusion). Shares of the segment, shapes broadcast.

    ``p`` (innovation) is the rate at which customers adopt on their own, ``q``
    (imitation) the rate at which adopters bring others in (Bass 1969).

    Examples
    --------
    >>> a = np.array([0.0, 0.1])
    >>> bass_step(a, 0.5, innovation_per_month=0.01, imitation_per_month=0.1).round(4)
    array([0.005, 0.112])
    >>> float(bass_step(0.3, 0.2, innovation_per_month=0.01, imitation_per_month=0.1))
    0.3
    """
    a, m = np.broadcast_arrays(
        np.asarray(adopted_frac, dtype=float), np.asarray(potential_frac, dtype=float)
    )
    gap = np.maximum(m - a, 0.0)
    # A / M, below 1 wherever anyone is left to adopt (elsewhere the gap is 0 anyway): no
    # division by a vanishing potential.
    word_of_mouth = np.divide(a, m, out=np.ones(a.shape), where=m > a)
    hazard = np.minimum(innovation_per_month + imitation_per_month * word_of_mouth, 1.0)
    return a + hazard * gap


def usage_multiplier(
    price_ratio: ArrayLike,
    capability_gain_oom: ArrayLike,
    *,
    price_elasticity: float,
    work_oom_per_capability_oom: float,
    work_share_at_start_frac: float,
) -> NDArray[np.float64]:
    """Work a customer gives AI a month relative to the start of the run.

    The unbounded multiplier ``m = price_ratio ** -price_elasticity * 10 **
    (work_oom_per_capability_oom * gain)`` scales the *odds* that a piece of the customer's
    work goes to AI, which did ``s0 = work_share_at_start_frac`` of it at the start; the
    work then is ``m / (1 - s0 + s0 * m)`` times the start's: ``m`` while AI does little of
    the work, never more than ``1 / s0`` (all of it). ``s0 = 0`` leaves ``m`` unbounded.

    ``price_ratio`` is the price per task now over its level at the start (1 where it is
    not defined), ``capability_gain_oom`` how far the best capability on sale has risen
    since (OOM of effective compute). Shapes broadcast.

    Examples
    --------
    Tokens ten times cheaper, unit elasticity, no capability term: ten times the work
    without the bound, a little over half that when AI already did a tenth of it.

    >>> float(usage_multiplier(0.1, 0.0, price_elasticity=1.0, work_oom_per_capability_oom=0.3,
    ...                        work_share_at_start_frac=0.0))
    10.0
    >>> round(float(usage_multiplier(0.1, 0.0, price_elasticity=1.0,
    ...                              work_oom_per_capability_oom=0.3,
    ...                              work_share_at_start_frac=0.1)), 3)
    5.263
    >>> u = usage_multiplier([1.0, 1.0], [0.0, 1.0], price_elasticity=1.0,
    ...                      work_oom_per_capability_oom=0.3, work_share_at_start_frac=0.0)
    >>> u.round(3).tolist()
    [1.0, 1.995]

    However cheap and capable AI gets, the customer has only so much work:

    >>> float(usage_multiplier(1e-9, 9.0, price_elasticity=1.0, work_oom_per_capability_oom=1.0,
    ...                        work_share_at_start_frac=0.05)) <= 20.0
    True
    """
    if not 0.0 <= work_share_at_start_frac <= 1.0:
        raise ValueError(f"work_share_at_start_frac must be in [0, 1]: {work_share_at_start_frac}")
    ratio = np.asarray(price_ratio, dtype=float)
    ratio = np.where(np.isfinite(ratio) & (ratio > 0), ratio, 1.0)
    gain = np.asarray(capability_gain_oom, dtype=float)
    gain = np.where(np.isfinite(gain), gain, 0.0)
    odds = ratio**-price_elasticity * 10.0 ** (work_oom_per_capability_oom * gain)
    s0 = work_share_at_start_frac
    return odds / (1.0 - s0 + s0 * odds)


def installed_base_step(
    base_frac: ArrayLike, share_frac: ArrayLike, *, memory_months: float
) -> NDArray[np.float64]:
    """One month of a firm's installed base: customers' memory of its share of the
    market's work, ``B + (share - B) / memory_months`` (an exponentially weighted average
    with a mean age of ``memory_months - 1`` months). A first mover builds it while it
    has the market to itself; it decays toward the firm's current share when rivals take
    the work. Shares in ``[0, 1]``, shapes broadcast.

    Examples
    --------
    >>> float(installed_base_step(0.0, 1.0, memory_months=4.0))
    0.25
    >>> installed_base_step(np.array([0.8, 0.2]), 0.2, memory_months=12.0).round(4)
    array([0.75, 0.2 ])
    """
    if memory_months < 1:
        raise ValueError(f"memory_months must be at least 1, got {memory_months}")
    base = np.asarray(base_frac, dtype=float)
    return base + (np.asarray(share_frac, dtype=float) - base) / memory_months
