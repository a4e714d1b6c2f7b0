"""Declared schemas of the output tables (dataframely), one class per table.

Every table is long ("tidy") and keyed by ``run_id``. Floats are finite unless a column
says otherwise: an undefined ratio (a margin at zero revenue) is null, never NaN. Short
text of few values is a polars ``Categorical`` (``Enum`` for the columns that were Enums
when first written): dictionary-encoded in parquet, read as ``category`` by pandas. A
column that was plain text in older stores can become ``Categorical`` (``Store.scan``
casts), not ``Enum`` (polars reads no part with a String column as an Enum).

Every column carries its meaning (``description``) and unit (``metadata["unit"]``):
``docs/scripts/tables_doc.py`` writes them to ``docs/tables.md``. Monthly flows are per
calendar month of the simulated market (customers weighted to the real market's size).
"""

from __future__ import annotations

import functools
from typing import Any

import dataframely as dy
import polars as pl

from aimarket.agents.business import Allocation, BusinessModel

__all__ = [
    "SCHEMAS",
    "EventsSchema",
    "FirmsSchema",
    "MarketSchema",
    "ModelsSchema",
    "OffersSchema",
    "RunsSchema",
    "SummarySchema",
    "column_docs",
    "polars_schema",
]


def doc(unit: str, meaning: str) -> dict[str, Any]:
    """A column's unit and meaning, as dataframely column keywords.

    >>> dy.Float64(**doc("USD", "cash")).metadata
    {'unit': 'USD'}
    """
    return {"description": meaning, "metadata": {"unit": unit}}


# Units, one spelling each.
ID = "id"
TEXT = "text"
MONTH = "month index"  # months since the experiment's start month (month 0)
DATE = "date"
COUNT = "count"
FLAG = "true/false"
FRAC = "fraction"
GPUS = "GPUs"
HHI = "HHI points"
USD = "USD"
USD_MONTH = "USD/month"
QUERIES_MONTH = "queries/month"
TOKENS_MONTH = "tokens/month"
USD_QUERY = "USD/query"
USD_MTOK = "USD/million tokens"
OOM = "OOM of effective compute"  # log10 FLOP of a compute-optimal model, docs/model.md
TIMES = "multiple"

_HHI_OF = "Herfindahl-Hirschman index of {}: 10,000 × Σ shares² (the open-weights fringe atomistic)"
_RUN = "the run: its point and replicate, e.g. p000001-r0002"
_BUSINESS_MODELS = ", ".join(BusinessModel)
_CHEAPEST = (
    "cheapest list price of a standard per-token offering of a model at or above {}; "
    "null when none is on sale"
)


def _gross_margin() -> dy.Float64:
    """The gross-margin column of the market and firms tables."""
    return dy.Float64(
        nullable=True,
        max=1,
        **doc(FRAC, "(revenue − serving cost) / revenue; null at zero revenue"),
    )


def _operating_margin() -> dy.Float64:
    """The operating-margin column of the market and firms tables."""
    return dy.Float64(
        nullable=True,
        max=1,
        **doc(
            FRAC,
            "(revenue − serving cost − amortisation − opex − research) / revenue; null at zero",
        ),
    )


