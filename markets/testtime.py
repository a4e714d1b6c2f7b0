"""Test-time compute: capability bought with inference, repeated-sampling coverage.

Pure numpy and vectorised. A reasoning model that spends ``k`` times the tokens of a
non-reasoning answer on a query (the *inference multiplier*, ``k >= 1``) gains
``tau * log10(k)`` orders of magnitude (OOM) of effective training compute on the
capability scale of :func:`markets.scaling.capability_index`, up to a cap; ``tau`` and the
cap depend on the task class (design.md section 4).

Calibration of :data:`TRADEOFFS` (Villalobos & Atkinson 2023, "Trading Off Compute in
Training and Inference", Epoch; calibration.md "Test-time compute"). Epoch reports how many
OOM of inference compute substitute for how many OOM of training compute, and over what
span the trade-off holds. Taking the midpoint of each range, ``tau = training OOM /
inference OOM`` and the cap is the training OOM the trade-off spans:

=============  ==================  =================  ===========  =======
task class     inference OOM       training OOM       tau          cap OOM
=============  ==================  =================  ===========  =======
general        1–2 (mid 1.5)       1                  1/1.5=0.67   1
sequential     2–3 (mid 2.5)       2                  2/2.5=0.80   2
verifiable     5–6 (mid 5.5)       3–4 (mid 3.5)      3.5/5.5=0.64 3.5
=============  ==================  =================  ===========  =======

The linear-in-``log k`` shape follows OpenAI's o1 report (accuracy roughly linear in log
test-time compute; calibration.md "o1").
"""

from __future__ import annotations

import enum
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "TRADEOFFS",
    "TaskClass",
    "TradeoffParams",
    "coverage",
    "fit_coverage",
    "samples_for_coverage",
    "snell_matching_multiplier",
    "testtime_gain_for_task",
    "testtime_gain_oom",
]

FloatOrArray = float | NDArray[np.float64]


class TaskClass(enum.StrEnum):
    """Task classes of Epoch's training/inference trade-off."""

    GENERAL = "general"
    SEQUENTIAL = "sequential"
    VERIFIABLE = "verifiable"


class TradeoffParams(NamedTuple):
    """Test-time trade-off of one task class.

    Attributes
    ----------
    oom_per_oom
        ``tau``: OOM of effective training compute gained per OOM of inference multiplier.
    cap_oom
        Largest gain, in OOM of effective training compute.
    source
        Where the numbers come from.
    """

    oom_per_oom: float
    cap_oom: float
    source: str


_EPOCH = "Villalobos & Atkinson 2023 (Epoch), calibration.md 'Test-time compute'"

TRADEOFFS: dict[TaskClass, TradeoffParams] = {
    TaskClass.GENERAL: TradeoffParams(
        oom_per_oom=1.0 / 1.5,
        cap_oom=1.0,
        source=f"{_EPOCH}: +1–2 OOM inference ≈ 1 OOM training (midpoint 1.5)",
    ),
    TaskClass.SEQUENTIAL: TradeoffParams(
        oom_per_oom=2.0 / 2.5,
        cap_oom=2.0,
        source=f"{_EPOCH}: +2–3 OOM inference ≈ 2 OOM training (midpoint 2.5)",
    ),
    TaskClass.VERIFIABLE: TradeoffParams(
        oom_per_oom=3.5 / 5.5,
        cap_oom=3.5,
        source=f"{_EPOCH}: +5–6 OOM inference ≈ 3–4 OOM training (midpoints 5.5, 3.5)",
    ),
}
"""Trade-off parameters by task class (derivation in the module docstring)."""


def _out(x: ArrayLike) -> FloatOrArray:
    a = np.asarray(x, dtype=float)
    return float(a) if a.ndim == 0 else a


