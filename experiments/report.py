"""``aimarket report OUT``: one self-contained HTML page of a store's results.

The page embeds its plots as PNG data URIs and its style inline, so it opens offline and
fetches nothing. Plots are drawn with matplotlib (Agg) from the store's tables: every line
is a design point's mean over replications with a 95% band (Student-t across replicates,
month by month), so a one-run store gives lines without bands.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from aimarket.experiments.analysis import (
    design_of,
    parameters,
    point_statistics,
    run_counts,
    scan,
    sensitivity,
)
from aimarket.experiments.config import ConfigError
from aimarket.experiments.store import Store

__all__ = ["MAX_LINES", "write_report"]

#: Time series show at most this many design points as separate lines; larger designs
#: (Latin hypercubes, Sobol samples) are shown as the mean over all runs.
MAX_LINES = 8

_HEADLINE = (
    "hhi_revenue_mean",
    "hhi_revenue_final",
    "cr4_final",
    "gross_margin_mean",
    "operating_margin_mean",
    "firms_active_final",
    "entries",
    "exits",
    "inference_overtakes_training_month",
)

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2rem auto;
max-width:1100px;color:#1d2430;line-height:1.45;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2.2rem;
border-bottom:1px solid #d8dde6;padding-bottom:.2rem}
figure{margin:1.2rem 0}figure img{max-width:100%;height:auto;border:1px solid #eef0f4}
figcaption{font-size:.9rem;color:#4a5568}
table{border-collapse:collapse;font-size:.85rem;margin:.6rem 0}
th,td{border:1px solid #d8dde6;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f5f9}td.num{text-align:right;font-variant-numeric:tabular-nums}
.note{color:#4a5568;font-size:.9rem}
"""


def write_report(out: str | Path) -> Path:
    """Write ``OUT/report.html`` for a store and return its path."""
    out = Path(out)
    if not Store.is_store(out):
        raise ConfigError(f"out = {str(out)!r}: not an aimarket store (no manifest.json)")
    counts = run_counts(out)
    if counts["done"] == 0:
        raise ConfigError(f"{out}: no finished runs to report on")
    store = Store(out)
    manifest = store.manifest()
    params = parameters(out)
    market = scan(out, "market").collect()
    firms = scan(out, "firms").collect()
    labels = _point_labels(store.points(), params)
    sections: list[str] = []

    stats = point_statistics(out, [m for m in _HEADLINE if m in _summary_columns(out)])
    sections.append(_section("Summary by design point", _stats_table(stats, params, labels)))

    series = [
        ("hhi_revenue", "HHI of revenue (0–10,000)", False, "Concentration: HHI of revenue"),
        ("cr4", "CR4 of revenue (share, 0–1)", False, "Concentration: CR4 of revenue"),
        (
            "price_usd_per_mtok_at_reference",
            "USD per million tokens (log scale)",
            True,
            "Price of reference (GPT-4-level) capability: the cheapest price per million "
            "tokens paid in a usage segment for an offering at or above it",
        ),
    ]
    figures = [_timeseries(market, col, ylabel, log, labels) for col, ylabel, log, _ in series]
    body = "".join(
        _figure(png, caption) for png, (_, _, _, caption) in zip(figures, series, strict=True)
    )
    sections.append(_section("Concentration and prices over time", body))
    sections.append(
        _section(
            "Margins by business model",
            _figure(
                _margins_by_business_model(firms),
                "Gross and operating margin of each business model, pooled over points and "
                "replicates: (revenue − serving cost) / revenue and (revenue − serving − "
                "amortisation − opex) / revenue, month by month",
            ),
        )
    )
    sections.append(
        _section(
            "Training and inference spend",
            _figure(
                _spend(market, labels),
                "Cumulative training spend (solid) and cumulative inference (GPU serving) "
                "spend (dashed), mean over replicates; a vertical line marks the month "
                "inference overtakes training, where it does",
            ),
        )
    )
    sections.append(
        _section(
            "Business-model mix",
            _figure(
                _mix(firms),
                "Share of customer revenue by business model, pooled over points and replicates",
            ),
        )
    )
    sections.append(
        _section(
            "Entry and exit",
            _figure(_entry_exit(market, labels), "Entries and exits per year, mean per run"),
        )
    )
    sens = _sensitivity_section(out)
    if sens:
        sections.append(_section("Sensitivity", sens))
    sections.append(_section("Manifest", _manifest_table(manifest, counts)))

    title = f"aimarket report: {html.escape(str(manifest.get('experiment', out.name)))}"
    page = (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'><title>{title}"
        f"</title><style>{_CSS}</style></head><body><h1>{title}</h1>"
        f"<p class='note'>{counts['done']} finished runs ({counts['failed']} failed, left out)"
        f" over {store.points().height} design points; generated "
        f"{dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}.</p>"
        + "".join(sections)
        + "</body></html>\n"
    )
    path = out / "report.html"
    tmp = out / ".report.html.tmp"
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(path)
    return path


