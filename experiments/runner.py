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


def headline(store: Store) -> pl.DataFrame:
    """Final-month concentration and margins per design point, means over its runs.

    One row per ``point_id``: ``runs``, ``hhi_revenue_final``, ``firms_active_final``,
    ``gross_margin_final`` and ``gross_margin_final_<business model>`` (the business
    model's final-month serving cost over its revenue, both summed over the point's runs,
    so a run where it sold almost nothing weighs almost nothing; null where it sold
    nothing). Computed lazily from the store, so it costs little memory at any store size.
    """
    points = store.scan("runs").filter(pl.col("status") == "done").select("run_id", "point_id")
    last = store.scan("market").filter(pl.col("month") == pl.col("month").max().over("run_id"))
    out = (
        last.join(points, on="run_id")
        .group_by("point_id")
        .agg(
            pl.len().alias("runs"),
            pl.col("hhi_revenue").mean().alias("hhi_revenue_final"),
            pl.col("firms_active").cast(pl.Float64).mean().alias("firms_active_final"),
            pl.col("gross_margin").mean().alias("gross_margin_final"),
        )
        .sort("point_id")
        .collect()
    )
    by_model = (
        store.scan("firms")
        .filter(pl.col("month") == pl.col("month").max().over("run_id"))
        .join(points, on="run_id")
        .group_by("point_id", "business_model")
        .agg(
            pl.when(pl.col("revenue_usd").sum() > 0)
            .then(1 - pl.col("serving_cost_usd").sum() / pl.col("revenue_usd").sum())
            .alias("gm")
        )
        .collect()
    )
    if by_model.height:
        wide = by_model.with_columns(
            ("gross_margin_final_" + pl.col("business_model")).alias("column")
        ).pivot(on="column", index="point_id", values="gm", sort_columns=True)
        out = out.join(wide, on="point_id", how="left")
    return out
