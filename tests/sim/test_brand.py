"""Brand: a firm's installed base draws customers to its offerings (``demand.brand_utility``,
``demand.brand_memory_months``; docs/model.md, "Brand")."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aimarket.agents import firms as firms_module
from aimarket.markets.adoption import installed_base_step
from aimarket.sim.model import MarketModel
from aimarket.sim.params import ModelParams

SEEDS = (1, 2, 3)


def _year_old_market(seed: int, **demand) -> MarketModel:
    params = ModelParams(customers=3000, demand=demand)
    market = MarketModel(params, seed=seed, horizon_months=12)
    for _ in range(12):
        market.step()
    return market


def _fresh(seed: int):
    """Customers nobody has served yet, seeded as the market."""
    return MarketModel(ModelParams(customers=3000), seed=seed, horizon_months=1).customers


@pytest.mark.parametrize("seed", SEEDS)
def test_a_brand_raises_its_firms_adoption(seed: int) -> None:
    # The same offers and the same customers, choosing afresh; one lab's offerings carry a
    # brand: its queries rise, and so does what the pricing sample expects to buy of it;
    # no rival's expected purchases rise (realised choices are draws: one customer's
    # draw can land on a rival when the probabilities move).
    market = _year_old_market(seed, brand_utility=0.0)
    offers = market.outcome.offers
    assert not offers.brand_utility.any()
    queries = market.outcome.choice.queries
    lab = int(offers.firm_ids[np.argsort(queries)[-2]])  # the second-busiest offering's seller
    mine = offers.firm_ids == lab
    branded = dataclasses.replace(offers, brand_utility=np.where(mine, 1.0, 0.0))
    plain, known = (_fresh(seed).choose(o) for o in (offers, branded))
    assert known.queries[mine].sum() > plain.queries[mine].sum()
    expected = [c.pricing.revenue_units for c in (plain, known)]
    assert (expected[1][mine] >= expected[0][mine]).all()
    assert expected[1][mine].sum() > expected[0][mine].sum()
    assert (expected[1][~mine] <= expected[0][~mine] * (1 + 1e-9)).all()


@pytest.mark.parametrize("seed", SEEDS)
def test_installed_base_follows_each_firms_share_of_the_work(seed: int) -> None:
    # Month by month each firm's installed base moves a 1/M step toward its share of the
    # month's queries; the open-weights fringe has none. Every offering of the month
    # carries its seller's brand as it stood when the month began.
    market = MarketModel(ModelParams(customers=1500), seed=seed, horizon_months=18)
    memory = market.params.demand.brand_memory_months
    before: dict[int, float] = {}
    for _ in range(18):
        before = {f.firm_id: f.brand_frac for f in market.firms}
        market.step()
        out = market.outcome
        carried = [market.params.demand.brand_utility * before[f] for f in out.offers.firm_ids]
        np.testing.assert_array_equal(out.offers.brand_utility, carried)
        share = out.queries / out.queries.sum()
        for k, firm in enumerate(out.firms):
            if firm is market.fringe:
                assert firm.brand_frac == 0.0
                continue
            step = before[firm.firm_id] + (share[k] - before[firm.firm_id]) / memory
            assert firm.brand_frac == pytest.approx(step, rel=1e-12, abs=1e-15)
    assert max(f.brand_frac for f in market.firms) > 0.05


@given(
    base=st.floats(0.0, 1.0),
    share=st.floats(0.0, 1.0),
    memory=st.floats(1.0, 120.0),
)
def test_installed_base_moves_toward_the_share_without_passing_it(
    base: float, share: float, memory: float
) -> None:
    after = float(installed_base_step(base, share, memory_months=memory))
    assert min(base, share) - 1e-15 <= after <= max(base, share) + 1e-15
    assert abs(after - share) <= abs(base - share) * (1.0 - 1.0 / memory) + 1e-12


def test_a_firm_values_its_projects_under_its_brand(monkeypatch) -> None:
    # The projects a firm weighs, and the line it would keep instead, are sold under its
    # brand: every product carries what its installed base is worth to customers.
    market = _year_old_market(1)
    lab = max(
        (f for f in market.firms if f.conduct.trains and f.active), key=lambda f: f.brand_frac
    )
    assert lab.brand_frac > 0
    seen, kept = [], []

    def capture(ctx, candidates, **kw) -> None:
        seen.extend(candidates)
        kept.extend(kw["line"])

    monkeypatch.setattr(firms_module, "_pick", capture)
    lab.review(market.context(), np.random.default_rng(0))
    assert seen
    assert kept
    expected = market.params.demand.brand_utility * lab.brand_frac
    assert all(p.brand_utility == expected for c in seen for p in c.products)
    assert all(p.brand_utility == expected for p in kept)
