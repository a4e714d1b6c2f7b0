"""Training and serving costs: GPU-hours, dollars, duration, the decode roofline, latency.

Pure numpy and vectorised: arguments broadcast and scalar calls return Python scalars.
Prices are per GPU-hour of whatever GPU the caller describes (see :mod:`markets.hardware`);
there are 730 hours in a month (8,760 / 12).

Serving follows the decode roofline (design.md section 4, "Costs"): each decoding step reads
every weight once and does ``2 N`` FLOP per sequence in the batch, so

    step_s = max(weight_bytes / (gpus * bandwidth), batch * 2 N / (gpus * peak * mfu))

Small batches are memory-bound (fast, expensive per token); past the critical batch the step
is compute-bound (cost per token stops falling, latency rises). The KV cache and attention
FLOP are left out (assumption: short contexts; they add bytes and FLOP per sequence and
lower the critical batch, which does not change the direction of any effect modelled here).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "HOURS_PER_MONTH",
    "ServingCost",
    "TrainingCost",
    "critical_batch",
    "node_cost_usd_per_day",
    "prefill_cost_usd_per_token",
    "query_cost_usd",
    "serving_cost",
    "training_cost",
]

FloatOrArray = float | NDArray[np.float64]

HOURS_PER_MONTH: float = 8760.0 / 12.0
"""730 hours: a 365-day year over 12 months."""

_S_PER_HOUR = 3600.0


class TrainingCost(NamedTuple):
    """Result of :func:`training_cost`; fields broadcast to the inputs' shape.

    Attributes
    ----------
    usd
        Rental cost in USD.
    gpu_hours
        GPU-hours.
    months
        Wall-clock duration on ``gpus`` GPUs, in months of 730 hours.
    """

    usd: FloatOrArray
    gpu_hours: FloatOrArray
    months: FloatOrArray


class ServingCost(NamedTuple):
    """Result of :func:`serving_cost`; fields broadcast to the inputs' shape.

    Attributes
    ----------
    usd_per_token
        Decode cost per generated token, USD.
    latency_s_per_token
        Time per decoding step (per generated token of one sequence), seconds.
    memory_bound
        True where loading the weights takes at least as long as the arithmetic.
    gpus
        GPUs holding one replica of the weights (whole nodes).
    """

    usd_per_token: FloatOrArray
    latency_s_per_token: FloatOrArray
    memory_bound: bool | NDArray[np.bool_]
    gpus: FloatOrArray


def _out(x: ArrayLike) -> FloatOrArray:
    a = np.asarray(x, dtype=float)
    return float(a) if a.ndim == 0 else a


def _checked(
    name: str,
    value: ArrayLike,
    *,
    allow_zero: bool = False,
    at_least: float | None = None,
    at_most: float | None = None,
) -> NDArray[np.float64]:
    """``value`` as a float array; ``ValueError`` unless finite and in the stated range."""
    if isinstance(value, (float, int)) and (
        math.isfinite(value)
        and (value >= 0 if allow_zero else value > 0)
        and (at_least is None or value >= at_least)
        and (at_most is None or value <= at_most)
    ):
        return np.asarray(value, dtype=float)  # the common scalar case, without array checks
    x = np.asarray(value, dtype=float)
    ok = np.isfinite(x) & ((x >= 0) if allow_zero else (x > 0))
    what = "non-negative" if allow_zero else "positive"
    if at_least is not None:
        ok &= x >= at_least
        what = f">= {at_least:g}"
    if at_most is not None:
        ok &= x <= at_most
        what = f"in (0, {at_most:g}]"
    if not ok.all():
        bad = float(x[~ok].flat[0]) if x.ndim else float(x)
        raise ValueError(f"{name} must be a finite number {what}, got {bad!r}")
    return x


def training_cost(
    flop: ArrayLike,
    *,
    peak_flop_per_s: ArrayLike,
    mfu: ArrayLike = 0.4,
    usd_per_gpu_hour: ArrayLike,
    gpus: ArrayLike,
) -> TrainingCost:
    """Cost and duration of a training run.

    ``gpu_hours = flop / (peak_flop_per_s * mfu) / 3600``, ``usd = gpu_hours *
    usd_per_gpu_hour``, ``months = gpu_hours / gpus / 730``.

    Parameters
    ----------
    flop
        Training compute, FLOP (e.g. :func:`markets.scaling.training_flop`).
    peak_flop_per_s
        Peak dense FLOP/s per GPU (:data:`markets.hardware.GPUS`).
    mfu
        Model FLOP utilisation in (0, 1]. Default 0.4 (Meta 2024, "The Llama 3 Herd of
        Models": 38–43% BF16 MFU on 16k H100s; calibration.md's Llama-3.1-405B row, 3.8e25
        FLOP over 30.84M H100-hours, implies 0.35).
    usd_per_gpu_hour
        Rental price, USD per GPU-hour.
    gpus
        GPUs in the run (sets the duration only).

    Examples
    --------
    >>> c = training_cost(3.8e25, peak_flop_per_s=989e12, mfu=0.35, usd_per_gpu_hour=2.0,
    ...                   gpus=16384)
    >>> round(c.gpu_hours / 1e6, 1), round(c.months, 1)  # Llama-3.1-405B: 30.84M H100-hours
    (30.5, 2.5)
    """
    f = _checked("flop", flop, allow_zero=True)
    peak = _checked("peak_flop_per_s", peak_flop_per_s)
    u = _checked("mfu", mfu, at_most=1.0)
    price = _checked("usd_per_gpu_hour", usd_per_gpu_hour, allow_zero=True)
    g = _checked("gpus", gpus)
    gpu_hours = f / (peak * u) / _S_PER_HOUR
    return TrainingCost(
        usd=_out(gpu_hours * price),
        gpu_hours=_out(gpu_hours),
        months=_out(gpu_hours / g / HOURS_PER_MONTH),
    )


def serving_cost(
    params: ArrayLike,
    *,
    batch: ArrayLike,
    peak_flop_per_s: ArrayLike,
    mem_bw_bytes_per_s: ArrayLike,
    mem_bytes: ArrayLike,
    usd_per_gpu_hour: ArrayLike,
    gpus_per_node: int = 8,
    bytes_per_param: ArrayLike = 2.0,
    mfu: ArrayLike = 0.5,
    mem_usable_frac: ArrayLike = 0.8,
) -> ServingCost:
    """Decode cost per token and latency on the roofline.

    ``gpus = max(gpus_per_node, ceil(weight_bytes / (mem_bytes * mem_usable_frac)))`` rounded
    up to whole nodes; ``step_s = max(weight_bytes / (gpus * bw), batch * 2 N / (gpus * peak *
    mfu))``; ``usd_per_token = gpus * usd_per_gpu_hour / 3600 * step_s / batch``;
    ``latency_s_per_token = step_s``. A bigger batch never raises the cost per token and never
    lowers the latency.

    Parameters
    ----------
    params
        Parameters read per token ``N`` (for a mixture of experts, the weights must still fit:
        pass total parameters for memory and consider the active count for FLOP separately).
    batch
        Sequences decoded together, >= 1.
    peak_flop_per_s, mem_bw_bytes_per_s, mem_bytes
        Per-GPU peak dense FLOP/s, HBM bandwidth (B/s) and capacity (B).
    usd_per_gpu_hour
        Rental price.
    gpus_per_node
        GPUs per node (8 in HGX/DGX servers, NVIDIA datasheets); replicas use whole nodes.
    bytes_per_param
        2 for BF16/FP16 weights, 1 for FP8 (assumption: BF16 serving by default).
    mfu
        Decode-time FLOP utilisation when compute-bound (assumption: 0.5, between published
        inference-engine benchmarks' 40–60%).
    mem_usable_frac
        Share of HBM for weights, the rest for KV cache and activations (assumption: 0.8).

    Examples
    --------
    >>> s = serving_cost(70e9, batch=1, peak_flop_per_s=989e12, mem_bw_bytes_per_s=3.35e12,
    ...                  mem_bytes=80e9, usd_per_gpu_hour=2.0)
    >>> s.gpus, round(s.latency_s_per_token * 1e3, 2), round(s.usd_per_token * 1e6, 2)
    (8.0, 5.22, 23.22)
    >>> s.memory_bound
    True
    """
    n = _checked("params", params)
    b = _checked("batch", batch, at_least=1.0)
    peak = _checked("peak_flop_per_s", peak_flop_per_s)
    bw = _checked("mem_bw_bytes_per_s", mem_bw_bytes_per_s)
    mem = _checked("mem_bytes", mem_bytes)
    price = _checked("usd_per_gpu_hour", usd_per_gpu_hour, allow_zero=True)
    gpn = _checked("gpus_per_node", gpus_per_node, at_least=1.0)
    if not (gpn == np.floor(gpn)).all():
        raise ValueError(f"gpus_per_node must be a whole number, got {gpus_per_node!r}")
    bpp = _checked("bytes_per_param", bytes_per_param)
    u = _checked("mfu", mfu, at_most=1.0)
    usable = _checked("mem_usable_frac", mem_usable_frac, at_most=1.0)

    weight_bytes = n * bpp
    gpus_needed = np.ceil(weight_bytes / (mem * usable))
    gpus = np.maximum(np.ceil(gpus_needed / gpn), 1.0) * gpn
    memory_s = weight_bytes / (gpus * bw)
    compute_s = b * 2.0 * n / (gpus * peak * u)
    step_s = np.maximum(memory_s, compute_s)
    usd_per_token = gpus * price / _S_PER_HOUR * step_s / b
    memory_bound = memory_s >= compute_s
    return ServingCost(
        usd_per_token=_out(usd_per_token),
        latency_s_per_token=_out(step_s),
        memory_bound=bool(memory_bound) if memory_bound.ndim == 0 else memory_bound,
        gpus=_out(gpus),
    )


def critical_batch(
    *,
    peak_flop_per_s: ArrayLike,
    mem_bw_bytes_per_s: ArrayLike,
    bytes_per_param: ArrayLike = 2.0,
    mfu: ArrayLike = 0.5,
) -> FloatOrArray:
    """Batch at which decode turns from memory-bound to compute-bound.

    Setting the two roofline terms of :func:`serving_cost` equal gives
    ``b* = bytes_per_param * peak * mfu / (2 * bw)``, independent of model size and GPU count.

    Examples
    --------
    >>> round(critical_batch(peak_flop_per_s=989e12, mem_bw_bytes_per_s=3.35e12))  # H100
    148
    """
    peak = _checked("peak_flop_per_s", peak_flop_per_s)
    bw = _checked("mem_bw_bytes_per_s", mem_bw_bytes_per_s)
    bpp = _checked("bytes_per_param", bytes_per_param)
    u = _checked("mfu", mfu, at_most=1.0)
    return _out(bpp * peak * u / (2.0 * bw))


def prefill_cost_usd_per_token(
    params: ArrayLike,
    *,
    peak_flop_per_s: ArrayLike,
    usd_per_gpu_hour: ArrayLike,
    mfu: ArrayLike = 0.5,
) -> FloatOrArray:
    """Cost of processing one prompt token: compute-bound, ``2 N`` FLOP per token.

    ``usd = 2 N / (peak * mfu) * usd_per_gpu_hour / 3600``. ``mfu`` default 0.5 as in
    :func:`serving_cost` (assumption).

    Examples
    --------
    >>> round(prefill_cost_usd_per_token(70e9, peak_flop_per_s=989e12, usd_per_gpu_hour=2.0)
    ...       * 1e6, 4)  # USD per million prompt tokens
    0.1573
    """
    n = _checked("params", params)
    peak = _checked("peak_flop_per_s", peak_flop_per_s)
    price = _checked("usd_per_gpu_hour", usd_per_gpu_hour, allow_zero=True)
    u = _checked("mfu", mfu, at_most=1.0)
    return _out(2.0 * n / (peak * u) * price / _S_PER_HOUR)


def query_cost_usd(
    usd_per_token: ArrayLike,
    *,
    tokens_per_query: ArrayLike,
    inference_multiplier: ArrayLike = 1.0,
) -> FloatOrArray:
    """Cost of one query: ``tokens_per_query * inference_multiplier * usd_per_token``.

    ``inference_multiplier`` is the tokens spent per query relative to a non-reasoning answer
    (1 = no test-time compute; see :mod:`markets.testtime`).

    Examples
    --------
    >>> query_cost_usd(1e-6, tokens_per_query=1000, inference_multiplier=10.0)
    0.01
    """
    c = _checked("usd_per_token", usd_per_token, allow_zero=True)
    t = _checked("tokens_per_query", tokens_per_query, allow_zero=True)
    k = _checked("inference_multiplier", inference_multiplier)
    return _out(t * k * c)


def node_cost_usd_per_day(
    nodes: ArrayLike,
    *,
    gpus_per_node: ArrayLike = 8,
    usd_per_gpu_hour: ArrayLike,
) -> FloatOrArray:
    """Daily rental of ``nodes`` nodes: ``nodes * gpus_per_node * usd_per_gpu_hour * 24``.

    Examples
    --------
    >>> node_cost_usd_per_day(226.75, usd_per_gpu_hour=2.0)  # DeepSeek, 2025 (calibration.md)
    87072.0
    """
    n = _checked("nodes", nodes, allow_zero=True)
    g = _checked("gpus_per_node", gpus_per_node)
    price = _checked("usd_per_gpu_hour", usd_per_gpu_hour, allow_zero=True)
    return _out(n * g * price * 24.0)
