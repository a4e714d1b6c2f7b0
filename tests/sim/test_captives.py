"""Make or buy in a run: a segment's big buyers build a captive model only when owning is
cheaper than buying, it sells at cost in their segment only, and they close it when the
market gets cheaper (docs/model.md, "Make or buy")."""

from __future__ import annotations

import dataclasses

import numpy as np
import polars as pl
import pytest

from aimarket.agents.captive import (
    Captive,
    buy_usd_per_success,
    captive_options,
    success_rate,
    usd_per_success,
)
from aimarket.sim import captives
from aimarket.sim.model import MarketModel
from aimarket.sim.params import ModelParams

SEGMENT = "science"


def _market(
    seed: int, members_frac: float = 1.0, months: int = 0, *, live: bool = False
) -> MarketModel:
    """A market whose buyers review make or buy on their own (``live``) or only when a
    test calls :func:`captives.review_segment`."""
    captive = {"segments": [SEGMENT] if live else [], "members_frac": members_frac}
    params = ModelParams(
        customers=2000, strategy={"rationality_frac": 0.0}, demand={"captive": captive}
    )
    market = MarketModel(params, seed=seed, horizon_months=max(months, 1) + 24)
    for _ in range(months):
        market.step()
    return market


def _captives(market: MarketModel) -> list[Captive]:
    return [f for f in market.firms if isinstance(f, Captive)]


def _first_captive_on_sale(seed: int) -> tuple[MarketModel, Captive]:
    """A live market stepped until a captive is on sale (within two years)."""
    market = _market(seed, live=True)
    for _ in range(24):
        market.step()
        live = [f for f in _captives(market) if f.active and f.line]
        if live:
            return market, live[0]
    raise AssertionError("no captive went on sale in two years")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_buyers_build_only_when_owning_is_cheaper(seed: int) -> None:
    # At their first review, with every choice the best (rationality 0): if the best
    # option serves their successful query for less than the market sells it, buyers with
    # the whole segment's work build; buyers with a trillionth of it never do.
    market = _market(seed, months=2)
    g = market.customers.segment_names.index(SEGMENT)
    ctx = market.context()
    cheaper = min(o.own_usd_per_success for o in captive_options(ctx, g)) < buy_usd_per_success(
        ctx, g
    )
    captives.review_segment(market, ctx, g, [])
    built = _captives(market)
    assert len(built) == (1 if built else 0)
    if built:
        assert cheaper
        assert built[0].segment == g
    small = _market(seed, members_frac=1e-12, months=2)
    captives.review_segment(small, small.context(), g, [])
    assert not _captives(small)


def test_some_seed_builds() -> None:
    # The test above is not vacuous: science's buyers build in some of these markets.
    built = 0
    for seed in (1, 2, 3):
        market = _market(seed, months=2)
        g = market.customers.segment_names.index(SEGMENT)
        captives.review_segment(market, market.context(), g, [])
        built += len(_captives(market))
    assert built > 0


def test_a_captive_sells_at_cost_in_its_segment_only() -> None:
    market = _market(2, live=True)
    market.run_model()
    tables = market.tables()
    firms = tables["firms"].filter(pl.col("kind") == "captive")
    assert firms.height > 0
    sold = tables["offers"].join(firms.select("firm_id").unique(), on="firm_id", how="semi")
    assert sold.height > 0
    np.testing.assert_allclose(
        sold["price_usd_per_mtok"].to_numpy(), sold["cost_usd_per_mtok"].to_numpy(), rtol=1e-9
    )
    assert set(sold["tier"].cast(pl.String)) == {"standard"}
    models = tables["models"].filter(pl.col("business_model") == "captive")
    assert set(models["segment"].cast(pl.String)) == {SEGMENT}


def test_buyers_close_their_captive_when_the_market_is_cheaper(monkeypatch) -> None:
    market, owner = _first_captive_on_sale(2)
    g = owner.segment
    # (the close is judged on what keeping saves over the horizon, the project sunk)
    dear = owner.own_usd_per_success(market.context()) * 1e3
    monkeypatch.setattr(captives, "buy_usd_per_success", lambda ctx, g, **_: dear)
    captives.review_segment(market, market.context(), g, [])
    assert owner.active  # the market is dearer: they keep it
    monkeypatch.setattr(captives, "buy_usd_per_success", lambda ctx, g, **_: dear * 1e-9)
    captives.review_segment(market, market.context(), g, [])
    assert not owner.active
    assert owner.exit_month == market.month


def test_a_market_seen_falling_fast_keeps_buyers_buying() -> None:
    # Where the buyers build with no history, a market they have seen get a million
    # times cheaper in six months is expected to keep falling: owning no longer pays.
    for seed in (1, 2, 3):
        market = _market(seed, months=2)
        g = market.customers.segment_names.index(SEGMENT)
        ctx = market.context()
        buy = buy_usd_per_success(ctx, g)
        captives.review_segment(market, ctx, g, [])
        if not _captives(market):
            continue
        again = _market(seed, months=2)
        seen = [(ctx.month - 6.0, buy * 1e6)]
        captives.review_segment(again, again.context(), g, seen)
        assert not _captives(again)
        assert seen[-1] == (float(ctx.month), buy)  # this review is remembered
        return
    raise AssertionError("no seed builds")


def test_a_captive_is_judged_at_this_months_gpu_prices() -> None:
    # Its serving cost per successful query is this month's token cost (the technology
    # now), not last month's bill, at the effort and capability it was sold at.
    market, owner = _first_captive_on_sale(2)
    ctx = market.context()
    g, o = owner.segment, ctx.offers
    j = int(np.flatnonzero(o.firm_ids == owner.firm_id)[0])
    usd, _ = ctx.technology.token_economics(
        np.array([owner.line[0].params]), batch=ctx.params.batches[0]
    )
    tokens = ctx.profile.tokens[g] * o.inference_multiplier[g, j : j + 1]
    expected = usd_per_success(np.atleast_1d(usd), tokens, o.kappa[g, j : j + 1], ctx, g)
    assert owner.own_usd_per_success(ctx) == pytest.approx(float(expected[0]))
    assert owner.keep_option(ctx).candidate.outlay_usd == 0


def test_buyers_compare_with_what_they_pay_per_success() -> None:
    # The market's cost to the segment is its buyers' spend per successful query last
    # month (what they bought, weighted by their queries); with no record of what they
    # bought, the cheapest offering sold to them.
    market = _market(3, months=3)
    ctx = market.context()
    g = market.customers.segment_names.index(SEGMENT)
    o, q = ctx.offers, ctx.segment_queries[g]
    ok = o.available[g] & ~o.plan
    tokens = ctx.profile.tokens[g] * o.inference_multiplier[g]
    success = success_rate(o.kappa[g], ctx, g)
    spend = (q * o.price_usd * tokens)[ok].sum() / (q * success)[ok].sum()
    assert buy_usd_per_success(ctx, g) == pytest.approx(spend)
    cheapest = usd_per_success(o.price_usd[ok], tokens[ok], o.kappa[g, ok], ctx, g).min()
    assert spend > cheapest  # they do not all buy the cheapest
    blind = dataclasses.replace(ctx, segment_queries=None)
    assert buy_usd_per_success(blind, g) == pytest.approx(cheapest)
