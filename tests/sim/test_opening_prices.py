"""The market's first month: firms open their lines against their rivals' quotes."""

from __future__ import annotations

import polars as pl

from aimarket.sim import ModelParams, RunSpec, run_one


def _opening_price(labs: int, seed: int) -> float:
    """The first lab's opening standard price (USD per Mtok) in a market of ``labs``."""
    params = ModelParams.model_validate(
        {
            "customers": 600,
            "labs": labs,
            # One capability in every segment: rivals' draws of segment leads would decide
            # whether they compete with the first lab where it sells, not their presence.
            "firms": {"segment_lead_sd_oom": 0.0},
            "demand": {"pricing_sample_size": 200},
            "strategy": {"valuation_customers": 60},
        }
    )
    tables = run_one(RunSpec("r", 0, seed, params, 5, (seed,), 1)).tables
    offers = tables["offers"].filter((pl.col("month") == 0) & (pl.col("tier") == "standard"))
    first = offers.filter(pl.col("firm_id") == offers["firm_id"].min())
    return float(first.sort("model_id")["price_usd_per_mtok"][0])


def test_a_lab_opens_cheaper_when_rivals_open_beside_it() -> None:
    # The same first lab and model (common random numbers), alone or with three rivals:
    # its opening price answers theirs, so it is lower with them. Priced against no one
    # (nothing was on sale the month before), it would be the same either way.
    for seed in (1, 2, 3):
        alone, with_rivals = _opening_price(1, seed), _opening_price(4, seed)
        assert with_rivals < alone, (seed, alone, with_rivals)
