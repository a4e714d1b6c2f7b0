"""Chinchilla scaling: loss, compute-optimal and inference-aware allocation, capability index.

Every function is pure numpy and vectorised: arguments broadcast against each other and a
scalar call returns a Python ``float``. Units are in the names: ``params`` (parameters),
``tokens`` (training tokens), ``flop`` (floating-point operations), loss in nats per token.

The loss model is Hoffmann et al. (2022), eq. 10 (calibration.md, "Chinchilla loss form")::

    L(N, D) = E + A / N**alpha + B / D**beta,      training FLOP C = 6 * N * D

with three named constant sets (:data:`CONSTANTS`). The *capability index* ``kappa`` puts
model size, data, overtraining and algorithmic progress on one scale: the log10 of the
compute a compute-optimal model needs to reach the same loss, times the algorithmic
efficiency multiplier (design.md section 4).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "CONSTANTS",
    "DEFAULT_CONSTANTS",
    "InferenceOptimum",
    "ScalingConstants",
    "capability_index",
    "capability_index_for_loss",
    "chinchilla_loss",
    "compute_optimal",
    "compute_optimal_flop_for_loss",
    "compute_optimal_loss",
    "get_constants",
    "inference_optimal",
    "iso_loss_tokens",
    "training_flop",
]

FloatOrArray = float | NDArray[np.float64]


class ScalingConstants(NamedTuple):
    """Constants of ``L(N, D) = E + A / N**alpha + B / D**beta`` (loss in nats per token)."""

    E: float
    A: float
    B: float
    alpha: float
    beta: float
    source: str


CONSTANTS: dict[str, ScalingConstants] = {
    "besiroglu2024": ScalingConstants(
        E=1.8172,
        A=482.01,
        B=2085.43,
        alpha=0.3478,
        beta=0.3658,
        source="Besiroglu, Erdil, Barnett, You 2024, 'Chinchilla Scaling: A replication "
        "attempt' (calibration.md, constants besiroglu2024)",
    ),
    "hoffmann2022": ScalingConstants(
        E=1.6934,
        A=406.401,
        B=410.7228,
        alpha=0.33917084,
        beta=0.2849083,
        source="Hoffmann et al. 2022, approach 3, unrounded (TeX source as quoted by "
        "Besiroglu et al. 2024; calibration.md, constants hoffmann2022)",
    ),
    "hoffmann2022_rounded": ScalingConstants(
        E=1.69,
        A=406.4,
        B=410.7,
        alpha=0.34,
        beta=0.28,
        source="Hoffmann et al. 2022, approach 3, body text (calibration.md, constants "
        "hoffmann2022_rounded)",
    ),
}
"""Named constant sets; see calibration.md, section "Scaling laws"."""

DEFAULT_CONSTANTS: str = "besiroglu2024"
"""The default set: the replication's fit, whose compute-optimal allocation is close to
Chinchilla's ~20 tokens per parameter (Hoffmann et al. 2022, Table 3)."""


class InferenceOptimum(NamedTuple):
    """Result of :func:`inference_optimal`; every field broadcasts to the inputs' shape.

    Attributes
    ----------
    params, tokens
        The inference-aware parameter count and training tokens at the target loss.
    total_flop
        ``6 * params * tokens + 2 * params * inference_tokens``.
    baseline_total_flop
        The same total for the given ``(N, D)``.
    saving_frac
        ``1 - total_flop / baseline_total_flop``, in ``[0, 1)``.
    """

    params: FloatOrArray
    tokens: FloatOrArray
    total_flop: FloatOrArray
    baseline_total_flop: FloatOrArray
    saving_frac: FloatOrArray


# --------------------------------------------------------------------------- helpers


def _out(x: ArrayLike) -> FloatOrArray:
    """Return a Python float for 0-d results and an ndarray otherwise."""
    a = np.asarray(x, dtype=float)
    return float(a) if a.ndim == 0 else a


