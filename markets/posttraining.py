"""Post-training and tool use: capability bought after pre-training, tokens saved by tools.

Pure numpy. *Post-training* (RL, fine-tuning) spends ``r`` times a model's pre-training
compute and raises its capability by a sigmoid in ``log r``,

``gain(r) = G * r**b / (r**b + m**b)``,

the shape of the compute-performance curves of RL scaling (Khatri et al. 2025, "The Art
of Scaling Reinforcement Learning Compute for LLMs": performance rises as a sigmoid in log
compute toward an asymptote), so returns diminish and saturate. ``G`` is larger for a model
trained to reason than for a plain one (docs/model.md, "Post-training"). A lab that puts a
budget into pre- and post-training gets the most capability from the ``r`` that maximises
``gain(r) - log10(1 + r)`` (the capability index is in OOM of pre-training compute, so
``r`` of post-training costs ``log10(1 + r)`` OOM of what pre-training could have had).

*Tool use*: a model capable enough to call tools does part of its customers' hard work
with cheap tools (a calculator, a script) instead of generating tokens
(:func:`tool_token_frac`).
"""

from __future__ import annotations

import functools

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["post_training_frac", "post_training_gain_oom", "tool_token_frac"]

FloatOrArray = float | NDArray[np.float64]

#: ``r`` is chosen on a grid of this many steps per OOM, from 1e-3 to 10.
_STEPS_PER_OOM = 40


def post_training_gain_oom(
    frac: ArrayLike, *, gain_oom: float, mid_frac: float, slope: float
) -> FloatOrArray:
    """Capability (OOM of effective compute) that post-training ``frac`` times a model's
    pre-training compute adds.

    Examples
    --------
    Half the gain at ``mid_frac``, diminishing beyond:

    >>> post_training_gain_oom([0.0, 0.1, 1.0, 10.0], gain_oom=0.6, mid_frac=0.1, slope=1.0)
    array([0.        , 0.3       , 0.54545455, 0.59405941])
    """
    r = np.asarray(frac, dtype=float)
    if np.any(~np.isfinite(r) | (r < 0)):
        raise ValueError(f"frac must be finite and >= 0, got {frac!r}")
    rb = r**slope
    out = gain_oom * rb / (rb + mid_frac**slope)
    return float(out) if out.ndim == 0 else out


@functools.lru_cache(maxsize=32)
def post_training_frac(*, gain_oom: float, mid_frac: float, slope: float) -> tuple[float, float]:
    """The post-training share ``r`` (of pre-training compute) that gives the most
    capability for a fixed training budget, and the capability it adds (OOM).

    ``r`` maximises ``gain(r) - log10(1 + r)`` on a log grid from 1e-3 to 10 (0 when no
    ``r`` pays).

    Examples
    --------
    A reasoning model's larger gain pays for more post-training than a plain one's:

    >>> [round(x, 2) for x in post_training_frac(gain_oom=0.6, mid_frac=0.1, slope=1.0)]
    [0.33, 0.46]
    >>> [round(x, 2) for x in post_training_frac(gain_oom=0.3, mid_frac=0.1, slope=1.0)]
    [0.19, 0.2]
    >>> post_training_frac(gain_oom=0.0, mid_frac=0.1, slope=1.0)
    (0.0, 0.0)
    """
    grid = 10.0 ** (np.arange(-3 * _STEPS_PER_OOM, _STEPS_PER_OOM + 1) / _STEPS_PER_OOM)
    gain = np.asarray(
        post_training_gain_oom(grid, gain_oom=gain_oom, mid_frac=mid_frac, slope=slope)
    )
    net = gain - np.log10(1.0 + grid)
    best = int(np.argmax(net))
    if net[best] <= 0:
        return 0.0, 0.0
    return float(grid[best]), float(gain[best])


def tool_token_frac(
    kappa: ArrayLike, hard_frac: ArrayLike, *, min_kappa: float, saving_frac: float
) -> FloatOrArray:
    """Share of a query's tokens a model still generates when it can use tools.

    A model whose capability ``kappa`` reaches ``min_kappa`` does ``saving_frac`` of the
    tokens of the hard share ``hard_frac`` of the work with tools: ``1 - hard_frac *
    saving_frac``; below the threshold, 1. Broadcasts ``kappa`` against ``hard_frac``.

    Examples
    --------
    >>> tool_token_frac([25.0, 26.0], 0.3, min_kappa=25.69, saving_frac=0.5)
    array([1.  , 0.85])
    """
    k = np.asarray(kappa, dtype=float)
    h = np.asarray(hard_frac, dtype=float)
    out = np.where(k >= min_kappa, 1.0 - h * saving_frac, 1.0)
    return float(out) if out.ndim == 0 else out
