"""What deciding firms are offered: the labs' offerings behind wrappers and distillation."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from aimarket.agents.business import Tier
from aimarket.sim import MarketModel, ModelParams
from aimarket.sim.projects import customer_sample


@pytest.fixture
def model() -> MarketModel:
    """A market a few months in: labs selling, offerings built."""
    params = ModelParams.model_validate(
        {
            "labs": 3,
            "customers": 300,
            "demand": {"pricing_sample_size": 100},
            "strategy": {"valuation_customers": 50},
            "entry": {"startup_arrivals_per_year": 0.0},
        }
    )
    m = MarketModel(params, seed=2, horizon_months=12)
    for _ in range(3):
        m.step()
    return m


def test_a_labs_supply_row_is_its_standard_offering_of_the_month(model: MarketModel) -> None:
    for lab in model.suppliers():
        row = model.supply_row(lab)
        expected = next(
            r
            for r in model.offer_rows
            if r.firm is lab and r.supplier is None and r.tier == Tier.STANDARD
        )
        assert row is expected
    # New offerings (a new list) are seen at once.
    lab = model.suppliers()[0]
    old = model.supply_row(lab)
    model.offer_rows = [dataclasses.replace(r) for r in model.offer_rows if r.firm is not lab]
    assert model.supply_row(lab) is None
    assert model.best_supply() is not old


def test_the_valuation_sample_is_kept_and_another_can_be_drawn(model: MarketModel) -> None:
    kept = customer_sample(model)
    assert customer_sample(model) is kept  # one sample for every valuation of the run
    columns = model.customers.stratified_columns(4 * model.params.strategy.valuation_customers)
    larger = customer_sample(model, columns)
    assert larger.segment.shape[0] == columns.shape[0] > kept.segment.shape[0]
    np.testing.assert_array_equal(
        larger.difficulty_kappa, model.customers.difficulty_kappa[columns]
    )
    assert customer_sample(model) is kept