class MarketSchema(dy.Schema):
    """One row per run and month: concentration, volumes, margins, technology."""

    run_id = dy.String(primary_key=True, **doc(ID, _RUN))
    month = dy.Int32(primary_key=True, min=0, **doc(MONTH, "simulation month"))
    date = dy.Date(**doc(DATE, "first day of the month"))
    firms_active = dy.Int32(min=0, **doc(COUNT, "firms in the market (not the fringe)"))
    firms_selling = dy.Int32(min=0, **doc(COUNT, "active firms with customer revenue"))
    entries = dy.Int32(min=0, **doc(COUNT, "firms that entered this month"))
    exits = dy.Int32(min=0, **doc(COUNT, "firms that exited this month"))
    models_on_sale = dy.Int32(min=0, **doc(COUNT, "models on sale, in every firm's line"))
    offerings = dy.Int32(min=0, **doc(COUNT, "offerings on sale (model × tier or plan)"))
    hhi_revenue = dy.Float64(min=0, max=10_000, **doc(HHI, _HHI_OF.format("customer revenue")))
    hhi_developer_revenue = dy.Float64(
        min=0,
        max=10_000,
        **doc(
            HHI,
            _HHI_OF.format("revenue counted for the firm that made each model")
            + "; a wrapper's sales count for its supplier lab",
        ),
    )
    hhi_queries = dy.Float64(min=0, max=10_000, **doc(HHI, _HHI_OF.format("queries")))
    cr1 = dy.Float64(min=0, max=1, **doc(FRAC, "largest firm's share of customer revenue"))
    cr4 = dy.Float64(
        min=0,
        max=1,
        **doc(FRAC, "four largest firms' share of customer revenue (fringe in the total)"),
    )
    segment_leaders = dy.Int32(
        min=0,
        **doc(
            COUNT,
            "developers with the most spend in at least one customer segment "
            "(open-weights models counted for none)",
        ),
    )
    open_weights_revenue_share = dy.Float64(
        min=0, max=1, **doc(FRAC, "the open-weights fringe's share of customer revenue")
    )
    adoption_frac = dy.Float64(
        min=0, max=1, **doc(FRAC, "share of customers who used an AI offering this month")
    )
    aware_frac = dy.Float64(
        min=0,
        max=1,
        **doc(FRAC, "share of customers who consider AI at all (Bass diffusion) this month"),
    )
    users = dy.Float64(min=0, **doc(COUNT, "real customers who used an AI offering this month"))
    paying_users = dy.Float64(
        min=0, **doc(COUNT, "real customers who paid for an AI offering this month")
    )
    free_users = dy.Float64(
        min=0, **doc(COUNT, "real customers who used only a free plan this month (users − paying)")
    )
    usage_multiplier = dy.Float64(
        min=0,
        **doc(TIMES, "work per customer over the start, mean over those who consider AI"),
    )
    subscribers_unprofitable_frac = dy.Float64(
        nullable=True,
        min=0,
        max=1,
        **doc(FRAC, "share of plan subscribers whose queries cost more to serve than their fee"),
    )
    queries = dy.Float64(min=0, **doc(QUERIES_MONTH, "queries served"))
    tokens = dy.Float64(min=0, **doc(TOKENS_MONTH, "tokens served, reasoning included"))
    revenue_usd = dy.Float64(min=0, **doc(USD_MONTH, "what customers paid (wholesale excluded)"))
    serving_cost_usd = dy.Float64(
        min=0,
        **doc(USD_MONTH, "serving GPUs paid: contracts (used or not, less R&D's use) and spot"),
    )
    training_spend_usd = dy.Float64(min=0, **doc(USD_MONTH, "final training runs paid"))
    research_spend_usd = dy.Float64(
        min=0, **doc(USD_MONTH, "research compute paid: flagship runs' experiments")
    )
    opex_usd = dy.Float64(
        min=0, **doc(USD_MONTH, "fixed running costs with models' upkeep and channel deals")
    )
    amortisation_usd = dy.Float64(
        min=0, **doc(USD_MONTH, "training cost spread over firms.amortisation_months")
    )
    gross_margin = _gross_margin()
    operating_margin = _operating_margin()
    consumer_surplus_usd = dy.Float64(
        **doc(USD_MONTH, "customers' value over the outside option less what they paid")
    )
    price_usd_per_query_mean = dy.Float64(
        nullable=True, min=0, **doc(USD_QUERY, "revenue / queries; null with no queries")
    )
    price_usd_per_mtok_at_reference = dy.Float64(
        nullable=True, min=0, **doc(USD_MTOK, _CHEAPEST.format("market.reference_kappa"))
    )
    price_usd_per_mtok_at_gpt3 = dy.Float64(
        nullable=True, min=0, **doc(USD_MTOK, _CHEAPEST.format("GPT-3's capability"))
    )
    price_usd_per_mtok_at_gpt35 = dy.Float64(
        nullable=True, min=0, **doc(USD_MTOK, _CHEAPEST.format("GPT-3.5's capability"))
    )
    price_usd_per_mtok_at_gpt4 = dy.Float64(
        nullable=True, min=0, **doc(USD_MTOK, _CHEAPEST.format("GPT-4's capability"))
    )
    frontier_kappa = dy.Float64(
        nullable=True,
        **doc(OOM, "best capability on sale (with reasoning; specialists left out); null: none"),
    )
    usd_per_gpu_hour = dy.Float64(min=0, **doc("USD/GPU-hour", "spot GPU rental price"))
    gpu_utilisation_frac = dy.Float64(
        min=0,
        **doc(FRAC, "(training + contracted + spot serving demand GPUs) / supply; >1: rationed"),
    )
    gpu_supply = dy.Float64(min=0, **doc(GPUS, "GPUs in the market (reference type)"))
    gpus_training = dy.Float64(min=0, **doc(GPUS, "GPUs held by training runs"))
    gpus_contracted = dy.Float64(min=0, **doc(GPUS, "GPUs held under capacity contracts"))
    gpus_spot_serving = dy.Float64(min=0, **doc(GPUS, "GPUs rented on the spot market to serve"))
    served_frac = dy.Float64(
        min=0, max=1, **doc(FRAC, "share of the month's serving need that was served")
    )
    cumulative_training_usd = dy.Float64(min=0, **doc(USD, "training spend since month 0"))
    cumulative_inference_usd = dy.Float64(min=0, **doc(USD, "serving cost since month 0"))


