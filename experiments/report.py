"""``aimarket report OUT``: one self-contained HTML page that answers a store's question.

The page opens with the experiment's question (``[experiment] description``) and a
headline table: every design point side by side (mean over replications and its
interval), and each point's paired difference from a reference point with its interval and
p-value, in plain words. Plots follow, one line or panel per design point where points
differ, against calendar dates; every interval lies within its metric's bounds
(:mod:`experiments.intervals`), and the page says when replications are too few for them.
Sensitivity designs (Sobol, Morris) get their indices with intervals, explained, and plots
of each output against its most influential parameters.

Plots are PNG data URIs and the style is inline, so the page opens offline and fetches
nothing; the numbers behind each band are embedded as JSON (``<script
type="application/json" id="plot-data">``, not executed).
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from aimarket.experiments.analysis import (
    design_of,
    metric_by_run,
    paired_differences,
    parameters,
    point_statistics,
    run_counts,
    scan,
    sensitivity,
)
from aimarket.experiments.config import ConfigError
from aimarket.experiments.intervals import MIN_BOOTSTRAP_N
from aimarket.experiments.report_plots import MAX_LINES, Figures, has_research
from aimarket.experiments.store import Store

__all__ = ["HEADLINE", "MAX_LINES", "METRIC_LABELS", "write_report"]

#: The headline table's metrics, where the store has them.
HEADLINE = (
    "hhi_revenue_mean",
    "hhi_developer_revenue_mean",
    "cr4_final",
    "gross_margin_mean",
    "operating_margin_mean",
    "firms_active_final",
    "entries",
    "exits",
    "price_at_reference_decline_per_year",
)

#: Plain words for metrics (the column name is shown for any other).
METRIC_LABELS = {
    "hhi_revenue_mean": "HHI of revenue, mean over months (0–10,000)",
    "hhi_revenue_final": "HHI of revenue, final month (0–10,000)",
    "hhi_developer_revenue_mean": "HHI of revenue by developer, mean over months (0–10,000)",
    "cr4_final": "share of the four largest firms, final month",
    "gross_margin_mean": "market gross margin, mean over months",
    "operating_margin_mean": "market operating margin, mean over months",
    "firms_active_final": "firms active, final month",
    "entries": "entries per run",
    "exits": "exits per run",
    "price_at_reference_decline_per_year": "price of reference capability, factor fall per year",
    "inference_overtakes_training_month": "month inference spend overtakes training spend",
}

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2rem auto;
max-width:1100px;color:#1d2430;line-height:1.45;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2.2rem;
border-bottom:1px solid #d8dde6;padding-bottom:.2rem}
figure{margin:1.2rem 0}figure img{max-width:100%;height:auto;border:1px solid #eef0f4}
figcaption{font-size:.9rem;color:#4a5568}
table{border-collapse:collapse;font-size:.85rem;margin:.6rem 0}
th,td{border:1px solid #d8dde6;padding:.25rem .5rem;vertical-align:top}
th{background:#f3f5f9}td.num{text-align:right;font-variant-numeric:tabular-nums}
.note{color:#4a5568;font-size:.9rem}.warn{background:#fff6e0;border-left:4px solid #e0a800;
padding:.5rem .8rem}.question{font-size:1.1rem;border-left:4px solid #3b6fd1;padding:.3rem .8rem}
ul.answer li{margin:.25rem 0}
"""


