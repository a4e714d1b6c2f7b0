"""Make or buy: what owning a model saves a segment's big buyers (agents/captive.py)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aimarket.agents.business import Allocation, BusinessModel
from aimarket.agents.captive import CaptiveOption, make_or_buy_values
from aimarket.agents.strategy import Candidate, Horizon

HORIZON = Horizon(
    months=24,
    discount_per_month=0.99,
    kappa_growth_oom_per_month=0.0,
    cost_decline_per_month=0.0,
    upkeep_usd_per_month=2e5,
)


def _option(own_usd: float, cost_usd: float = 1e7, months: float = 3.0) -> CaptiveOption:
    cand = Candidate(
        BusinessModel.CAPTIVE,
        Allocation.DISTILLED,
        1e10,
        1e12,
        6e22,
        27.0,
        1.0,
        cost_usd,
        months,
        (),
    )
    return CaptiveOption(cand, own_usd)


@given(
    own=st.floats(1e-4, 10.0),
    buy=st.floats(1e-4, 10.0),
    queries=st.floats(1e3, 1e10),
)
def test_owning_pays_only_when_it_is_cheaper_than_buying(own, buy, queries) -> None:
    # Where the buyers' own successful query costs as much as the market's or more, owning
    # saves nothing and costs the project and its upkeep: never worth it.
    value = make_or_buy_values(
        [_option(own)],
        queries_per_month=queries,
        buy_now_usd=buy,
        buy_later_usd=buy,
        horizon=HORIZON,
    )[0]
    if own >= buy:
        assert value < 0
    saving = (buy - own) * queries * sum(0.99**t for t in range(3, 24))
    upkeep = 2e5 * sum(0.99**t for t in range(3, 24))
    assert value == pytest.approx(max(saving, 0) - upkeep - 1e7 if own < buy else -upkeep - 1e7)


def test_bigger_buyers_gain_more_from_owning() -> None:
    # The project is a fixed cost and the saving grows with the work: big users build.
    volumes = np.geomspace(1e4, 1e9, 6)
    values = [
        make_or_buy_values(
            [_option(0.01)],
            queries_per_month=q,
            buy_now_usd=0.02,
            buy_later_usd=0.02,
            horizon=HORIZON,
        )[0]
        for q in volumes
    ]
    assert np.all(np.diff(values) > 0)
    assert values[0] < 0 < values[-1]


def test_a_market_that_improves_faster_leaves_less_to_save() -> None:
    # Buying gets cheaper over the horizon while the captive model stays as it is.
    def value(later: float) -> float:
        return make_or_buy_values(
            [_option(0.01)],
            queries_per_month=1e8,
            buy_now_usd=0.05,
            buy_later_usd=later,
            horizon=HORIZON,
        )[0]

    assert value(0.05) > value(0.02) > value(0.005)