def _checked(name: str, value: ArrayLike, *, allow_zero: bool = False) -> NDArray[np.float64]:
    """``value`` as a float array; ``ValueError`` unless every element is finite and > 0."""
    if (
        isinstance(value, (float, int))
        and math.isfinite(value)
        and (value >= 0 if allow_zero else value > 0)
    ):
        return np.asarray(value, dtype=float)  # the common scalar case, without array checks
    x = np.asarray(value, dtype=float)
    ok = np.isfinite(x) & ((x >= 0) if allow_zero else (x > 0))
    if not ok.all():
        bad = float(x[~ok].flat[0]) if x.ndim else float(x)
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(f"{name} must be a {kind} finite number, got {bad!r}")
    return x


def get_constants(constants: str | ScalingConstants = DEFAULT_CONSTANTS) -> ScalingConstants:
    """Look up a constant set by name, or validate and return a :class:`ScalingConstants`.

    Raises
    ------
    ValueError
        For an unknown name (the message lists the valid names) or non-positive constants.

    Examples
    --------
    >>> get_constants("hoffmann2022_rounded").alpha
    0.34
    """
    if isinstance(constants, ScalingConstants):
        c = constants
    elif isinstance(constants, str):
        try:
            c = CONSTANTS[constants]
        except KeyError:
            valid = ", ".join(sorted(CONSTANTS))
            raise ValueError(
                f"unknown scaling constants {constants!r}; expected one of: {valid}"
            ) from None
    else:
        raise ValueError(
            f"constants must be a name or a ScalingConstants, got {type(constants).__name__}"
        )
    for field in ("E", "A", "B", "alpha", "beta"):
        v = getattr(c, field)
        if not (np.isfinite(v) and v > 0):
            raise ValueError(f"scaling constant {field} must be positive and finite, got {v!r}")
    return c


class _Derived(NamedTuple):
    G: float  # N* = G * (C/6)**a
    a: float  # beta / (alpha + beta)
    b: float  # alpha / (alpha + beta)
    gamma: float  # alpha * beta / (alpha + beta): L* - E ∝ (C/6)**-gamma
    K: float  # L* - E = K * (C/6)**-gamma


def _derived(c: ScalingConstants) -> _Derived:
    """Closed-form compute-optimal quantities (Hoffmann et al. 2022, eq. 4)."""
    s = c.alpha + c.beta
    G = (c.alpha * c.A / (c.beta * c.B)) ** (1.0 / s)
    K = c.A * G ** (-c.alpha) + c.B * G**c.beta
    return _Derived(G=G, a=c.beta / s, b=c.alpha / s, gamma=c.alpha * c.beta / s, K=K)


# --------------------------------------------------------------------------- loss


def training_flop(params: ArrayLike, tokens: ArrayLike) -> FloatOrArray:
    """Training compute ``C = 6 * N * D`` in FLOP (Hoffmann et al. 2022; Kaplan et al. 2020).

    Examples
    --------
    >>> training_flop(175e9, 300e9)  # GPT-3: ~3.14e23 FLOP (calibration.md)
    3.15e+23
    """
    return _out(6.0 * _checked("params", params) * _checked("tokens", tokens))


def chinchilla_loss(
    params: ArrayLike,
    tokens: ArrayLike,
    *,
    constants: str | ScalingConstants = DEFAULT_CONSTANTS,
) -> FloatOrArray:
    """Pre-training loss ``L = E + A / N**alpha + B / D**beta`` in nats per token.

    Parameters
    ----------
    params, tokens
        Parameter count ``N`` and training tokens ``D``, positive, broadcastable.
    constants
        A name in :data:`CONSTANTS` or a :class:`ScalingConstants`.

    Examples
    --------
    >>> round(chinchilla_loss(70e9, 1.4e12, constants="hoffmann2022_rounded"), 3)
    1.937
    """
    c = get_constants(constants)
    n = _checked("params", params)
    d = _checked("tokens", tokens)
    return _out(c.E + c.A * n ** (-c.alpha) + c.B * d ** (-c.beta))


