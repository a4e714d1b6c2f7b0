"""Replication statistics of a sweep's output: what each design point's runs agree on.

Reads a store (see :mod:`experiments.store`) with polars and returns long, tidy tables keyed
by ``point_id``, so that a reader can filter, pivot or plot them without knowing how the
sweep was run, e.g. ``point_statistics("runs/regimes", ["hhi_revenue_mean"])``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import polars as pl
from scipy import stats

from experiments.store import Store

__all__ = ["point_statistics", "run_summaries"]


def run_summaries(out: str | Path) -> pl.DataFrame:
    """Every finished run's ``summary`` row with its ``point_id``, ``replicate`` and the
    design point's parameter values (one column per dotted path)."""
    store = Store(out)
    runs = store.read("runs").filter(pl.col("status") == "done")
    summary = store.read("summary")
    return (
        summary.join(runs.select("run_id", "point_id", "replicate"), on="run_id")
        .join(store.points(), on="point_id", how="left")
        .sort("point_id", "replicate")
    )


def point_statistics(
    out: str | Path, metrics: Sequence[str] | None = None, *, confidence: float = 0.95
) -> pl.DataFrame:
    """Mean and confidence interval of summary metrics across each point's replications.

    Parameters
    ----------
    out
        A store directory written by ``aimarket sweep`` or ``aimarket run``.
    metrics
        ``summary`` columns to describe (default: every numeric one).
    confidence
        Level of the two-sided Student-t interval for the mean.

    Returns
    -------
    polars.DataFrame
        Long format, one row per point and metric: ``point_id``, the point's parameters,
        ``metric``, ``n`` (replications with a value; nulls are runs where the metric is
        undefined, e.g. an event that never happened), ``mean``, ``sd``, ``ci_low``,
        ``ci_high`` (null when ``n < 2``).
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    frame = run_summaries(out)
    params = [c for c in Store(out).points().columns if c != "point_id"]
    if metrics is None:
        skip = {"point_id", "replicate", "run_id", *params}
        metrics = [c for c, t in frame.schema.items() if c not in skip and t.is_numeric()]
    missing = [m for m in metrics if m not in frame.columns]
    if missing:
        raise KeyError(f"not summary columns: {', '.join(missing)}")
    long = frame.unpivot(
        index=["point_id", *params], on=list(metrics), variable_name="metric"
    ).with_columns(pl.col("value").cast(pl.Float64))
    grouped = (
        long.drop_nulls("value")
        .group_by(["point_id", *params, "metric"], maintain_order=True)
        .agg(
            n=pl.len(),
            mean=pl.col("value").mean(),
            sd=pl.col("value").std(ddof=1),
        )
    )
    n = grouped["n"].to_numpy()
    t = np.where(n > 1, stats.t.ppf(0.5 + confidence / 2, np.maximum(n - 1, 1)), np.nan)
    half = pl.Series("half", t * grouped["sd"].fill_null(np.nan).to_numpy() / np.sqrt(n))
    return (
        grouped.with_columns(half=half.fill_nan(None))
        .with_columns(
            ci_low=pl.col("mean") - pl.col("half"), ci_high=pl.col("mean") + pl.col("half")
        )
        .drop("half")
        .sort("point_id", "metric")
    )
