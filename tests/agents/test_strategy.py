"""Strategy: bounded-rational choice among projects, and funding offers."""

from __future__ import annotations

import numpy as np
import pytest

from aimarket.agents.policies import funding_offer_usd
from aimarket.agents.strategy import choose_project


def test_choice_is_greedy_without_noise_and_never_picks_the_impossible() -> None:
    rng = np.random.default_rng(1)
    assert choose_project(np.array([1.0, 3.0, 2.0]), rng=rng, rationality_frac=0.0) == 1
    assert choose_project(np.array([-1.0, -2.0]), rng=rng, rationality_frac=0.0) is None
    values = np.array([-np.inf, 5.0])
    picks = {choose_project(values, rng=rng, rationality_frac=5.0) for _ in range(200)}
    assert 0 not in picks


def test_bounded_rationality_sometimes_errs_but_prefers_the_best() -> None:
    rng = np.random.default_rng(2)
    values = np.array([1.0, 1.2])
    picks = [choose_project(values, rng=rng, rationality_frac=0.5, keep=0.9) for _ in range(2000)]
    counts = {k: picks.count(k) for k in (None, 0, 1)}
    assert counts[1] > counts[0] > 0
    assert counts[None] > 0


def test_a_round_sells_at_most_the_dilution_share() -> None:
    kw = dict(annual_revenue_usd=1e9, revenue_multiple=10.0, base_round_usd=0.0)
    full = funding_offer_usd(**kw, capital_market_index=1.0)
    part = funding_offer_usd(**kw, capital_market_index=1.0, dilution_frac=0.2)
    assert part == pytest.approx(0.2 * full)
    assert funding_offer_usd(**kw, capital_market_index=0.0, dilution_frac=0.2) == 0.0
    with pytest.raises(ValueError, match="dilution_frac"):
        funding_offer_usd(**kw, capital_market_index=1.0, dilution_frac=1.5)
