"""Price setting: a markup rule and the logit best response.

Pure numpy. A firm sells one offering at one price per query to customers whose choice is
multinomial logit (see :mod:`markets.demand`). Utility falls by ``queries`` USD per USD of
price, and customer ``i``'s taste noise has scale ``scale_usd[i]``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["logit_best_response_markup_usd", "markup_price_usd"]


def markup_price_usd(cost_usd: ArrayLike, *, markup_frac: float) -> NDArray[np.float64]:
    """Cost-plus price ``cost * (1 + markup_frac)``, in the unit of ``cost_usd``.

    Examples
    --------
    >>> float(markup_price_usd(2.0, markup_frac=0.5))
    3.0
    """
    if markup_frac < 0:
        raise ValueError(f"markup_frac must be non-negative, got {markup_frac}")
    return np.asarray(cost_usd, dtype=float) * (1.0 + markup_frac)


def logit_best_response_markup_usd(
    probabilities: ArrayLike,
    queries_per_month: ArrayLike,
    scale_usd: ArrayLike,
    *,
    groups: ArrayLike | None = None,
    n_groups: int = 1,
) -> NDArray[np.float64]:
    """Profit-maximising markup over marginal cost per query, holding demand shape fixed.

    A firm's profit is ``sum_i P_ij q_i (p - c)``, and ``dP_ij/dp = -P_ij (1 - P_ij) q_i / s_i``
    for logit choice with monthly utility ``q_i (v_i p_success - p)`` and noise scale
    ``s_i``. The first-order condition gives

    ``p - c = sum_i q_i P_ij / sum_i (q_i**2 / s_i) P_ij (1 - P_ij)``,

    the single-product Bertrand–Nash markup of logit demand (Anderson, de Palma & Thisse
    1992, ch. 7). Evaluated at the current choice probabilities it is one step of the
    fixed-point iteration that converges to the equilibrium price. With ``groups`` the
    sums run within each group, for a firm that sets one price per customer segment.

    Parameters
    ----------
    probabilities
        ``(j, n)`` choice probabilities of each offering (outside option excluded).
    queries_per_month
        ``(n,)`` queries per customer per month.
    scale_usd
        ``(n,)`` logit scale of each customer's monthly utility, USD per month.
    groups
        Optional ``(n,)`` integer group (segment) of each customer, in ``[0, n_groups)``.
    n_groups
        Number of groups when ``groups`` is given.

    Returns
    -------
    ndarray
        ``(j,)`` markup in USD per query, or ``(n_groups, j)`` with ``groups``; ``inf``
        where the offering has no demand at all (the caller decides what a firm does then).

    Examples
    --------
    A monopolist facing identical customers with P = 0.5 and q = s = 1 sets a markup of
    ``0.5 / 0.25 = 2``:

    >>> logit_best_response_markup_usd([[0.5]], [1.0], [1.0]).tolist()
    [2.0]
    >>> logit_best_response_markup_usd([[0.5, 0.5]], [1.0, 1.0], [1.0, 2.0],
    ...                                groups=[0, 1], n_groups=2).tolist()
    [[2.0], [4.0]]
    """
    p = np.asarray(probabilities, dtype=float)
    q = np.asarray(queries_per_month, dtype=float)
    s = np.asarray(scale_usd, dtype=float)
    num = q * p
    den = (q * q / s) * p * (1.0 - p)
    if p.shape[0] == 0:
        return np.zeros((0,) if groups is None else (n_groups, 0))
    if groups is None:
        num_sum, den_sum = num.sum(axis=1), den.sum(axis=1)
    else:
        g = np.asarray(groups, dtype=np.intp)
        num_sum = np.stack([np.bincount(g, w, n_groups) for w in num], axis=1)
        den_sum = np.stack([np.bincount(g, w, n_groups) for w in den], axis=1)
    return np.divide(num_sum, den_sum, out=np.full(num_sum.shape, np.inf), where=den_sum > 0)
