"""Demand maths: success, logit choice, sampling, surplus."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from aimarket.markets.demand import (
    choice_probabilities,
    draw_choices,
    logit,
    logsum_surplus_usd,
    odds,
    sample_choices,
    success_from_odds,
    success_probability,
)

finite = st.floats(-1e6, 1e6, allow_nan=False)


@given(arrays(float, st.tuples(st.integers(1, 5), st.integers(1, 20)), elements=finite))
def test_logit_columns_sum_to_one_without_nan(z: np.ndarray) -> None:
    p, logsum = logit(z)
    assert p.shape == (z.shape[0] + 1, z.shape[1])
    assert np.all(np.isfinite(p))
    assert np.all(p >= 0)
    np.testing.assert_allclose(p.sum(axis=0), 1.0, rtol=1e-12)
    # The log-sum is the expected maximum: at least the best alternative, at most best + log(k).
    best = np.maximum(z.max(axis=0), 0.0)
    assert np.all(logsum >= best - 1e-9)
    assert np.all(logsum <= best + np.log(z.shape[0] + 1) + 1e-9)


def test_logit_matches_textbook_formula() -> None:
    z = np.array([[1.0], [2.0]])
    expected = np.exp([0.0, 1.0, 2.0]) / np.exp([0.0, 1.0, 2.0]).sum()
    np.testing.assert_allclose(logit(z)[0][:, 0], expected)


def test_scale_invariance_of_choice() -> None:
    u = np.array([[3.0, 30.0], [1.0, 10.0]])
    p = choice_probabilities(u, np.array([1.0, 10.0]))
    np.testing.assert_allclose(p[:, 0], p[:, 1])
    cs = logsum_surplus_usd(u, np.array([1.0, 10.0]))
    np.testing.assert_allclose(cs[1], 10 * cs[0])


def test_sample_choices_frequencies() -> None:
    rng = np.random.default_rng(0)
    n = 200_000
    p = np.tile(np.array([[0.1], [0.6], [0.3]]), (1, n))
    idx = sample_choices(p, rng.random(n))
    freq = np.bincount(idx, minlength=3) / n
    # Binomial standard error at n = 200,000 is under 0.0011: 5 sigma is 0.0055.
    np.testing.assert_allclose(freq, [0.1, 0.6, 0.3], atol=0.0055)


def _probabilities(weights: np.ndarray, outside_frac: np.ndarray) -> np.ndarray:
    """``(j + 1, m)`` logit probabilities from a draw's nest parts."""
    w = weights.astype(float)
    total = w.sum(axis=0)
    inside = np.divide(1.0 - outside_frac, total, out=np.zeros_like(total), where=total > 0)
    return np.vstack([outside_frac, w * inside])


def test_draw_choices_follows_the_nested_logit() -> None:
    rng = np.random.default_rng(1)
    n = 200_000
    z = np.tile(np.array([[0.5], [-np.inf], [1.5], [0.0]]), (1, n))
    outside = np.full(n, 0.8)
    for nest in (1.0, 0.5):
        p, logsum = logit(z, outside=outside, nest_frac=nest)
        cols = np.arange(0, n, 1000)
        rows, drawn_logsum, *sampled, _ = draw_choices(
            z, rng.random(n), outside=outside, nest_frac=nest, columns=cols
        )
        freq = np.bincount(rows, minlength=5) / n
        # Binomial standard error at n = 200,000 is under 0.0012: 5 sigma is 0.006.
        np.testing.assert_allclose(freq, p[:, 0], atol=0.006)
        assert freq[2] == 0.0  # never an offering it cannot buy
        np.testing.assert_allclose(drawn_logsum, logsum, atol=1e-6)
        np.testing.assert_allclose(_probabilities(*sampled), p[:, cols], rtol=1e-6)


def test_draw_choices_columns_as_slices_are_the_same_customers() -> None:
    # Slices of customers give views of the same weights as an index array gives copies,
    # and the weights' column sums (float32, a row at a time) come with them.
    rng = np.random.default_rng(4)
    z = rng.normal(0.0, 2.0, (6, 300)).astype(np.float32)
    z[rng.random(z.shape) < 0.2] = -np.inf
    u = rng.random(300)
    slices = (slice(0, 100, 7), slice(100, 100), slice(120, 300, 3))
    cols = np.concatenate([np.arange(300)[c] for c in slices])
    by_index = draw_choices(z, u, outside=0.3, nest_frac=0.5, columns=cols)
    by_slice = draw_choices(z.copy(), u, outside=0.3, nest_frac=0.5, columns=slices)
    np.testing.assert_array_equal(by_slice.rows, by_index.rows)
    np.testing.assert_array_equal(np.concatenate(by_slice.weights, axis=1), by_index.weights)
    np.testing.assert_array_equal(by_slice.outside_frac, by_index.outside_frac)
    np.testing.assert_array_equal(by_index.weight_sums, by_index.weights.sum(axis=0))
    np.testing.assert_array_equal(by_slice.weight_sums, by_index.weight_sums)


