"""Demand maths: success, utility, nested-logit shares, draws, surplus."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from aimarket.markets.demand import (
    consumer_surplus_usd,
    draw_choices,
    nest_shares,
    odds,
    success_from_odds,
    success_probability,
    utility_z,
)

finite = st.floats(-1e6, 1e6, allow_nan=False)


def logit(z, outside=None, *, nest_frac=1.0):
    """``(j + 1, n)`` probabilities (outside option first) and the log-sum."""
    s = nest_shares(z, outside, nest_frac=nest_frac)
    return np.vstack([s.outside, s.probability]), s.logsum


@given(arrays(float, st.tuples(st.integers(1, 5), st.integers(1, 20)), elements=finite))
def test_shares_sum_to_one_without_nan(z: np.ndarray) -> None:
    p, logsum = logit(z)
    assert p.shape == (z.shape[0] + 1, z.shape[1])
    assert np.all(np.isfinite(p))
    assert np.all(p >= 0)
    np.testing.assert_allclose(p.sum(axis=0), 1.0, rtol=1e-12)
    # The log-sum is the expected maximum: at least the best alternative, at most best + log(k).
    best = np.maximum(z.max(axis=0), 0.0)
    assert np.all(logsum >= best - 1e-9)
    assert np.all(logsum <= best + np.log(z.shape[0] + 1) + 1e-9)


def test_shares_match_textbook_formulas() -> None:
    z = np.array([[1.0], [2.0]])
    expected = np.exp([0.0, 1.0, 2.0]) / np.exp([0.0, 1.0, 2.0]).sum()
    np.testing.assert_allclose(logit(z)[0][:, 0], expected)
    # Nested: P_k = e^{z_k/l} / D * D^l / (1 + D^l), D = sum e^{z_k/l}.
    lam = 0.5
    d = np.exp(z[:, 0] / lam).sum()
    nested = np.exp(z[:, 0] / lam) / d * d**lam / (1 + d**lam)
    np.testing.assert_allclose(logit(z, nest_frac=lam)[0][1:, 0], nested)


def test_rivals_weight_is_the_same_as_their_rows() -> None:
    # Offerings outside the rows, given as their log nest weight, take the same share.
    rng = np.random.default_rng(2)
    z = rng.normal(0.0, 2.0, (5, 30))
    whole = nest_shares(z, 0.3, nest_frac=0.6)
    rivals = np.log(np.exp(z[3:] / 0.6).sum(axis=0))
    part = nest_shares(z[:3], 0.3, nest_frac=0.6, rivals_log_weight=rivals)
    np.testing.assert_allclose(part.probability, whole.probability[:3], rtol=1e-12)
    np.testing.assert_allclose(part.outside, whole.outside, rtol=1e-12)
    np.testing.assert_allclose(part.within, whole.within[:3], rtol=1e-12)


def test_utility_is_the_log_of_value_for_money() -> None:
    # Twice the gain at twice the price is the same utility; a customer's price
    # elasticity does not depend on how much the work is worth.
    z = utility_z(np.array([1.0, 1e4]), 0.9, 0.5, 0.0, np.array([0.2, 2e3]), elasticity=2.0)
    np.testing.assert_allclose(z[0], z[1])
    cheaper = utility_z(np.array([1.0, 1e4]), 0.9, 0.5, 0.0, np.array([0.1, 1e3]), elasticity=2.0)
    np.testing.assert_allclose(cheaper - z, 2.0 * np.log(2.0))
    # Nothing gained (the outside option does as well): never bought.
    assert utility_z(1.0, 0.5, 0.5, 0.0, 1.0, elasticity=2.0) == -np.inf


def test_surplus_is_the_scaled_log_sum_over_the_outside_option() -> None:
    s = nest_shares([[0.0]])
    np.testing.assert_allclose(consumer_surplus_usd(s.logsum, 0.0, 3.0), 3.0 * np.log(2.0))


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
