"""Serving capacity: what contracted GPUs cover, what the spot market adds, who is rationed.

Each firm needs GPUs to serve its month's tokens. It serves from the capacity it contracted
ahead first; the rest it rents on the spot market, which holds whatever GPUs no contract
and no training run has taken. When the firms' spot needs exceed that pool, every spot
need is served in the same proportion (pro-rata rationing) and the queries left over are
not served. Pure numpy; the GPU market's bookkeeping is in :mod:`aimarket.sim.gpus`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["Serving", "serve_from_capacity"]


class Serving(NamedTuple):
    """What :func:`serve_from_capacity` returns; arrays ``(f,)`` over firms, in GPUs."""

    #: GPUs of each firm's own contracts that served its tokens.
    from_contract: NDArray[np.float64]
    #: GPUs each firm rented on the spot market.
    from_spot: NDArray[np.float64]
    #: Share of each firm's need that was served (1 where it needed nothing).
    served_frac: NDArray[np.float64]
    #: The firms' spot need before rationing, summed (GPUs).
    spot_demand: float


def serve_from_capacity(
    need_gpus: ArrayLike, contracted_gpus: ArrayLike, spot_pool_gpus: float
) -> Serving:
    """Serve each firm's need from its contracts, then from the spot pool, pro rata.

    ``from_contract = min(need, contracted)``; the spot demand ``e = need - from_contract``
    is met in full when ``sum(e) <= pool``, else each firm gets ``e * pool / sum(e)``.

    Parameters
    ----------
    need_gpus
        ``(f,)`` GPUs (average over the month) each firm's tokens need, ``>= 0``.
    contracted_gpus
        ``(f,)`` GPUs each firm holds under contract this month, ``>= 0``.
    spot_pool_gpus
        GPUs nobody holds (no contract, no training run), ``>= 0``.

    Examples
    --------
    Two firms need 10 GPUs each; the first holds 8 under contract; a pool of 6 covers the
    spot need of 12 by half:

    >>> s = serve_from_capacity([10.0, 10.0], [8.0, 0.0], 6.0)
    >>> s.from_spot.tolist(), s.served_frac.tolist(), s.spot_demand
    ([1.0, 5.0], [0.9, 0.5], 12.0)
    """
    need = np.asarray(need_gpus, dtype=float)
    contracted = np.asarray(contracted_gpus, dtype=float)
    if need.shape != contracted.shape:
        raise ValueError(f"need {need.shape} and contracted {contracted.shape} must match")
    if (need < 0).any() or (contracted < 0).any() or not spot_pool_gpus >= 0:
        raise ValueError("needs, contracts and the spot pool must be >= 0")
    own = np.minimum(need, contracted)
    extra = need - own
    demand = float(extra.sum())
    ratio = 1.0 if demand <= spot_pool_gpus else spot_pool_gpus / demand
    spot = extra * ratio
    served = np.divide(own + spot, need, out=np.ones_like(need), where=need > 0)
    return Serving(own, spot, np.minimum(served, 1.0), demand)
