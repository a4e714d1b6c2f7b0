"""One run: determinism, phase order, and the market's invariants over drawn configs."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from aimarket.markets.costs import HOURS_PER_MONTH
from aimarket.sim import MarketModel, ModelParams, RunSpec, run_one
from aimarket.sim.record import validate
from aimarket.sim.schemas import SCHEMAS


def _run(params: ModelParams, seed: int, months: int = 24) -> dict[str, pl.DataFrame]:
    model = MarketModel(params, seed=seed, horizon_months=months)
    model.run_model()
    return model.tables()


def test_same_seed_same_tables(small_params: ModelParams) -> None:
    a, b = _run(small_params, 7), _run(small_params, 7)
    for name in ("market", "firms"):
        assert_frame_equal(a[name], b[name])


def test_another_seed_differs(small_params: ModelParams) -> None:
    a, b = _run(small_params, 7), _run(small_params, 8)
    assert not a["firms"]["revenue_usd"].equals(b["firms"]["revenue_usd"])


def test_seed_sequence_and_int_entropy_agree(small_params: ModelParams) -> None:
    a = _run(small_params, 11, months=6)
    b = _run(small_params, np.random.SeedSequence(11), months=6)  # type: ignore[arg-type]
    assert_frame_equal(a["market"], b["market"])


def test_run_one_matches_model_and_records_run(small_params: ModelParams) -> None:
    spec = RunSpec("p0-r0", 0, 0, small_params, seed_entropy=5, spawn_key=(0,), horizon_months=6)
    result = run_one(spec)
    assert result.status == "done"
    model = MarketModel(small_params, seed=spec.seed, horizon_months=6, run_id="p0-r0")
    model.run_model()
    assert_frame_equal(result.tables["market"], model.tables()["market"])
    runs = result.tables["runs"]
    assert runs["status"].to_list() == ["done"]
    validate("summary", result.tables["summary"])
    assert runs["months"].to_list() == [6]


def test_failed_run_is_recorded_not_raised() -> None:
    # A spec whose start month is malformed fails inside the run, not in the caller.
    spec = RunSpec("bad", 0, 0, _small(customers=10), 1, (0,), 3, start_month="20x5-01")
    result = run_one(spec)
    assert result.status == "failed"
    assert "Traceback" in (result.error or "")
    assert set(result.tables) == {"runs"}
    assert result.tables["runs"]["status"].to_list() == ["failed"]


def test_tables_follow_declared_schemas(small_params: ModelParams) -> None:
    tables = _run(small_params, 3)
    assert set(tables) == {"market", "firms", "offers", "models", "events"}
    for name, frame in tables.items():
        validate(name, frame)
        assert frame.columns == SCHEMAS[name].column_names()
    assert tables["market"]["month"].to_list() == list(range(24))


def test_step_is_one_month(small_params: ModelParams) -> None:
    model = MarketModel(small_params, seed=1, horizon_months=3)
    model.step()
    assert model.month == 1
    assert model.tables()["market"].height == 1
    model.run_model()
    assert model.month == 3
    assert not model.running


def _small(**overrides) -> ModelParams:
    """Small, fast parameters: few customers, small samples for firms' decisions."""
    base = {
        "customers": 300,
        "demand": {"pricing_sample_size": 100},
        "strategy": {"valuation_customers": 50},
    }
    for key, value in overrides.items():
        if isinstance(value, dict):
            base[key] = {**base.get(key, {}), **value}
        else:
            base[key] = value
    return ModelParams.model_validate(base)


def _drawn(
    labs,
    customers,
    regime,
    routing,
    fast,
    arrivals,
    capital,
    nest,
    review,
    noise,
    inertia,
    grow,
    gpus=(400_000.0, 6),
    free=30.0,
    contracts=1,
):
    aware, imitation, usage, adjust = grow
    supply, lead = gpus
    return _small(
        hardware={"gpu_supply": supply},
        capacity={"lead_months": lead},
        labs=labs,
        customers=customers,
        market={
            "regime": regime,
            "priority_tier": fast,
            "batch_tier": not fast,
            "free_tier": {"allowance_queries_per_month": free},
        },
        demand={
            "routing": routing,
            "nest_frac": nest,
            "pricing_sample_size": 100,
            "elasticity": noise,
            "switching_inertia": inertia,
            "adoption": {"initial_frac": aware, "imitation_per_month": imitation},
            "usage": {"price_elasticity": usage, "adjustment_per_month": adjust},
            "contract_segments": ["enterprise_analytics", "coding"],
            "contract_months": contracts,
        },
        entry={"startup_arrivals_per_year": arrivals},
        finance={"capital_market_index": capital},
        strategy={"review_months": review, "valuation_customers": 50},
    )


