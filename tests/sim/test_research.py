"""Research compute: a flagship run's experiments, held and paid alongside it
(``firms.research_flop_per_training_flop``; docs/model.md, "Research compute")."""

from __future__ import annotations

import dataclasses

import numpy as np
import polars as pl
import pytest

from aimarket.agents.strategy import horizon_for, pick_project, value_candidates
from aimarket.sim import MarketModel, ModelParams


def _params(research: float, **extra: object) -> ModelParams:
    return ModelParams.model_validate(
        {
            "customers": 400,
            "labs": 3,
            "demand": {"pricing_sample_size": 100},
            "strategy": {"valuation_customers": 50},
            "firms": {"research_flop_per_training_flop": research},
            **extra,
        }
    )


def _tables(research: float, seed: int, months: int) -> dict[str, pl.DataFrame]:
    model = MarketModel(_params(research), seed=seed, horizon_months=months)
    model.run_model()
    return model.tables()


@pytest.mark.parametrize("seed", [1, 2])
def test_a_flagship_run_holds_its_research_gpus_alongside_it(seed: int) -> None:
    # With GPUs plentiful, a lab's flagship run gets the GPUs its plan asks for, and holds
    # r more per GPU of it for the research.
    r = 9.0
    params = _params(r, hardware={"gpu_supply": 1e9})
    model = MarketModel(params, seed=seed, horizon_months=3)
    model.step()
    model.step()  # labs review from month 1, once they have seen a month of the market
    tech = model.technology
    runs = [
        f.project
        for f in model.firms
        if f.project is not None and f.project.candidate.research_usd > 0
    ]
    assert runs, "no flagship run started in month 1"
    for project in runs:
        planned = float(tech.training_plan(project.candidate.train_flop)[0])
        assert project.flop_done / tech.flop_per_gpu_month() == pytest.approx(planned, rel=1e-9)
        assert project.gpus == pytest.approx((1.0 + r) * planned, rel=1e-9)
        assert project.candidate.research_usd == pytest.approx(r * project.candidate.cost_usd)


def test_a_flagship_is_valued_net_of_its_research() -> None:
    # Same project, with and without its research: valued lower by exactly its cost.
    model = MarketModel(_params(9.0), seed=1, horizon_months=3)
    model.step()
    ctx = model.context()
    lab = next(f for f in model.firms if f.kind == "lab")
    with_research = [c for c in lab.conduct.candidates(ctx) if c.research_usd > 0][:3]
    assert with_research
    without = [dataclasses.replace(c, research_usd=0.0) for c in with_research]

    def values(cands: list) -> np.ndarray:
        horizon = horizon_for(ctx, 0.0)
        out, _ = value_candidates(
            cands,
            ctx.sample,
            ctx.rivals_log_weight(lab.firm_id),
            horizon,
            elasticity=ctx.params.demand.elasticity,
        )
        return np.asarray(out)

    np.testing.assert_allclose(
        values(without) - values(with_research),
        [c.research_usd for c in with_research],
        rtol=1e-6,
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_research_is_paid_with_flagship_runs_only(seed: int) -> None:
    r = 9.0
    firms = _tables(r, seed, 24)["firms"]
    research, training = firms["research_spend_usd"].to_numpy(), firms["training_spend_usd"]
    training = training.to_numpy()
    assert research.sum() > 0
    assert (training[research > 0] > 0).all()
    # A firm runs one project at a time: a month's research is r times its training
    # (a flagship run) or nothing (a distillation, a specialist, a wrapper, no project),
    # when all of it is rented at the spot price.
    rented = (research > 0) & (firms["contract_rnd_gpus"].to_numpy() == 0)
    assert rented.any()
    np.testing.assert_allclose(research[rented], r * training[rented], rtol=1e-9)
    assert (_tables(0.0, seed, 24)["firms"]["research_spend_usd"] == 0).all()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_idle_contracted_gpus_go_to_research_first(seed: int) -> None:
    # GPUs plentiful: the spot price stays at its floor, above every contract's price.
    # Where a firm's contracted GPUs that serving left idle work on its flagship run, its
    # research takes them first: at the contract's lower price, the research costs less
    # than r times the final run where the contract covers part of the month's R&D, and
    # exactly r times where it covers all of it (training first would make it more).
    r = 9.0
    model = MarketModel(_params(r, hardware={"gpu_supply": 1e9}), seed=seed, horizon_months=36)
    model.run_model()
    firms = model.tables()["firms"]
    on_contract = firms.filter(
        (pl.col("contract_rnd_gpus") > 0) & (pl.col("research_spend_usd") > 0)
    )
    assert on_contract.height > 0, "no run used its firm's contracted GPUs"
    research, training = on_contract["research_spend_usd"], on_contract["training_spend_usd"]
    assert (research <= r * training * (1 + 1e-9)).all()
    assert (research < r * training * (1 - 1e-9)).any()


def test_dearer_research_makes_labs_train_smaller_final_runs() -> None:
    # The firm values and funds a flagship at its outlay (final run and research): the
    # dearer each FLOP of a flagship, the less final-run compute the labs buy.
    def final_runs_flop(research: float) -> float:
        total = 0.0
        for seed in (1, 2, 3):
            models = _tables(research, seed, 36)["models"]
            pretrained = models.filter(  # launched in the run: not the starting models
                pl.col("allocation").is_in(["chinchilla", "inference_aware"])
                & (pl.col("month") >= 0)
            )
            total += float(pretrained["train_flop"].sum())
        return total

    assert final_runs_flop(9.0) < final_runs_flop(0.0)


def test_a_firm_starts_a_flagship_only_if_it_can_fund_its_research() -> None:
    # A budget that covers the final runs of many flagships but the research of few: the
    # firm picks among those it can fund whole, or none.
    model = MarketModel(_params(9.0), seed=1, horizon_months=3)
    model.step()
    ctx = model.context()
    lab = next(f for f in model.firms if f.kind == "lab")
    cands = [c for c in lab.conduct.candidates(ctx) if c.research_usd > 0]
    budget = 1.5 * min(c.outlay_usd for c in cands)
    assert sum(c.outlay_usd <= budget for c in cands) < sum(c.cost_usd <= budget for c in cands)
    picks = [
        pick_project(
            ctx,
            cands,
            budget_usd=budget,
            firm_id=lab.firm_id,
            opex_usd_per_month=0.0,
            line=None,
            rng=np.random.default_rng(seed),
        )
        for seed in range(20)
    ]
    chosen = [p for p in picks if p is not None]
    assert chosen, "no draw picked a project: the test says nothing"
    assert all(p.outlay_usd <= budget for p in chosen)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_no_run_takes_gpus_before_the_first_month_is_served(seed: int) -> None:
    # Serving comes before new training runs, and a firm knows its serving need only once
    # it has seen a month of the market: no run starts in month 0, so flagships and their
    # research cannot take the GPUs the first month's customers need.
    tables = _tables(9.0, seed, 3)
    labs = tables["firms"].filter(pl.col("kind") == "lab")["firm_id"].unique()
    starts = tables["events"].filter(
        (pl.col("kind") == "training_start") & pl.col("firm_id").is_in(labs.implode())
    )
    assert starts.height
    assert starts["month"].min() >= 1  # (an entrant may start one after month 0's clearing)
    assert tables["market"].filter(pl.col("month") == 0)["served_frac"].item() == 1.0
