"""Product lines: distilled versions, retirement when a model stops paying, and the price
of fixed capability falling as families and the open fringe bring old capability down."""

from __future__ import annotations

import dataclasses

import mesa
import numpy as np
import polars as pl
import pytest

from aimarket.agents.business import Allocation, BusinessModel
from aimarket.agents.firms import PROFIT_MEMORY_MONTHS, Lab
from aimarket.agents.products import Model
from aimarket.sim import ModelParams, RunSpec, run_one


def _small(**overrides) -> ModelParams:
    base = {
        "customers": 600,
        "demand": {"pricing_sample_size": 200},
        "strategy": {"valuation_customers": 60},
    }
    for key, value in overrides.items():
        base[key] = {**base.get(key, {}), **value} if isinstance(value, dict) else value
    return ModelParams.model_validate(base)


@pytest.fixture(scope="module")
def runs() -> list[dict[str, pl.DataFrame]]:
    """Five ten-year runs of a small market, common random numbers."""
    return [run_one(RunSpec(f"r{k}", 0, k, _small(), 31, (k,), 120)).tables for k in range(5)]


def test_a_distilled_model_is_smaller_cheaper_and_less_capable_than_its_parent(runs) -> None:
    pairs = 0
    for tables in runs:
        models = tables["models"]
        child = models.filter(pl.col("role") == "distilled").join(
            models.select("model_id", "params", "kappa"),
            left_on="parent_id",
            right_on="model_id",
            suffix="_parent",
        )
        assert (child["params"] < child["params_parent"]).all()
        assert (child["kappa"] < child["kappa_parent"]).all()
        # Served in the same month at the same tier, a token of it costs less.
        offers = tables["offers"].filter(pl.col("tier") == "standard")
        both = (
            child.select("model_id", "parent_id")
            .join(offers.select("month", "model_id", "cost_usd_per_mtok"), on="model_id")
            .join(
                offers.select("month", "model_id", "cost_usd_per_mtok"),
                left_on=["month", "parent_id"],
                right_on=["month", "model_id"],
                suffix="_parent",
            )
        )
        assert (both["cost_usd_per_mtok"] < both["cost_usd_per_mtok_parent"]).all()
        pairs += both.height
    assert pairs > 0  # labs and the open fringe did sell families


def _model(model_id: int, launched: int) -> Model:
    return Model(
        model_id=model_id,
        firm_id=1,
        business_model=BusinessModel.UPFRONT_HEAVY,
        allocation=Allocation.CHINCHILLA,
        params=1e11,
        train_tokens=2e12,
        train_flop=1.2e24,
        cost_usd=1e7,
        launched_month=launched,
        kappa=27.0,
    )


def test_a_model_leaves_the_line_when_it_stops_covering_its_upkeep() -> None:
    fp = ModelParams().firms
    lab = Lab(mesa.Model(), business_model=BusinessModel.UPFRONT_HEAVY, cash_usd=0.0)
    earner, loser, young = _model(1, 0), _model(2, 0), _model(3, 10)
    best = dataclasses.replace(_model(4, 0), kappa=28.0)  # kept whatever it earns
    lab.launch([earner, loser, young, best])
    upkeep = fp.model_upkeep_usd_per_month
    for _ in range(PROFIT_MEMORY_MONTHS):
        lab.record_model_profit(1, 2 * upkeep)
        lab.record_model_profit(2, 0.5 * upkeep)
        lab.record_model_profit(3, 0.0)
    assert lab.retirements(11, fp) == [loser]  # the young one is in its grace period
    assert set(lab.retirements(11 + fp.retire_grace_months, fp)) == {loser, young}


def test_in_a_market_models_retire_because_they_stop_paying(runs) -> None:
    # The same markets with free upkeep: a model is worth keeping as long as it earns
    # more than it costs to serve, so far fewer retire (only loss-makers).
    free = _small(firms={"model_upkeep_usd_per_month": 0.0})
    labs = ["upfront_heavy", "inference_heavy"]

    def retired(tables: dict[str, pl.DataFrame]) -> int:
        exits = tables["events"].filter(pl.col("kind") == "exit")["firm_id"]
        return (
            tables["models"]
            .filter(
                pl.col("business_model").is_in(labs)
                & pl.col("retired_month").is_not_null()
                & ~pl.col("firm_id").is_in(exits.implode())
            )
            .height
        )

    paid = sum(retired(t) for t in runs[:3])
    kept = sum(
        retired(run_one(RunSpec(f"f{k}", 0, k, free, 31, (k,), 120)).tables) for k in range(3)
    )
    assert paid > 0
    assert kept < paid / 2


def _gpt4_price_by_year(tables: dict[str, pl.DataFrame]) -> dict[int, float]:
    """Median over each year of the cheapest GPT-4-level list price, USD per Mtok."""
    year = (
        tables["market"]
        .with_columns(year=pl.col("month") // 12)
        .group_by("year")
        .agg(pl.col("price_usd_per_mtok_at_gpt4").median())
    )
    return dict(zip(year["year"], year["price_usd_per_mtok_at_gpt4"], strict=True))


def test_the_price_of_fixed_capability_falls(runs) -> None:
    # GPT-4-level capability, the cheapest list price on sale: in year 4 well below year 1
    # in every run, and far below the same market's without families (no distilled
    # versions, the open fringe releasing full-size models only), common random numbers:
    # old capability gets cheaper by being sold in ever smaller models.
    single = _small(
        firms={"distill": {"params_fracs": []}, "open_weights": {"family_params_fracs": [1.0]}}
    )
    for k, tables in enumerate(runs):
        price = _gpt4_price_by_year(tables)
        assert price[3] < 0.5 * price[0]
        if k < 3:
            alone = _gpt4_price_by_year(
                run_one(RunSpec(f"s{k}", 0, k, single, 31, (k,), 120)).tables
            )
            assert price[3] < 0.5 * alone[3]
    assert np.isfinite([t["market"]["price_usd_per_mtok_at_gpt4"][0] for t in runs]).all()
