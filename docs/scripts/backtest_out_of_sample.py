"""The backtest's out-of-sample table (docs/backtest.md), from a store of backtest runs.

    python docs/scripts/backtest_out_of_sample.py runs/backtest

Every figure is a mean over runs with a 95% percentile-bootstrap interval (scipy.stats,
fixed seed, so it stays inside the quantity's range), then the runs' median and central 50%
and 90%: with runs drawn from the posterior (``aimarket sweep runs/calibration/calibrated.toml``)
those are posterior-predictive intervals. None of them is a calibration target.
Definitions are in docs/backtest.md, "Out of sample".
"""

from __future__ import annotations

import sys

import numpy as np
import polars as pl
from scipy import stats

__all__ = ["out_of_sample", "spread"]

_BUILDERS = ("upfront_heavy", "inference_heavy")


def _interval(values: np.ndarray) -> tuple[float, float, float]:
    # Sorted: the runs arrive in no fixed order, and the resamples depend on it.
    values = np.sort(values[np.isfinite(values)])
    if values.size < 2:
        mean = float(values.mean()) if values.size else float("nan")
        return mean, float("nan"), float("nan")
    if np.ptp(values) == 0:
        return float(values[0]), float(values[0]), float(values[0])
    boot = stats.bootstrap((values,), np.mean, method="percentile", rng=np.random.default_rng(0))
    low, high = boot.confidence_interval
    return float(values.mean()), float(low), float(high)


def spread(values: np.ndarray) -> tuple[float, float, float, float, float]:
    """The runs' 5%, 25%, 50%, 75% and 95% quantiles (finite values only)."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return (float("nan"),) * 5
    return tuple(float(q) for q in np.quantile(finite, [0.05, 0.25, 0.5, 0.75, 0.95]))


def _year_mean(market: pl.DataFrame, column: str, year: int) -> np.ndarray:
    rows = market.filter(pl.col("date").dt.year() == year)
    return rows.group_by("run_id").agg(pl.col(column).mean())[column].to_numpy()


def _with_research(frame: pl.DataFrame) -> pl.DataFrame:
    # Stores written before research compute (session 13) have no such column: none paid.
    if "research_spend_usd" in frame.columns:
        return frame
    return frame.with_columns(research_spend_usd=pl.lit(0.0))


def _year_margins(market: pl.DataFrame, year: int) -> pl.DataFrame:
    costs = ["serving_cost_usd", "amortisation_usd", "opex_usd", "research_spend_usd"]
    rows = (
        _with_research(market)
        .filter(pl.col("date").dt.year() == year)
        .group_by("run_id")
        .agg(pl.col("revenue_usd", *costs).sum())
    )
    return rows.with_columns(
        gross=1 - pl.col("serving_cost_usd") / pl.col("revenue_usd"),
        operating=1 - pl.sum_horizontal(costs) / pl.col("revenue_usd"),
    )


def _frontier_developers(models: pl.DataFrame) -> pl.DataFrame:
    big = models.filter(
        pl.col("business_model").is_in(_BUILDERS)
        & (pl.col("role") == "flagship")
        & (pl.col("train_flop") >= 1e25)
        & (pl.col("date") <= pl.date(2025, 1, 31))
    )
    runs = models.select("run_id").unique()
    counts = big.group_by("run_id").agg(developers=pl.col("firm_id").n_unique(), models=pl.len())
    return runs.join(counts, on="run_id", how="left").fill_null(0)


def _leader_2024(firms: pl.DataFrame) -> pl.DataFrame:
    year = _with_research(firms).filter(
        (pl.col("date").dt.year() == 2024) & (pl.col("kind") != "open_weights")
    )
    compute = ["serving_cost_usd", "training_spend_usd", "research_spend_usd"]
    per_firm = year.group_by("run_id", "firm_id").agg(
        pl.col("customer_revenue_usd", *compute).sum()
    )
    leader = per_firm.sort("customer_revenue_usd", descending=True).group_by("run_id").first()
    return leader.with_columns(
        inference_frac=pl.col("serving_cost_usd") / pl.sum_horizontal(compute)
    )


def out_of_sample(store: str) -> list[tuple[str, np.ndarray]]:
    """Rows of (quantity, per-run values) from the store's market, firms and models tables."""
    market, firms, models = (
        pl.read_parquet(f"{store}/table={t}/*.parquet") for t in ("market", "firms", "models")
    )
    rows = []
    for year in (2023, 2025):
        for column in ("hhi_revenue", "hhi_developer_revenue", "cr1"):
            rows.append((f"{column}, {year} mean", np.asarray(_year_mean(market, column, year))))
    margins = _year_margins(market, 2024)
    rows.append(("gross margin of the market, 2024", np.asarray(margins["gross"].to_numpy())))
    rows.append(("operating margin, 2024", np.asarray(margins["operating"].to_numpy())))
    big = _frontier_developers(models)
    rows.append(
        (
            "developers above 1e25 FLOP, Jan 2025",
            np.asarray(big["developers"].to_numpy().astype(float)),
        )
    )
    rows.append(
        ("models above 1e25 FLOP, Jan 2025", np.asarray(big["models"].to_numpy().astype(float)))
    )
    leader = _leader_2024(firms)
    rows.append(
        ("leader's 2024 compute on serving", np.asarray(leader["inference_frac"].to_numpy()))
    )
    rows.append(
        ("leader's 2024 revenue, USD", np.asarray(leader["customer_revenue_usd"].to_numpy()))
    )
    rows.append(
        (
            "open-weights share of revenue, 2024 mean",
            np.asarray(_year_mean(market, "open_weights_revenue_share", 2024)),
        )
    )
    return rows


if __name__ == "__main__":
    print(f"{'quantity':45s} {'mean':>10s}  [95% CI]   median  50%: [q25, q75]  90%: [q05, q95]")
    for name, values in out_of_sample(sys.argv[1] if len(sys.argv) > 1 else "runs/backtest"):
        mean, low, high = _interval(values)
        q05, q25, q50, q75, q95 = spread(values)
        print(
            f"{name:45s} {mean:10.4g}  [{low:.4g}, {high:.4g}]  {q50:.4g}  "
            f"[{q25:.4g}, {q75:.4g}]  [{q05:.4g}, {q95:.4g}]"
        )
