"""Tests for markets.testtime: Epoch trade-offs, Brown coverage, Snell's rule, properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import aimarket.markets.testtime as tt
from aimarket.markets.testtime import TRADEOFFS, TaskClass, TradeoffParams

# Epoch (Villalobos & Atkinson 2023; calibration.md): (inference OOM range, training OOM range)
EPOCH_ROWS = {
    TaskClass.GENERAL: ((1.0, 2.0), (1.0, 1.0)),
    TaskClass.SEQUENTIAL: ((2.0, 3.0), (2.0, 2.0)),
    TaskClass.VERIFIABLE: ((5.0, 6.0), (3.0, 4.0)),
}


@pytest.mark.parametrize("task", list(TaskClass))
def test_tradeoffs_reproduce_epoch_rows(task: TaskClass) -> None:
    # The inference OOM that buys the row's training OOM (the cap) must lie in the row's
    # inference range, and the cap in its training range. Tolerance: the ranges themselves.
    (inf_lo, inf_hi), (train_lo, train_hi) = EPOCH_ROWS[task]
    p = TRADEOFFS[task]
    assert isinstance(p, TradeoffParams)
    assert train_lo <= p.cap_oom <= train_hi
    assert inf_lo <= p.cap_oom / p.oom_per_oom <= inf_hi
    # Checked through the public function: at the top of the inference range the gain is
    # the cap, at the bottom it is at least the lower end of the training range.
    assert tt.testtime_gain_for_task(10**inf_hi, task) == pytest.approx(p.cap_oom)
    assert tt.testtime_gain_for_task(10**inf_lo, task) >= train_lo * inf_lo / inf_hi - 1e-12


def test_task_accepts_strings_and_rejects_unknown_names() -> None:
    assert tt.testtime_gain_for_task(100.0, "verifiable") == tt.testtime_gain_for_task(
        100.0, TaskClass.VERIFIABLE
    )
    with pytest.raises(ValueError, match="general, sequential, verifiable"):
        tt.testtime_gain_for_task(100.0, "chat")


def test_no_reasoning_no_gain_and_k_below_one_is_invalid() -> None:
    assert tt.testtime_gain_oom(1.0, oom_per_oom=0.7, cap_oom=1.0) == 0.0
    with pytest.raises(ValueError, match="inference_multiplier must be >= 1"):
        tt.testtime_gain_oom(0.5, oom_per_oom=0.7, cap_oom=1.0)


@given(
    k=st.floats(min_value=1.0, max_value=1e12),
    factor=st.floats(min_value=1.0, max_value=1e6),
    task=st.sampled_from(list(TaskClass)),
)
def test_more_test_time_compute_never_lowers_capability(
    k: float, factor: float, task: TaskClass
) -> None:
    g1 = tt.testtime_gain_for_task(k, task)
    g2 = tt.testtime_gain_for_task(k * factor, task)
    assert g2 >= g1
    assert 0.0 <= g1 <= g2 <= TRADEOFFS[task].cap_oom


def test_gain_is_vectorised() -> None:
    k = np.array([1.0, 10.0, 1e3, 1e9])
    out = tt.testtime_gain_oom(k, oom_per_oom=0.5, cap_oom=2.0)
    assert out.tolist() == pytest.approx([0.0, 0.5, 1.5, 2.0])


# --------------------------------------------------------------------------- coverage


def test_coverage_through_brown_swe_bench_points() -> None:
    # Brown et al. 2024 (calibration.md): SWE-bench Lite coverage 15.9% at 1 sample, 56% at
    # 250. The fitted curve passes through both (±1e-9) and rises monotonically between.
    a, b = tt.fit_coverage(1, 0.159, 250, 0.56)
    assert a < 0
    assert b < 0
    assert tt.coverage(1, a=a, b=b) == pytest.approx(0.159, abs=1e-9)
    assert tt.coverage(250, a=a, b=b) == pytest.approx(0.56, abs=1e-9)
    k = np.arange(1, 251, dtype=float)
    c = tt.coverage(k, a=a, b=b)
    assert np.all(np.diff(c) > 0)
    assert np.all((c >= 0.159 - 1e-12) & (c <= 0.56 + 1e-12))
    # Beyond the data it keeps rising towards 1 without reaching it.
    assert 0.56 < tt.coverage(1e4, a=a, b=b) < 1.0
    assert tt.samples_for_coverage(0.56, a=a, b=b) == pytest.approx(250.0, rel=1e-9)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((1, 0.6, 250, 0.5), "rise"),
        ((1, 0.0, 250, 0.5), "c1"),
        ((1, 0.2, 250, 1.0), "c2"),
        ((0, 0.2, 250, 0.5), "k1"),
    ],
)
def test_fit_coverage_rejects_bad_points(args, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        tt.fit_coverage(*args)


def test_coverage_rejects_parameters_of_a_falling_curve() -> None:
    with pytest.raises(ValueError, match="b"):
        tt.coverage(10.0, a=-1.0, b=0.2)


# --------------------------------------------------------------------------- Snell


@given(
    m=st.floats(min_value=1.0, max_value=1e3),
    r=st.floats(min_value=1e-3, max_value=1e3),
    n=st.floats(min_value=1e8, max_value=1e12),
    d_pre=st.floats(min_value=1e10, max_value=1e14),
)
def test_snell_rule_equalises_total_flop(m: float, r: float, n: float, d_pre: float) -> None:
    # Snell et al. 2024: with k = M + 3(M-1)/R, the small model's pre-training plus k-times
    # inference costs exactly the M-times larger model's (FLOP 6ND + 2ND_inf).
    d_inf = r * d_pre
    k = tt.snell_matching_multiplier(m, r)
    small = 6 * n * d_pre + 2 * n * k * d_inf
    large = 6 * m * n * d_pre + 2 * m * n * d_inf
    assert small == pytest.approx(large, rel=1e-9)


def test_snell_rule_limits() -> None:
    # Same size: no extra budget. Inference-dominated (R -> inf): k -> M. Little inference
    # (R small): the small model may spend far more per query.
    assert tt.snell_matching_multiplier(1.0, 0.5) == 1.0
    assert tt.snell_matching_multiplier(14.0, 1e9) == pytest.approx(14.0, rel=1e-6)
    assert tt.snell_matching_multiplier(14.0, 0.01) == pytest.approx(14 + 3 * 13 / 0.01)
    with pytest.raises(ValueError, match="size_ratio"):
        tt.snell_matching_multiplier(0.5, 1.0)
    assert math.isfinite(tt.snell_matching_multiplier(np.array([2.0, 4.0]), 1.0)[1])
