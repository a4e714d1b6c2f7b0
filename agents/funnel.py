"""The free plan as a funnel: who uses it, who converts, and whether it pays the lab.

A lab may offer a free plan on its cheapest model (``market.free_tier``): no fee, a small
allowance, sold to subscription (consumer) segments. Customers first choose among the
paid offerings as always; those who chose none and gain something from a free plan use
one (free is worth taking whatever the work is worth), picking among free plans by the
same logit in the log of value for money (a common price drops out). Free users cost the
lab serving and pay nothing. They convert without the switching cost: next month the
lab's paid plans carry the same bonus as the free plan itself (same account, same app),
where a rival's plans cost the switch. A converted customer's fees are the free plan's
*funnel revenue* while the customer stays on that lab's plans.

Whether a lab offers the plan is its own decision (:class:`FreeTierBook`): it keeps it
while, over the last ``firms.free_tier_review_months``, its funnel revenue covers the
free plan's serving cost; otherwise it withdraws it, and tries again after as many
months.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from aimarket.markets.demand import draw_choices

__all__ = ["FreeTierBook", "conversion_bonus", "free_plan_rows", "track_origin"]

#: Utility of staying without AI in the free stage: never chosen over a free plan that
#: gains the customer anything (taking something free costs nothing).
_NO_FREE_PLAN = -1e30


@dataclass
class FreeTierBook:
    """A lab's record of its free plan and its decision to offer one.

    ``on``: whether it offers the plan this month. While on, each month's serving cost
    of the plan and funnel revenue are kept; once ``review_months`` are in, the plan
    goes off if the funnel revenue over them is below the cost. While off, it comes back
    after ``review_months``.
    """

    on: bool = True
    cost_usd: list[float] = field(default_factory=list)
    funnel_usd: list[float] = field(default_factory=list)
    off_months: int = 0

    def update(self, cost_usd: float, funnel_usd: float, *, review_months: int) -> bool:
        """Book a month and decide for the next; returns whether the plan is on.

        Examples
        --------
        >>> book = FreeTierBook()
        >>> [book.update(10.0, 4.0, review_months=2) for _ in range(3)]
        [True, False, False]
        >>> book.update(0.0, 0.0, review_months=2)
        True
        """
        if self.on:
            self.cost_usd.append(cost_usd)
            self.funnel_usd.append(funnel_usd)
            del self.cost_usd[:-review_months], self.funnel_usd[:-review_months]
            paid_for = sum(self.funnel_usd) >= sum(self.cost_usd)
            if len(self.cost_usd) >= review_months and not paid_for:
                self.on, self.off_months = False, 0
                self.cost_usd.clear()
                self.funnel_usd.clear()
        else:
            self.off_months += 1
            self.on = self.off_months >= review_months
        return self.on


def free_plan_rows(
    z: NDArray[np.floating], uniforms: NDArray[np.float64], *, nest_frac: float
) -> NDArray[np.intp]:
    """``(m,)`` each customer's free plan (``1 + row`` of ``z``) or 0 for none.

    ``z`` is ``(c, m)``: each free plan's normalised utility at a common price (``-inf``
    where it gains nothing). A customer takes the plan drawn by the nested logit among
    them unless none gains anything.

    Examples
    --------
    >>> z = np.array([[0.0, -np.inf], [0.0, -np.inf]])
    >>> free_plan_rows(z, np.array([0.3, 0.3]), nest_frac=0.5).tolist()
    [1, 0]
    """
    if z.shape[0] == 0:
        return np.zeros(z.shape[1], dtype=np.intp)
    return draw_choices(z, uniforms, outside=_NO_FREE_PLAN, nest_frac=nest_frac).rows


def conversion_bonus(
    z: NDArray[np.floating],
    col_firms: NDArray[np.int64],
    plans: NDArray[np.bool_],
    free_firm: NDArray[np.int64],
    inertia: float,
) -> None:
    """Add ``inertia`` to ``z`` ``(c, m)`` where a customer's free plan last month
    (``free_firm`` ``(m,)``, -1: none) is the lab selling the offering (``col_firms``
    ``(c,)``) and the offering is a paid plan (``plans`` ``(c,)``): moving from a lab's
    free plan to its paid one costs no switch. In place.

    Examples
    --------
    >>> z = np.zeros((2, 3), dtype=np.float32)
    >>> conversion_bonus(z, np.array([7, 8]), np.array([True, True]), np.array([7, -1, 8]), 1.0)
    >>> z.tolist()
    [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    """
    users = np.flatnonzero(free_firm >= 0)
    if inertia <= 0 or not users.size:
        return
    bonus = z.dtype.type(inertia)
    for firm in np.unique(free_firm[users]):  # a few labs: one scatter each
        rows = np.flatnonzero(plans & (col_firms == firm))
        if rows.size:
            z[np.ix_(rows, users[free_firm[users] == firm])] += bonus


def track_origin(
    origin: NDArray[np.int64],
    free_firm: NDArray[np.int64],
    chosen_firm: NDArray[np.int64],
    chosen_paid_plan: NDArray[np.bool_],
) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """Each customer's funnel origin after this month's choice, and who converted.

    ``origin`` ``(n,)`` is the lab whose free plan brought the customer to its paid plan
    (-1: none); ``free_firm`` the lab of last month's free plan (-1: none);
    ``chosen_firm`` the seller chosen now (-1: none) and ``chosen_paid_plan`` whether it
    is a paid plan. A free user who takes its lab's paid plan converts; a customer keeps
    its origin while it stays on that lab's paid plans.

    Examples
    --------
    >>> track_origin(np.array([-1, 5, 5]), np.array([3, -1, -1]), np.array([3, 5, 6]),
    ...              np.array([True, True, True]))
    (array([ 3,  5, -1]), array([ True, False, False]))
    """
    converted = (free_firm >= 0) & chosen_paid_plan & (chosen_firm == free_firm)
    stays = (origin >= 0) & chosen_paid_plan & (chosen_firm == origin)
    return np.where(converted, free_firm, np.where(stays, origin, -1)), converted