class FirmsSchema(dy.Schema):
    """One row per run, month and active firm (selling, training, or between models)."""

    run_id = dy.String(primary_key=True, **doc(ID, _RUN))
    month = dy.Int32(primary_key=True, min=0, **doc(MONTH, "simulation month"))
    firm_id = dy.Int64(primary_key=True, min=1, **doc(ID, "firm, unique within the run"))
    date = dy.Date(**doc(DATE, "first day of the month"))
    kind = dy.Categorical(**doc(TEXT, "kind of firm: lab, startup, open_weights or captive"))
    business_model = dy.Categorical(**doc(TEXT, f"where its compute goes: {_BUSINESS_MODELS}"))
    selling = dy.Bool(**doc(FLAG, "had customer revenue this month"))
    training = dy.Bool(**doc(FLAG, "has a training project (running or waiting for GPUs)"))
    queries = dy.Float64(min=0, **doc(QUERIES_MONTH, "queries its offerings served"))
    revenue_usd = dy.Float64(min=0, **doc(USD_MONTH, "customer plus wholesale revenue"))
    customer_revenue_usd = dy.Float64(min=0, **doc(USD_MONTH, "what final customers paid"))
    wholesale_revenue_usd = dy.Float64(min=0, **doc(USD_MONTH, "what wrappers paid for its tokens"))
    serving_cost_usd = dy.Float64(
        min=0,
        **doc(
            USD_MONTH,
            "serving GPUs (contracts, used or not, less R&D's use; spot), plus wholesale tokens",
        ),
    )
    training_spend_usd = dy.Float64(min=0, **doc(USD_MONTH, "training (or scaffolding) paid"))
    research_spend_usd = dy.Float64(
        min=0, **doc(USD_MONTH, "research compute paid: its flagship runs' experiments")
    )
    opex_usd = dy.Float64(
        min=0, **doc(USD_MONTH, "fixed running costs with its models' upkeep and channel deal")
    )
    free_plan_cost_usd = dy.Float64(
        min=0, **doc(USD_MONTH, "its free plan's tokens at the GPU cost per token")
    )
    funnel_revenue_usd = dy.Float64(
        min=0,
        **doc(USD_MONTH, "what customers its free plan converted paid it (in customer revenue)"),
    )
    conversions = dy.Float64(
        min=0, **doc(COUNT, "real customers who moved from its free plan to its paid ones")
    )
    funding_usd = dy.Float64(min=0, **doc(USD_MONTH, "capital raised this month"))
    amortisation_usd = dy.Float64(
        min=0, **doc(USD_MONTH, "its models' cost spread over firms.amortisation_months")
    )
    gross_margin = _gross_margin()
    operating_margin = _operating_margin()
    lerner = dy.Float64(
        nullable=True,
        max=1,
        **doc(FRAC, "(price − cost) / price per query of its top model's standard tier"),
    )
    cash_usd = dy.Float64(**doc(USD, "cash at the end of the month"))
    share_revenue = dy.Float64(
        min=0, max=1, **doc(FRAC, "share of all firms' customer revenue (fringe included)")
    )
    share_queries = dy.Float64(
        min=0, max=1, **doc(FRAC, "share of all firms' queries (fringe included)")
    )
    price_usd_per_query = dy.Float64(
        nullable=True, min=0, **doc(USD_QUERY, "customer revenue / queries; null: no queries")
    )
    cost_usd_per_query = dy.Float64(
        nullable=True,
        min=0,
        **doc(USD_QUERY, "serving cost per query of its top model's standard tier (API users)"),
    )
    kappa = dy.Float64(
        nullable=True, **doc(OOM, "best capability of its top model, with reasoning")
    )
    inference_multiplier = dy.Float64(
        nullable=True,
        min=0,
        **doc(TIMES, "tokens served / tokens of plain answers (reasoning up, tools down)"),
    )
    params = dy.Float64(nullable=True, min=0, **doc("parameters", "size of its top model"))
    model_id = dy.Int64(**doc(ID, "its most capable model on sale; -1: none"))
    models_on_sale = dy.Int32(min=0, **doc(COUNT, "models in its line"))
    contracted_gpus = dy.Float64(min=0, **doc(GPUS, "GPUs it holds under capacity contracts"))
    contract_rnd_gpus = dy.Float64(
        min=0, **doc(GPUS, "of those, used by its research and training (month average)")
    )
    served_frac = dy.Float64(
        min=0, max=1, **doc(FRAC, "share of its serving need its contracts and the spot covered")
    )
    brand_frac = dy.Float64(
        min=0,
        max=1,
        **doc(FRAC, "installed base after the month: its share of AI work, as customers recall it"),
    )
    reach_frac = dy.Float64(
        min=0, max=1, **doc(FRAC, "share of represented customers its channel deal reaches")
    )
    reach_usd = dy.Float64(min=0, **doc(USD_MONTH, "what its channel deal cost this month (opex)"))