def iso_loss_tokens(
    params: ArrayLike,
    *,
    loss: ArrayLike,
    constants: str | ScalingConstants = DEFAULT_CONSTANTS,
) -> FloatOrArray:
    """Training tokens a model of ``params`` needs to reach ``loss``: the iso-loss curve.

    ``D = (B / (L - E - A / N**alpha))**(1 / beta)``; ``inf`` where the model is too small to
    ever reach ``loss`` (``A / N**alpha >= L - E``).

    Examples
    --------
    >>> c = "hoffmann2022_rounded"
    >>> L = chinchilla_loss(7e9, 2e12, constants=c)
    >>> round(iso_loss_tokens(7e9, loss=L, constants=c) / 1e12, 6)
    2.0
    """
    c = get_constants(constants)
    n = _checked("params", params)
    L = np.asarray(loss, dtype=float)
    if not np.isfinite(L).all():
        raise ValueError(f"loss must be finite, got {loss!r}")
    gap = L - c.E - c.A * n ** (-c.alpha)
    ok = gap > 0
    with np.errstate(over="ignore"):
        d = np.where(ok, (c.B / np.where(ok, gap, 1.0)) ** (1.0 / c.beta), np.inf)
    return _out(d)


# --------------------------------------------------------------------------- compute-optimal


def compute_optimal(
    flop: ArrayLike, *, constants: str | ScalingConstants = DEFAULT_CONSTANTS
) -> tuple[FloatOrArray, FloatOrArray]:
    """Compute-optimal ``(params, tokens)`` for a training budget, in closed form.

    ``N* = G (C/6)**a``, ``D* = (C/6)**b / G`` with ``G = (alpha A / (beta B))**(1/(alpha+beta))``,
    ``a = beta / (alpha + beta)``, ``b = alpha / (alpha + beta)`` (Hoffmann et al. 2022, eq. 4;
    calibration.md, "compute-optimal closed form"). ``6 N* D* = C`` exactly.

    Parameters
    ----------
    flop
        Training compute ``C`` in FLOP, positive, any shape.

    Returns
    -------
    params, tokens
        Arrays (or floats) of the shape of ``flop``.

    Examples
    --------
    >>> n, d = compute_optimal(5.76e23, constants="hoffmann2022")
    >>> round(n / 1e9)  # approach-3 projection: ~40B (Hoffmann et al. 2022, Fig. 4)
    40
    """
    c = get_constants(constants)
    k = _derived(c)
    x = _checked("flop", flop) / 6.0
    return _out(k.G * x**k.a), _out(x**k.b / k.G)


def compute_optimal_loss(
    flop: ArrayLike, *, constants: str | ScalingConstants = DEFAULT_CONSTANTS
) -> FloatOrArray:
    """Loss of the compute-optimal model trained with ``flop``: ``E + K (C/6)**-gamma``.

    ``gamma = alpha beta / (alpha + beta)`` and ``K = A G**-alpha + B G**beta`` follow from
    substituting :func:`compute_optimal` into the loss.

    Examples
    --------
    >>> compute_optimal_loss(1e24) < compute_optimal_loss(1e23)
    True
    """
    c = get_constants(constants)
    k = _derived(c)
    x = _checked("flop", flop) / 6.0
    return _out(c.E + k.K * x ** (-k.gamma))


def compute_optimal_flop_for_loss(
    loss: ArrayLike, *, constants: str | ScalingConstants = DEFAULT_CONSTANTS
) -> FloatOrArray:
    """Training FLOP a compute-optimal model needs to reach ``loss``; ``inf`` where ``loss <= E``.

    Inverse of :func:`compute_optimal_loss`: ``C = 6 ((L - E) / K)**(-1/gamma)``.

    Examples
    --------
    >>> c = compute_optimal_flop_for_loss(compute_optimal_loss(1e24))
    >>> round(c / 1e24, 9)
    1.0
    >>> compute_optimal_flop_for_loss(1.0)
    inf
    """
    c = get_constants(constants)
    L = np.asarray(loss, dtype=float)
    if not np.isfinite(L).all():
        raise ValueError(f"loss must be finite, got {loss!r}")
    return _out(_flop_for_reducible_loss(L - c.E, c))


def _log10_flop_for_reducible_loss(r: NDArray[np.float64], c: ScalingConstants) -> NDArray:
    """``log10`` of the compute-optimal FLOP for reducible loss ``r = L - E``; inf if r <= 0."""
    k = _derived(c)
    ok = r > 0
    safe = np.where(ok, r, 1.0)
    return np.where(ok, np.log10(6.0) - (np.log10(safe) - np.log10(k.K)) / k.gamma, np.inf)