drawn_params = st.builds(
    _drawn,
    labs=st.integers(1, 5),
    # From fewer customers than segments (most segments then have nobody) upwards.
    customers=st.integers(3, 400),
    regime=st.sampled_from(["balanced", "upfront_heavy", "inference_heavy"]),
    routing=st.booleans(),
    fast=st.booleans(),
    arrivals=st.sampled_from([0.0, 6.0, 24.0]),
    capital=st.sampled_from([0.0, 0.3, 1.0, 3.0]),
    nest=st.sampled_from([0.2, 0.5, 1.0]),
    review=st.integers(1, 6),
    # Customers from nearly indifferent to price to very sensitive to it.
    noise=st.sampled_from([1.05, 2.0, 20.0]),
    inertia=st.sampled_from([0.0, 1.0, 5.0]),
    # Adoption from nearly nobody to everyone, none to fast word of mouth; usage from
    # fixed to very elastic, moving a fifth of the way a month or all of it.
    grow=st.tuples(
        st.sampled_from([0.01, 0.4, 1.0]),
        st.sampled_from([0.0, 0.1, 0.5]),
        st.sampled_from([0.0, 0.5, 2.0]),
        st.sampled_from([0.2, 1.0]),
    ),
    # From GPUs too few to serve the market (serving rationed, spot at its cap) to plenty;
    # capacity booked for next month or half a year ahead.
    gpus=st.tuples(st.sampled_from([50.0, 5_000.0, 400_000.0]), st.sampled_from([1, 6])),
    # No free plans, a casual user's month, or more than most users' month.
    free=st.sampled_from([0.0, 30.0, 3000.0]),
    # Business customers choosing monthly, or under contracts of a quarter or two years.
    contracts=st.sampled_from([1, 3, 24]),
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(params=drawn_params, seed=st.integers(0, 2**32))
def test_market_invariants(params: ModelParams, seed: int) -> None:
    months = 10
    model = MarketModel(params, seed=seed, horizon_months=months)
    paid, revenue, wholesale_in, wholesale_out = [], [], [], []
    for _ in range(months):
        model.step()
        out = model.outcome
        assert out is not None
        paid.append(out.choice.spend_usd.sum())
        revenue.append(out.customer_revenue_usd.sum())
        wholesale_in.append(out.wholesale_revenue_usd.sum())
        wholesale_out.append(out.serving_cost_usd.sum() - out.compute_usd.sum())
    # Firms' revenue from customers (price x units, segment by segment) equals what
    # customers paid, summed customer by customer; wholesale paid equals wholesale earned.
    np.testing.assert_allclose(revenue, paid, rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(wholesale_in, wholesale_out, rtol=1e-9, atol=1e-6)
    tables = model.tables()
    for name, frame in tables.items():
        validate(name, frame)  # schemas forbid NaN and inf in every float column
    market, firms = tables["market"], tables["firms"]
    for frame in (market, firms):
        floats = frame.select(pl.col(pl.Float64))
        assert not floats.select(pl.any_horizontal(pl.all().is_nan().any())).item()
    # Shares sum to 1 in every month with revenue.
    sums = firms.group_by("month").agg(
        pl.col("share_revenue").sum(), pl.col("customer_revenue_usd").sum().alias("rev")
    )
    with_rev = sums.filter(pl.col("rev") > 0)
    np.testing.assert_allclose(with_rev["share_revenue"].to_numpy(), 1.0, rtol=1e-9)
    # HHI within [10,000 (1 - f)^2 / n_selling, 10,000], f the atomistic open-weights
    # fringe's share of revenue (f = 0 without it).
    selling = market.filter((pl.col("revenue_usd") > 0) & (pl.col("firms_selling") > 0))
    strategic = 1.0 - selling["open_weights_revenue_share"]
    lower = 10_000 * strategic**2 / selling["firms_selling"].cast(pl.Float64)
    assert (selling["hhi_revenue"] >= lower * (1 - 1e-9) - 1e-6).all()
    assert (selling["hhi_revenue"] <= 10_000 * strategic**2 + 1e-6).all()
    # Every firm's cash moves by revenue - serving - training - research - opex + funding; a
    # startup's first row starts from zero, a lab's from its starting cash.
    start = params.finance.lab_initial_cash_usd
    for _, group in firms.sort("month").group_by("firm_id"):
        flow = (
            group["revenue_usd"]
            - group["serving_cost_usd"]
            - group["training_spend_usd"]
            - group["research_spend_usd"]
            - group["opex_usd"]
            + group["funding_usd"]
        ).to_numpy()
        cash = group["cash_usd"].to_numpy()
        before = np.concatenate(([start if group["kind"][0] == "lab" else 0.0], cash[:-1]))
        if group["kind"][0] == "lab" and group["month"][0] > 0:
            before[0] = cash[0] - flow[0]  # not a starting lab's first month: skip it
        np.testing.assert_allclose(cash - before, flow, rtol=1e-9, atol=1e-3)
    # Per model and tier: a usage offering's revenue is its one list price times the tokens
    # sold, and the offerings' revenue adds up to each firm's customer revenue.
    offers = tables["offers"]
    usage = offers.filter(~pl.col("plan"))
    np.testing.assert_allclose(
        usage["revenue_usd"].to_numpy(),
        (usage["price_usd_per_mtok"] * usage["tokens"] / 1e6).to_numpy(),
        rtol=1e-9,
        atol=1e-6,
    )
    by_firm = offers.group_by("month", "firm_id").agg(pl.col("revenue_usd").sum())
    joined = firms.join(by_firm, on=["month", "firm_id"], how="left").fill_null(0.0)
    np.testing.assert_allclose(
        joined["revenue_usd_right"].to_numpy(),
        joined["customer_revenue_usd"].to_numpy(),
        rtol=1e-6,
        atol=1e-3,
    )
    # GPUs used never exceed the supply; every firm pays for the capacity it holds under
    # contract, used or not (at least the contract discount off the spot floor), on
    # serving's books where its research and training did not use it.
    used = market["gpus_training"] + market["gpus_contracted"] + market["gpus_spot_serving"]
    assert (used <= market["gpu_supply"] * (1 + 1e-9)).all()
    cap, hw = params.capacity, params.hardware
    least = (1 - cap.contract_discount_frac) * hw.rental_floor_usd_per_hour * HOURS_PER_MONTH
    # Research and training use contracted GPUs only as far as the firm holds them, and
    # take their share of the bill off serving's.
    rnd = firms["contract_rnd_gpus"]
    assert (rnd <= firms["contracted_gpus"] * (1 + 1e-9) + 1e-9).all()
    serving_floor = (firms["contracted_gpus"] - rnd) * least * (1 - 1e-9)
    assert (firms["serving_cost_usd"] >= serving_floor - 1e-6).all()
    # Months run in order, one market row each.
    assert market["month"].to_list() == list(range(months))
    # Users are paying or free; a free plan earns nothing, and its converts' fees are part
    # of its lab's customer revenue.
    np.testing.assert_allclose(
        market["paying_users"] + market["free_users"], market["users"], rtol=1e-9, atol=1e-6
    )
    assert (offers.filter(pl.col("tier") == "free")["revenue_usd"] == 0.0).all()
    assert (firms["funnel_revenue_usd"] <= firms["customer_revenue_usd"] * (1 + 1e-9)).all()
    # Nobody who does not consider AI uses it, and adoption never falls.
    assert (market["adoption_frac"] <= market["aware_frac"] * (1 + 1e-9)).all()
    assert (market["aware_frac"].diff().drop_nulls() >= 0).all()


def test_a_market_with_nothing_on_sale_still_runs() -> None:
    # One lab whose model costs more to keep than it earns, no project it can afford, no
    # open weights, no entrants: the lab runs out of cash and leaves.
    params = _small(
        labs=1,
        firms={
            "model_age_months": 0,
            "retire_grace_months": 0,
            "model_upkeep_usd_per_month": 1e11,
            "open_weights": {"enabled": False},
            "distill": {"params_fracs": []},
        },
        strategy={"budget_multiples": [1e3]},
        finance={"capital_market_index": 0.0, "lab_initial_cash_usd": 1e11},
        entry={"startup_arrivals_per_year": 0.0},
    )
    model = MarketModel(params, seed=3, horizon_months=12)
    model.run_model()
    market = validate("market", model.tables()["market"])
    assert market["revenue_usd"][0] > 0
    assert market["revenue_usd"][-1] == 0.0
    assert market["hhi_revenue"][-1] == 0.0
    assert market["firms_active"][-1] == 0
    events = model.tables()["events"]
    assert "exit" in set(events["kind"].cast(pl.String).to_list())


@pytest.mark.parametrize("first", ["recording", "hardware"])
def test_phase_order_does_not_depend_on_start_order(first: str) -> None:
    import simpy

    from aimarket.sim.clock import Phase, at_phase

    env = simpy.Environment()
    log: list[str] = []

    def proc(name: str, phase: Phase):
        yield at_phase(env, 0, phase)
        while True:
            log.append(f"{env.now}:{name}")
            yield at_phase(env, 1, phase)

    def state():
        while True:
            log.append(f"{env.now}:state")
            yield env.timeout(1)

    procs = {
        "recording": lambda: env.process(proc("record", Phase.RECORDING)),
        "clearing": lambda: env.process(proc("clear", Phase.CLEARING)),
        "strategy": lambda: env.process(proc("price", Phase.STRATEGY)),
        "hardware": lambda: env.process(state()),
    }
    order = [first] + [k for k in procs if k != first]
    for key in order:
        procs[key]()
    env.run(until=2)
    assert log == [f"{t}:{n}" for t in (0, 1) for n in ("state", "price", "clear", "record")]


LONG_CONFIGS = {
    "no capital market": {"finance": {"capital_market_index": 0.0}},
    "heavy entry, routing": {
        "entry": {"startup_arrivals_per_year": 12.0},
        "demand": {"routing": True, "pricing_sample_size": 100},
    },
    "close substitutes, inference world": {
        "demand": {"nest_frac": 0.2, "pricing_sample_size": 100},
        "market": {"regime": "inference_heavy", "priority_tier": False, "batch_tier": False},
    },
    "scarce GPUs, inference chip, 8 labs": {
        "hardware": {"gpu_supply": 20_000.0, "inference_chip_month": 30},
        "labs": 8,
    },
    "short model lives, monthly reviews, A100": {
        "hardware": {"gpu": "a100"},
        "firms": {"amortisation_months": 6, "retire_grace_months": 1},
        "strategy": {"review_months": 1, "valuation_customers": 50},
    },
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(LONG_CONFIGS))
def test_ten_years_of_unusual_markets(name: str) -> None:
    params = _small(customers=1000, **LONG_CONFIGS[name])
    result = run_one(RunSpec(name, 0, 0, params, 5, (0,), 120))
    assert result.status == "done", result.error
    for table, frame in result.tables.items():
        validate(table, frame)
    assert result.tables["market"].height == 120


def test_a_population_smaller_than_its_segment_list_runs() -> None:
    # Three customers for six segments: most segments have nobody to sell to, and the
    # valuation sample has empty segments; firms still value, price and book finite amounts.
    params = _small(customers=3)
    result = run_one(RunSpec("tiny", 0, 0, params, 5, (0,), 24))
    assert result.status == "done", result.error
    for table, frame in result.tables.items():
        validate(table, frame)
    market = result.tables["market"]
    assert market.height == 24
    assert market["revenue_usd"].is_finite().all()
    assert market["hhi_revenue"].is_between(0, 10_000).all()
