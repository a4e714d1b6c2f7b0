"""Demand grows in a run: adoption follows what models can do, usage follows prices."""

from __future__ import annotations

import polars as pl
import pytest

from aimarket.agents.params import DEFAULT_SEGMENTS
from aimarket.sim.model import MarketModel
from aimarket.sim.params import ModelParams

SEEDS = (1, 2, 3)
#: Outcomes that follow each run's own path are compared over more replications.
POOLED_SEEDS = (1, 2, 3, 4, 5, 6)


def _market(months: int, seed: int, demand: dict) -> pl.DataFrame:
    params = ModelParams.model_validate(
        {
            "customers": 2000,
            # GPUs aplenty: demand's mechanisms alone, never rationed by capacity; no free
            # plans, whose users' work would blur paying customers' usage.
            "hardware": {"gpu_supply": 1e9},
            "market": {"free_tier": {"allowance_queries_per_month": 0.0}},
            "demand": {"pricing_sample_size": 300, **demand},
            "strategy": {"valuation_customers": 120},
        }
    )
    model = MarketModel(params, seed=seed, horizon_months=months)
    model.run_model()
    return model.tables()["market"]


@pytest.mark.parametrize("seed", SEEDS)
def test_adoption_spreads_only_where_models_can_do_the_work(seed: int) -> None:
    # Every segment's work made 5 OOM harder: no model on sale clears it, the potential
    # stays small and so does diffusion; at today's difficulty it runs toward everyone.
    harder = [
        s.model_copy(update={"difficulty_kappa": s.difficulty_kappa + 5}) for s in DEFAULT_SEGMENTS
    ]
    easy = _market(24, seed, {})
    hard = _market(24, seed, {"segments": harder})
    assert easy["aware_frac"][0] == hard["aware_frac"][0]  # the same start
    assert easy["aware_frac"][-1] > hard["aware_frac"][-1] + 0.2


def test_cheaper_tokens_mean_more_tokens_when_usage_is_elastic() -> None:
    # Costs fall, so the price per task falls; with a usage elasticity customers give AI
    # more work (the Jevons effect), without one they do not (capability term off; the
    # extra work worth as much per token as the first, so that only usage differs; usage
    # at its level each month, not on its way there). Without the elasticity usage never
    # moves; with it, customers give more work on average over the replications (a run
    # whose firms sell dearer work can see its price per task rise), and the market's
    # tokens, which also follow what firms build and charge on each run's own path, are
    # more over the replications.
    off = {"work_oom_per_capability_oom": 0.0, "value_dilution": 0.0, "adjustment_per_month": 1.0}
    fixed = {"usage": {"price_elasticity": 0.0, **off}}
    elastic = {"usage": {"price_elasticity": 1.0, **off}}
    tokens = {"fixed": 0.0, "elastic": 0.0}
    usage = []
    for seed in POOLED_SEEDS:
        a, b = _market(36, seed, fixed), _market(36, seed, elastic)
        assert (a["usage_multiplier"] == 1.0).all()
        usage.append(b["usage_multiplier"][-1])
        tokens["fixed"] += a["tokens"][-12:].sum()
        tokens["elastic"] += b["tokens"][-12:].sum()
    assert sum(usage) / len(usage) > 1.05
    assert tokens["elastic"] > tokens["fixed"]


def test_diluted_value_holds_revenue_back_as_usage_grows() -> None:
    # The same growth of usage; when the extra work is worth less per token, customers
    # will pay less for it: less revenue over the replications (each run's firms take
    # their own path, so one run may not show it).
    grow = {"price_elasticity": 1.0, "work_oom_per_capability_oom": 0.5, "adjustment_per_month": 1}
    revenue = {"full": 0.0, "thin": 0.0}
    for seed in POOLED_SEEDS:
        for name, dilution in (("full", 0.0), ("thin", 1.0)):
            run = _market(36, seed, {"usage": grow | {"value_dilution": dilution}})
            revenue[name] += run["revenue_usd"][-12:].sum()
    assert revenue["thin"] < revenue["full"]