def write_report(out: str | Path, *, metrics: list[str] | None = None, reference: int = 0) -> Path:
    """Write ``OUT/report.html`` for a store and return its path.

    ``metrics``: the headline table's summary metrics (default :data:`HEADLINE`, those the
    store has); ``reference``: the design point others are compared with.
    """
    out = Path(out)
    if not Store.is_store(out):
        raise ConfigError(f"out = {str(out)!r}: not an aimarket store (no manifest.json)")
    counts = run_counts(out)
    if counts["done"] == 0:
        raise ConfigError(f"{out}: no finished runs to report on")
    store = Store(out)
    manifest = store.manifest()
    points = store.points()
    if reference not in set(points["point_id"].to_list()):
        raise ConfigError(f"--reference {reference}: no such design point in {out}")
    params = parameters(out)
    available = set(scan(out, "summary").collect_schema().names())
    if metrics:
        unknown = [m for m in metrics if m not in available]
        if unknown:
            raise ConfigError(f"--metric {unknown[0]}: not a summary column of {out}")
    chosen = list(metrics) if metrics else [m for m in HEADLINE if m in available]
    predictive = bool(manifest.get("design", {}).get("posterior_draws"))
    figures = Figures(_point_labels(points, params), predictive=predictive)
    market = scan(out, "market").collect()
    firms = scan(out, "firms").collect()
    sens, findings = _sensitivity_section(out, chosen, figures)
    sections = [_answer(out, chosen, reference, figures, _question(manifest), findings)]
    if sens:  # a large design's answer is how outputs depend on its parameters
        sections.append(_section("Sensitivity to the design's parameters", sens))
    sections += _plots(figures, market, firms)
    sections.append(_section("Manifest", _manifest_table(manifest, counts)))
    page = _page(manifest, out, counts, points.height, sections, figures.data)
    path = out / "report.html"
    tmp = out / ".report.html.tmp"
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(path)
    return path


def _page(
    manifest: dict[str, Any],
    out: Path,
    counts: dict[str, int],
    n_points: int,
    sections: list[str],
    data: list[dict[str, Any]],
) -> str:
    title = f"aimarket report: {html.escape(str(manifest.get('experiment', out.name)))}"
    blob = json.dumps(data, allow_nan=False).replace("</", "<\\/")
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'><title>{title}"
        f"</title><style>{_CSS}</style></head><body><h1>{title}</h1>"
        f"<p class='note'>{counts['done']} finished runs ({counts['failed']} failed, left out)"
        f" over {n_points} design points; generated "
        f"{dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}.</p>"
        + "".join(sections)
        + f"<script type='application/json' id='plot-data'>{blob}</script>"
        + "</body></html>\n"
    )


# --------------------------------------------------------------------------- answer


def _question(manifest: dict[str, Any]) -> str:
    """The experiment's question, as its config's ``description`` asks it."""
    experiment = (manifest.get("config") or {}).get("experiment") or {}
    question = str(experiment.get("description") or "").strip()
    if question:
        return f"<p class='question'>{html.escape(question)}</p>"
    return (
        "<p class='note'>The config asks no question (<code>[experiment] description</code>).</p>"
    )


def _answer(
    out: Path,
    metrics: list[str],
    reference: int,
    figures: Figures,
    asked: str,
    findings: list[str],
) -> str:
    """The headline: the question, points side by side, paired differences in words, and
    a warning when replications are few."""
    stats = point_statistics(out, metrics)
    if stats.is_empty():
        return _section("Answer", asked + "<p class='note'>No headline metrics.</p>")
    smallest = int(stats["n"].min())
    warn = ""
    if smallest < MIN_BOOTSTRAP_N:
        warn = (
            f"<p class='warn'>Only {smallest} replication(s) at some design points: intervals "
            "are Student-t, cut at each metric's bounds, and wide; p-values rest on few "
            f"pairs. Intervals from the bootstrap need {MIN_BOOTSTRAP_N} or more "
            "(<code>experiment.replications</code>).</p>"
        )
    if not figures.per_point:
        return _section(
            "Answer",
            asked
            + warn
            + "<ul class='answer'>"
            + "".join(f"<li>{line}</li>" for line in findings)
            + "</ul>"
            + f"<p class='note'>{len(figures.labels)} design points: too many to set side "
            "by side; the next section shows how each output depends on the parameters.</p>",
        )
    table = _side_by_side(stats, metrics, figures)
    ref_label = html.escape(figures.labels.get(reference, str(reference)))
    blocks = []
    diffs = {m: paired_differences(out, m, baseline=reference) for m in metrics}
    for point in sorted(p for p in figures.labels if p != reference):
        words = []
        for metric, frame in diffs.items():
            row = frame.filter(pl.col("point_id") == point) if frame.height else frame
            if row.height:
                words.append(_in_words(metric, row.row(0, named=True), stats, reference))
        if words:
            label = html.escape(figures.labels.get(point, str(point)))
            blocks.append(
                f"<p><b>Point {point} ({label})</b> against point {reference} ({ref_label}):</p>"
                "<ul class='answer'>" + "".join(words) + "</ul>"
            )
    note = (
        "<p class='note'>Differences are paired by replicate (every point runs with the same "
        "seeds): the difference of means, its 95% interval and the paired t-test's p-value."
        "</p>"
    )
    return _section("Answer", asked + warn + "".join(blocks) + note + table)


