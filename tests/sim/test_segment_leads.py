"""Segment-specific capability: a pre-training run draws a lead or lag in each segment's
kind of work (``firms.segment_lead_sd_oom``; docs/model.md, "Segment-specific capability")."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from aimarket.agents.business import Allocation
from aimarket.agents.products import Tier, offer_id, segment_leads
from aimarket.sim.market import build_offers
from aimarket.sim.model import MarketModel
from aimarket.sim.params import ModelParams

SEGMENT = "coding"
LEAD_OOM = 0.5


def _year_old_market(seed: int, **firms) -> MarketModel:
    market = MarketModel(ModelParams(customers=3000, firms=firms), seed=seed, horizon_months=12)
    for _ in range(12):
        market.step()
    return market


def _kappa_by_offer(market: MarketModel) -> dict[int, np.ndarray]:
    return {offer_id(r.model.model_id, r.tier): r.kappa for r in build_offers(market)}


def _contested(market: MarketModel):
    """A segment (coding first) and the model whose standard offering has the largest
    share of its queries short of nine tenths, with its seller."""
    offers = market.outcome.offers
    names = market.customers.segment_names
    held = [m.model_id for f in market.firms for m in f.line if f is not market.fringe]
    for g in sorted(range(len(names)), key=lambda h: names[h] != SEGMENT):
        queries = market.outcome.choice.queries_by_segment[g]
        share = queries / queries.sum()
        ok = (offers.tiers == Tier.STANDARD) & (share < 0.9)
        ok &= np.isin(offers.model_ids, held)  # still in a firm's line
        k = int(np.argmax(np.where(ok, share, -1.0)))
        if share[k] > 0:
            model_id = int(offers.model_ids[k])
            firm = next(f for f in market.firms if any(m.model_id == model_id for m in f.line))
            return g, firm, next(m for m in firm.line if m.model_id == model_id)
    raise AssertionError("no segment is contested")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_segment_lead_shows_in_that_segments_shares_only(seed: int) -> None:
    # One model gains a lead in coding (or the first contested segment); at the same
    # prices, the same customers choose again. Its capability rises in that segment only,
    # its share of that segment's queries rises, and every other segment's choices are
    # exactly as before.
    market = _year_old_market(seed)
    c = market.customers
    g, firm, model = _contested(market)
    before = _kappa_by_offer(market)
    lead = segment_leads([model], c.n_segments)[:, 0]
    lead[g] += LEAD_OOM
    led = dataclasses.replace(model, lead_oom=tuple(lead))
    firm.line = [led if m is model else m for m in firm.line]
    after = _kappa_by_offer(market)
    assert before.keys() == after.keys()
    mine = {offer_id(model.model_id, t) for t in range(Tier.FREE + 1)}
    others = [h for h in range(c.n_segments) if h != g]
    for key, kappa in after.items():
        np.testing.assert_array_equal(kappa[others], before[key][others])
        if key in mine and np.isfinite(kappa[g]):
            assert kappa[g] > before[key][g]
        else:
            assert kappa[g] == before[key][g]
    offers = market.outcome.offers
    shift = np.zeros_like(offers.kappa)
    for k, key in enumerate(offers.offer_ids.tolist()):
        if key in after:
            shift[:, k] = after[key] - before[key]
    chosen = [
        _fresh(seed).choose(dataclasses.replace(offers, kappa=offers.kappa + d)).queries_by_segment
        for d in (0.0, shift)
    ]
    ours = np.isin(offers.model_ids, [model.model_id])
    share = [q[:, ours].sum(axis=1) / q.sum(axis=1) for q in chosen]
    assert share[1][g] > share[0][g]
    np.testing.assert_array_equal(chosen[1][others], chosen[0][others])


def _fresh(seed: int):
    """Customers nobody has served yet, seeded as the market."""
    return MarketModel(ModelParams(customers=3000), seed=seed, horizon_months=1).customers


def _all_models(sd: float, seed: int) -> list:
    """Every model that was on sale in two years of a market, once each."""
    market = MarketModel(
        ModelParams(customers=1500, firms={"segment_lead_sd_oom": sd}), seed=seed, horizon_months=24
    )
    seen = {}
    for _ in range(24):
        market.step()
        for f in market.firms:
            seen.update({m.model_id: m for m in f.line})
    return list(seen.values())


@pytest.mark.parametrize("seed", [1, 2])
def test_pretraining_draws_leads_and_smaller_versions_keep_them(seed: int) -> None:
    # Every lab's pre-trained model draws one lead per segment; a distilled model keeps
    # its parent's, the open-weights fringe's copies the released model's; specialists
    # and wrappers have none of their own. With the spread at 0, no model has any.
    models = _all_models(0.3, seed)
    by_id = {m.model_id: m for m in models}
    n = ModelParams().demand.segments
    pretrained = [m for m in models if m.allocation is not Allocation.DISTILLED]
    labs = [m for m in pretrained if m.business_model.value.endswith("_heavy")]
    assert labs
    assert all(len(m.lead_oom) == len(n) for m in labs)
    children = [m for m in models if m.parent_id in by_id]
    assert children
    assert all(m.lead_oom == by_id[m.parent_id].lead_oom for m in children)
    released = [m for m in models if m.business_model.value == "open_weights"]
    assert released
    assert all(len(m.lead_oom) == len(n) for m in released)
    assert all(
        not m.lead_oom for m in models if m.business_model.value in ("specialist", "wrapper")
    )
    assert not any(m.lead_oom for m in _all_models(0.0, seed))


def test_leads_are_centred_on_general_capability_with_the_configured_spread() -> None:
    # The draws are independent normal ones of sd ``segment_lead_sd_oom`` around 0: over
    # 2,000 runs' worth of draws the sample moments sit inside their 99.9% bounds.
    market = MarketModel(ModelParams(customers=300, firms={"segment_lead_sd_oom": 0.4}), seed=5)
    draws = np.array([market.draw_leads() for _ in range(2000)])  # (2000, s)
    n = draws.size
    assert abs(draws.mean()) < 3.3 * 0.4 / np.sqrt(n)
    assert abs(draws.std() / 0.4 - 1.0) < 3.3 / np.sqrt(2 * n)
    assert abs(np.corrcoef(draws.T)[np.triu_indices(draws.shape[1], 1)]).max() < 0.1