def _checked(
    name: str, value: ArrayLike, *, low: float, strict: bool, what: str
) -> NDArray[np.float64]:
    """``value`` as a float array; ``ValueError`` unless finite and ``>`` (or ``>=``) ``low``."""
    x = np.asarray(value, dtype=float)
    ok = np.isfinite(x) & ((x > low) if strict else (x >= low))
    if not ok.all():
        bad = float(x[~ok].flat[0]) if x.ndim else float(x)
        raise ValueError(f"{name} must be {what}, got {bad!r}")
    return x


def _task(task: TaskClass | str) -> TaskClass:
    try:
        return TaskClass(task)
    except ValueError:
        valid = ", ".join(t.value for t in TaskClass)
        raise ValueError(f"unknown task class {task!r}; expected one of: {valid}") from None


def testtime_gain_oom(
    inference_multiplier: ArrayLike, *, oom_per_oom: ArrayLike, cap_oom: ArrayLike
) -> FloatOrArray:
    """Capability gain from test-time compute, in OOM of effective training compute.

    ``gain = clip(oom_per_oom * log10(k), 0, cap_oom)``, non-decreasing in ``k`` and never
    above ``cap_oom``.

    Parameters
    ----------
    inference_multiplier
        ``k >= 1``: tokens per query relative to a non-reasoning answer.
    oom_per_oom, cap_oom
        Slope ``tau >= 0`` and cap ``>= 0`` (see :data:`TRADEOFFS`).

    Examples
    --------
    >>> testtime_gain_oom(100.0, oom_per_oom=0.5, cap_oom=3.0)
    1.0
    >>> testtime_gain_oom(1e9, oom_per_oom=0.5, cap_oom=3.0)
    3.0
    """
    k = _checked("inference_multiplier", inference_multiplier, low=1.0, strict=False, what=">= 1")
    tau = _checked("oom_per_oom", oom_per_oom, low=0.0, strict=False, what=">= 0 and finite")
    cap = _checked("cap_oom", cap_oom, low=0.0, strict=False, what=">= 0 and finite")
    return _out(np.clip(tau * np.log10(k), 0.0, cap))


def testtime_gain_for_task(inference_multiplier: ArrayLike, task: TaskClass | str) -> FloatOrArray:
    """:func:`testtime_gain_oom` with the :data:`TRADEOFFS` of ``task``.

    Examples
    --------
    >>> round(testtime_gain_for_task(10 ** 1.5, "general"), 9)  # 1.5 OOM inference -> 1 OOM
    1.0
    >>> testtime_gain_for_task(10.0, "poetry")
    Traceback (most recent call last):
    ...
    ValueError: unknown task class 'poetry'; expected one of: general, sequential, verifiable
    """
    p = TRADEOFFS[_task(task)]
    return testtime_gain_oom(inference_multiplier, oom_per_oom=p.oom_per_oom, cap_oom=p.cap_oom)


# Names starting with "test" would be collected by pytest wherever they are imported into a
# test module; mark them as not tests.
testtime_gain_oom.__test__ = False  # type: ignore[attr-defined]
testtime_gain_for_task.__test__ = False  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- coverage


def coverage(samples: ArrayLike, *, a: ArrayLike, b: ArrayLike) -> FloatOrArray:
    """Repeated-sampling coverage ``c(k) = exp(a * k**b)`` (Brown et al. 2024).

    The share of problems solved by at least one of ``k`` samples. With ``a < 0`` and
    ``b < 0`` it rises from ``exp(a)`` at ``k = 1`` towards 1 (calibration.md "repeated
    sampling coverage").

    Parameters
    ----------
    samples
        ``k > 0`` samples per problem.
    a, b
        Negative curve parameters (:func:`fit_coverage`).

    Examples
    --------
    >>> a, b = fit_coverage(1, 0.159, 250, 0.56)  # SWE-bench Lite, Brown et al. 2024
    >>> round(coverage(250, a=a, b=b), 6)
    0.56
    """
    k = _checked("samples", samples, low=0.0, strict=True, what="positive and finite")
    a_ = _checked("a", -np.asarray(a, dtype=float), low=0.0, strict=True, what="> 0 (a < 0)")
    b_ = _checked("b", -np.asarray(b, dtype=float), low=0.0, strict=True, what="> 0 (b < 0)")
    return _out(np.exp(-a_ * k ** (-b_)))