# ----------------------------------------------------------------------------- data


def _summary_columns(out: Path) -> set[str]:
    return set(scan(out, "summary").collect_schema().names())


def _point_labels(points: pl.DataFrame, params: list[str]) -> dict[int, str]:
    varied = [p for p in params if points[p].n_unique() > 1]
    labels = {}
    for row in points.iter_rows(named=True):
        text = ", ".join(f"{p}={row[p]}" for p in varied) or "base"
        labels[int(row["point_id"])] = text
    return labels


def _band(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """Mean and 95% t-band of ``column`` across replicates, per plotted line and month."""
    from scipy import stats

    g = (
        frame.drop_nulls(column)
        .group_by(["line", "month"])
        .agg(
            mean=pl.col(column).mean(),
            sd=pl.col(column).std(ddof=1),
            n=pl.len(),
        )
        .sort(["line", "month"])
    )
    n = g["n"].to_numpy()
    t = np.where(n > 1, stats.t.ppf(0.975, np.maximum(n - 1, 1)), np.nan)
    half = t * g["sd"].fill_null(np.nan).to_numpy() / np.sqrt(n)
    return g.with_columns(half=pl.Series(half))


def _lines(market: pl.DataFrame, labels: dict[int, str]) -> pl.DataFrame:
    """The frame with a ``line`` to plot: the point, or -1 (pooled) for large designs."""
    line = pl.col("point_id") if len(labels) <= MAX_LINES else pl.lit(-1)
    return market.with_columns(line=line)


# ---------------------------------------------------------------------------- plots


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    _plt().close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _label(line: int, labels: dict[int, str]) -> str:
    return "all runs" if line < 0 else f"point {line}: {labels.get(line, '')}"


def _timeseries(
    market: pl.DataFrame, column: str, ylabel: str, log: bool, labels: dict[int, str]
) -> str:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(9, 3.8))
    band = _band(_lines(market, labels), column)
    for (line,), g in band.group_by("line", maintain_order=True):
        x, y, h = g["month"].to_numpy(), g["mean"].to_numpy(), g["half"].to_numpy()
        (handle,) = ax.plot(x, y, label=_label(int(line), labels), lw=1.6)
        if np.isfinite(h).any():
            lo, hi = y - h, y + h
            if log:
                lo = np.where(lo > 0, lo, np.nan)
            ax.fill_between(x, lo, hi, color=handle.get_color(), alpha=0.18, lw=0)
    if log and band.height and (band["mean"] > 0).any():
        ax.set_yscale("log")
    ax.set_xlabel("month since start")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if band.height:
        ax.legend(fontsize=8, loc="best")
    else:
        ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center")
    return _png(fig)


