"""Intervals: inside a metric's bounds, from scipy, flagged when replications are few."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from aimarket.experiments.intervals import (
    MIN_BOOTSTRAP_N,
    mean_interval,
    metric_bounds,
    paired_difference,
)

shares = st.lists(st.floats(0.0, 1.0), min_size=2, max_size=40)


@settings(max_examples=60, deadline=None)
@given(shares)
def test_a_share_interval_stays_in_0_1(values: list[float]) -> None:
    iv = mean_interval(values, bounds=(0.0, 1.0))
    assert iv.n == len(values)
    if math.isfinite(iv.low):
        assert 0.0 <= iv.low <= iv.high <= 1.0
    assert iv.small_n == (len(values) < MIN_BOOTSTRAP_N)


def test_a_mean_near_its_bound_gets_a_clipped_t_interval_when_n_is_small() -> None:
    values = [0.0, 0.0, 0.02, 0.0, 0.01]
    unbounded = mean_interval(values)
    assert unbounded.low < 0  # what a plain t-interval says
    iv = mean_interval(values, bounds=metric_bounds("cr4_final"))
    assert iv.low == 0.0
    assert iv.high == pytest.approx(unbounded.high)
    assert iv.method == "t clipped to bounds"
    assert iv.small_n


def test_enough_replications_get_a_bootstrap_interval_within_bounds() -> None:
    rng = np.random.default_rng(1)
    values = rng.beta(0.3, 8.0, size=30)  # skewed, piled up near 0
    iv = mean_interval(values, bounds=(0.0, 1.0))
    assert iv.method == "bootstrap BCa"
    assert not iv.small_n
    assert 0.0 <= iv.low < iv.mean < iv.high <= 1.0
    assert mean_interval(values, bounds=(0.0, 1.0)) == iv  # seeded: the same every time


def test_unbounded_metrics_get_the_student_t_interval() -> None:
    values = [1.0, 2.0, 4.0, 8.0]
    iv = mean_interval(values)
    low, high = stats.t.interval(0.95, 3, loc=np.mean(values), scale=stats.sem(values))
    assert (iv.low, iv.high) == pytest.approx((low, high))
    assert iv.method == "t"


def test_paired_difference_is_the_paired_t_test() -> None:
    a = np.array([3.0, 4.5, 2.0, 5.0, 4.0])
    b = np.array([2.5, 4.0, 2.2, 4.1, 3.0])
    d = paired_difference(a - b)
    ref = stats.ttest_rel(a, b)
    assert d.p_value == pytest.approx(ref.pvalue)
    ci = ref.confidence_interval()
    assert (d.low, d.high) == pytest.approx((ci.low, ci.high))


def test_one_value_has_no_interval() -> None:
    iv = mean_interval([3.0], bounds=(0.0, math.inf))
    assert math.isnan(iv.low)
    assert iv.mean == 3.0
    assert math.isnan(paired_difference([1.0]).p_value)
