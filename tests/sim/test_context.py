"""What deciding firms observe: one context a month, the labs' supply, their candidates."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from aimarket.agents.business import Allocation, BusinessModel
from aimarket.agents.conduct import distillations
from aimarket.agents.products import Role, Tier
from aimarket.sim import MarketModel, ModelParams


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


def test_the_context_is_built_once_per_state(model: MarketModel) -> None:
    ctx = model.context()
    assert model.context() is ctx
    labs = (BusinessModel.UPFRONT_HEAVY,)
    assert ctx.candidates(labs) is ctx.candidates(labs)  # derived once, kept with it
    model.state_version += 1  # something firms observe changed
    assert model.context() is not ctx
    model.step()
    assert model.context().month == ctx.month + 1


def test_suppliers_are_each_labs_most_capable_standard_offering(model: MarketModel) -> None:
    ctx = model.context()
    supply = ctx.suppliers()
    assert supply
    offers = ctx.offers
    for s in supply:
        line = ctx.lines[s.firm_id]
        assert s.model.kappa == max(m.kappa for m in line)
        k = np.flatnonzero((offers.model_ids == s.model.model_id) & (offers.tiers == Tier.STANDARD))
        assert s.price_usd_per_token == offers.price_usd[k[0]]
    assert [float(s.kappa.max()) for s in supply] == sorted(
        (float(s.kappa.max()) for s in supply), reverse=True
    )


def test_a_distilled_student_is_smaller_and_weaker_and_later_ones_are_smaller(
    model: MarketModel,
) -> None:
    ctx = model.context()
    lab = next(f for f in model.firms if f.kind == "lab" and f.line)
    teacher = max(lab.line, key=lambda m: m.kappa)
    students = distillations(ctx, tuple(lab.line))
    assert students
    fracs = model.params.firms.distill.params_fracs
    for cand, frac in zip(students, fracs, strict=True):
        assert cand.params < teacher.params
        assert cand.base_kappa < teacher.kappa
        assert cand.teacher_id == teacher.model_id
        assert (
            cand.products[0].usd_per_token
            < ctx.technology.token_economics(
                teacher.params, batch=model.params.hardware.serving_batch
            )[0]
        )
        assert cand.base_kappa == pytest.approx(
            teacher.kappa - model.params.firms.distill.gap_oom_per_oom * np.log10(1 / frac)
        )
    # Two years on, the same capability fits in fewer parameters (algorithmic progress).
    later = distillations(dataclasses.replace(ctx, month=ctx.month + 24), tuple(lab.line))
    for now, then in zip(students, later, strict=True):
        assert then.params < now.params
        assert then.base_kappa == pytest.approx(now.base_kappa)
    # A size the firm already sells is not offered again.
    sold = dataclasses.replace(
        teacher,
        model_id=999,
        params=students[0].params,
        kappa=students[0].base_kappa,
        role=Role.DISTILLED,
        parent_id=teacher.model_id,
    )
    again = distillations(ctx, (*lab.line, sold))
    assert [c.params for c in again] == [c.params for c in students[1:]]


def test_a_run_too_long_for_the_largest_cluster_is_no_candidate() -> None:
    # Budgets of 1x and 1,000x the frontier: the compute-optimal run of the second would
    # take the largest cluster decades, beyond hardware.max_training_months, so it is no
    # project; its inference-aware (overtrained) version is trained only as long as the
    # limit allows.
    def candidates(multiples: list[float]) -> list:
        params = ModelParams.model_validate(
            {
                "labs": 2,
                "customers": 300,
                "demand": {"pricing_sample_size": 100},
                "strategy": {"valuation_customers": 50, "budget_multiples": multiples},
            }
        )
        m = MarketModel(params, seed=2, horizon_months=3)
        m.step()
        return m.context().candidates((BusinessModel.UPFRONT_HEAVY,))

    both, one = candidates([1.0, 1e3]), candidates([1.0])
    assert len(one) == 2  # compute-optimal and inference-aware allocations
    optimal = [c.train_flop for c in both if c.allocation is Allocation.CHINCHILLA]
    np.testing.assert_allclose(optimal, [one[0].train_flop], rtol=1e-9)
    limit = ModelParams().hardware.max_training_months
    months = [c.months_to_launch for c in both]
    assert max(months) == pytest.approx(limit)  # the capped overtrained run
    assert all(m <= limit * (1 + 1e-9) for m in months)


def test_reasoning_models_are_projects_only_from_their_date() -> None:
    # firms.reasoning_from: the technique is unknown before it (o1-preview, Sep 2024, in
    # the backtest), so no firm can start an inference-heavy project earlier.
    params = ModelParams.model_validate(
        {
            "labs": 2,
            "customers": 300,
            "demand": {"pricing_sample_size": 100},
            "strategy": {"valuation_customers": 50},
            "firms": {"business_models": ["upfront_heavy"], "reasoning_from": "2025-03"},
        }
    )
    m = MarketModel(params, seed=2, horizon_months=4, start_month="2025-01")
    reasoning = (BusinessModel.INFERENCE_HEAVY,)
    found = []
    for _ in range(4):
        m.step()
        found.append(len(m.context().candidates(reasoning)) > 0)
    assert found == [False, True, True, True]  # months 1..4: Feb, Mar, Apr, May


def test_rivals_terms_are_kept_within_a_month_only_while_what_they_assume_holds(
    model: MarketModel,
) -> None:
    # The rivals' nest terms at the horizon's end grow rivals at the frontier's pace: a
    # later context of the same month keeps them only if that pace (and the fall of costs)
    # is unchanged, e.g. not after a launch moved the frontier.
    ctx = model.context()
    rivals = ctx.rivals()
    same = dataclasses.replace(ctx, _derived={})
    same.carry_over(ctx)
    assert same.rivals() is rivals
    faster = dataclasses.replace(
        ctx, _derived={}, frontier_growth_oom_per_month=ctx.frontier_growth_oom_per_month + 0.1
    )
    faster.carry_over(ctx)
    assert faster.rivals() is not rivals