def _margins_by_business_model(firms: pl.DataFrame) -> str:
    plt = _plt()
    agg = (
        firms.filter(pl.col("kind") != "open_weights")
        .group_by("business_model", "month")
        .agg(
            rev=pl.col("revenue_usd").sum(),
            serving=pl.col("serving_cost_usd").sum(),
            fixed=(pl.col("amortisation_usd") + pl.col("opex_usd")).sum(),
        )
        .filter(pl.col("rev") > 0)
        .with_columns(
            gross=(pl.col("rev") - pl.col("serving")) / pl.col("rev"),
            operating=(pl.col("rev") - pl.col("serving") - pl.col("fixed")) / pl.col("rev"),
        )
        .sort("business_model", "month")
    )
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharex=True)
    for (bm,), g in agg.group_by("business_model", maintain_order=True):
        axes[0].plot(g["month"], g["gross"], label=bm, lw=1.4)
        axes[1].plot(g["month"], g["operating"].clip(-2.0, 1.0), label=bm, lw=1.4)
    axes[0].set_ylabel("gross margin (fraction of revenue)")
    axes[1].set_ylabel("operating margin (fraction, clipped at −2)")
    for ax in axes:
        ax.set_xlabel("month since start")
        ax.grid(alpha=0.3)
    if agg.height:
        axes[0].legend(fontsize=8)
    return _png(fig)


def _spend(market: pl.DataFrame, labels: dict[int, str]) -> str:
    plt = _plt()
    frame = _lines(market, labels)
    fig, ax = plt.subplots(figsize=(9, 3.8))
    agg = (
        frame.group_by("line", "month")
        .agg(
            pl.col("cumulative_training_usd").mean(),
            pl.col("cumulative_inference_usd").mean(),
        )
        .sort("line", "month")
    )
    for (line,), g in agg.group_by("line", maintain_order=True):
        x = g["month"].to_numpy()
        train, infer = (
            g["cumulative_training_usd"].to_numpy(),
            g["cumulative_inference_usd"].to_numpy(),
        )
        (h,) = ax.plot(x, train, lw=1.6, label=f"{_label(int(line), labels)}: training")
        ax.plot(x, infer, lw=1.6, ls="--", color=h.get_color(), label="… inference")
        over = np.flatnonzero(infer >= train)
        if over.size:
            ax.axvline(x[over[0]], color=h.get_color(), lw=0.8, ls=":")
    ax.set_yscale("log")
    ax.set_xlabel("month since start")
    ax.set_ylabel("cumulative spend (USD, log scale)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    return _png(fig)


def _mix(firms: pl.DataFrame) -> str:
    plt = _plt()
    agg = (
        firms.group_by("business_model", "month")
        .agg(pl.col("customer_revenue_usd").sum())
        .with_columns(
            share=pl.col("customer_revenue_usd")
            / pl.col("customer_revenue_usd").sum().over("month")
        )
        .pivot(on="business_model", index="month", values="share")
        .sort("month")
        .fill_null(0.0)
        .fill_nan(0.0)
    )
    fig, ax = plt.subplots(figsize=(9, 3.8))
    models = [c for c in agg.columns if c != "month"]
    if models:
        ax.stackplot(
            agg["month"].to_numpy(), *[agg[m].to_numpy() for m in models], labels=models, alpha=0.85
        )
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_ylim(0, 1)
    ax.set_xlabel("month since start")
    ax.set_ylabel("share of customer revenue")
    ax.grid(alpha=0.3)
    return _png(fig)


def _entry_exit(market: pl.DataFrame, labels: dict[int, str]) -> str:
    plt = _plt()
    frame = _lines(market, labels)
    per_run = frame.group_by("line", "run_id").agg(
        entries=pl.col("entries").sum() * 12 / pl.len(), exits=pl.col("exits").sum() * 12 / pl.len()
    )
    agg = (
        per_run.group_by("line").agg(pl.col("entries").mean(), pl.col("exits").mean()).sort("line")
    )
    fig, ax = plt.subplots(figsize=(9, 3.4))
    x = np.arange(agg.height)
    ax.bar(x - 0.2, agg["entries"], width=0.4, label="entries per year")
    ax.bar(x + 0.2, agg["exits"], width=0.4, label="exits per year")
    ax.set_xticks(
        x, [_label(int(v), labels) for v in agg["line"]], rotation=20, ha="right", fontsize=8
    )
    ax.set_ylabel("firms per year (mean per run)")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=8)
    return _png(fig)


