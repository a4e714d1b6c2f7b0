"""Declared schemas of the output tables (dataframely), one class per table.

Every table is long ("tidy") and keyed by ``run_id``. Floats are finite unless a column
says otherwise: an undefined ratio (a margin at zero revenue) is null, never NaN.
"""

from __future__ import annotations

import dataframely as dy
import polars as pl

__all__ = ["SCHEMAS", "FirmsSchema", "MarketSchema", "RunsSchema", "polars_schema"]


class MarketSchema(dy.Schema):
    """One row per run and month: concentration, volumes, margins, technology."""

    run_id = dy.String(primary_key=True)
    month = dy.Int32(primary_key=True, min=0)
    date = dy.Date()
    firms_active = dy.Int32(min=0)
    hhi_revenue = dy.Float64(min=0, max=10_000)
    hhi_queries = dy.Float64(min=0, max=10_000)
    cr1 = dy.Float64(min=0, max=1)
    cr4 = dy.Float64(min=0, max=1)
    adoption_frac = dy.Float64(min=0, max=1)
    queries = dy.Float64(min=0)
    revenue_usd = dy.Float64(min=0)
    serving_cost_usd = dy.Float64(min=0)
    amortisation_usd = dy.Float64(min=0)
    gross_margin = dy.Float64(nullable=True, max=1)
    operating_margin = dy.Float64(nullable=True, max=1)
    consumer_surplus_usd = dy.Float64(min=0)
    price_usd_per_query_mean = dy.Float64(nullable=True, min=0)
    frontier_kappa = dy.Float64(nullable=True)
    usd_per_gpu_hour = dy.Float64(min=0)


class FirmsSchema(dy.Schema):
    """One row per run, month and active firm."""

    run_id = dy.String(primary_key=True)
    month = dy.Int32(primary_key=True, min=0)
    firm_id = dy.Int64(primary_key=True, min=1)
    date = dy.Date()
    kind = dy.String()
    business_model = dy.String()
    queries = dy.Float64(min=0)
    revenue_usd = dy.Float64(min=0)
    serving_cost_usd = dy.Float64(min=0)
    amortisation_usd = dy.Float64(min=0)
    gross_margin = dy.Float64(nullable=True, max=1)
    operating_margin = dy.Float64(nullable=True, max=1)
    lerner = dy.Float64(nullable=True, max=1)
    cash_usd = dy.Float64()
    share_revenue = dy.Float64(min=0, max=1)
    share_queries = dy.Float64(min=0, max=1)
    price_usd_per_query = dy.Float64(min=0)
    cost_usd_per_query = dy.Float64(min=0)
    kappa = dy.Float64()
    inference_multiplier = dy.Float64(min=1)
    params = dy.Float64(min=0)


class RunsSchema(dy.Schema):
    """One row per run: identity, seed, outcome and wall time."""

    run_id = dy.String(primary_key=True)
    point_id = dy.Int64(min=0)
    replicate = dy.Int32(min=0)
    seed_entropy = dy.UInt64()
    spawn_key = dy.List(dy.Int64())
    status = dy.Enum(["done", "failed"])
    months = dy.Int32(min=0)
    wall_s = dy.Float64(min=0)
    error = dy.String(nullable=True)


SCHEMAS: dict[str, type[dy.Schema]] = {
    "market": MarketSchema,
    "firms": FirmsSchema,
    "runs": RunsSchema,
}


def polars_schema(table: str) -> pl.Schema:
    """The polars schema (column names and dtypes, in order) of a declared table."""
    return SCHEMAS[table].create_empty().schema
