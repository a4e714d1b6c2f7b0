"""GPUs, hardware price-performance, algorithmic efficiency and the GPU rental market.

Pure numpy and vectorised. Time arguments are months (``months``), positive into the
future and negative into the past, relative to whatever reference date the caller uses.

Hardware progress is modelled as "the GPU you rent for the same price gets better": the
rental price per GPU-hour stays on the market's own curve (:func:`gpu_rental_usd_per_hour`)
while the rented GPU's peak FLOP/s grows with :func:`flop_per_usd_multiplier` and its memory
bandwidth, more slowly, with :func:`memory_bandwidth_multiplier` (see :func:`gpu_at`). So
memory-bound serving gets cheaper more slowly than training (design.md section 4).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "GPUS",
    "GpuSpec",
    "algorithmic_inference_multiplier",
    "algorithmic_training_multiplier",
    "doubling_multiplier",
    "flop_per_usd_multiplier",
    "get_gpu",
    "gpu_at",
    "gpu_rental_usd_per_hour",
    "gpu_supply_multiplier",
    "inference_chip_factor",
    "memory_bandwidth_multiplier",
]

FloatOrArray = float | NDArray[np.float64]


class GpuSpec(NamedTuple):
    """One accelerator: peak dense FLOP/s, HBM bandwidth (B/s) and capacity (B)."""

    name: str
    peak_flop_per_s: float
    mem_bw_bytes_per_s: float
    mem_bytes: float
    source: str


GPUS: dict[str, GpuSpec] = {
    "v100": GpuSpec(
        name="v100",
        peak_flop_per_s=125e12,
        mem_bw_bytes_per_s=900e9,
        mem_bytes=32e9,
        source="NVIDIA Tesla V100 datasheet (SXM2 32 GB): 125 TFLOPS FP16 tensor, 900 GB/s",
    ),
    "a100": GpuSpec(
        name="a100",
        peak_flop_per_s=312e12,
        mem_bw_bytes_per_s=2.039e12,
        mem_bytes=80e9,
        source="NVIDIA A100 datasheet (SXM 80 GB): 312 TFLOPS dense BF16, 2,039 GB/s",
    ),
    "h100": GpuSpec(
        name="h100",
        peak_flop_per_s=989e12,
        mem_bw_bytes_per_s=3.35e12,
        mem_bytes=80e9,
        source="NVIDIA H100 datasheet (SXM 80 GB): 989 TFLOPS dense BF16, 3.35 TB/s "
        "(calibration.md, H100 SXM)",
    ),
    "h800": GpuSpec(
        name="h800",
        peak_flop_per_s=989e12,
        mem_bw_bytes_per_s=3.35e12,
        mem_bytes=80e9,
        source="NVIDIA H800 SXM: H100 SXM compute and memory with reduced NVLink "
        "(400 GB/s); the GPU of DeepSeek's disclosure (calibration.md, serving at scale)",
    ),
    "b200": GpuSpec(
        name="b200",
        peak_flop_per_s=2.25e15,
        mem_bw_bytes_per_s=8e12,
        mem_bytes=192e9,
        source="NVIDIA Blackwell B200 datasheet (HGX B200): 2.25 PFLOPS dense BF16 "
        "(4.5 with sparsity), 8 TB/s, 192 GB HBM3e",
    ),
}
"""Accelerators by lower-case name."""


def _out(x: ArrayLike) -> FloatOrArray:
    a = np.asarray(x, dtype=float)
    return float(a) if a.ndim == 0 else a


def _finite(name: str, value: ArrayLike) -> NDArray[np.float64]:
    if isinstance(value, (float, int)) and math.isfinite(value):
        return np.asarray(value, dtype=float)  # the common scalar case, without array checks
    x = np.asarray(value, dtype=float)
    if not np.isfinite(x).all():
        bad = float(x[~np.isfinite(x)].flat[0]) if x.ndim else float(x)
        raise ValueError(f"{name} must be finite, got {bad!r}")
    return x


def _positive(name: str, value: ArrayLike) -> NDArray[np.float64]:
    if isinstance(value, (float, int)) and math.isfinite(value) and value > 0:
        return np.asarray(value, dtype=float)
    x = _finite(name, value)
    if not (x > 0).all():
        bad = float(x[~(x > 0)].flat[0]) if x.ndim else float(x)
        raise ValueError(f"{name} must be a positive finite number, got {bad!r}")
    return x


def get_gpu(name: str) -> GpuSpec:
    """The :class:`GpuSpec` named ``name`` (case-insensitive).

    Raises
    ------
    ValueError
        For an unknown name; the message lists the valid names.

    Examples
    --------
    >>> get_gpu("H100").peak_flop_per_s
    989000000000000.0
    """
    try:
        return GPUS[name.lower()]
    except (KeyError, AttributeError):
        valid = ", ".join(sorted(GPUS))
        raise ValueError(f"unknown GPU {name!r}; expected one of: {valid}") from None


# --------------------------------------------------------------------------- trends


def doubling_multiplier(months: ArrayLike, *, doubling_years: ArrayLike) -> FloatOrArray:
    """Growth factor after ``months`` of a quantity that doubles every ``doubling_years``.

    ``2 ** (months / (12 * doubling_years))``; below 1 for negative ``months``.

    Examples
    --------
    >>> doubling_multiplier(24.0, doubling_years=2.0)
    2.0
    """
    m = _finite("months", months)
    y = _positive("doubling_years", doubling_years)
    return _out(np.exp2(m / (12.0 * y)))


def flop_per_usd_multiplier(months: ArrayLike, *, doubling_years: ArrayLike = 2.07) -> FloatOrArray:
    """FLOP/s per dollar of ML GPUs relative to month 0.

    Default: doubles every 2.07 years (Hobbhahn & Besiroglu 2022, Epoch, ML GPUs, 95% CI
    1.54–3.13; calibration.md "ML GPUs"). All GPUs: 2.46 years.
    """
    return doubling_multiplier(months, doubling_years=doubling_years)


def memory_bandwidth_multiplier(
    months: ArrayLike, *, doubling_years: ArrayLike = 4.1
) -> FloatOrArray:
    """Memory bandwidth of ML hardware relative to month 0.

    Default: doubles every ~4.1 years (Hobbhahn, Heim, Aydos 2023, Epoch; calibration.md
    "ML hardware memory bandwidth").
    """
    return doubling_multiplier(months, doubling_years=doubling_years)


def algorithmic_training_multiplier(
    months: ArrayLike, *, halving_months: ArrayLike = 8.0
) -> FloatOrArray:
    """Effective-compute multiplier of training algorithms relative to month 0.

    ``2 ** (months / halving_months)``: the compute for a fixed performance halves every
    ``halving_months``. Default 8 months (Ho et al. 2024, "Algorithmic progress in language
    models", 95% CI 5–14; calibration.md "algorithmic progress (training)").

    Examples
    --------
    >>> algorithmic_training_multiplier(16.0)
    4.0
    """
    m = _finite("months", months)
    h = _positive("halving_months", halving_months)
    return _out(np.exp2(m / h))


def algorithmic_inference_multiplier(
    months: ArrayLike, *, factor_per_year: ArrayLike = 3.0
) -> FloatOrArray:
    """Inference-efficiency multiplier at fixed capability relative to month 0.

    ``factor_per_year ** (months / 12)``: divide the inference compute (or cost) per token of
    a fixed capability by this. Default 3x per year (Gundlach et al. 2025, "The Price of
    Progress"; calibration.md "algorithmic progress (inference)").

    Examples
    --------
    >>> round(algorithmic_inference_multiplier(24.0), 12)
    9.0
    """
    m = _finite("months", months)
    f = _positive("factor_per_year", factor_per_year)
    return _out(f ** (m / 12.0))


def gpu_at(
    months: ArrayLike,
    *,
    base: str | GpuSpec = "h100",
    flop_doubling_years: ArrayLike = 2.07,
    bandwidth_doubling_years: ArrayLike = 4.1,
) -> GpuSpec:
    """The GPU that rents for the same price ``months`` after ``base``.

    Peak FLOP/s scales with :func:`flop_per_usd_multiplier` and bandwidth with
    :func:`memory_bandwidth_multiplier`; memory capacity scales with the bandwidth multiplier
    too (assumption: HBM capacity and bandwidth come from the same stacks and have grown
    together, e.g. 32 GB / 0.9 TB/s on V100 to 192 GB / 8 TB/s on B200). Fields are floats
    or arrays shaped like ``months``.

    Examples
    --------
    >>> g = gpu_at(12 * 2.07)
    >>> round(g.peak_flop_per_s / 989e12, 9)
    2.0
    """
    spec = get_gpu(base) if isinstance(base, str) else base
    flop_x = flop_per_usd_multiplier(months, doubling_years=flop_doubling_years)
    bw_x = memory_bandwidth_multiplier(months, doubling_years=bandwidth_doubling_years)
    return GpuSpec(
        name=f"{spec.name}+{_month_label(months)}",
        peak_flop_per_s=_out(spec.peak_flop_per_s * np.asarray(flop_x)),
        mem_bw_bytes_per_s=_out(spec.mem_bw_bytes_per_s * np.asarray(bw_x)),
        mem_bytes=_out(spec.mem_bytes * np.asarray(bw_x)),
        source=f"{spec.source}; scaled by markets.hardware.gpu_at",
    )


def _month_label(months: ArrayLike) -> str:
    m = np.asarray(months, dtype=float)
    return f"{float(m):g}mo" if m.ndim == 0 else "months"


# --------------------------------------------------------------------------- GPU market


def gpu_rental_usd_per_hour(
    utilisation_frac: ArrayLike,
    *,
    floor_usd_per_hour: ArrayLike = 1.65,
    scarcity_usd_per_hour: ArrayLike = 8.0,
    convexity: ArrayLike = 8.0,
) -> FloatOrArray:
    """Rental price per GPU-hour as a function of how much of the supply is in use.

    ``p(u) = floor + (scarcity - floor) * min(u, 1) ** convexity``: smooth, increasing and
    convex in ``u``, equal to the floor at ``u = 0`` and to the scarcity price at ``u >= 1``
    (demand beyond the supply is rationed, not priced higher: a finite cap).

    Calibration (calibration.md, "H100 rental", L–M): floor 1.65 USD (capex floor);
    scarcity 8 USD (2023 peak); convexity 8 makes slack supply cheap, ``p(0.7) = 2.02`` and
    ``p(0.75) = 2.29`` (the 2024–26 range of 1.7–2.4 USD), while ``p(0.9) = 4.38``.

    Parameters
    ----------
    utilisation_frac
        Share of the GPU supply demanded, ``>= 0``; values above 1 are treated as 1.

    Examples
    --------
    >>> round(gpu_rental_usd_per_hour(0.7), 2), gpu_rental_usd_per_hour(1.0)
    (2.02, 8.0)
    """
    u = _finite("utilisation_frac", utilisation_frac)
    if not (u >= 0).all():
        bad = float(u[~(u >= 0)].flat[0]) if u.ndim else float(u)
        raise ValueError(f"utilisation_frac must be >= 0, got {bad!r}")
    floor = _positive("floor_usd_per_hour", floor_usd_per_hour)
    peak = _positive("scarcity_usd_per_hour", scarcity_usd_per_hour)
    if not (peak >= floor).all():
        raise ValueError(
            f"scarcity_usd_per_hour ({scarcity_usd_per_hour!r}) must be >= "
            f"floor_usd_per_hour ({floor_usd_per_hour!r})"
        )
    k = _positive("convexity", convexity)
    if not (k >= 1).all():
        raise ValueError(f"convexity must be >= 1 (a convex price curve), got {convexity!r}")
    return _out(floor + (peak - floor) * np.minimum(u, 1.0) ** k)


def gpu_supply_multiplier(months: ArrayLike, *, growth_per_year: ArrayLike) -> FloatOrArray:
    """GPU supply relative to month 0, growing by a factor ``growth_per_year`` each year.

    ``growth_per_year ** (months / 12)``. ``growth_per_year`` is a *factor* (1.5 = +50% per
    year), not a rate; it must be positive.

    Examples
    --------
    >>> round(gpu_supply_multiplier(24.0, growth_per_year=1.5), 12)
    2.25
    """
    m = _finite("months", months)
    g = _positive("growth_per_year", growth_per_year)
    return _out(g ** (m / 12.0))


def inference_chip_factor(
    months: ArrayLike, *, arrival_months: ArrayLike, cost_factor: ArrayLike
) -> FloatOrArray:
    """Serving-cost factor of an optional inference-specialised chip.

    1.0 before ``arrival_months`` and ``cost_factor`` (in (0, 1]) from then on; multiply an
    adopter's serving cost per token by it (design.md section 4; assumption: a step change
    at arrival, no gradual diffusion).

    Examples
    --------
    >>> inference_chip_factor([10.0, 30.0], arrival_months=24.0, cost_factor=0.5).tolist()
    [1.0, 0.5]
    """
    m = _finite("months", months)
    t = _finite("arrival_months", arrival_months)
    f = _positive("cost_factor", cost_factor)
    if not (f <= 1).all():
        raise ValueError(f"cost_factor must be in (0, 1], got {cost_factor!r}")
    return _out(np.where(m >= t, f, 1.0))
