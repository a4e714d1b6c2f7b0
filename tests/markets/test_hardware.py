"""Tests for markets.hardware: datasheets, trend rates, the rental curve, properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aimarket.markets.costs import critical_batch
from aimarket.markets.hardware import (
    GPUS,
    GpuSpec,
    algorithmic_inference_multiplier,
    algorithmic_training_multiplier,
    doubling_multiplier,
    flop_per_usd_multiplier,
    get_gpu,
    gpu_at,
    gpu_rental_usd_per_hour,
    gpu_supply_multiplier,
    inference_chip_factor,
    memory_bandwidth_multiplier,
)

months_st = st.floats(min_value=-240.0, max_value=240.0)


def test_gpu_datasheet_values() -> None:
    # NVIDIA datasheets (calibration.md "H100 SXM"); exact.
    assert GPUS["h100"][1:4] == (989e12, 3.35e12, 80e9)
    assert GPUS["a100"][1:4] == (312e12, 2.039e12, 80e9)
    assert GPUS["h800"].peak_flop_per_s == GPUS["h100"].peak_flop_per_s
    assert GPUS["b200"][1:4] == (2.25e15, 8e12, 192e9)
    assert all(isinstance(g, GpuSpec) and g.source for g in GPUS.values())


def test_get_gpu_is_case_insensitive_and_lists_names_when_unknown() -> None:
    assert get_gpu("H800") is GPUS["h800"]
    with pytest.raises(ValueError, match="a100, b200, h100, h800, v100"):
        get_gpu("tpu")


def test_trend_rates_match_calibration() -> None:
    # Hobbhahn & Besiroglu 2022: ML-GPU FLOP/s per $ doubles every 2.07 years.
    assert flop_per_usd_multiplier(12 * 2.07) == pytest.approx(2.0, rel=1e-12)
    # Hobbhahn, Heim, Aydos 2023: memory bandwidth doubles every ~4.1 years.
    assert memory_bandwidth_multiplier(12 * 4.1) == pytest.approx(2.0, rel=1e-12)
    # Ho et al. 2024: compute for fixed performance halves every 8 months -> ~2.8x a year.
    assert algorithmic_training_multiplier(12.0) == pytest.approx(2**1.5, rel=1e-12)
    # Gundlach et al. 2025: ~3x a year at fixed capability.
    assert algorithmic_inference_multiplier(12.0) == pytest.approx(3.0, rel=1e-12)


def test_bandwidth_lags_compute_so_the_critical_batch_grows() -> None:
    # Design.md section 4: memory-bound serving gets cheaper more slowly than training.
    now, later = gpu_at(0.0), gpu_at(60.0)
    assert now.peak_flop_per_s == GPUS["h100"].peak_flop_per_s
    assert later.peak_flop_per_s / now.peak_flop_per_s > (
        later.mem_bw_bytes_per_s / now.mem_bw_bytes_per_s
    )
    b_now = critical_batch(
        peak_flop_per_s=now.peak_flop_per_s, mem_bw_bytes_per_s=now.mem_bw_bytes_per_s
    )
    b_later = critical_batch(
        peak_flop_per_s=later.peak_flop_per_s, mem_bw_bytes_per_s=later.mem_bw_bytes_per_s
    )
    assert b_later > b_now


def test_gpu_at_broadcasts_over_months() -> None:
    g = gpu_at(np.array([0.0, 12.0, 24.0]), base="a100")
    assert g.peak_flop_per_s.shape == (3,)
    assert g.peak_flop_per_s[0] == GPUS["a100"].peak_flop_per_s
    assert np.all(np.diff(g.mem_bytes) > 0)


@given(a=months_st, b=months_st, years=st.floats(min_value=0.1, max_value=20.0))
def test_doubling_multiplier_is_multiplicative(a: float, b: float, years: float) -> None:
    assert doubling_multiplier(a + b, doubling_years=years) == pytest.approx(
        doubling_multiplier(a, doubling_years=years) * doubling_multiplier(b, doubling_years=years),
        rel=1e-9,
    )


@given(m=months_st, dm=st.floats(min_value=0.01, max_value=120.0))
def test_multipliers_grow_with_time(m: float, dm: float) -> None:
    for f in (
        flop_per_usd_multiplier,
        memory_bandwidth_multiplier,
        algorithmic_training_multiplier,
        algorithmic_inference_multiplier,
    ):
        assert f(m + dm) > f(m), f.__name__
    assert gpu_supply_multiplier(m + dm, growth_per_year=1.5) > gpu_supply_multiplier(
        m, growth_per_year=1.5
    )


def test_rental_price_calibration() -> None:
    # calibration.md "H100 rental" (L–M): ~$8/GPU-h at the 2023 peak, ~$1.7–2.4 in 2025–26,
    # ~$1.65 capex floor. Scarcity (u = 1) -> $8 exactly; slack (u = 0.6–0.75) -> $1.7–2.4.
    assert gpu_rental_usd_per_hour(1.0) == 8.0
    assert gpu_rental_usd_per_hour(0.0) == 1.65
    for u in (0.6, 0.7, 0.75):
        assert 1.7 <= gpu_rental_usd_per_hour(u) <= 2.4
    # Excess demand is rationed at the cap, not priced to infinity.
    assert gpu_rental_usd_per_hour(3.0) == 8.0


@given(
    u=st.floats(min_value=0.0, max_value=1.0),
    du=st.floats(min_value=1e-3, max_value=0.5),
)
def test_rental_price_is_increasing_and_convex(u: float, du: float) -> None:
    lo = gpu_rental_usd_per_hour(max(u - du, 0.0))
    mid = gpu_rental_usd_per_hour(u)
    hi = gpu_rental_usd_per_hour(min(u + du, 1.0))
    assert lo <= mid <= hi
    if du <= u <= 1.0 - du:
        assert lo + hi >= 2.0 * mid - 1e-12


def test_supply_and_chip_factor() -> None:
    assert gpu_supply_multiplier(12.0, growth_per_year=2.0) == pytest.approx(2.0)
    out = inference_chip_factor(
        np.array([0.0, 23.9, 24.0, 100.0]), arrival_months=24.0, cost_factor=0.4
    )
    assert out.tolist() == [1.0, 1.0, 0.4, 0.4]


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: doubling_multiplier(12.0, doubling_years=0.0), "doubling_years"),
        (lambda: flop_per_usd_multiplier(math.nan), "months"),
        (lambda: gpu_rental_usd_per_hour(-0.1), "utilisation_frac"),
        (lambda: gpu_rental_usd_per_hour(0.5, floor_usd_per_hour=9.0), "scarcity"),
        (lambda: gpu_rental_usd_per_hour(0.5, convexity=0.5), "convexity"),
        (lambda: gpu_supply_multiplier(12.0, growth_per_year=-1.0), "growth_per_year"),
        (lambda: inference_chip_factor(1.0, arrival_months=0.0, cost_factor=1.5), "cost_factor"),
    ],
)
def test_invalid_inputs_raise(call, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()