class ModelsSchema(dy.Schema):
    """One row per model launched (the starting labs' models at their negative months)."""

    run_id = dy.String(primary_key=True, **doc(ID, _RUN))
    model_id = dy.Int64(primary_key=True, min=1, **doc(ID, "model, unique within the run"))
    firm_id = dy.Int64(min=1, **doc(ID, "the firm that sells it"))
    month = dy.Int32(**doc(MONTH, "launch month (negative: before the run started)"))
    date = dy.Date(**doc(DATE, "first day of the launch month"))
    business_model = dy.Categorical(**doc(TEXT, f"its maker's: {_BUSINESS_MODELS}"))
    allocation = dy.Categorical(**doc(TEXT, f"how its compute was split: {', '.join(Allocation)}"))
    role = dy.Enum(["flagship", "distilled"], **doc(TEXT, "flagship, or distilled from parent"))
    parent_id = dy.Int64(nullable=True, **doc(ID, "the model it was distilled from"))
    params = dy.Float64(min=0, **doc("parameters", "parameter count"))
    train_tokens = dy.Float64(min=0, **doc("tokens", "training (or distillation) tokens"))
    tokens_per_param = dy.Float64(min=0, **doc("tokens/parameter", "train_tokens / params"))
    train_flop = dy.Float64(
        min=0, **doc("FLOP", "training compute (distilled: with the teacher's generation)")
    )
    posttrain_flop = dy.Float64(
        min=0, **doc("FLOP", "the part of train_flop spent on post-training (RL, fine-tuning)")
    )
    expected_inference_flop = dy.Float64(
        nullable=True,
        min=0,
        **doc("FLOP", "serving its maker expected over the payback horizon; null: none"),
    )
    served_tokens = dy.Float64(min=0, **doc("tokens", "tokens served while on sale in the run"))
    inference_flop = dy.Float64(
        min=0, **doc("FLOP", "2 * params * served_tokens: its serving compute in the run")
    )
    cost_usd = dy.Float64(min=0, **doc(USD, "what making it cost"))
    kappa = dy.Float64(
        **doc(OOM, "capability index, post-training in, test-time gain not included")
    )
    max_inference_multiplier = dy.Float64(
        min=1, **doc(TIMES, "most tokens per query it can spend reasoning; 1: does not reason")
    )
    segment = dy.Categorical(
        nullable=True, **doc(TEXT, "the only customer segment it serves (specialists)")
    )
    supplier_id = dy.Int64(nullable=True, **doc(ID, "firm whose tokens a wrapper resells"))
    retired_month = dy.Int32(nullable=True, **doc(MONTH, "month it left the market"))
    months_on_sale = dy.Int32(min=0, **doc("months", "until retired or the run's end"))


