"""Customers under contract: they choose again only when their contract renews.

Enterprise buyers sign for a year or two and switch only at renewal (issue 19; the UK CMA's
foundation-model reports name such contracts among the sources of incumbency), where
consumers reconsider every month. ``demand.contract_months`` ``R`` is the length of the
contracts of the customers of ``demand.contract_segments`` (everyone else: 1, monthly
choice): a customer who chose an
offering in month ``t`` keeps it, at its current list price, until month ``t + R``, when it
chooses again (staying or switching) and a new contract starts. A contract ends early only
when its offering is no longer sold to the customer (the model left the market). A
customer without an offering is under no contract and may buy any month.

While locked in, a customer's demand does not respond to prices: in the firms' pricing
sample it counts as certain to buy its offering (its share of it 1, of everything else 0),
so it adds to the revenue a price change moves and nothing to the demand it moves
(:func:`lock_pricing_sample`). Contracts signed before the run renew at staggered months
(:class:`Contracts`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["Contracts", "lock_pricing_sample"]


class Contracts:
    """Contract lengths and signing months of a population's customers.

    Parameters
    ----------
    months
        ``(n,)`` each customer's contract length in months (1: no contract).
    streams
        Number of work streams (a customer signs per stream).

    Contracts from before the run are staggered over their first term: customer ``i``
    signed in month ``-(i mod R)``.

    >>> Contracts(np.array([1, 3, 3, 3]), 1).signed[0].tolist()
    [0, -1, -2, 0]
    """

    def __init__(self, months: NDArray[np.int64], streams: int) -> None:
        self.months = np.asarray(months, dtype=np.int64)
        #: Whether any customer is under contract (else nothing here does anything).
        self.active = bool((self.months > 1).any())
        stagger = -(np.arange(self.months.shape[0]) % self.months)
        #: Per stream, ``(n,)`` the month each customer's contract was signed.
        self.signed = [stagger.copy() for _ in range(streams)]

    def locked(
        self, stream: int, month: int, lo: int, hi: int, mine: NDArray[np.intp]
    ) -> NDArray[np.bool_]:
        """``(hi - lo,)`` customers ``lo:hi`` held to their offering this ``month``: under a
        contract that does not renew now, whose offering (``mine`` >= 0: its row among
        what is sold to them) is still sold to them.

        >>> c = Contracts(np.array([12, 12]), 1)
        >>> c.locked(0, 5, 0, 2, np.array([0, -1])).tolist()
        [True, False]
        >>> c.locked(0, 12, 0, 2, np.array([0, 0])).tolist()  # the first renews in month 12
        [False, True]
        """
        r = self.months[lo:hi]
        renews = (month - self.signed[stream][lo:hi]) % r == 0
        return (r > 1) & ~renews & (mine >= 0)

    def sign(self, stream: int, month: int, chose: NDArray[np.bool_]) -> None:
        """Customers who chose this ``month`` (``(n,)``; not locked in) start a new term,
        except in the run's first month, when their contracts from before run on."""
        if month > 0:
            self.signed[stream][chose] = month


def lock_pricing_sample(
    weights: NDArray[np.float32],
    weight_sums: NDArray[np.float32],
    outside_frac: NDArray[np.float64],
    mine: NDArray[np.intp],
    locked: NDArray[np.bool_],
) -> None:
    """Make the pricing sample's locked-in customers (``locked`` ``(m,)``, each holding
    row ``mine`` of the ``(c, m)`` nest ``weights``) certain buyers of their offering: its
    weight 1, the others' 0, their nest's total 1 and the outside option's share 0, so
    that prices move none of their demand (the pricing first-order condition's slopes
    vanish) while their purchases still count as revenue. In place.

    >>> w = np.ones((2, 3), dtype=np.float32); s = w.sum(axis=0); o = np.full(3, 0.5)
    >>> lock_pricing_sample(w, s, o, np.array([1, 0, -1]), np.array([True, False, False]))
    >>> w.tolist(), s.tolist(), o.tolist()
    ([[0.0, 1.0, 1.0], [1.0, 1.0, 1.0]], [1.0, 2.0, 2.0], [0.0, 0.5, 0.5])
    """
    cols = np.flatnonzero(locked)
    if not cols.size:
        return
    weights[:, cols] = 0.0
    weights[mine[cols], cols] = 1.0
    weight_sums[cols] = 1.0
    outside_frac[cols] = 0.0