def _flop_for_reducible_loss(r: NDArray[np.float64], c: ScalingConstants) -> NDArray:
    with np.errstate(over="ignore"):
        return 10.0 ** _log10_flop_for_reducible_loss(r, c)


# --------------------------------------------------------------------------- capability


def capability_index_for_loss(
    loss: ArrayLike,
    *,
    algorithmic_multiplier: ArrayLike = 1.0,
    constants: str | ScalingConstants = DEFAULT_CONSTANTS,
) -> FloatOrArray:
    """Capability index of a loss: ``log10(compute_optimal_flop_for_loss(L) * multiplier)``.

    In OOM of effective training compute; ``inf`` where ``loss <= E``.
    """
    c = get_constants(constants)
    L = np.asarray(loss, dtype=float)
    if not np.isfinite(L).all():
        raise ValueError(f"loss must be finite, got {loss!r}")
    m = _checked("algorithmic_multiplier", algorithmic_multiplier)
    return _out(_log10_flop_for_reducible_loss(L - c.E, c) + np.log10(m))


def capability_index(
    params: ArrayLike,
    tokens: ArrayLike,
    *,
    algorithmic_multiplier: ArrayLike = 1.0,
    constants: str | ScalingConstants = DEFAULT_CONSTANTS,
) -> FloatOrArray:
    """Capability index ``kappa``: OOM of effective training compute of a model.

    ``kappa = log10(C_opt(L(N, D)) * m)``, where ``C_opt(L)`` is the compute a
    compute-optimal model needs to reach the model's loss (:func:`compute_optimal_flop_for_loss`)
    and ``m`` is the algorithmic-efficiency multiplier at the model's training date
    (:func:`markets.hardware.algorithmic_training_multiplier`). For a compute-optimal
    ``(N, D)`` and ``m = 1`` it equals ``log10(6 N D)``; an overtrained or undertrained model
    scores below ``log10(6 N D)``. Computed in logs from the reducible loss
    ``A/N**alpha + B/D**beta`` (no cancellation against ``E``), so it is finite for any
    finite ``N, D``.

    Parameters
    ----------
    params, tokens
        Positive, broadcastable.
    algorithmic_multiplier
        Positive effective-compute multiplier (design.md section 4; 1 = the fit's vintage).

    Examples
    --------
    >>> n, d = compute_optimal(1e25)
    >>> round(capability_index(n, d), 9)
    25.0
    >>> round(capability_index(n, d, algorithmic_multiplier=10.0), 9)
    26.0
    """
    c = get_constants(constants)
    n = _checked("params", params)
    d = _checked("tokens", tokens)
    m = _checked("algorithmic_multiplier", algorithmic_multiplier)
    r = c.A * n ** (-c.alpha) + c.B * d ** (-c.beta)
    return _out(_log10_flop_for_reducible_loss(r, c) + np.log10(m))


# --------------------------------------------------------------------------- inference-aware


_NEWTON_MAX_ITER = 100


