"""The forecast's table and what drives its spread (docs/forecast.md), from a store of runs
drawn from the posterior (``aimarket sweep experiments/configs/forecast_2026.toml``).

    python docs/scripts/forecast_table.py runs/forecast [YEAR ...]

For each quantity and year (default 2026, 2028, 2030): the runs' median and central 50%
and 90% (posterior-predictive: runs differ in their posterior draw and their seed), then
first-order sensitivity indices of each year-2030 quantity to the free parameters, from
the runs as given data (SALib's delta method, which also estimates Sobol' first-order
indices from any sample: Plischke, Borgonovo & Smith 2013). Definitions:

- prices: the market's ``price_usd_per_mtok_at_<level>`` in December;
- concentration and gross margin: the year's mean of the market's monthly values;
- the leading firm is the one with the most customer revenue in the year; its inference
  share is its serving cost over serving, training and research spend in the year;
- frontier developers: firms that launched a flagship (upfront- or inference-heavy) in the
  year within 1 OOM of the year's largest training run;
- revenue, tokens, entries and exits: the year's sums.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from pathlib import Path

import numpy as np
import polars as pl

__all__ = ["quantities", "sensitivity"]

_BUILDERS = ("upfront_heavy", "inference_heavy")
_COMPUTE = ["serving_cost_usd", "training_spend_usd", "research_spend_usd"]


def _december(market: pl.DataFrame, column: str, year: int) -> pl.DataFrame:
    rows = market.filter((pl.col("date").dt.year() == year) & (pl.col("date").dt.month() == 12))
    return rows.select("run_id", pl.col(column).alias("value"))


def _year_mean(market: pl.DataFrame, column: str, year: int) -> pl.DataFrame:
    rows = market.filter(pl.col("date").dt.year() == year)
    return rows.group_by("run_id").agg(pl.col(column).mean().alias("value"))


def _year_sum(market: pl.DataFrame, column: str, year: int) -> pl.DataFrame:
    rows = market.filter(pl.col("date").dt.year() == year)
    return rows.group_by("run_id").agg(pl.col(column).sum().cast(pl.Float64).alias("value"))


def _leader_inference(firms: pl.DataFrame, year: int) -> pl.DataFrame:
    rows = firms.filter((pl.col("date").dt.year() == year) & (pl.col("kind") != "open_weights"))
    per_firm = rows.group_by("run_id", "firm_id").agg(
        pl.col("customer_revenue_usd", *_COMPUTE).sum()
    )
    leader = per_firm.sort("customer_revenue_usd", descending=True).group_by("run_id").first()
    return leader.select(
        "run_id", (pl.col("serving_cost_usd") / pl.sum_horizontal(_COMPUTE)).alias("value")
    )


def _frontier_developers(models: pl.DataFrame, runs: pl.DataFrame, year: int) -> pl.DataFrame:
    launched = models.filter(
        (pl.col("date").dt.year() == year)
        & pl.col("business_model").is_in(_BUILDERS)
        & (pl.col("role") == "flagship")
    )
    near = launched.filter(pl.col("train_flop") >= 0.1 * pl.col("train_flop").max().over("run_id"))
    counts = near.group_by("run_id").agg(
        pl.col("firm_id").n_unique().cast(pl.Float64).alias("value")
    )
    return runs.join(counts, on="run_id", how="left").fill_null(0.0)


def quantities(store: str | Path, year: int) -> dict[str, pl.DataFrame]:
    """Each forecast quantity in ``year``: a frame of ``run_id`` and ``value``."""
    market, firms, models = (
        pl.read_parquet(f"{store}/table={t}/*.parquet") for t in ("market", "firms", "models")
    )
    runs = market.select("run_id").unique()
    return {
        "price of GPT-4-level capability, USD/Mtok (Dec)": _december(
            market, "price_usd_per_mtok_at_gpt4", year
        ),
        "price of GPT-3.5-level capability, USD/Mtok (Dec)": _december(
            market, "price_usd_per_mtok_at_gpt35", year
        ),
        "developer HHI of revenue (year mean)": _year_mean(market, "hhi_developer_revenue", year),
        "largest firm's share of revenue, CR1 (year mean)": _year_mean(market, "cr1", year),
        "market gross margin (year mean)": _year_mean(market, "gross_margin", year),
        "leading firm's compute spend on serving": _leader_inference(firms, year),
        "frontier developers (within 1 OOM of the year's largest run)": (
            _frontier_developers(models, runs, year)
        ),
        "market revenue, USD a year": _year_sum(market, "revenue_usd", year),
        "tokens served a year": _year_sum(market, "tokens", year),
        "entries in the year": _year_sum(market, "entries", year),
        "exits in the year": _year_sum(market, "exits", year),
    }


def _draws(store: str | Path) -> pl.DataFrame:
    """Each run's posterior draw (the store's manifest lists one per replicate)."""
    manifest = json.loads(Path(store, "manifest.json").read_text())
    draws = manifest["design"]["posterior_draws"]
    runs = pl.read_parquet(f"{store}/table=runs/*.parquet").select("run_id", "replicate")
    frame = (
        pl.DataFrame(draws)
        .with_row_index("replicate")
        .with_columns(pl.col("replicate").cast(runs["replicate"].dtype))
    )
    return runs.join(frame, on="replicate")


def sensitivity(store: str | Path, values: pl.DataFrame) -> dict[str, tuple[float, float]]:
    """First-order indices (SALib delta's S1) of ``values`` to each drawn parameter, with
    the half-width of their 95% bootstrap interval."""
    from SALib.analyze import delta

    draws = (
        _draws(store)
        .join(values, on="run_id")
        .sort("run_id")  # the estimator's bins and resamples depend on the order
        .drop_nulls("value")
        .filter(pl.col("value").is_finite())
    )
    names = [c for c in draws.columns if c not in ("run_id", "replicate", "value")]
    x = draws.select(names).to_numpy()
    bounds = [[float(c.min()), float(c.max()) + 1e-12] for c in x.T]
    problem = {"num_vars": len(names), "names": names, "bounds": bounds}
    notes = io.StringIO()  # SALib prints notes on its bins
    with contextlib.redirect_stdout(notes), contextlib.redirect_stderr(notes):
        result = delta.analyze(
            problem, x, draws["value"].to_numpy(), num_resamples=100, seed=1
        )  # seed=0 would not seed
    return {
        n: (float(s1), float(conf))
        for n, s1, conf in zip(names, result["S1"], result["S1_conf"], strict=True)
    }


def _row(values: np.ndarray) -> str:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return "n/a"
    q05, q25, q50, q75, q95 = np.quantile(finite, [0.05, 0.25, 0.5, 0.75, 0.95])
    return f"{q50:.3g} [{q25:.3g}, {q75:.3g}] [{q05:.3g}, {q95:.3g}]"


if __name__ == "__main__":
    store = sys.argv[1] if len(sys.argv) > 1 else "runs/forecast"
    years = [int(y) for y in sys.argv[2:]] or [2026, 2028, 2030]
    tables = {year: quantities(store, year) for year in years}
    print("| quantity | " + " | ".join(str(y) for y in years) + " |")
    print("|---|" + "---|" * len(years))
    for name in tables[years[0]]:
        cells = [_row(tables[y][name]["value"].to_numpy().astype(float)) for y in years]
        print(f"| {name} | " + " | ".join(cells) + " |")
    print(f"\nfirst-order indices in {years[-1]} (SALib delta, S1), largest three:")
    for name, frame in tables[years[-1]].items():
        s1 = sensitivity(store, frame)
        top = sorted(s1.items(), key=lambda kv: -kv[1][0])[:3]
        print(f"- {name}: " + ", ".join(f"{k} {v:.2f} ± {c:.2f}" for k, (v, c) in top))