def _in_words(metric: str, row: dict[str, Any], stats: pl.DataFrame, reference: int) -> str:
    def mean_at(point: int) -> float | None:
        got = stats.filter((pl.col("point_id") == point) & (pl.col("metric") == metric))
        return got["mean"][0] if got.height else None

    point = int(row["point_id"])
    diff, low, high, p = row["mean_diff"], row["ci_low"], row["ci_high"], row["p_value"]
    interval = f" [{_signed(low)}, {_signed(high)}]" if low is not None else ""
    clear = low is not None and (low > 0 or high < 0)
    verdict = "a clear difference" if clear else "no clear difference"
    pv = f", p = {p:.2g}" if p is not None else ""
    return (
        f"<li>{html.escape(METRIC_LABELS.get(metric, metric))}: {_fmt(mean_at(point))} vs "
        f"{_fmt(mean_at(reference))}, {_signed(diff)}{interval}{pv} ({verdict})</li>"
    )


def _side_by_side(stats: pl.DataFrame, metrics: list[str], figures: Figures) -> str:
    points = sorted(figures.labels)
    head = "".join(
        f"<th>point {p}<br><span class='note'>{html.escape(figures.labels[p])}</span></th>"
        for p in points
    )
    rows = []
    for metric in metrics:
        cells = []
        for p in points:
            got = stats.filter((pl.col("point_id") == p) & (pl.col("metric") == metric))
            if not got.height:
                cells.append("<td class='num'>n/a</td>")
                continue
            r = got.row(0, named=True)
            ci = f" [{_fmt(r['ci_low'])}, {_fmt(r['ci_high'])}]" if r["ci_low"] is not None else ""
            cells.append(f"<td class='num'>{_fmt(r['mean'])}{ci}<br>n = {r['n']}</td>")
        label = html.escape(METRIC_LABELS.get(metric, metric))
        rows.append(f"<tr><th>{label}<br><code>{metric}</code></th>{''.join(cells)}</tr>")
    return (
        "<table class='headline'><tr><th>metric</th>" + head + "</tr>" + "".join(rows) + "</table>"
        "<p class='note'>Mean over replications [95% interval within the metric's bounds]; n "
        "counts the runs where the metric is defined.</p>"
    )


# ---------------------------------------------------------------------------- plots


