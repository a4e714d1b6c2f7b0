"""Post-training and tool use in a run (docs/model.md, "Post-training and tool use"), and
the lifecycle compute the models table records."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from aimarket.agents.business import BusinessModel
from aimarket.agents.products import Tier
from aimarket.markets.scaling import capability_index
from aimarket.sim.market import build_offers
from aimarket.sim.model import MarketModel
from aimarket.sim.params import ModelParams

NO_POST = {"post_training": {"gain_oom": 0.0, "reasoning_gain_oom": 0.0}}
LABS = (BusinessModel.UPFRONT_HEAVY.value, BusinessModel.INFERENCE_HEAVY.value)


def _market(seed: int, **params) -> MarketModel:
    return MarketModel(ModelParams(customers=2000, **params), seed=seed, horizon_months=1)


@pytest.mark.parametrize("seed", [1, 2])
def test_the_starting_labs_models_carry_their_post_training(seed: int) -> None:
    # Same draws, post-training on and off: each starting model is more capable by the
    # gain of its kind's split and cost (1 + r) times the pre-training FLOP.
    on, off = _market(seed), _market(seed, firms=NO_POST)
    pt = on.agent_params
    labs = [(a, b) for a, b in zip(on.firms, off.firms, strict=True) if a.line]
    assert len(labs) == on.params.labs
    for a, b in labs:
        (m_on,), (m_off,) = a.line, b.line
        r, gain = pt.post_training(reasons=m_on.business_model is BusinessModel.INFERENCE_HEAVY)
        assert gain > 0
        assert m_on.kappa - m_off.kappa == pytest.approx(gain)
        assert m_on.train_flop == pytest.approx(m_off.train_flop * (1 + r))
        assert m_on.posttrain_flop == pytest.approx(m_off.train_flop * r)
        assert m_off.posttrain_flop == 0


def test_projects_are_valued_and_launched_with_their_post_training() -> None:
    # The candidates a lab values, and the models it launches, are the pre-trained
    # capability plus the post-training gain (launch: algorithmic progress to the month).
    market = MarketModel(ModelParams(customers=2000), seed=3, horizon_months=36)
    for _ in range(2):
        market.step()  # a month served: what a new model would serve is known
    ctx = market.context()
    pt = market.agent_params
    # Budgets scale with the frontier's pre-training compute (post-training comes on top
    # of each budget, not compounded into the next generation's).
    frontier = max(m.train_flop - m.posttrain_flop for f in market.firms for m in f.line)
    budgets = np.array(market.params.strategy.budget_multiples) * frontier
    for kind in (BusinessModel.UPFRONT_HEAVY, BusinessModel.INFERENCE_HEAVY):
        _, gain = pt.post_training(reasons=kind is BusinessModel.INFERENCE_HEAVY)
        cands = ctx.candidates((kind,))
        assert cands
        for c in cands:
            pre = c.train_flop - c.posttrain_flop
            assert pre == pytest.approx(6 * c.params * c.train_tokens)
            made = capability_index(
                c.params,
                c.train_tokens,
                algorithmic_multiplier=ctx.multiplier_at(ctx.month + c.months_to_launch),
            )
            assert c.base_kappa == pytest.approx(float(made) + gain)
            if c.allocation.value == "chinchilla":
                assert np.isclose(pre, budgets, rtol=1e-9).any()
            assert c.post_gain_oom == gain
            assert c.expected_inference_flop > 0
    for _ in range(34):
        market.step()
    models = market.recorder.tables(36)["models"]
    launched = models.filter(
        (pl.col("month") >= 0)
        & (pl.col("role") == "flagship")
        & pl.col("business_model").is_in(LABS)
    )
    assert launched.height > 0
    for row in launched.iter_rows(named=True):
        _, gain = pt.post_training(
            reasons=row["business_model"] == BusinessModel.INFERENCE_HEAVY.value
        )
        made = capability_index(
            row["params"],
            row["train_tokens"],
            algorithmic_multiplier=market.training_multiplier_at(float(row["month"])),
        )
        assert row["kappa"] == pytest.approx(float(made) + gain)


def test_the_models_table_accounts_for_every_token_served() -> None:
    market = MarketModel(ModelParams(customers=2000), seed=4, horizon_months=24)
    market.run_model()
    tables = market.tables()
    models, offers = tables["models"], tables["offers"]
    assert models["served_tokens"].sum() == pytest.approx(offers["tokens"].sum(), rel=1e-9)
    assert (models["served_tokens"] > 0).any()
    flop = 2 * models["params"] * models["served_tokens"]
    assert np.allclose(models["inference_flop"].to_numpy(), flop.to_numpy(), rtol=1e-12)
    flagships = models.filter(pl.col("business_model").is_in(LABS) & (pl.col("role") == "flagship"))
    assert (flagships["posttrain_flop"] > 0).all()
    assert (flagships["posttrain_flop"] < flagships["train_flop"]).all()


@pytest.mark.parametrize("seed", [1, 2])
def test_tools_cut_tokens_per_query_of_capable_models_only(seed: int) -> None:
    # Same market, tool use on and off: a standard offering at or above the threshold in a
    # segment spends fewer tokens per query there (its effort never falls, so by the
    # saving or less); one below spends exactly as many.
    # (the threshold is raised into the starting models' range, so both sides occur)
    on = _market(seed, demand={"tools": {"min_kappa": 27.3}})
    off = _market(seed, demand={"tools": {"min_kappa": 27.3, "hard_token_saving_frac": 0.0}})
    rows_on, rows_off = build_offers(on), build_offers(off)
    threshold = on.params.demand.tools.min_kappa
    hard = np.array([s.hard_task_frac for s in on.params.demand.segments])
    above = below = 0
    for a, b in zip(rows_on, rows_off, strict=True):
        assert (a.model.model_id, a.tier) == (b.model.model_id, b.tier)
        if a.tier != Tier.STANDARD or a.model.max_inference_multiplier > 1:
            continue  # plain models: the effort is 1 with and without tools
        able = a.model.kappa + np.asarray(a.model.lead_oom or np.zeros(hard.size)) >= threshold
        expected = np.where(able, 1 - 0.5 * hard, 1.0)
        assert a.multiplier == pytest.approx(expected * b.multiplier)
        above += int(able.sum())
        below += int((~able).sum())
    assert above > 0
    assert below > 0


def test_reasoning_gains_more_from_post_training_where_reasoning_buys_more() -> None:
    # A reasoning model's extra return scales with the regime's test-time lever: half in
    # the upfront-heavy world; a plain model's return is the same in every world.
    def gains(regime: str) -> tuple[float, float]:
        ap = _market(1, market={"regime": regime}).agent_params
        return ap.post_training(reasons=True)[1], ap.post_training(reasons=False)[1]

    upfront, balanced = gains("upfront_heavy"), gains("balanced")
    assert upfront[1] == balanced[1] < upfront[0] < balanced[0]
