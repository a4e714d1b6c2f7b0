"""Success rates of models for a segment's customers, cached by capability.

The population's monthly choice needs, for every offering a segment can buy, each
customer's chance that a model of the offering's capability does the work
(:func:`aimarket.markets.demand.success_from_odds`). A model's capability in a segment
changes only when its reasoning effort does, so :class:`SuccessRows` keeps the rows it has
computed and recomputes only what is new.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from aimarket.markets.demand import odds, success_from_odds

__all__ = ["SuccessRows"]


class SuccessRows:
    """Success rates over the taste noise of models of capability ``kappa`` for one
    segment's customers on one work stream, ``(m, w)``, cached by capability (in
    float32, as the population's utilities are).

    In odds form (:func:`markets.demand.success_from_odds`) a new row costs no exponential
    per customer. A model's capability in a segment changes only when its
    reasoning effort does, so most rows are reused; rows of capabilities not asked for in
    the last call are overwritten.
    """

    __slots__ = ("_ease", "_free", "_ref", "_rows", "_slope", "_slot", "_weight")

    def __init__(
        self, weight: NDArray[np.float64], ease: NDArray[np.float64], ref: float, slope: float
    ) -> None:
        self._weight, self._ease, self._ref, self._slope = weight, ease, ref, slope
        self._rows = np.empty((0, weight.shape[1]), dtype=np.float32)
        self._slot: dict[float, int] = {}
        self._free: list[int] = []  # rows holding nothing

    @classmethod
    def build(
        cls, weight: NDArray[np.float64], difficulty: NDArray[np.float64], *, slope_per_oom: float
    ) -> SuccessRows:
        """From ``(t, w)`` term weights and difficulties (see ``_success_terms``)."""
        ref = float(difficulty.mean()) if difficulty.size else 0.0
        return cls(weight, odds(slope_per_oom * (difficulty - ref)), ref, slope_per_oom)

    def compute(self, kappa: NDArray[np.float64]) -> NDArray[np.float64]:
        """``(m, w)`` rates for ``(m,)`` capabilities, uncached."""
        factor = odds(-self._slope * (np.asarray(kappa) - self._ref))[:, None]
        return success_from_odds(factor, self._ease, self._weight)

    def take(self, kappa: NDArray[np.float64]) -> NDArray[np.float32]:
        """``(m, w)`` float32 rates for ``(m,)`` capabilities (a new array)."""
        slots = self.slots(kappa)  # first: it may grow the cache
        return self._rows[slots]

    def slots(self, kappa: NDArray[np.float64]) -> list[int]:
        """Rows of :attr:`rows` holding the rates of ``(m,)`` capabilities, computed where
        they are not cached. When the cache is full, rows of capabilities not asked for
        now are reused before it grows."""
        keys = kappa.tolist()
        slot = self._slot
        try:
            return [slot[k] for k in keys]
        except KeyError:
            pass
        missing = [k for k in dict.fromkeys(keys) if k not in slot]
        if len(missing) > len(self._free):
            wanted = set(keys)
            for k in [k for k in slot if k not in wanted]:
                self._free.append(slot.pop(k))
        if len(missing) > len(self._free):
            old = self._rows.shape[0]
            grown = max(2 * old, len(slot) + len(missing))
            rows = np.empty((grown, self._rows.shape[1]), dtype=np.float32)
            rows[:old] = self._rows
            self._rows = rows
            self._free.extend(range(grown - 1, old - 1, -1))
        new = [self._free.pop() for _ in missing]
        self._rows[new] = self.compute(np.array(missing))
        slot.update(zip(missing, new, strict=True))
        return [slot[k] for k in keys]

    @property
    def rows(self) -> NDArray[np.float32]:
        """The cache, ``(r, w)``: index it with :meth:`slots`."""
        return self._rows
