"""Declared schemas of the output tables (dataframely), one class per table.

Every table is long ("tidy") and keyed by ``run_id``. Floats are finite unless a column
says otherwise: an undefined ratio (a margin at zero revenue) is null, never NaN.
"""

from __future__ import annotations

import functools

import dataframely as dy
import polars as pl

__all__ = [
    "SCHEMAS",
    "EventsSchema",
    "FirmsSchema",
    "MarketSchema",
    "ModelsSchema",
    "OffersSchema",
    "RunsSchema",
    "SummarySchema",
    "polars_schema",
]


class MarketSchema(dy.Schema):
    """One row per run and month: concentration, volumes, margins, technology."""

    run_id = dy.String(primary_key=True)
    month = dy.Int32(primary_key=True, min=0)
    date = dy.Date()
    firms_active = dy.Int32(min=0)
    firms_selling = dy.Int32(min=0)
    entries = dy.Int32(min=0)
    exits = dy.Int32(min=0)
    models_on_sale = dy.Int32(min=0)
    offerings = dy.Int32(min=0)
    hhi_revenue = dy.Float64(min=0, max=10_000)
    hhi_developer_revenue = dy.Float64(min=0, max=10_000)
    hhi_queries = dy.Float64(min=0, max=10_000)
    cr1 = dy.Float64(min=0, max=1)
    cr4 = dy.Float64(min=0, max=1)
    open_weights_revenue_share = dy.Float64(min=0, max=1)
    adoption_frac = dy.Float64(min=0, max=1)
    subscribers_unprofitable_frac = dy.Float64(nullable=True, min=0, max=1)
    queries = dy.Float64(min=0)
    revenue_usd = dy.Float64(min=0)
    serving_cost_usd = dy.Float64(min=0)
    training_spend_usd = dy.Float64(min=0)
    opex_usd = dy.Float64(min=0)
    amortisation_usd = dy.Float64(min=0)
    gross_margin = dy.Float64(nullable=True, max=1)
    operating_margin = dy.Float64(nullable=True, max=1)
    consumer_surplus_usd = dy.Float64()
    price_usd_per_query_mean = dy.Float64(nullable=True, min=0)
    price_usd_per_mtok_at_reference = dy.Float64(nullable=True, min=0)
    price_usd_per_mtok_at_gpt3 = dy.Float64(nullable=True, min=0)
    price_usd_per_mtok_at_gpt35 = dy.Float64(nullable=True, min=0)
    price_usd_per_mtok_at_gpt4 = dy.Float64(nullable=True, min=0)
    frontier_kappa = dy.Float64(nullable=True)
    usd_per_gpu_hour = dy.Float64(min=0)
    gpu_utilisation_frac = dy.Float64(min=0)
    cumulative_training_usd = dy.Float64(min=0)
    cumulative_inference_usd = dy.Float64(min=0)


class FirmsSchema(dy.Schema):
    """One row per run, month and active firm (selling, training, or between models)."""

    run_id = dy.String(primary_key=True)
    month = dy.Int32(primary_key=True, min=0)
    firm_id = dy.Int64(primary_key=True, min=1)
    date = dy.Date()
    kind = dy.String()
    business_model = dy.String()
    selling = dy.Bool()
    training = dy.Bool()
    queries = dy.Float64(min=0)
    revenue_usd = dy.Float64(min=0)
    customer_revenue_usd = dy.Float64(min=0)
    wholesale_revenue_usd = dy.Float64(min=0)
    serving_cost_usd = dy.Float64(min=0)
    training_spend_usd = dy.Float64(min=0)
    opex_usd = dy.Float64(min=0)
    funding_usd = dy.Float64(min=0)
    amortisation_usd = dy.Float64(min=0)
    gross_margin = dy.Float64(nullable=True, max=1)
    operating_margin = dy.Float64(nullable=True, max=1)
    lerner = dy.Float64(nullable=True, max=1)
    cash_usd = dy.Float64()
    share_revenue = dy.Float64(min=0, max=1)
    share_queries = dy.Float64(min=0, max=1)
    price_usd_per_query = dy.Float64(nullable=True, min=0)
    cost_usd_per_query = dy.Float64(nullable=True, min=0)
    kappa = dy.Float64(nullable=True)
    inference_multiplier = dy.Float64(nullable=True, min=1)
    params = dy.Float64(nullable=True, min=0)
    model_id = dy.Int64()
    models_on_sale = dy.Int32(min=0)


class ModelsSchema(dy.Schema):
    """One row per model launched (the starting labs' models at their negative months)."""

    run_id = dy.String(primary_key=True)
    model_id = dy.Int64(primary_key=True, min=1)
    firm_id = dy.Int64(min=1)
    month = dy.Int32()
    date = dy.Date()
    business_model = dy.String()
    allocation = dy.String()
    role = dy.Enum(["flagship", "distilled"])
    parent_id = dy.Int64(nullable=True)
    params = dy.Float64(min=0)
    train_tokens = dy.Float64(min=0)
    tokens_per_param = dy.Float64(min=0)
    train_flop = dy.Float64(min=0)
    cost_usd = dy.Float64(min=0)
    kappa = dy.Float64()
    max_inference_multiplier = dy.Float64(min=1)
    segment = dy.String(nullable=True)
    supplier_id = dy.Int64(nullable=True)
    retired_month = dy.Int32(nullable=True)
    months_on_sale = dy.Int32(min=0)


