"""One run: determinism, phase order, and the market's invariants over drawn configs."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from sim import MarketModel, ModelParams, RunSpec, run_one
from sim.record import validate
from sim.schemas import SCHEMAS


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
    assert runs["months"].to_list() == [6]


def test_failed_run_is_recorded_not_raised() -> None:
    # A spec whose start month is malformed fails inside the run, not in the caller.
    spec = RunSpec("bad", 0, 0, ModelParams(customers=10), 1, (0,), 3, start_month="20x5-01")
    result = run_one(spec)
    assert result.status == "failed"
    assert "Traceback" in (result.error or "")
    assert set(result.tables) == {"runs"}
    assert result.tables["runs"]["status"].to_list() == ["failed"]


def test_tables_follow_declared_schemas(small_params: ModelParams) -> None:
    tables = _run(small_params, 3)
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


params_strategy = st.builds(
    ModelParams,
    labs=st.integers(1, 7),
    customers=st.integers(50, 800),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    params=params_strategy,
    seed=st.integers(0, 2**32),
    regime=st.sampled_from(["balanced", "upfront_heavy", "inference_heavy"]),
)
def test_market_invariants(params: ModelParams, seed: int, regime: str) -> None:
    params = params.model_copy(
        update={"market": params.market.model_copy(update={"regime": regime})}
    )
    model = MarketModel(params, seed=seed, horizon_months=8)
    paid, revenue = [], []
    for _ in range(8):
        model.step()
        out = model.outcome
        assert out is not None
        paid.append(out.choice.spend_usd.sum())
        revenue.append(out.revenue_usd.sum())
    # Firm revenue (price x queries, segment by segment) equals what customers paid,
    # summed customer by customer.
    np.testing.assert_allclose(revenue, paid, rtol=1e-9)
    tables = model.tables()
    market, firms = validate("market", tables["market"]), validate("firms", tables["firms"])
    # No NaN or inf anywhere (the schemas forbid them; check directly too).
    for frame in (market, firms):
        floats = frame.select(pl.col(pl.Float64))
        assert not floats.select(pl.any_horizontal(pl.all().is_nan().any())).item()
        assert not floats.select(pl.any_horizontal(pl.all().is_infinite().any())).item()
    # Shares sum to 1 in every month with revenue.
    sums = firms.group_by("month").agg(
        pl.col("share_revenue").sum(), pl.col("revenue_usd").sum().alias("rev")
    )
    with_rev = sums.filter(pl.col("rev") > 0)
    np.testing.assert_allclose(with_rev["share_revenue"].to_numpy(), 1.0, rtol=1e-9)
    # HHI within [10,000 / n_active, 10,000].
    lower = 10_000 / market["firms_active"].cast(pl.Float64)
    active = market.filter(pl.col("revenue_usd") > 0)
    assert (active["hhi_revenue"] >= lower.filter(market["revenue_usd"] > 0) - 1e-6).all()
    assert (market["hhi_revenue"] <= 10_000 + 1e-9).all()
    # Cash moves by exactly revenue minus serving cost (no training or funding yet).
    for _, group in firms.sort("month").group_by("firm_id"):
        cash = group["cash_usd"].to_numpy()
        flow = (group["revenue_usd"] - group["serving_cost_usd"]).to_numpy()
        np.testing.assert_allclose(np.diff(cash), flow[1:], rtol=1e-9, atol=1e-3)


@pytest.mark.parametrize("first", ["recording", "hardware"])
def test_phase_order_does_not_depend_on_start_order(first: str) -> None:
    import simpy

    from sim.clock import Phase, at_phase

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
