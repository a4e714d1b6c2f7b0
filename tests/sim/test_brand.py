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
    # carries its seller's installed base as it stood when the month began and the
    # channel deal of the month's review.
    cheap = {"reach": {"usd_per_customer_month": 1e-6}}  # deals are bought
    market = MarketModel(ModelParams(customers=1500, firms=cheap), seed=seed, horizon_months=18)
    memory = market.params.demand.brand_memory_months
    before: dict[int, float] = {}
    bought = 0.0
    for _ in range(18):
        before = {f.firm_id: f.brand_frac for f in market.firms}
        last_deal = {f.firm_id: f.reach_frac for f in market.firms}
        market.step()
        out = market.outcome
        deal = {f.firm_id: f.reach_frac for f in market.firms}
        bought += sum(deal.values())
        for k, f in enumerate(out.offers.firm_ids.tolist()):
            # A deal made at this month's review is in its prices; an entrant reviews
            # mid-month, after pricing, so its new deal shows only next month.
            carried = {
                market.params.demand.brand_utility * min(before[f] + d.get(f, 0.0), 1.0)
                for d in (deal, last_deal)
            }
            assert out.offers.brand_utility[k] in carried
        share = out.queries / out.queries.sum()
        for k, firm in enumerate(out.firms):
            if firm is market.fringe:
                assert firm.brand_frac == 0.0
                continue
            step = before[firm.firm_id] + (share[k] - before[firm.firm_id]) / memory
            assert firm.brand_frac == pytest.approx(step, rel=1e-12, abs=1e-15)
    assert max(f.brand_frac for f in market.firms) > 0.05
    assert bought > 0


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

    monkeypatch.setattr(firms_module, "pick_project", capture)
    lab.review(market.context(), np.random.default_rng(0))
    assert seen
    assert kept
    expected = market.params.demand.brand_utility * lab.brand_frac
    assert all(p.brand_utility == expected for c in seen for p in c.products)
    assert all(p.brand_utility == expected for p in kept)


def _firms_with_channel(usd_per_customer_month: float, seed: int):
    params = ModelParams(
        customers=1500, firms={"reach": {"usd_per_customer_month": usd_per_customer_month}}
    )
    market = MarketModel(params, seed=seed, horizon_months=24)
    market.run_model()
    return market.tables()["firms"], params


@pytest.mark.parametrize("seed", [1, 2])
def test_firms_buy_reach_when_it_pays_and_pay_for_it(seed: int) -> None:
    # A channel that costs almost nothing is bought in full by firms with something to
    # sell; one dearer than any line could earn by nobody. What a deal costs is its
    # reach times the price per customer, booked as running cost.
    cheap, params = _firms_with_channel(1e-6, seed)
    rp = params.firms.reach
    assert (cheap["reach_frac"] == rp.max_frac).any()
    assert (cheap["reach_frac"].is_in(list(rp.levels()))).all()
    price = rp.usd_per_customer_month * params.demand.represented_customers
    np.testing.assert_allclose(cheap["reach_usd"], cheap["reach_frac"] * price, rtol=1e-12)
    fp, fin = params.firms, params.finance
    fringe = (cheap["kind"] == "open_weights").to_numpy()  # the hosts: no fixed costs
    base = np.where(
        cheap["kind"] == "lab", fin.lab_opex_usd_per_month, fin.startup_opex_usd_per_month
    )
    upkeep = fp.model_upkeep_usd_per_month * cheap["models_on_sale"].to_numpy()
    fixed = np.where(fringe, 0.0, base + upkeep)
    booked = cheap["opex_usd"].to_numpy() - cheap["reach_usd"].to_numpy()
    np.testing.assert_allclose(booked[cheap["selling"]], fixed[cheap["selling"]], rtol=1e-9)
    dear, _ = _firms_with_channel(1e6, seed)
    assert (dear["reach_frac"] == 0).all()