def _plots(figures: Figures, market: pl.DataFrame, firms: pl.DataFrame) -> list[str]:
    series = [
        ("hhi_revenue", "HHI of revenue (0–10,000)", False, "Concentration: HHI of revenue"),
        ("cr4", "CR4 of revenue (share, 0–1)", False, "Concentration: CR4 of revenue"),
        (
            "price_usd_per_mtok_at_reference",
            "USD per million tokens (log scale)",
            True,
            "Price of the reference capability (market.reference_kappa: GPT-4 level by "
            "default): the cheapest price per million tokens paid in a usage segment for an "
            "offering at or above it",
        ),
        ("gross_margin", "market gross margin (fraction)", False, "Market gross margin"),
    ]
    demand = [
        ("users", "customers who used AI (log scale)", True, "Demand: customers who used AI"),
        ("tokens", "tokens a month (log scale)", True, "Demand: tokens served, reasoning included"),
    ]
    if "free_users" in market.columns and market["free_users"].max() > 0:  # free plans on
        paying = (
            "paying_users",
            "customers who paid for AI (log scale)",
            True,
            "Demand: customers who paid for AI (free plans' users left out)",
        )
        demand.insert(1, paying)
    compute = [
        ("usd_per_gpu_hour", "USD per GPU-hour", False, "Compute: the spot price of a GPU-hour"),
        (
            "served_frac",
            "share of the serving need served",
            False,
            "Compute: share of the firms' serving need their contracts and the spot market "
            "covered (below 1: queries rationed)",
        ),
    ]
    what = "each design point" if figures.per_point else "all runs pooled"

    def timeseries(chosen: list[tuple[str, str, bool, str]]) -> str:
        # Stores written before demand grew or capacity was booked (issue 18) lack their
        # columns: left out.
        return "".join(
            _figure(
                figures.timeseries(market, col, ylabel, log=log),
                f"{caption}: {what}, mean over replicates with a 95% band",
            )
            for col, ylabel, log, caption in chosen
            if col in market.columns
        )

    body, growth = timeseries(series), timeseries(demand)
    gpus = timeseries(compute) if "served_frac" in market.columns else ""
    return [
        _section("Concentration, prices and margins over time", body),
        *([_section("Demand over time", growth)] if growth else []),
        *([_section("Compute capacity over time", gpus)] if gpus else []),
        _section(
            "Margins by business model",
            _figure(
                figures.margins_by_business_model(firms),
                "Gross margin of each business model ((revenue − serving cost) / revenue), "
                f"month by month: {what}, one panel each; bands: 95% across replicates; "
                "the axis stops at −1",
            ),
        ),
        _section(
            "Training and inference spend",
            _figure(
                figures.spend(market),
                "Cumulative training spend (solid: final runs) and cumulative inference (GPU "
                "serving) spend (dashed), mean over replicates; a vertical line marks the "
                "month inference overtakes training, where it does"
                + (
                    "; dotted: R&D, the final runs plus the labs' research compute"
                    if has_research(market)
                    else ""
                ),
            ),
        ),
        _section(
            "Business-model mix",
            _figure(
                figures.mix(firms),
                "Share of customer revenue by business model in the last twelve months, "
                "per design point, with 95% intervals across replicates",
            ),
        ),
        _section(
            "Entry and exit",
            _figure(
                figures.entry_exit(market),
                "Entries and exits per year, mean per run with 95% intervals",
            ),
        ),
    ]


def _sensitivity_section(out: Path, metrics: list[str], figures: Figures) -> tuple[str, list[str]]:
    """A large design's sensitivity: per output its indices (Sobol, Morris) or rank
    correlations (Latin hypercube) and plots against its most influential parameters;
    and one sentence per output naming that parameter."""
    try:
        design = design_of(out)
    except ConfigError:
        return "", []
    if design.kind not in ("sobol", "morris", "lhs") or figures.per_point:
        return "", []
    parts, words = [], []
    params = list(design.variables)
    shown = [m for m in ("hhi_revenue_mean", "gross_margin_mean") if m in metrics]
    for metric in shown or metrics[:2]:
        runs = metric_by_run(out, metric).drop_nulls("value")
        label = html.escape(METRIC_LABELS.get(metric, metric))
        if design.kind in ("sobol", "morris"):
            try:
                indices = sensitivity(out, metric)
            except ConfigError as exc:
                parts.append(f"<p class='note'>{html.escape(str(exc))}</p>")
                continue
            key = "ST" if design.kind == "sobol" else "mu_star"
            indices = indices.sort(key, descending=True)
            ranked = indices["parameter"].to_list()
            table = _indices_table(indices, design.kind)
            top = indices.row(0, named=True)
            if design.kind == "sobol":
                what = f"total Sobol index {_index_cell(top['ST'], top['ST_conf'])}"
            else:
                what = f"μ* {_interval_cell(top['mu_star'], top['mu_star_conf'])}"
        else:
            rho = _rank_correlations(runs, params)
            ranked = sorted(params, key=lambda p: -abs(np.nan_to_num(rho[p])))
            table = _correlation_table(rho, ranked)
            what = f"Spearman ρ = {_fmt(rho[ranked[0]])}"
        words.append(f"{label}: depends most on <b>{html.escape(ranked[0])}</b> ({what})")
        parts.append(
            f"<h3>{label}</h3>"
            + table
            + _figure(
                figures.against_parameters(runs, metric, ranked[:3]),
                f"{metric} against its most influential parameters, one dot per run",
            )
        )
    return "".join(parts), words


