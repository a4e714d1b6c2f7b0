"""Run ids, the base point's specs, and the headline figures of a store.

The execution machinery itself is in :mod:`experiments.sweep` and
:mod:`experiments.executors`.
"""

from __future__ import annotations

import polars as pl

from aimarket.experiments.config import ExperimentConfig
from aimarket.experiments.store import Store
from aimarket.sim.run import RunSpec

__all__ = ["base_point_specs", "headline", "run_id_for"]


def run_id_for(point_id: int, replicate: int) -> str:
    """Deterministic run id of a point's replicate.

    Examples
    --------
    >>> run_id_for(12, 3)
    'p000012-r0003'
    """
    return f"p{point_id:06d}-r{replicate:04d}"


def base_point_specs(config: ExperimentConfig) -> list[RunSpec]:
    """One spec per replication of the config's base point (point 0, the ``[model]`` table)."""
    exp = config.experiment
    return [
        RunSpec(
            run_id=run_id_for(0, r),
            point_id=0,
            replicate=r,
            params=config.model,
            seed_entropy=exp.seed,
            spawn_key=(r,),
            horizon_months=exp.horizon_months,
            start_month=exp.start,
        )
        for r in range(exp.replications)
    ]


def headline(store: Store) -> dict[str, float | None]:
    """Means over a store's runs of final-month concentration and margins.

    Keys: ``hhi_revenue_final``, ``firms_active_final``, ``gross_margin_final`` and
    ``gross_margin_final_<business model>`` (revenue-weighted within the business model).
    Computed lazily from the store, so it costs little memory at any store size.
    """
    market = store.scan("market")
    last = market.filter(pl.col("month") == pl.col("month").max().over("run_id"))
    out = last.select(
        pl.col("hhi_revenue").mean().alias("hhi_revenue_final"),
        pl.col("firms_active").cast(pl.Float64).mean().alias("firms_active_final"),
        pl.col("gross_margin").mean().alias("gross_margin_final"),
    ).collect()
    result: dict[str, float | None] = out.row(0, named=True) if out.height else {}
    firms = store.scan("firms")
    by_model = (
        firms.filter(pl.col("month") == pl.col("month").max().over("run_id"))
        .group_by("run_id", "business_model")
        .agg(
            pl.when(pl.col("revenue_usd").sum() > 0)
            .then(1 - pl.col("serving_cost_usd").sum() / pl.col("revenue_usd").sum())
            .alias("gm")
        )
        .group_by("business_model")
        .agg(pl.col("gm").mean())
        .sort("business_model")
        .collect()
    )
    for business_model, gm in by_model.iter_rows():
        result[f"gross_margin_final_{business_model}"] = gm
    return result