class OffersSchema(dy.Schema):
    """One row per run, month and offering (a model's tier or plan) on sale."""

    run_id = dy.String(primary_key=True)
    month = dy.Int32(primary_key=True, min=0)
    model_id = dy.Int64(primary_key=True, min=1)
    tier = dy.String(primary_key=True)
    date = dy.Date()
    firm_id = dy.Int64(min=1)
    developer_id = dy.Int64(min=1)
    plan = dy.Bool()
    kappa = dy.Float64()
    price_usd_per_mtok = dy.Float64(nullable=True, min=0)
    fee_usd_per_month = dy.Float64(nullable=True, min=0)
    cost_usd_per_mtok = dy.Float64(min=0)
    queries = dy.Float64(min=0)
    tokens = dy.Float64(min=0)
    revenue_usd = dy.Float64(min=0)
    share_revenue = dy.Float64(min=0, max=1)


class EventsSchema(dy.Schema):
    """One row per event: entry, exit, funding, training_start, launch, retire."""

    run_id = dy.String()
    month = dy.Int32()
    time_months = dy.Float64()
    date = dy.Date()
    firm_id = dy.Int64(min=1)
    kind = dy.Enum(["entry", "exit", "funding", "training_start", "launch", "retire"])
    amount_usd = dy.Float64(nullable=True)
    detail = dy.String()


class SummarySchema(dy.Schema):
    """One row per run: headline concentration, margins, entry and exit, survivors."""

    run_id = dy.String(primary_key=True)
    months = dy.Int32(min=0)
    hhi_revenue_final = dy.Float64(min=0, max=10_000)
    hhi_revenue_mean = dy.Float64(min=0, max=10_000)
    hhi_developer_revenue_mean = dy.Float64(min=0, max=10_000)
    models_on_sale_mean = dy.Float64(min=0)
    cr4_final = dy.Float64(min=0, max=1)
    gross_margin_mean = dy.Float64(nullable=True, max=1)
    operating_margin_mean = dy.Float64(nullable=True, max=1)
    entries = dy.Int32(min=0)
    exits = dy.Int32(min=0)
    firms_active_final = dy.Int32(min=0)
    survivors_upfront_heavy = dy.Int32(min=0)
    survivors_inference_heavy = dy.Int32(min=0)
    survivors_specialist = dy.Int32(min=0)
    survivors_wrapper = dy.Int32(min=0)
    inference_overtakes_training_month = dy.Int32(nullable=True)
    frontier_kappa_final = dy.Float64(nullable=True)
    price_usd_per_mtok_at_reference_first = dy.Float64(nullable=True, min=0)
    price_usd_per_mtok_at_reference_final = dy.Float64(nullable=True, min=0)
    price_at_reference_decline_per_year = dy.Float64(nullable=True, min=0)
    consumer_surplus_usd_mean = dy.Float64()
    revenue_usd_final = dy.Float64(min=0)
    subscribers_unprofitable_frac_mean = dy.Float64(nullable=True, min=0, max=1)
    specialist_query_share_last_year = dy.Float64(nullable=True, min=0, max=1)
    distilled_query_share_last_year = dy.Float64(nullable=True, min=0, max=1)
    wrapper_revenue_share_last_year = dy.Float64(nullable=True, min=0, max=1)
    inference_aware_revenue_share_last_year = dy.Float64(nullable=True, min=0, max=1)


class RunsSchema(dy.Schema):
    """One row per run: identity, seed, outcome, wall time and numerics."""

    run_id = dy.String(primary_key=True)
    point_id = dy.Int64(min=0)
    replicate = dy.Int32(min=0)
    seed_entropy = dy.UInt64()
    spawn_key = dy.List(dy.Int64())
    status = dy.Enum(["done", "failed"])
    months = dy.Int32(min=0)
    wall_s = dy.Float64(min=0)
    error = dy.String(nullable=True)
    numerics = dy.String()  # numpy version and SIMD level, OpenBLAS kernels (sim.run.numerics)


SCHEMAS: dict[str, type[dy.Schema]] = {
    "market": MarketSchema,
    "firms": FirmsSchema,
    "models": ModelsSchema,
    "offers": OffersSchema,
    "events": EventsSchema,
    "summary": SummarySchema,
    "runs": RunsSchema,
}


@functools.cache
def polars_schema(table: str) -> pl.Schema:
    """The polars schema (column names and dtypes, in order) of a declared table."""
    return SCHEMAS[table].create_empty().schema
