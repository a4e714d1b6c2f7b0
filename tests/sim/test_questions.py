"""The eight questions of design.md section 8, each on a small version of its shipped config.

Every test loads the config from ``experiments/configs/``, shrinks it (fewer customers and
months, a handful of replications with common random numbers) and asserts only the
direction the mechanism implies, on means over replications. docs/findings.md has the
full-size answers.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from aimarket.experiments.config import load_config
from aimarket.experiments.design import plan_runs
from aimarket.sim import run_one

CONFIGS = Path(__file__).resolve().parents[2] / "experiments" / "configs"
SMALL = (
    "model.customers=1200",
    "model.demand.pricing_sample_size=300",
    "model.strategy.valuation_customers=120",
)

pytestmark = pytest.mark.slow


def _specs(name: str, overrides: tuple[str, ...] = ()) -> list:
    """The run specs of a question config (with ``overrides``)."""
    path = CONFIGS / f"{name}.toml"
    _, specs = plan_runs(load_config(path, overrides=overrides), config_dir=path.parent)
    return specs


def _question(
    name: str,
    *,
    replications: int,
    months: int,
    extra: tuple[str, ...] = (),
    points: set[int] | None = None,
) -> dict[str, pl.DataFrame]:
    """Run a shrunk question config (only ``points``, if given); tables of every run, with
    ``point_id`` attached."""
    overrides = (
        f"experiment.replications={replications}",
        f"experiment.horizon_months={months}",
        *SMALL,
        *extra,
    )
    specs = [s for s in _specs(name, overrides) if points is None or s.point_id in points]
    assert specs, f"{name}: no run at points {points}"
    frames: dict[str, list[pl.DataFrame]] = {
        t: [] for t in ("summary", "market", "firms", "offers", "models", "events")
    }
    for spec in specs:
        result = run_one(spec)
        assert result.status == "done", result.error
        for table, parts in frames.items():
            parts.append(
                result.tables[table].with_columns(
                    point_id=pl.lit(spec.point_id), replicate=pl.lit(spec.replicate)
                )
            )
    return {table: pl.concat(parts) for table, parts in frames.items()}


def _by_point(frame: pl.DataFrame, expr: pl.Expr) -> np.ndarray:
    """Mean over replications of ``expr`` (one value per run), one entry per point."""
    per_run = frame.group_by("point_id", "replicate").agg(expr.alias("v"))
    means = per_run.group_by("point_id").agg(pl.col("v").mean()).sort("point_id")
    return means["v"].to_numpy()


def test_regimes_inference_world_spends_more_per_query() -> None:
    t = _question("regimes", replications=5, months=60)  # point 0: upfront, 1: inference
    # Serving cost per query of what customers pay for (free plans, served on labs'
    # cheapest models, left out).
    paid = t["offers"].filter(pl.col("tier") != "free")
    cost_per_query = _by_point(
        paid, (pl.col("cost_usd_per_mtok") * pl.col("tokens")).sum() / pl.col("queries").sum()
    )
    effort = _by_point(
        t["firms"].filter(pl.col("business_model") == "inference_heavy"),
        (pl.col("inference_multiplier") * pl.col("queries")).sum() / pl.col("queries").sum(),
    )
    assert effort[1] > effort[0]  # reasoning buys more where test-time compute pays
    assert cost_per_query[1] > cost_per_query[0]


def test_free_entry_puts_more_firms_on_sale() -> None:
    t = _question(
        "regimes",
        replications=5,
        months=48,
        extra=("model.market.regime=balanced",),
    )
    closed = _question(
        "regimes",
        replications=5,
        months=48,
        extra=("model.market.regime=balanced", "model.entry.startup_arrivals_per_year=0"),
    )
    # Entrants sell (concentration need not fall: they also take the open fringe's
    # customers, which the HHI counts as atomistic; docs/findings.md).
    selling = _by_point(t["market"], pl.col("firms_selling").mean()).mean()
    closed_selling = _by_point(closed["market"], pl.col("firms_selling").mean()).mean()
    assert selling > closed_selling


def test_an_inference_world_spends_more_tokens_per_query() -> None:
    # Where test-time compute buys more capability, customers choose longer answers: more
    # tokens per query, so more serving per query. (Whether inference then overtakes
    # training sooner is not implied: with growing demand, firms there also train more;
    # docs/findings.md question 2 finds the months not resolved.)
    t = _question("inference_overtakes", replications=4, months=36)  # upfront, balanced, inf
    effort = _by_point(
        t["firms"],
        (pl.col("inference_multiplier") * pl.col("queries")).sum() / pl.col("queries").sum(),
    )
    assert effort[2] > effort[0]


def test_algorithms_and_distillation_drive_the_price_of_fixed_capability_down() -> None:
    # Hardware's part is small and at this size unresolved (16 replications: medians of
    # 0.0055 against 0.0055 USD/Mtok in session 14): firms respond to dearer serving
    # with smaller distilled models. tests/sim/test_hardware_progress.py tests its
    # mechanism; algorithms and distillation are each worth orders of magnitude here.
    t = _question("price_decline", replications=8, months=60)
    late = t["market"].filter(pl.col("month") >= 48)
    # A level never on sale is infinitely dear (with research compute, labs without
    # algorithmic progress may never reach it).
    on_sale = pl.col("price_usd_per_mtok_at_reference").fill_nan(None).fill_null(math.inf)
    price = _by_point(late, on_sale.median())
    # point 0: every cause; 2: no algorithmic progress; 4: no useful distillation
    assert price[0] < price[2]
    assert price[0] < price[4]


def test_bigger_markets_reward_overtraining_and_hold_more_firms() -> None:
    t = _question("allocation", replications=4, months=60)  # 1e7, 1e8, 1e9 customers
    firms = _by_point(t["summary"], pl.col("firms_active_final").cast(pl.Float64).first())
    assert firms[2] > firms[0]  # fixed costs loom larger in a small market
    # Overtrained models are smaller than compute-optimal ones wherever firms build them.
    models = t["models"]
    per_param = models.group_by("allocation").agg(pl.col("tokens_per_param").median())
    ratio = dict(zip(per_param["allocation"], per_param["tokens_per_param"], strict=True))
    assert ratio["inference_aware"] > ratio["chinchilla"]


def test_faster_progress_erodes_wrappers() -> None:
    # Scaffolding loses its edge with every OOM the frontier gains, so with faster progress
    # wrappers earn a smaller share of the market. (Whether each wrapper rebuilds more
    # often is not implied: those that last are the slow world's, and at the question's
    # full size the rebuild rate does not rise with the speed; docs/findings.md, question
    # 6. The gap opens as the frontier pulls away, so the run is the full ten years.)
    t = _question("wrappers", replications=8, months=120)  # halving 16, 8, 4 months
    share = _by_point(t["summary"], pl.col("wrapper_revenue_share_last_year").mean())
    assert share[2] < share[0]


def test_more_price_sensitive_subscribers_get_fees_closer_to_cost() -> None:
    # points: price elasticity 1.5, 2, 4, each in the upfront then the inference regime;
    # more price-sensitive customers push plan fees toward their serving cost. (Which
    # subscribers then cost more than their fee also depends on who subscribes, which free
    # plans and research compute change; docs/findings.md question 7 reports that share.)
    t = _question("subscriptions", replications=8, months=60)  # the sweep's five years
    plans = t["offers"].filter(pl.col("plan") & (pl.col("tier") != "free"))
    serving = pl.col("tokens") * pl.col("cost_usd_per_mtok") / 1e6
    markup = _by_point(plans, pl.col("revenue_usd").sum() / serving.sum())
    assert markup[4] < markup[0]  # elasticity 4 vs 1.5, upfront regime
    assert markup[5] < markup[1]  # the same, inference regime


def test_a_cheaper_inference_chip_lowers_prices() -> None:
    t = _question("inference_chip", replications=4, months=48)  # cost factor 1, 0.5, 0.2
    late = t["market"].filter(pl.col("month") >= 30)
    price = _by_point(late, pl.col("price_usd_per_mtok_at_reference").median())
    cost = _by_point(late, pl.col("serving_cost_usd").sum() / pl.col("queries").sum())
    assert cost[2] < cost[0]
    assert price[2] < price[0]


def test_business_contracts_concentrate_the_market_and_raise_margins() -> None:
    # Question 1 by channel: customers held by their contracts stay with the firm they
    # chose, and firms price toward those they hold (certain buyers in their pricing), so
    # with contracts revenue is more concentrated and gross margins are higher, in either
    # world. Points of the factorial: both worlds, contracts of 12 months or none, the
    # other channels (distribution, segment leads) on.
    others_on = {
        s.point_id: (s.params.market.regime, s.params.demand.contract_months)
        for s in _specs("concentration_channels")
        if s.params.demand.brand_utility > 0 and s.params.firms.segment_lead_sd_oom > 0
    }
    assert sorted(others_on.values()) == sorted(
        (regime, months) for regime in ("upfront_heavy", "inference_heavy") for months in (1, 12)
    )
    t = _question("concentration_channels", replications=6, months=60, points=set(others_on))
    hhi = _by_point(t["summary"], pl.col("hhi_revenue_mean").mean())
    margin = _by_point(t["summary"], pl.col("gross_margin_mean").mean())
    ids = sorted(others_on)  # _by_point's order
    held = np.array([others_on[p][1] > 1 for p in ids])
    assert hhi[held].sum() > hhi[~held].sum()
    assert margin[held].sum() > margin[~held].sum()


def test_open_weights_by_choice_leave_the_fringe_less_to_serve() -> None:
    # Question 1 with open weights as a decision: with the fixed lag the fringe serves the
    # frontier of a few months before; when it serves only what firms choose to give away
    # (no complement: only the brand an open model's use brings), it has less to sell,
    # in either world.
    lag_or_choice = {
        s.point_id: s.params.firms.open_weights.releases
        for s in _specs("open_weights_decision")
        if s.params.firms.open_weights.complement_usd_per_query == 0
    }
    assert sorted(lag_or_choice.values()) == ["decision", "decision", "lag", "lag"]
    t = _question("open_weights_decision", replications=4, months=60, points=set(lag_or_choice))
    share = _by_point(t["market"], pl.col("open_weights_revenue_share").mean())
    lag = np.array([lag_or_choice[p] == "lag" for p in sorted(lag_or_choice)])
    assert share[~lag].sum() < share[lag].sum()
    assert (t["events"]["kind"] == "release").any()


def test_reasoning_worlds_put_more_of_their_training_into_post_training() -> None:
    # Post-training pays more for models that reason (docs/model.md, "Post-training"), so
    # the inference-heavy world spends a larger share of lab training compute on it than
    # the upfront-heavy one; and no lab spends more on it than on pre-training.
    t = _question("lifecycle", replications=3, months=36, points={0, 4})
    labs = pl.col("business_model").is_in(["upfront_heavy", "inference_heavy"])
    flagships = t["models"].filter(labs & (pl.col("role") == "flagship"))
    share = _by_point(flagships, pl.col("posttrain_flop").sum() / pl.col("train_flop").sum())
    upfront, inference = share  # points 0 and 4: tools on, upfront- and inference-heavy
    assert 0 < upfront < inference < 0.5


def test_big_users_build_captive_models_that_sell_at_cost_in_their_segment() -> None:
    # Make or buy (docs/model.md): where buyers build, their model sells at its unit cost
    # and in their own segment only, one of those the config names.
    t = _question("captives", replications=2, months=48)
    entries = t["events"].filter(
        (pl.col("kind") == "entry") & pl.col("detail").str.starts_with("captive ")
    )
    assert entries.height > 0
    named = {"coding", "enterprise_analytics", "science", "frontier_research"}
    assert set(entries["detail"].str.strip_prefix("captive ")) <= named
    owners = t["firms"].filter(pl.col("kind") == "captive").select("run_id", "firm_id")
    sold = t["offers"].join(owners.unique(), on=["run_id", "firm_id"], how="semi")
    assert sold.filter(pl.col("revenue_usd") > 0).height > 0
    price, cost = sold["price_usd_per_mtok"].to_numpy(), sold["cost_usd_per_mtok"].to_numpy()
    np.testing.assert_allclose(price, cost, rtol=1e-9)
    models = t["models"].filter(pl.col("business_model") == "captive")
    assert set(models["segment"].cast(pl.String)) <= named
