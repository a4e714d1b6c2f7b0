"""The report's plots: matplotlib (Agg) figures as base64 PNGs, one line or panel per
design point, calendar dates on time axes, and intervals inside each metric's bounds.

Every band or error bar drawn is also recorded in :attr:`Figures.data` (the metric, its
bounds and the plotted lows and highs), which the page embeds as JSON so that a test can
check the numbers behind the pictures.
"""

from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from aimarket.experiments.intervals import mean_interval, metric_bounds, t_half_width

__all__ = ["MAX_LINES", "Figures", "band", "fan", "has_research"]

#: Time series and panels show at most this many design points; larger designs (Latin
#: hypercubes, Sobol samples) are shown pooled, and against their parameters instead.
MAX_LINES = 8


def band(frame: pl.DataFrame, column: str, by: list[str]) -> pl.DataFrame:
    """Mean and 95% t-band of ``column`` across replicates for each ``by`` group (and
    month, if ``by`` has it), clipped to the column's bounds
    (:func:`experiments.intervals.metric_bounds`): ``mean``, ``low``, ``high``, ``n``."""
    g = (
        frame.drop_nulls(column)
        .filter(pl.col(column).is_finite())
        .group_by(by)
        .agg(mean=pl.col(column).mean(), sd=pl.col(column).std(ddof=1), n=pl.len())
        .sort(by)
    )
    half = t_half_width(g["sd"].fill_null(np.nan).to_numpy(), g["n"].to_numpy())
    lo, hi = metric_bounds(column)
    mean = g["mean"].to_numpy()
    return g.with_columns(
        low=pl.Series(np.clip(mean - half, lo, hi)), high=pl.Series(np.clip(mean + half, lo, hi))
    )


def fan(frame: pl.DataFrame, column: str, by: list[str]) -> pl.DataFrame:
    """The runs' ``median`` and central 50% (``q25``-``q75``) and 90% (``q05``-``q95``) of
    ``column`` per ``by`` group: a posterior-predictive fan, where runs differ in their
    parameters as well as their seeds."""
    col = pl.col(column)
    return (
        frame.drop_nulls(column)
        .filter(col.is_finite())
        .group_by(by)
        .agg(
            median=col.median(),
            **{f"q{q:02d}": col.quantile(q / 100, "linear") for q in (5, 25, 75, 95)},
            n=pl.len(),
        )
        .sort(by)
    )


def has_research(market: pl.DataFrame) -> bool:
    """Whether labs paid for research in these runs (stores written before research
    compute have no such column)."""
    return "research_spend_usd" in market.columns and bool(market["research_spend_usd"].sum() > 0)


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