def _sensitivity_section(out: Path) -> str:
    try:
        design = design_of(out)
    except Exception:  # a store written by an older config format: no sensitivity
        return ""
    if design.kind not in ("sobol", "morris"):
        return ""
    plt = _plt()
    parts = []
    for metric in ("hhi_revenue_mean", "gross_margin_mean"):
        try:
            table = sensitivity(out, metric)
        except ConfigError as exc:
            parts.append(f"<p class='note'>{html.escape(str(exc))}</p>")
            continue
        fig, ax = plt.subplots(figsize=(8, 0.5 + 0.45 * table.height))
        y = np.arange(table.height)
        if design.kind == "sobol":
            ax.barh(y - 0.2, table["S1"], height=0.4, xerr=table["S1_conf"], label="first order S1")
            ax.barh(y + 0.2, table["ST"], height=0.4, xerr=table["ST_conf"], label="total ST")
            ax.set_xlabel("Sobol index (share of output variance)")
        else:
            ax.barh(y, table["mu_star"], xerr=table["mu_star_conf"], label="μ*")
            ax.set_xlabel(f"Morris μ* ({metric} units)")
        ax.set_yticks(y, table["parameter"].to_list(), fontsize=8)
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3, axis="x")
        parts.append(_figure(_png(fig), f"Sensitivity of {metric} ({design.kind} design)"))
    return "".join(parts)


# ----------------------------------------------------------------------------- html


def _section(title: str, body: str) -> str:
    return f"<section><h2>{html.escape(title)}</h2>{body}</section>"


def _figure(png_b64: str, caption: str) -> str:
    alt = html.escape(caption.split(":")[0])
    return (
        f"<figure><img class='plot' alt='{alt}' src='data:image/png;base64,{png_b64}'>"
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def _fmt(x: Any) -> str:
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "n/a"
    if isinstance(x, float):
        return f"{x:,.4g}" if abs(x) < 1e6 else f"{x:.3g}"
    return html.escape(str(x))


def _stats_table(stats: pl.DataFrame, params: list[str], labels: dict[int, str]) -> str:
    if stats.is_empty():
        return "<p class='note'>No summary metrics.</p>"
    rows = []
    for r in stats.iter_rows(named=True):
        ci = f"[{_fmt(r['ci_low'])}, {_fmt(r['ci_high'])}]" if r["ci_low"] is not None else "n/a"
        rows.append(
            f"<tr><td>{r['point_id']}</td><td>{html.escape(labels.get(r['point_id'], ''))}</td>"
            f"<td>{html.escape(r['metric'])}</td><td class='num'>{r['n']}</td>"
            f"<td class='num'>{_fmt(r['mean'])}</td><td class='num'>{ci}</td></tr>"
        )
    return (
        "<p class='note'>Mean over replications and 95% Student-t interval; n counts the runs "
        "where the metric is defined.</p><table><tr><th>point</th><th>parameters</th>"
        "<th>metric</th><th>n</th><th>mean</th><th>95% CI</th></tr>" + "".join(rows) + "</table>"
    )


def _manifest_table(manifest: dict[str, Any], counts: dict[str, int]) -> str:
    keys = (
        "experiment",
        "command",
        "config_path",
        "seed",
        "config_sha256",
        "git_sha",
        "created_utc",
        "platform",
    )
    rows = [f"<tr><th>{k}</th><td>{_fmt(manifest.get(k))}</td></tr>" for k in keys]
    rows.append(f"<tr><th>runs</th><td>{counts['done']} done, {counts['failed']} failed</td></tr>")
    packages = ", ".join(f"{k} {v}" for k, v in (manifest.get("packages") or {}).items())
    rows.append(f"<tr><th>packages</th><td>{html.escape(packages)}</td></tr>")
    config = html.escape(json.dumps(manifest.get("config", {}), indent=1))
    return (
        "<table>" + "".join(rows) + "</table><details><summary>config</summary>"
        f"<pre style='font-size:.75rem'>{config}</pre></details>"
    )
