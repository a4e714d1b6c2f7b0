"""What deciding firms are offered: candidate lists and the labs' offerings behind them."""

from __future__ import annotations

import dataclasses

import pytest

from agents.business import BusinessModel, Tier
from sim import MarketModel, ModelParams
from sim.projects import build_candidates


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


def test_each_firm_gets_its_part_of_one_list(model: MarketModel) -> None:
    labs = (BusinessModel.UPFRONT_HEAVY, BusinessModel.INFERENCE_HEAVY)
    supplier = model.suppliers()[0].firm_id
    everything = build_candidates(model, model.params.entry.business_models)
    for_lab = build_candidates(model, labs, exclude_firm=supplier)
    # A lab is offered the entrants' trained candidates, the same objects in the same
    # order: the list is built once for the month.
    expected = [c for c in everything if c.business_model in labs]
    assert len(for_lab) == len(expected) > 0
    assert all(a is b for a, b in zip(for_lab, expected, strict=True))
    wrappers = [c for c in everything if c.business_model is BusinessModel.WRAPPER]
    assert supplier in {c.supplier_id for c in wrappers}
    # A wrapper never resells the asking firm's own tokens.
    mine = build_candidates(model, (BusinessModel.WRAPPER,), exclude_firm=supplier)
    assert mine
    assert supplier not in {c.supplier_id for c in mine}
    assert len(mine) == len(wrappers) - 1


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