@dataclass
class Figures:
    """Draws the report's figures for design points labelled ``labels``."""

    labels: dict[int, str]
    data: list[dict[str, Any]] = field(default_factory=list)
    #: runs drawn from a posterior: time series are fans of the runs, not means' bands
    predictive: bool = False

    # -- helpers ---------------------------------------------------------------------------

    @property
    def per_point(self) -> bool:
        return len(self.labels) <= MAX_LINES

    def label(self, line: int) -> str:
        return "all runs" if line < 0 else f"point {line}: {self.labels.get(line, '')}"

    def lines(self, frame: pl.DataFrame) -> pl.DataFrame:
        """``frame`` with ``line``: its point, or -1 (pooled) for large designs."""
        return frame.with_columns(line=pl.col("point_id") if self.per_point else pl.lit(-1))

    def _record(self, figure: str, metric: str, low: Any, high: Any) -> None:
        lo, hi = metric_bounds(metric)
        finite = [float(v) for v in np.concatenate([np.ravel(low), np.ravel(high)])]
        self.data.append(
            {
                "figure": figure,
                "metric": metric,
                "bounds": [None if math.isinf(lo) else lo, None if math.isinf(hi) else hi],
                "values": [v for v in finite if math.isfinite(v)],
            }
        )

    @staticmethod
    def png(fig: Any) -> str:
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
        _plt().close(fig)
        return base64.b64encode(buf.getvalue()).decode("ascii")

    # -- figures ---------------------------------------------------------------------------

    def timeseries(self, market: pl.DataFrame, column: str, ylabel: str, *, log: bool) -> str:
        """The column's mean over replicates by calendar month, a line and band per point;
        for runs drawn from a posterior, the runs' median and their central 50% and 90%."""
        plt = _plt()
        fig, ax = plt.subplots(figsize=(9, 3.8))
        frame = self.lines(market)
        if log:
            frame = frame.filter(pl.col(column) > 0)
        drawn = (self._fan if self.predictive else self._band)(ax, frame, column)
        if log and drawn:
            ax.set_yscale("log")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        if drawn:
            ax.legend(fontsize=8, loc="best")
        else:
            ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center")
        fig.autofmt_xdate()
        return self.png(fig)

    def _band(self, ax: Any, frame: pl.DataFrame, column: str) -> int:
        """Mean and 95% t-band by month, per point; the number of rows drawn."""
        b = band(frame, column, ["line", "date"])
        for (line,), g in b.group_by("line", maintain_order=True):
            x = g["date"].to_list()
            (h,) = ax.plot(x, g["mean"].to_numpy(), label=self.label(int(line)), lw=1.6)
            low, high = g["low"].to_numpy(), g["high"].to_numpy()
            if np.isfinite(low).any():
                ax.fill_between(x, low, high, color=h.get_color(), alpha=0.18, lw=0)
            self._record(f"timeseries {column}", column, low, high)
        return b.height

    def _fan(self, ax: Any, frame: pl.DataFrame, column: str) -> int:
        """The runs' median by month and their central 50% and 90%, per point."""
        f = fan(frame, column, ["line", "date"])
        for (line,), g in f.group_by("line", maintain_order=True):
            x = g["date"].to_list()
            (h,) = ax.plot(x, g["median"].to_numpy(), label=self.label(int(line)), lw=1.6)
            for lo, hi, alpha in (("q05", "q95", 0.12), ("q25", "q75", 0.25)):
                ax.fill_between(
                    x, g[lo].to_numpy(), g[hi].to_numpy(), color=h.get_color(), alpha=alpha, lw=0
                )
            self._record(f"fan {column}", column, g["q05"].to_numpy(), g["q95"].to_numpy())
        ax.set_title("median of the runs; bands: central 50% and 90%", fontsize=9)
        return f.height

    def margins_by_business_model(self, firms: pl.DataFrame) -> str:
        """Gross margin of each business model by month, one panel per design point."""
        per_run = (
            self.lines(firms.filter(pl.col("kind") != "open_weights"))
            .group_by("line", "business_model", "run_id", "date")
            .agg(rev=pl.col("revenue_usd").sum(), serving=pl.col("serving_cost_usd").sum())
            .filter(pl.col("rev") > 0)
            .with_columns(gross_margin=(pl.col("rev") - pl.col("serving")) / pl.col("rev"))
        )
        b = band(per_run, "gross_margin", ["line", "business_model", "date"])
        return self._panels(b, "gross_margin", "business_model", "gross margin (fraction)")

    def mix(self, firms: pl.DataFrame) -> str:
        """Each business model's share of customer revenue in the last year, per point,
        with its interval across replicates."""
        last = firms.filter(pl.col("month") > pl.col("month").max() - 12)
        per_run = (
            self.lines(last)
            .group_by("line", "run_id", "business_model")
            .agg(pl.col("customer_revenue_usd").sum())
            .with_columns(
                revenue_share=pl.col("customer_revenue_usd")
                / pl.col("customer_revenue_usd").sum().over("line", "run_id")
            )
            .filter(pl.col("revenue_share").is_finite())
        )
        return self._bars(per_run, "revenue_share", "business_model", "share of customer revenue")

    def entry_exit(self, market: pl.DataFrame) -> str:
        """Entries and exits per year per point, mean per run with its interval."""
        per_run = (
            self.lines(market)
            .group_by("line", "run_id")
            .agg(
                entries=pl.col("entries").sum() * 12 / pl.len(),
                exits=pl.col("exits").sum() * 12 / pl.len(),
            )
            .unpivot(index=["line", "run_id"], variable_name="event", value_name="firms_per_year")
        )
        return self._bars(per_run, "firms_per_year", "event", "firms per year (mean per run)")

    def spend(self, market: pl.DataFrame) -> str:
        """Cumulative training (solid) and inference (dashed) spend, mean per point; where
        labs paid for research, R&D too (final runs plus research, dotted)."""
        plt = _plt()
        research = has_research(market)
        rd = pl.col("cumulative_training_usd")
        if research:  # the market table keeps research monthly: accumulate it per run
            rd = rd + pl.col("research_spend_usd").cum_sum().over("run_id", order_by="month")
        agg = (
            self.lines(market)
            .with_columns(cumulative_rd_usd=rd)
            .group_by("line", "date")
            .agg(
                pl.col(
                    "cumulative_training_usd", "cumulative_inference_usd", "cumulative_rd_usd"
                ).mean()
            )
            .sort("line", "date")
        )
        fig, ax = plt.subplots(figsize=(9, 3.8))
        for (line,), g in agg.group_by("line", maintain_order=True):
            x = g["date"].to_list()
            train = g["cumulative_training_usd"].to_numpy()
            infer = g["cumulative_inference_usd"].to_numpy()
            (h,) = ax.plot(x, train, lw=1.6, label=f"{self.label(int(line))}: training")
            ax.plot(x, infer, lw=1.6, ls="--", color=h.get_color(), label="… inference")
            if research:
                rd_usd = g["cumulative_rd_usd"].to_numpy()
                ax.plot(x, rd_usd, lw=1.2, ls=":", color=h.get_color(), label="… R&D")
            # The month inference overtakes training: at or above it after being below.
            below = np.maximum.accumulate(infer < train)
            over = np.flatnonzero(below & (infer >= train))
            if over.size:
                ax.axvline(x[over[0]], color=h.get_color(), lw=0.8, ls=":")
        ax.set_yscale("log")
        ax.set_ylabel("cumulative spend (USD, log scale)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, ncol=2)
        fig.autofmt_xdate()
        return self.png(fig)

    def against_parameters(self, runs: pl.DataFrame, metric: str, params: list[str]) -> str:
        """A sensitivity design's runs: the metric against each of ``params`` (its most
        influential), one dot per run."""
        plt = _plt()
        fig, axes = plt.subplots(1, len(params), figsize=(4.2 * len(params), 3.4), squeeze=False)
        for ax, param in zip(axes[0], params, strict=True):
            ax.scatter(runs[param].to_numpy(), runs["value"].to_numpy(), s=10, alpha=0.6)
            ax.set_xlabel(param)
            ax.grid(alpha=0.3)
        axes[0][0].set_ylabel(metric)
        fig.tight_layout()
        return self.png(fig)

    # -- shared layouts ----------------------------------------------------------------------

    def _panels(self, b: pl.DataFrame, metric: str, series: str, ylabel: str) -> str:
        plt = _plt()
        lines = b["line"].unique().sort().to_list() or [-1]
        cols = min(len(lines), 2)
        rows = math.ceil(len(lines) / cols)
        fig, axes = plt.subplots(
            rows, cols, figsize=(5.2 * cols, 3.2 * rows), squeeze=False, sharey=True
        )
        for ax, line in zip(axes.ravel(), lines, strict=False):
            for (name,), g in b.filter(pl.col("line") == line).group_by(
                series, maintain_order=True
            ):
                x = g["date"].to_list()
                (h,) = ax.plot(x, g["mean"].to_numpy(), lw=1.4, label=str(name))
                low, high = g["low"].to_numpy(), g["high"].to_numpy()
                ax.fill_between(x, low, high, color=h.get_color(), alpha=0.18, lw=0)
                self._record(f"panels {metric}", metric, low, high)
            ax.set_title(self.label(int(line)), fontsize=9)
            if metric.endswith("margin"):
                ax.set_ylim(bottom=max(-1.0, float(b["low"].min() or -1.0)), top=1.05)
            ax.set_ylabel(ylabel)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7)
            ax.tick_params(axis="x", labelrotation=30, labelsize=7)
        for ax in axes.ravel()[len(lines) :]:
            ax.set_visible(False)
        return self.png(fig)

    def _bars(self, per_run: pl.DataFrame, metric: str, series: str, ylabel: str) -> str:
        plt = _plt()
        lo, hi = metric_bounds(metric)
        rows = []
        for (line, name), g in per_run.group_by("line", series, maintain_order=True):
            iv = mean_interval(g[metric].to_numpy(), bounds=(lo, hi))
            rows.append((int(line), str(name), iv.mean, iv.low, iv.high))
        lines = sorted({r[0] for r in rows})
        names = sorted({r[1] for r in rows})
        fig, ax = plt.subplots(figsize=(9, 3.6))
        width = 0.8 / max(len(names), 1)
        for k, name in enumerate(names):
            got = {r[0]: r for r in rows if r[1] == name}
            x = np.arange(len(lines)) + (k - (len(names) - 1) / 2) * width
            mean = np.array([got[li][2] if li in got else np.nan for li in lines])
            low = np.array([got[li][3] if li in got else np.nan for li in lines])
            high = np.array([got[li][4] if li in got else np.nan for li in lines])
            err = np.vstack([mean - low, high - mean])
            ax.bar(x, mean, width=width, label=name, yerr=np.nan_to_num(err), capsize=2)
            self._record(f"bars {metric}", metric, low, high)
        ax.set_xticks(
            np.arange(len(lines)),
            [self.label(li) for li in lines],
            rotation=15,
            ha="right",
            fontsize=8,
        )
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3, axis="y")
        ax.legend(fontsize=8)
        return self.png(fig)
