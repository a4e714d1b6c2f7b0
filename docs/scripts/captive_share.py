"""How much of the market big users' own models take (question 10).

    python docs/scripts/captive_share.py runs/captives [runs/lifecycle]

Reads a store of ``experiments/configs/captives.toml`` and prints, per design point, means
over runs with 95% intervals (``aimarket.experiments.intervals``): captive models built
over the decade (and by segment), the share of months with one on sale, and captives'
share of the market's queries and revenue (monthly means). With a second store of the same
seed and regimes without captives (``lifecycle.toml``'s points with tool use), it adds the
paired difference in mean HHI and gross margin (captives on minus off).
"""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl

from aimarket.experiments.intervals import mean_interval, paired_difference

__all__ = ["captive_share"]


def _table(store: Path, name: str) -> pl.DataFrame:
    runs = pl.read_parquet(store / "table=runs" / "*.parquet").select(
        "run_id", "point_id", "replicate"
    )
    points = pl.read_parquet(store / "points.parquet")
    frame = pl.read_parquet(store / f"table={name}" / "*.parquet").join(runs, on="run_id")
    return frame.join(points, on="point_id")


def _fmt(values, bounds=(0.0, float("inf"))) -> str:
    iv = mean_interval(values, bounds=bounds)
    return f"{iv.mean:.3g} [{iv.low:.3g}, {iv.high:.3g}]"


def _per_run(store: Path) -> pl.DataFrame:
    """One row per run: captives built, months with one on sale, their shares."""
    events = _table(store, "events").filter(
        (pl.col("kind") == "entry") & pl.col("detail").str.starts_with("captive ")
    )
    built = events.group_by("run_id", maintain_order=True).agg(built=pl.len())
    by_segment = events.with_columns(segment=pl.col("detail").str.strip_prefix("captive "))
    segs = (
        by_segment.group_by("run_id", "segment", maintain_order=True)
        .len()
        .pivot("segment", index="run_id")
    )
    firms = _table(store, "firms")
    captive = (pl.col("kind") == "captive") & (pl.col("models_on_sale") > 0)
    monthly = firms.group_by("run_id", "month", maintain_order=True).agg(
        on_sale=captive.any(),
        queries=pl.col("share_queries").filter(captive).sum(),
        revenue=pl.col("share_revenue").filter(captive).sum(),
    )
    shares = monthly.group_by("run_id", maintain_order=True).agg(
        pl.col("on_sale", "queries", "revenue").mean()
    )
    summary = _table(store, "summary").select(
        "run_id", "point_id", "replicate", "market.regime", "hhi_revenue_mean", "gross_margin_mean"
    )
    out = summary.join(shares, on="run_id", how="left").join(built, on="run_id", how="left")
    return out.join(segs, on="run_id", how="left").fill_null(0)


_SEGMENTS = ("coding", "enterprise_analytics", "science", "frontier_research")
_PAIRED = (("HHI", "hhi_revenue_mean"), ("GM", "gross_margin_mean"))


def _paired(runs: pl.DataFrame, base: pl.DataFrame) -> dict[str, str]:
    """Captives on minus off, paired by replicate, for each of :data:`_PAIRED`."""
    pairs = runs.join(base, on="replicate", suffix="_off")
    out = {}
    for label, col in _PAIRED:
        d = paired_difference((pairs[col] - pairs[f"{col}_off"]).to_numpy())
        out[f"{label} on - off"] = (
            f"{d.mean_diff:+.3g} [{d.low:+.3g}, {d.high:+.3g}] p={d.p_value:.2g}"
        )
    return out


def captive_share(store: Path, without: Path | None = None) -> pl.DataFrame:
    """The table per regime, as formatted strings."""
    runs = _per_run(store)
    base = None
    if without is not None:
        base = _table(without, "summary").filter(
            pl.col("demand.tools.hard_token_saving_frac") == 0.5
        )
    segments = [c for c in _SEGMENTS if c in runs.columns]
    rows = []
    for regime in runs["market.regime"].unique(maintain_order=True):
        r = runs.filter(pl.col("market.regime") == regime)
        row = {
            "regime": regime,
            "runs": r.height,
            "captives built": _fmt(r["built"].to_numpy()),
            **{f"in {s}": _fmt(r[s].to_numpy()) for s in segments},
            "months with one on sale": _fmt(r["on_sale"].to_numpy(), (0.0, 1.0)),
            "share of queries": _fmt(r["queries"].to_numpy(), (0.0, 1.0)),
            "share of revenue": _fmt(r["revenue"].to_numpy(), (0.0, 1.0)),
        }
        if base is not None:
            off = base.filter(pl.col("market.regime") == regime)
            row |= _paired(r, off.select("replicate", *(c for _, c in _PAIRED)))
        rows.append(row)
    return pl.DataFrame(rows)


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        raise SystemExit(__doc__)
    second = Path(sys.argv[2]) if len(sys.argv) == 3 else None
    with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_width_chars=300, fmt_str_lengths=50):
        print(captive_share(Path(sys.argv[1]), second))