@given(arrays(float, st.tuples(st.integers(1, 5), st.integers(1, 20)), elements=finite))
def test_draw_choices_log_sum_matches_logit_without_nan(z: np.ndarray) -> None:
    draws = draw_choices(
        z, np.linspace(0.0, 0.999, z.shape[1]), nest_frac=0.5, columns=np.arange(z.shape[1])
    )
    assert draws.rows.min() >= 0
    assert draws.rows.max() <= z.shape[0]
    p, logsum = logit(z, nest_frac=0.5)
    np.testing.assert_allclose(draws.logsum, logsum, rtol=1e-6, atol=1e-6)
    # The sample's probabilities: from float32 exponentials, so to about 1e-6 of the
    # largest in each column, and they sum to 1.
    sampled = _probabilities(draws.weights, draws.outside_frac)
    np.testing.assert_allclose(sampled, p, rtol=0, atol=5e-6)
    np.testing.assert_allclose(sampled.sum(axis=0), 1.0, rtol=1e-12)


def test_draw_choices_with_nothing_for_sale_keeps_the_outside_option() -> None:
    z = np.full((2, 3), -np.inf)
    rows, logsum, weights, outside_frac, weight_sums = draw_choices(
        z, np.array([0.0, 0.5, 0.99]), outside=np.array([0.1, 0.2, 0.3]), columns=[1]
    )
    assert rows.tolist() == [0, 0, 0]
    assert weights.tolist() == [[0.0], [0.0]]
    assert outside_frac.tolist() == [1.0]
    assert weight_sums.tolist() == [0.0]
    np.testing.assert_allclose(logsum, [0.1, 0.2, 0.3])


def test_draw_choices_in_place_draws_the_same() -> None:
    rng = np.random.default_rng(5)
    z = rng.normal(0.0, 2.0, (4, 500)).astype(np.float32)
    z[rng.random(z.shape) < 0.2] = -np.inf
    u = rng.random(500)
    kept = draw_choices(z, u, outside=0.3, nest_frac=0.6, columns=[0, 7])
    work = z.copy()
    in_place = draw_choices(work, u, outside=0.3, nest_frac=0.6, columns=[0, 7], overwrite_z=True)
    for a, b in zip(kept, in_place, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(work, z)  # the work array now holds the exponentials


def test_sample_choices_edges() -> None:
    p = np.array([[0.0, 1.0], [1.0, 0.0]])
    assert sample_choices(p, np.array([0.0, 0.999999])).tolist() == [1, 0]


@given(st.floats(-5, 5), st.floats(0.1, 5))
def test_success_probability_is_monotone_and_bounded(gap: float, slope: float) -> None:
    lo = success_probability(20.0 + gap, 20.0, slope_per_oom=slope)
    hi = success_probability(20.0 + gap + 0.5, 20.0, slope_per_oom=slope)
    assert 0.0 <= lo < hi <= 1.0


def test_success_probability_extremes_do_not_warn() -> None:
    p = success_probability(np.array([-1e4, 1e4]), 0.0)
    assert p.tolist() == [0.0, 1.0]


@given(st.floats(15, 45), st.floats(15, 45), st.floats(0.1, 5), st.floats(0, 1), st.floats(0, 4))
def test_success_from_odds_is_the_blended_logistic(
    kappa: float, difficulty: float, slope: float, hard: float, extra: float
) -> None:
    ref = 30.0  # any reference gives the same rates
    task = [odds(slope * (difficulty - ref)), odds(slope * (difficulty + extra - ref))]
    rate = success_from_odds(odds(-slope * (kappa - ref)), task, [1.0 - hard, hard])
    expected = (1.0 - hard) * success_probability(
        kappa, difficulty, slope_per_oom=slope
    ) + hard * success_probability(kappa, difficulty + extra, slope_per_oom=slope)
    np.testing.assert_allclose(rate, expected, rtol=1e-9, atol=1e-300)
