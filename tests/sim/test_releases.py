"""Open weights as a decision (``firms.open_weights.releases = "decision"``): firms release
models when it pays, and the fringe serves them (docs/model.md, "Open weights")."""

from __future__ import annotations

import polars as pl
import pytest

from aimarket.sim.model import MarketModel
from aimarket.sim.params import ModelParams

MONTHS = 30


def _market(releases: str, seed: int, complement: float = 1.0) -> MarketModel:
    ow = {"releases": releases, "complement_usd_per_query": complement}
    params = ModelParams(customers=1500, firms={"open_weights": ow})
    return MarketModel(params, seed=seed, horizon_months=MONTHS)


@pytest.mark.parametrize("seed", [1, 2])
def test_released_models_leave_their_makers_line_and_the_fringe_serves_the_best(seed: int) -> None:
    # With a complement worth a dollar a query, firms give models away. A released model
    # is never again sold by its maker; from the next month on the fringe serves the most
    # capable model released so far, and the queries its hosts serve count toward the
    # maker's installed base.
    market = _market("decision", seed)
    memory = market.params.demand.brand_memory_months
    served = checked = 0
    for _ in range(MONTHS):
        released = list(market.open_releases)
        before = {f.firm_id: f.brand_frac for f in market.firms}
        market.step()
        source = market.fringe.source
        if released:
            assert source == max(released, key=lambda m: m.kappa)
            out = market.outcome
            k = list(out.firms).index(market.fringe)
            served += out.queries[k] > 0
            makers = [i for i, f in enumerate(out.firms) if f.firm_id == source.firm_id]
            for maker in makers:  # (none once the maker has left the market)
                share = (out.queries[maker] + out.queries[k]) / out.queries.sum()
                b = before[source.firm_id]
                assert out.firms[maker].brand_frac == pytest.approx(b + (share - b) / memory)
                checked += 1
        else:
            assert source is None
    assert served > 0
    assert checked > 0
    tables = market.tables()
    events = tables["events"].filter(pl.col("kind") == "release")
    assert events.height > 0
    offers = tables["offers"]
    for row in events.iter_rows(named=True):
        model_id = int(row["detail"].split()[-1])
        sold = offers.filter(
            (pl.col("model_id") == model_id) & (pl.col("firm_id") == row["firm_id"])
        )
        assert (sold["month"] < row["time_months"]).all()  # priced before the release


@pytest.mark.parametrize("seed", [1, 2])
def test_with_the_fixed_lag_nobody_releases(seed: int) -> None:
    market = _market("lag", seed)
    market.run_model()
    assert not market.open_releases
    assert market.tables()["events"].filter(pl.col("kind") == "release").is_empty()