class OffersSchema(dy.Schema):
    """One row per run, month and offering (a model's tier or plan) on sale."""

    run_id = dy.String(primary_key=True, **doc(ID, _RUN))
    month = dy.Int32(primary_key=True, min=0, **doc(MONTH, "simulation month"))
    model_id = dy.Int64(primary_key=True, min=1, **doc(ID, "the model offered"))
    tier = dy.Categorical(
        primary_key=True, **doc(TEXT, "standard, priority, batch, or a plan's name")
    )
    date = dy.Date(**doc(DATE, "first day of the month"))
    firm_id = dy.Int64(min=1, **doc(ID, "the seller"))
    developer_id = dy.Int64(min=1, **doc(ID, "the firm that made the model"))
    plan = dy.Bool(**doc(FLAG, "a subscription plan (else sold per token)"))
    kappa = dy.Float64(**doc(OOM, "the model's capability without reasoning"))
    price_usd_per_mtok = dy.Float64(
        nullable=True, min=0, **doc(USD_MTOK, "list price; null for plans")
    )
    fee_usd_per_month = dy.Float64(
        nullable=True, min=0, **doc(USD_MONTH, "a plan's fee per subscriber; null per token")
    )
    cost_usd_per_mtok = dy.Float64(
        min=0, **doc(USD_MTOK, "the seller's cost: GPUs, or the wholesale price a wrapper pays")
    )
    queries = dy.Float64(min=0, **doc(QUERIES_MONTH, "queries served"))
    tokens = dy.Float64(min=0, **doc(TOKENS_MONTH, "tokens served, reasoning included"))
    revenue_usd = dy.Float64(min=0, **doc(USD_MONTH, "what customers paid for it"))
    share_revenue = dy.Float64(
        min=0, max=1, **doc(FRAC, "its share of the month's customer revenue")
    )


class EventsSchema(dy.Schema):
    """One row per event: entry, exit, funding, training_start, launch, retire, release."""

    run_id = dy.String(**doc(ID, _RUN))
    month = dy.Int32(**doc(MONTH, "simulation month"))
    time_months = dy.Float64(**doc("months", "simulation time of the event"))
    date = dy.Date(**doc(DATE, "first day of the month"))
    firm_id = dy.Int64(min=1, **doc(ID, "the firm"))
    kind = dy.Enum(
        ["entry", "exit", "funding", "training_start", "launch", "retire", "release"],
        **doc(TEXT, "what happened"),
    )
    amount_usd = dy.Float64(
        nullable=True,
        **doc(USD, "capital (entry, funding), cash (exit), cost (training_start, launch)"),
    )
    detail = dy.String(**doc(TEXT, "free text: business model, reason, model"))