def _rank_correlations(runs: pl.DataFrame, params: list[str]) -> dict[str, float]:
    """Spearman's rank correlation of the metric with each parameter, over runs."""
    from scipy import stats

    out = {}
    y = runs["value"].to_numpy()
    for p in params:
        x = runs[p].cast(pl.Float64).to_numpy()
        ok = np.ptp(x) > 0 and np.ptp(y) > 0
        out[p] = float(stats.spearmanr(x, y).statistic) if ok else math.nan
    return out


def _correlation_table(rho: dict[str, float], ranked: list[str]) -> str:
    rows = "".join(
        f"<tr><th>{html.escape(p)}</th><td class='num'>{_fmt(rho[p])}</td></tr>" for p in ranked
    )
    return (
        "<p class='note'>Spearman's rank correlation between the output and each parameter "
        "over the runs (−1 to 1; a Latin hypercube varies every parameter at once, so each "
        "correlation also carries the others' effects).</p><table><tr><th>parameter</th>"
        f"<th>ρ</th></tr>{rows}</table>"
    )


def _indices_table(indices: pl.DataFrame, kind: str) -> str:
    rows = []
    for r in indices.iter_rows(named=True):
        if kind == "sobol":
            cells = [
                _index_cell(r["S1"], r["S1_conf"]),
                _index_cell(r["ST"], r["ST_conf"]),
            ]
        else:
            cells = [_interval_cell(r["mu_star"], r["mu_star_conf"]), _fmt(r["sigma"])]
        rows.append(
            f"<tr><th>{html.escape(r['parameter'])}</th>"
            + "".join(f"<td class='num'>{c}</td>" for c in cells)
            + "</tr>"
        )
    if kind == "sobol":
        head = "<th>first order S1</th><th>total ST</th>"
        note = (
            "Sobol indices: the share of the output's variance due to a parameter alone (S1) "
            "and with its interactions (ST), in [0, 1], with 95% bootstrap intervals (SALib), "
            "cut at 0 and 1; estimates slightly outside come from sampling noise."
        )
    else:
        head = "<th>μ* (mean |effect|)</th><th>σ (spread of effects)</th>"
        note = (
            "Morris elementary effects: μ* is how much the output moves, on average, over a "
            "parameter's range (in the output's units), with its 95% interval; a large σ "
            "means the effect depends on the other parameters."
        )
    return (
        f"<p class='note'>{note}</p><table><tr><th>parameter</th>{head}</tr>{''.join(rows)}</table>"
    )


def _index_cell(value: float, conf: float) -> str:
    low, high = max(0.0, value - conf), min(1.0, value + conf)
    return f"{_fmt(min(max(value, 0.0), 1.0))} [{_fmt(low)}, {_fmt(high)}]"


def _interval_cell(value: float, conf: float) -> str:
    return f"{_fmt(value)} [{_fmt(max(0.0, value - conf))}, {_fmt(value + conf)}]"


def _point_labels(points: pl.DataFrame, params: list[str]) -> dict[int, str]:
    varied = [p for p in params if points[p].n_unique() > 1]
    labels = {}
    for row in points.iter_rows(named=True):
        text = ", ".join(f"{p}={_fmt(row[p])}" for p in varied) or "base"
        labels[int(row["point_id"])] = text
    return labels


def _signed(x: float | None) -> str:
    if x is None or not math.isfinite(x):
        return "n/a"
    return ("+" if x >= 0 else "−") + _fmt(abs(x))


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
    """A number for people (3 significant digits, or a whole number with separators up to
    a million); text escaped.

    Examples
    --------
    >>> [_fmt(v) for v in (950.3, 1234.5, 0.012345, 2.5e9, 7, None)]
    ['950', '1,234', '0.0123', '2.5e+09', '7', 'n/a']
    """
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int):
        return f"{x:,}"
    if isinstance(x, float):
        if 1e3 <= abs(x) < 1e6 or (x.is_integer() and abs(x) < 1e6):
            return f"{x:,.0f}"
        return f"{x:.3g}"
    return html.escape(str(x))


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
