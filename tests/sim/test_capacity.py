"""Compute capacity: contracts booked ahead and paid whether used or not, serving before
training, and scarcity that rations serving and raises the spot price."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import simpy
from hypothesis import given
from hypothesis import strategies as st

from aimarket.agents.capacity import CapacityTerms, Contract, capacity_order_gpus, contract_use
from aimarket.markets.capacity import serve_from_capacity
from aimarket.markets.costs import HOURS_PER_MONTH
from aimarket.sim import MarketModel, ModelParams
from aimarket.sim.capacity import settle_serving
from aimarket.sim.gpus import GpuMarket
from aimarket.sim.params import CapacityParams, HardwareParams

TERMS = CapacityParams().terms()


def _market(supply: float = 100.0) -> GpuMarket:
    return GpuMarket(
        simpy.Environment(),
        HardwareParams(gpu_supply=supply, gpu_supply_growth_per_year=1.0),
        TERMS,
    )


def _contracted(rnd_gpus: float = 0.0) -> tuple[GpuMarket, SimpleNamespace, SimpleNamespace]:
    """Month 1 of a market where firm 1 holds 40 GPUs under contract at $1.5 (spot $2),
    ``rnd_gpus`` of them taken by its research and training: the market, the model as
    settlement reads it, and the firm."""
    gpus = _market()
    gpus.sign(Contract(firm_id=1, gpus=40.0, start_month=1, end_month=3, usd_per_gpu_hour=1.5))
    gpus.env.run(until=1)
    gpus.grow_to(1)
    model = SimpleNamespace(technology=SimpleNamespace(usd_per_gpu_hour=2.0), gpus=gpus)
    firm = SimpleNamespace(
        firm_id=1,
        serving_need_gpus=[],
        served_frac=1.0,
        month_contract_rnd_gpus=rnd_gpus,
        month_contract_rnd_usd=rnd_gpus * HOURS_PER_MONTH * 1.5,
    )
    return gpus, model, firm


def test_take_or_pay_contracts_are_paid_for_whether_used_or_not() -> None:
    gpus, model, idle = _contracted()
    assert gpus.held_gpus(1) == 40.0
    assert gpus.free.level == 60.0
    settled = settle_serving(model, (idle,), [], np.zeros(0))  # serves nothing
    np.testing.assert_allclose(settled.gpu_usd, [40.0 * HOURS_PER_MONTH * 1.5])
    gpus.env.run(until=3)
    gpus.grow_to(3)  # the contract has run out: its GPUs are back on the spot market
    assert gpus.held_gpus(1) == 0.0
    assert gpus.free.level == 100.0


_GPUS = st.floats(0.0, 1e6)


@given(held=_GPUS, serving=_GPUS, research=_GPUS, training=_GPUS)
def test_contracted_gpus_go_to_serving_then_research_then_training(
    held: float, serving: float, research: float, training: float
) -> None:
    use = contract_use(held, serving, research, training)
    idle = max(held - serving, 0.0)
    assert 0.0 <= use.research_gpus <= min(research, idle)
    assert 0.0 <= use.training_gpus <= training
    assert use.research_gpus + use.training_gpus <= idle * (1 + 1e-12)
    # Research first: training gets contracted GPUs only once research has all it needs,
    # and the idle GPUs go unused only when both have all they need.
    if use.training_gpus > 0:
        assert use.research_gpus == research
    if use.research_gpus + use.training_gpus < idle * (1 - 1e-12):
        assert (use.research_gpus, use.training_gpus) == (research, training)


def test_serving_gets_the_contracted_gpus_research_and_training_left() -> None:
    # 40 GPUs under contract at $1.5, 30 of them (and their share of the bill) taken by
    # the firm's research and training this month: a serving need of 20 gets 10 from the
    # contract and rents 10 on the spot market at $2; serving pays the contract's other
    # quarter and the rent.
    _, model, firm = _contracted(rnd_gpus=30.0)
    row = SimpleNamespace(firm=firm, supplier=None)
    need_usd = np.array([20.0 * 2.0 * HOURS_PER_MONTH])
    settled = settle_serving(model, (firm,), [row], need_usd)
    assert firm.contract_serving_gpus == pytest.approx(10.0)
    np.testing.assert_allclose(settled.gpu_usd, [HOURS_PER_MONTH * (10.0 * 1.5 + 10.0 * 2.0)])
    assert settled.served_frac[0] == pytest.approx(1.0)


def test_a_contract_gets_only_the_gpus_nobody_holds() -> None:
    gpus = _market(supply=100.0)
    gpus.free.get(70.0)  # a training run holds 70
    gpus.sign(Contract(1, 50.0, 1, 13, 1.0))
    gpus.env.run(until=1)
    gpus.grow_to(1)
    assert gpus.held_gpus(1) == pytest.approx(30.0)
    assert gpus.free.level == pytest.approx(0.0)


def test_an_exiting_firm_hands_its_contracts_back() -> None:
    gpus = _market()
    gpus.sign(Contract(1, 40.0, 1, 13, 1.0))
    gpus.sign(Contract(1, 10.0, 5, 17, 1.0))
    gpus.env.run(until=1)
    gpus.grow_to(1)
    gpus.release(1)
    assert gpus.held_gpus(1) == 0.0
    assert gpus.held_gpus(1, month=5) == 0.0
    assert gpus.free.level == 100.0


def test_serving_comes_before_new_training_runs() -> None:
    gpus = _market(supply=100.0)
    gpus.record_serving(serve_from_capacity(np.array([70.0]), np.array([0.0]), 100.0))
    assert gpus.trainable_gpus == pytest.approx(30.0)


def test_firms_book_ahead_for_the_markets_growth_within_a_cap() -> None:
    terms = CapacityTerms(
        lead_months=6,
        contract_months=12,
        contract_discount_frac=0.35,
        peak_to_average=1.0,
        max_growth_per_month=1.2,
        trend_months=3,
    )
    flat = capacity_order_gpus([100.0], [10.0] * 4, 0.0, terms)
    growing = capacity_order_gpus([100.0], [10.0, 11.0, 12.1, 13.31], 0.0, terms)
    booming = capacity_order_gpus([100.0], [10.0, 20.0, 40.0, 80.0], 0.0, terms)
    assert flat == pytest.approx(100.0)
    assert growing == pytest.approx(100.0 * 1.1**6)
    assert booming == pytest.approx(100.0 * 1.2**6)  # the forecast's cap
    assert capacity_order_gpus([100.0], [10.0] * 4, 150.0, terms) == 0.0
    assert capacity_order_gpus([0.0], [10.0] * 4, 0.0, terms) == 0.0
    # The base load is the least need of the last three months.
    assert capacity_order_gpus([10.0, 500.0, 100.0, 50.0], [10.0] * 4, 0.0, terms) == 50.0


def _run(supply: float, seed: int, months: int = 12) -> dict:
    params = ModelParams.model_validate(
        {
            "customers": 400,
            "hardware": {"gpu_supply": supply},
            "demand": {"pricing_sample_size": 100},
            "strategy": {"valuation_customers": 50},
        }
    )
    model = MarketModel(params, seed=seed, horizon_months=months)
    model.run_model()
    return model.tables()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_capacity_shortfall_rations_serving_and_raises_the_spot_price(seed: int) -> None:
    plenty, scarce = (_run(s, seed)["market"] for s in (1e9, 4_000.0))
    assert (plenty["served_frac"] == 1.0).all()
    assert scarce["served_frac"].min() < 1.0
    assert scarce["usd_per_gpu_hour"].mean() > plenty["usd_per_gpu_hour"].mean()
    # Rationed queries are neither served nor paid for.
    assert scarce["tokens"].sum() < plenty["tokens"].sum()