class SummarySchema(dy.Schema):
    """One row per run: headline concentration, margins, entry and exit, survivors."""

    run_id = dy.String(primary_key=True, **doc(ID, _RUN))
    months = dy.Int32(min=0, **doc("months", "months recorded"))
    hhi_revenue_final = dy.Float64(min=0, max=10_000, **doc(HHI, "market.hhi_revenue, last month"))
    hhi_revenue_mean = dy.Float64(min=0, max=10_000, **doc(HHI, "market.hhi_revenue, mean"))
    hhi_developer_revenue_mean = dy.Float64(
        min=0, max=10_000, **doc(HHI, "market.hhi_developer_revenue, mean over months")
    )
    models_on_sale_mean = dy.Float64(min=0, **doc(COUNT, "market.models_on_sale, mean"))
    cr4_final = dy.Float64(min=0, max=1, **doc(FRAC, "market.cr4, last month"))
    gross_margin_mean = dy.Float64(
        nullable=True, max=1, **doc(FRAC, "market.gross_margin, mean over defined months")
    )
    operating_margin_mean = dy.Float64(
        nullable=True, max=1, **doc(FRAC, "market.operating_margin, mean over defined months")
    )
    entries = dy.Int32(min=0, **doc(COUNT, "entry events"))
    exits = dy.Int32(min=0, **doc(COUNT, "exit events"))
    firms_active_final = dy.Int32(min=0, **doc(COUNT, "market.firms_active, last month"))
    survivors_upfront_heavy = dy.Int32(min=0, **doc(COUNT, "upfront-heavy firms, last month"))
    survivors_inference_heavy = dy.Int32(min=0, **doc(COUNT, "inference-heavy firms, last month"))
    survivors_specialist = dy.Int32(min=0, **doc(COUNT, "specialist firms, last month"))
    survivors_wrapper = dy.Int32(min=0, **doc(COUNT, "wrapper firms, last month"))
    inference_overtakes_training_month = dy.Int32(
        nullable=True,
        **doc(MONTH, "first month cumulative serving cost ≥ cumulative training; null: never"),
    )
    leader_inference_overtakes_training_month = dy.Int32(
        nullable=True,
        **doc(
            MONTH,
            "first month the leading firm's (most revenue over the run) cumulative serving cost "
            "reaches its cumulative training spend, after its training began; null: never",
        ),
    )
    frontier_kappa_final = dy.Float64(nullable=True, **doc(OOM, "market.frontier_kappa, last"))
    price_usd_per_mtok_at_reference_first = dy.Float64(
        nullable=True, min=0, **doc(USD_MTOK, "first reference price from month 12")
    )
    price_usd_per_mtok_at_reference_final = dy.Float64(
        nullable=True, min=0, **doc(USD_MTOK, "last reference price")
    )
    price_at_reference_decline_per_year = dy.Float64(
        nullable=True,
        min=0,
        **doc(
            "factor/year",
            "how many times cheaper the reference price gets a year (log-linear trend from "
            "month 12; at least 6 months); null: too few prices",
        ),
    )
    consumer_surplus_usd_mean = dy.Float64(
        **doc(USD_MONTH, "market.consumer_surplus_usd, mean over months")
    )
    revenue_usd_final = dy.Float64(min=0, **doc(USD_MONTH, "market.revenue_usd, last month"))
    subscribers_unprofitable_frac_mean = dy.Float64(
        nullable=True, min=0, max=1, **doc(FRAC, "market.subscribers_unprofitable_frac, mean")
    )
    specialist_query_share_last_year = dy.Float64(
        nullable=True, min=0, max=1, **doc(FRAC, "specialists' share of queries, last 12 months")
    )
    distilled_query_share_last_year = dy.Float64(
        nullable=True,
        min=0,
        max=1,
        **doc(FRAC, "distilled and specialist models' share of queries, last 12 months"),
    )
    wrapper_revenue_share_last_year = dy.Float64(
        nullable=True,
        min=0,
        max=1,
        **doc(FRAC, "wrappers' share of customer revenue, last 12 months"),
    )
    inference_aware_revenue_share_last_year = dy.Float64(
        nullable=True,
        min=0,
        max=1,
        **doc(FRAC, "inference-aware models' share of customer revenue, last 12 months"),
    )


class RunsSchema(dy.Schema):
    """One row per run: identity, seed, outcome, wall time and numerics."""

    run_id = dy.String(primary_key=True, **doc(ID, _RUN))
    point_id = dy.Int64(min=0, **doc(ID, "design point (points.parquet)"))
    replicate = dy.Int32(min=0, **doc(ID, "replication; the same seed at every point"))
    seed_entropy = dy.UInt64(**doc(ID, "the experiment's seed (numpy SeedSequence entropy)"))
    spawn_key = dy.List(dy.Int64(), **doc(ID, "the run's SeedSequence spawn key"))
    status = dy.Enum(
        ["done", "failed"],
        **doc(TEXT, "done, or failed (a failed run has rows in this table only)"),
    )
    months = dy.Int32(min=0, **doc("months", "months simulated"))
    wall_s = dy.Float64(min=0, **doc("seconds", "wall-clock time of the run"))
    error = dy.String(nullable=True, **doc(TEXT, "traceback of a failed run"))
    numerics = dy.String(
        **doc(TEXT, "numpy version and SIMD level, OpenBLAS kernels (sim.run.numerics)")
    )


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


def column_docs(table: str) -> list[tuple[str, str | None, str | None]]:
    """``(column, unit, meaning)`` of each column of a declared table, in order (None
    where one is missing).

    >>> column_docs("runs")[1]
    ('point_id', 'id', 'design point (points.parquet)')
    """
    return [
        (name, (column.metadata or {}).get("unit"), column.description)
        for name, column in SCHEMAS[table].columns().items()
    ]
