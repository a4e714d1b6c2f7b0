"""Bought reach: the channel deal a firm picks (``agents.reach``; docs/model.md, "Brand")."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from aimarket.agents.reach import reach_choice
from aimarket.agents.valuation import Product, Rivals
from tests.agents.test_valuation import ETA, MOMENTS, _offers, _sample

LEVELS = (0.0, 0.05, 0.1, 0.2, 0.4)


def _choice(usd_per_level: float, *, installed: float = 0.0, kappa: float = 27.0):
    sample = _sample(subscription=1)
    rivals = Rivals.build(_offers(sample.n_segments, 2), sample, elasticity=ETA, **MOMENTS)
    line = (
        Product(np.full(2, kappa), np.ones(2), 1e-6, 0.0),
        Product(np.full(2, kappa - 1.0), np.ones(2), 1e-7, 0.0, plan=True),
    )
    return reach_choice(
        line,
        sample,
        rivals.log_weight(None)[:1],
        elasticity=ETA,
        utility=1.0,
        installed_frac=installed,
        levels=LEVELS,
        usd_per_level=usd_per_level,
    )


def test_a_free_channel_is_bought_in_full_and_a_ruinous_one_not_at_all() -> None:
    assert _choice(0.0) == (LEVELS[-1], 0.0)
    assert _choice(1e15) == (0.0, 0.0)


def test_a_deal_costs_its_level_times_the_price() -> None:
    # From cheap to dear the firm buys the whole channel, then none of it, and pays for
    # what it bought.
    prices = np.geomspace(1e3, 1e12, 19)
    bought = [_choice(p) for p in prices]
    assert bought[0][0] == LEVELS[-1]
    assert bought[-1][0] == 0.0
    for p, (level, usd) in zip(prices, bought, strict=True):
        assert usd == level * p


@settings(max_examples=25, deadline=None)
@given(st.floats(1e3, 1e12), st.floats(1.01, 100.0))
def test_a_dearer_channel_is_never_bought_more(price: float, factor: float) -> None:
    # The deal maximises profit less price times level: the level is monotone
    # non-increasing in the price (the cost term has decreasing differences).
    assert _choice(price * factor)[0] <= _choice(price)[0]


def test_without_a_line_there_is_no_deal() -> None:
    sample = _sample()
    rivals = np.zeros((1, sample.segment.shape[0]))
    kw = {"elasticity": ETA, "utility": 1.0, "installed_frac": 0.0, "levels": LEVELS}
    assert reach_choice((), sample, rivals, usd_per_level=0.0, **kw) == (0.0, 0.0)