def inference_optimal(
    params: ArrayLike,
    tokens: ArrayLike,
    inference_tokens: ArrayLike,
    *,
    constants: str | ScalingConstants = DEFAULT_CONSTANTS,
) -> InferenceOptimum:
    """Inference-aware allocation at the loss of ``(params, tokens)`` (Sardana et al. 2024).

    Minimises ``total(N) = 6 N D(N) + 2 N T`` over ``N`` along the iso-loss curve
    ``D(N) = (B / (L - E - A N**-alpha))**(1/beta)`` (calibration.md, "inference-aware
    allocation"), where ``T`` is the lifetime inference tokens. At ``T = 0`` the answer is the
    compute-optimal point for that loss, which differs from the given ``(N, D)`` unless that
    point was itself compute-optimal.

    Method (no closed form). Write the share of the reducible loss ``r = L - E`` carried by
    the parameter term as ``s = A N**-alpha / r`` and ``w = log(1 - s)``. ``log total`` is
    convex in ``log N`` (a sum of log-convex terms), and its stationarity condition
    ``3 D(N) (alpha s / (beta (1 - s)) - 1) = T`` becomes, in logs,

        phi(w) = log 3 + log(B/r)/beta - (1/beta + 1) w
                 + log(alpha/beta - e**w (alpha+beta)/beta) - log T = 0,

    strictly decreasing in ``w`` on ``w < w0 = log(alpha / (alpha + beta))`` (``w0`` is the
    compute-optimal point). In ``x = log(w0 - w)`` the condition is increasing and convex,
    so vectorised Newton steps from a closed-form start right of the root converge
    monotonically and quadratically to machine precision (about 7 steps), robust from
    ``T = 0`` to ``T = 1e15`` tokens and beyond, including solutions far past 10,000 tokens
    per parameter and roots next to ``w0``. If rounding leaves the
    solution no better than the given point, the given point is returned.

    Parameters
    ----------
    params, tokens
        The planned model ``(N, D)``: defines the target loss and the baseline. Positive.
    inference_tokens
        Lifetime inference tokens ``T >= 0``.

    Returns
    -------
    InferenceOptimum
        Fields broadcast to the common shape of the inputs.

    Examples
    --------
    Sardana et al.'s Fig. 1 example: a 13B model at its approach-3 optimum, 2T inference
    tokens:

    >>> n13, d13 = compute_optimal(4.8159e22, constants="hoffmann2022")
    >>> opt = inference_optimal(n13, d13, 2e12, constants="hoffmann2022")
    >>> round(opt.params / 1e9, 1), round(opt.saving_frac, 2)
    (7.1, 0.16)
    """
    c = get_constants(constants)
    n0 = _checked("params", params)
    d0 = _checked("tokens", tokens)
    t = _checked("inference_tokens", inference_tokens, allow_zero=True)
    n0, d0, t = np.broadcast_arrays(n0, d0, t)

    a, b = c.alpha, c.beta
    r = c.A * n0 ** (-a) + c.B * d0 ** (-b)  # reducible loss of the target, > 0
    log_b_over_r = np.log(c.B) - np.log(r)
    w0 = np.log(a / (a + b))
    positive_t = t > 0
    log_t = np.log(np.where(positive_t, t, 1.0))

    # Newton in x = log(w0 - w). With y = e**x the condition reads
    #     f(x) = K + c y + log(1 - e**-y) = 0,  c = 1/beta + 1,
    # and f is increasing and convex in x (f'' >= y (c - 1/2) > 0), so Newton steps from
    # any point with f > 0 fall monotonically and quadratically to the root, however
    # close it lies to w0 (where phi's own log term diverges).
    c_lin = 1.0 / b + 1.0
    k = np.log(3.0) + log_b_over_r / b - c_lin * w0 + np.log(a / b) - log_t
    # For w <= w0 - log 2 the log term is >= log(alpha / (2 beta)); choosing w below the
    # point where the remaining linear terms cancel makes phi > 0: a start right of the root.
    w_cross = (np.log(3.0) + log_b_over_r / b + np.log(a / (2.0 * b)) - log_t) / c_lin
    x = np.log(w0 - np.minimum(w0 - np.log(2.0), w_cross - 1.0))
    tol = 4.0 * np.finfo(float).eps
    with np.errstate(over="ignore"):
        for _ in range(_NEWTON_MAX_ITER):
            y = np.exp(x)
            value = k + c_lin * y + np.log(-np.expm1(-y))
            step = value / (c_lin * y + y / np.expm1(y))
            x = x - step
            if (np.abs(step) <= tol * np.maximum(1.0, np.abs(x))).all():
                break
    w = np.where(positive_t, w0 - np.exp(x), w0)

    s = -np.expm1(w)  # 1 - e**w
    n = (c.A / (s * r)) ** (1.0 / a)
    d = np.exp((log_b_over_r - w) / b)
    total = 6.0 * n * d + 2.0 * n * t
    baseline = 6.0 * n0 * d0 + 2.0 * n0 * t
    better = total < baseline
    n = np.where(better, n, n0)
    d = np.where(better, d, d0)
    total = np.where(better, total, baseline)
    return InferenceOptimum(
        params=_out(n),
        tokens=_out(d),
        total_flop=_out(total),
        baseline_total_flop=_out(baseline),
        saving_frac=_out(1.0 - total / baseline),
    )
