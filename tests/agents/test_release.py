"""Open weights as a decision: what releasing a model gains the firm (``agents.release``;
docs/model.md, "Open weights")."""

from __future__ import annotations

import numpy as np
import pytest

from aimarket.agents.release import ReleaseOption, release_choice
from aimarket.agents.valuation import Product, Rivals, line_profit_usd
from tests.agents.test_valuation import ETA, MOMENTS, _offers, _sample

NOW = {"kappa_shift": np.zeros(1), "cost_factor": np.ones(1)}


def _setup():
    sample = _sample(subscription=1)
    rivals = Rivals.build(_offers(sample.n_segments, 2), sample, elasticity=ETA, **MOMENTS)
    line = (
        Product(np.full(2, 27.5), np.ones(2), 1e-6, 0.0, plan=True),
        Product(np.full(2, 26.5), np.ones(2), 1e-7, 0.0),
    )
    # The small model served by hosts near cost: a rival for every sampled customer.
    hosted = _offers(sample.n_segments, 1, kappa=26.5, price=1.2e-7)
    open_weight = Rivals.build(hosted, sample, elasticity=ETA, **MOMENTS).log_weight(None)[0]
    return sample, rivals.log_weight(None)[0], line, open_weight


def _choose(complement_usd: float, base_gain: float = 0.0):
    sample, rivals, line, open_weight = _setup()
    option = ReleaseOption(1, open_weight, base_gain, complement_usd)
    kw = {"elasticity": ETA, "brand_utility": 1.0, "installed_frac": 0.0, "reach_frac": 0.0}
    return release_choice(line, [option], sample, rivals, **kw)


def test_a_release_gains_what_the_line_earns_without_the_model_against_it_plus_the_complement() -> (
    None
):
    sample, rivals, line, open_weight = _setup()
    keep = line_profit_usd([line], sample, rivals[None], elasticity=ETA, **NOW)[0, 0]
    with_open = np.logaddexp(rivals, open_weight)[None]
    rest = line_profit_usd([line[:1]], sample, with_open, elasticity=ETA, **NOW)[0, 0]
    _, gains = _choose(123.0)
    assert gains[0] == pytest.approx(rest + 123.0 - keep, rel=1e-12)
    assert rest < keep  # the model earned something, and the open copy takes customers


def test_a_firm_releases_only_when_the_gain_is_positive() -> None:
    # Without a complement or a brand gain, giving a model away only costs; a complement
    # worth more than the loss makes the release worth it; at the threshold, nothing.
    pick, gains = _choose(0.0)
    assert pick is None
    assert gains[0] < 0
    loss = -gains[0]
    assert _choose(loss * 1.01)[0] == 0
    assert _choose(loss * 0.99)[0] is None


def test_the_installed_base_a_release_brings_is_worth_something() -> None:
    # The open model's use counts toward the maker's brand: the rest of its line earns
    # more under it, so the gain of a release rises with the base it would add.
    assert _choose(0.0, base_gain=0.3)[1][0] > _choose(0.0, base_gain=0.0)[1][0]