def fit_coverage(k1: float, c1: float, k2: float, c2: float) -> tuple[float, float]:
    """``(a, b)`` of :func:`coverage` through two points ``(k1, c1)`` and ``(k2, c2)``.

    ``log(-log c) = log(-a) + b log k`` is a line in ``log k``: ``b`` is its slope through the
    two points and ``a = -exp(log(-log c1) - b log k1)``. Coverage must be in (0, 1) and must
    rise with the number of samples.

    Examples
    --------
    >>> a, b = fit_coverage(1, 0.159, 250, 0.56)
    >>> round(a, 4), round(b, 4)
    (-1.8389, -0.209)
    """
    for name, c in (("c1", c1), ("c2", c2)):
        if not (0.0 < c < 1.0):
            raise ValueError(f"{name} must be a coverage in (0, 1), got {c!r}")
    for name, k in (("k1", k1), ("k2", k2)):
        if not (np.isfinite(k) and k > 0):
            raise ValueError(f"{name} must be a positive finite number of samples, got {k!r}")
    if not (k2 - k1) * (c2 - c1) > 0:
        raise ValueError(
            f"coverage must rise with samples: got c({k1!r})={c1!r} and c({k2!r})={c2!r}"
        )
    y1, y2 = np.log(-np.log(c1)), np.log(-np.log(c2))
    b = float((y2 - y1) / (np.log(k2) - np.log(k1)))
    a = float(-np.exp(y1 - b * np.log(k1)))
    return a, b


def samples_for_coverage(target_frac: ArrayLike, *, a: ArrayLike, b: ArrayLike) -> FloatOrArray:
    """Samples ``k`` at which :func:`coverage` reaches ``target_frac`` in (0, 1).

    ``k = (log(target) / a) ** (1 / b)``; below 1 when one sample already suffices.

    Examples
    --------
    >>> a, b = fit_coverage(1, 0.159, 250, 0.56)
    >>> round(samples_for_coverage(0.56, a=a, b=b), 6)
    250.0
    """
    c = np.asarray(target_frac, dtype=float)
    if not ((c > 0) & (c < 1)).all():
        raise ValueError(f"target_frac must be in (0, 1), got {target_frac!r}")
    a_ = np.asarray(a, dtype=float)
    b_ = np.asarray(b, dtype=float)
    if not ((a_ < 0).all() and (b_ < 0).all()):
        raise ValueError(f"a and b must be negative, got a={a!r}, b={b!r}")
    with np.errstate(over="ignore"):
        return _out((np.log(c) / a_) ** (1.0 / b_))


# --------------------------------------------------------------------------- Snell


def snell_matching_multiplier(
    size_ratio: ArrayLike, inference_to_pretraining_tokens: ArrayLike
) -> FloatOrArray:
    """Inference multiplier at which a small model matches a larger one's total FLOP.

    Snell et al. 2024: a model ``M`` times larger (same pre-training tokens ``D_pre``) costs
    ``6 M N D_pre + 2 M N D_inf``; the small one spending ``k`` times its inference costs
    ``6 N D_pre + 2 N k D_inf``. Equal totals give ``k = M + 3 (M - 1) / R`` with
    ``R = D_inf / D_pre`` (calibration.md "FLOP matching rule").

    Parameters
    ----------
    size_ratio
        ``M >= 1``.
    inference_to_pretraining_tokens
        ``R > 0``.

    Examples
    --------
    >>> snell_matching_multiplier(14.0, 1.0)  # match a 14x larger model, R = 1
    53.0
    """
    m = _checked("size_ratio", size_ratio, low=1.0, strict=False, what=">= 1")
    r = _checked(
        "inference_to_pretraining_tokens",
        inference_to_pretraining_tokens,
        low=0.0,
        strict=True,
        what="positive and finite",
    )
    return _out(m + 3.0 * (m - 1.0) / r)
