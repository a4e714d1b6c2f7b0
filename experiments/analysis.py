"""Analysis of a sweep's store: replication statistics, paired differences, sensitivity
indices and scenario discovery.

Everything reads a store (see :mod:`experiments.store`) lazily with polars and returns
long, tidy frames keyed by ``point_id``; failed runs are left out (and counted by
:func:`run_counts`). A *metric* is a column of the ``summary`` table (one value per run), or
of the ``market`` table reduced to one value per run: its ``final`` month, its ``mean`` over
months, or its value at one ``month``. For example
``point_statistics("runs/regimes", ["hhi_revenue_mean"])``.
"""

from __future__ import annotations

import math
import operator
import re
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import polars as pl

from aimarket.experiments.config import ConfigError, ExperimentConfig
from aimarket.experiments.design import Design, build_design
from aimarket.experiments.intervals import mean_interval, metric_bounds, paired_difference
from aimarket.experiments.store import Store

__all__ = [
    "Reduction",
    "design_of",
    "discover",
    "metric_by_run",
    "paired_differences",
    "parameters",
    "point_statistics",
    "run_counts",
    "run_summaries",
    "scan",
    "sensitivity",
]

#: How a ``market`` column becomes one value per run.
Reduction = Literal["final", "mean", "month"]


def _store(out: str | Path) -> Store:
    if not Store.is_store(out):
        raise ConfigError(f"out = {str(out)!r}: not an aimarket store (no manifest.json)")
    return Store(out)


def parameters(out: str | Path) -> list[str]:
    """The dotted paths that vary or are fixed across the design's points."""
    return [c for c in _store(out).points().columns if c != "point_id"]


def run_counts(out: str | Path) -> dict[str, int]:
    """Runs stored as ``done`` and as ``failed`` (the latter are left out of every frame)."""
    runs = _store(out).read("runs")
    done = int((runs["status"] == "done").sum())
    return {"done": done, "failed": runs.height - done}


def scan(out: str | Path, table: str) -> pl.LazyFrame:
    """A table's rows from finished runs, with ``point_id``, ``replicate`` and the point's
    parameters joined (lazy: filter and select before collecting)."""
    store = _store(out)
    runs = (
        store.scan("runs")
        .filter(pl.col("status") == "done")
        .select("run_id", "point_id", "replicate")
    )
    frame = store.scan(table)
    if table != "runs":
        frame = frame.join(runs, on="run_id")
    return frame.join(store.points().lazy(), on="point_id", how="left")


def run_summaries(out: str | Path) -> pl.DataFrame:
    """Every finished run's ``summary`` row with its point, replicate and parameters."""
    return scan(out, "summary").collect().sort("point_id", "replicate")


def metric_by_run(
    out: str | Path,
    metric: str,
    *,
    table: Literal["summary", "market"] = "summary",
    how: Reduction = "final",
    month: int | None = None,
) -> pl.DataFrame:
    """One value of ``metric`` per finished run: ``run_id``, ``point_id``, ``replicate``,
    the parameters, and ``value`` (Float64; null where the metric is undefined).

    For the ``market`` table, ``how`` picks the ``final`` month, the ``mean`` over months,
    or the value at ``month``; ``summary`` metrics are one value per run already.
    """
    lazy = scan(out, table)
    columns = lazy.collect_schema().names()
    if metric not in columns:
        raise ConfigError(
            f"metric = {metric!r}: not a {table} column; expected one of "
            f"{', '.join(c for c in columns if c not in ('run_id', 'point_id'))}"
        )
    keys = ["run_id", "point_id", "replicate", *parameters(out)]
    value = pl.col(metric).cast(pl.Float64)
    if table == "summary":
        frame = lazy.select(*keys, value.alias("value"))
    elif table == "market":
        if how == "month":
            if month is None:
                raise ConfigError("--month: required with --how month")
            frame = lazy.filter(pl.col("month") == month).select(*keys, value.alias("value"))
        elif how in ("final", "mean"):
            agg = value.sort_by("month").last() if how == "final" else value.mean()
            frame = lazy.group_by(keys).agg(agg.alias("value"))
        else:
            raise ConfigError(f"how = {how!r}: expected final, mean or month")
    else:
        raise ConfigError(f"table = {table!r}: expected summary or market")
    return frame.collect().sort("point_id", "replicate")


def _check_confidence(confidence: float) -> None:
    if not 0 < confidence < 1:
        raise ConfigError(f"confidence = {confidence}: expected a level in (0, 1)")


def point_statistics(
    out: str | Path,
    metrics: Sequence[str] | None = None,
    *,
    table: Literal["summary", "market"] = "summary",
    how: Reduction = "final",
    month: int | None = None,
    confidence: float = 0.95,
) -> pl.DataFrame:
    """Mean and confidence interval of metrics across each point's replications.

    Returns one row per point and metric: ``point_id``, the point's parameters, ``metric``,
    ``n`` (replications where the metric is defined; e.g. a month an event never reached is
    null), ``mean``, ``sd``, ``ci_low``, ``ci_high`` (at ``confidence``, within the
    metric's bounds; null when ``n < 2``), ``interval`` (how it was made:
    :func:`experiments.intervals.mean_interval`) and ``small_n`` (fewer than
    ``intervals.MIN_BOOTSTRAP_N`` replications). ``metrics`` defaults to every numeric
    column of the summary table.
    """
    _check_confidence(confidence)
    params = parameters(out)
    if metrics is None:
        schema = scan(out, table).collect_schema()
        skip = {"point_id", "replicate", "run_id", "month", *params}
        metrics = [c for c, t in schema.items() if c not in skip and t.is_numeric()]
    frames = [
        metric_by_run(out, m, table=table, how=how, month=month).with_columns(metric=pl.lit(m))
        for m in metrics
    ]
    runs = pl.concat(frames).drop_nulls("value").filter(pl.col("value").is_finite())
    rows = []
    keys = ["point_id", *params, "metric"]
    for key, group in runs.group_by(keys, maintain_order=True):
        metric = str(key[-1])
        iv = mean_interval(
            group["value"].to_numpy(), confidence=confidence, bounds=metric_bounds(metric)
        )
        rows.append(
            {
                **dict(zip(keys, key, strict=True)),
                "n": iv.n,
                "mean": iv.mean,
                "sd": iv.sd,
                "ci_low": iv.low,
                "ci_high": iv.high,
                "interval": iv.method,
                "small_n": iv.small_n,
            }
        )
    if not rows:
        return pl.DataFrame()
    return (
        pl.DataFrame(rows)
        .with_columns(pl.col("sd", "ci_low", "ci_high").fill_nan(None))
        .sort("point_id", "metric")
    )


def paired_differences(
    out: str | Path,
    metric: str,
    *,
    baseline: int = 0,
    table: Literal["summary", "market"] = "summary",
    how: Reduction = "final",
    month: int | None = None,
    confidence: float = 0.95,
) -> pl.DataFrame:
    """Each point's difference from a baseline point, paired by replicate.

    Replicate ``r`` of every point shares its seed (common random numbers), so the
    difference ``metric(point, r) - metric(baseline, r)`` cancels much of the run-to-run
    noise. One row per other point: ``point_id``, parameters, ``n`` pairs, ``mean_diff``,
    ``ci_low``, ``ci_high`` (Student-t at ``confidence``) and ``p_value`` (two-sided paired
    t-test; null when ``n < 2``).
    """
    _check_confidence(confidence)
    runs = metric_by_run(out, metric, table=table, how=how, month=month)
    if baseline not in set(runs["point_id"].to_list()):
        raise ConfigError(f"baseline = {baseline}: no finished runs at that point")
    base = runs.filter(pl.col("point_id") == baseline).select("replicate", base="value")
    params = parameters(out)
    pairs = (
        runs.filter(pl.col("point_id") != baseline)
        .join(base, on="replicate")
        .drop_nulls(["value", "base"])
        .with_columns(diff=pl.col("value") - pl.col("base"))
    )
    rows = []
    for (pid, *values), group in pairs.group_by(["point_id", *params], maintain_order=True):
        d = paired_difference(group["diff"].to_numpy(), confidence=confidence)
        rows.append(
            {
                "point_id": pid,
                **dict(zip(params, values, strict=True)),
                "n": d.n,
                "mean_diff": d.mean_diff,
                "ci_low": None if math.isnan(d.low) else d.low,
                "ci_high": None if math.isnan(d.high) else d.high,
                "p_value": None if math.isnan(d.p_value) else d.p_value,
            }
        )
    return pl.DataFrame(rows).sort("point_id") if rows else pl.DataFrame()


def design_of(out: str | Path) -> Design:
    """The design a store was swept over, rebuilt from its manifest's config."""
    manifest = _store(out).manifest()
    config = ExperimentConfig.model_validate(manifest["config"])
    path = manifest.get("config_path")
    return build_design(config, config_dir=Path(path).parent if path else None)


def sensitivity(
    out: str | Path,
    metric: str,
    *,
    table: Literal["summary", "market"] = "summary",
    how: Reduction = "final",
    month: int | None = None,
) -> pl.DataFrame:
    """Global sensitivity indices of a metric, for ``sobol`` and ``morris`` designs (SALib).

    The model output of a point is its mean over replications. A ``sobol`` design gives
    first-order and total indices with their confidence half-widths (``S1``, ``S1_conf``,
    ``ST``, ``ST_conf``); a ``morris`` design gives ``mu_star``, ``mu_star_conf`` and
    ``sigma`` (elementary effects, in the metric's unit). One row per varied parameter.
    """
    from SALib.analyze import morris as morris_analyze
    from SALib.analyze import sobol as sobol_analyze

    design = design_of(out)
    if design.kind not in ("sobol", "morris") or design.problem is None:
        raise ConfigError(
            f"{out}: a {design.kind} design; sensitivity indices need a sobol or morris design"
        )
    runs = metric_by_run(out, metric, table=table, how=how, month=month)
    means = runs.group_by("point_id").agg(pl.col("value").mean()).sort("point_id")
    y = np.full(len(design.points), np.nan)
    y[means["point_id"].to_numpy()] = means["value"].fill_null(np.nan).to_numpy()
    if not np.all(np.isfinite(y)):
        missing = int((~np.isfinite(y)).sum())
        raise ConfigError(
            f"metric = {metric!r}: {missing} design points have no finished run with a value; "
            "finish the sweep (aimarket sweep --resume) or choose a metric defined in every run"
        )
    if np.ptp(y) == 0:
        raise ConfigError(
            f"metric = {metric!r}: the same value ({y[0]:g}) at every design point; "
            "sensitivity indices are undefined"
        )
    names = list(design.problem["names"])
    if design.kind == "sobol":
        res = sobol_analyze.analyze(
            design.problem, y, calc_second_order=design.second_order, print_to_console=False
        )
        cols = {k: np.asarray(res[k], dtype=float) for k in ("S1", "S1_conf", "ST", "ST_conf")}
    else:
        res = morris_analyze.analyze(
            design.problem,
            design.sample_matrix(),
            y,
            num_levels=design.levels or 4,
            print_to_console=False,
        )
        cols = {k: np.asarray(res[k], dtype=float) for k in ("mu_star", "mu_star_conf", "sigma")}
    return pl.DataFrame({"parameter": names, **cols})


_OPS: dict[str, Callable[[pl.Expr, float], pl.Expr]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}


def _condition(text: str) -> tuple[str, Callable[[pl.Expr, float], pl.Expr], float]:
    match = re.fullmatch(r"\s*([A-Za-z_][\w]*)\s*(>=|<=|>|<)\s*([-+0-9.eE]+)\s*", text)
    if match is None:
        raise ConfigError(
            f"condition = {text!r}: expected 'metric OP number', e.g. 'hhi_revenue_final > 2500'"
        )
    metric, op, number = match.groups()
    try:
        return metric, _OPS[op], float(number)
    except ValueError:
        raise ConfigError(f"condition = {text!r}: {number!r} is not a number") from None


def discover(
    out: str | Path,
    condition: str,
    *,
    threshold: float = 0.8,
    table: Literal["summary", "market"] = "summary",
    how: Reduction = "final",
    month: int | None = None,
) -> pl.DataFrame:
    """Scenario discovery: the box of parameter values where ``condition`` mostly holds.

    ``condition`` is ``"metric OP number"`` (OP one of ``> >= < <=``), evaluated per run,
    e.g. ``"hhi_revenue_final > 2500"``. Runs are the cases and the varied numeric
    parameters the uncertainties; PRIM (Friedman & Fisher 1999, EMA Workbench's
    implementation) peels a box until the share of cases inside it that meet the condition
    (density) reaches ``threshold``. Returns one row per restricted parameter: ``parameter``,
    ``low``, ``high``, with the box's ``coverage``, ``density`` and ``cases`` repeated on
    every row. Needs the ``discovery`` extra (``pip install 'aimarket[discovery]'``).
    """
    try:
        import pandas as pd

        # It warns about optional back-ends (ipyparallel, altair) it does not need here.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from ema_workbench.analysis import prim
    except ImportError as exc:  # pragma: no cover - the dev install has it
        raise ConfigError(
            "scenario discovery needs EMA Workbench: pip install 'aimarket[discovery]'"
        ) from exc
    metric, op, number = _condition(condition)
    runs = metric_by_run(out, metric, table=table, how=how, month=month).drop_nulls("value")
    params = [p for p in parameters(out) if runs.schema[p].is_numeric()]
    varied = [p for p in params if runs[p].n_unique() > 1]
    if not varied:
        raise ConfigError(f"{out}: no numeric parameter varies; nothing to discover")
    y = runs.select(op(pl.col("value"), number))["value"].to_numpy()
    if not y.any() or y.all():
        where = "no" if not y.any() else "every"
        raise ConfigError(f"condition = {condition!r}: holds in {where} run; nothing to discover")
    x = pd.DataFrame({p: runs[p].cast(pl.Float64).to_numpy() for p in varied})
    with warnings.catch_warnings():  # pandas deprecations inside EMA Workbench
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        box = prim.Prim(x, y, threshold=threshold).find_box()
    # The selected box (EMA Workbench keeps every peeled box; ``_cur_box`` is the one its
    # ``coverage`` and ``density`` describe): one column per uncertainty, rows low, high.
    limits = box.box_lims[box._cur_box]
    if float(box.density) < threshold:
        raise ConfigError(
            f"condition = {condition!r}: holds in {int(y.sum())} of {y.size} runs, and no box of "
            f"parameter values reaches density {threshold:g} (PRIM stops at "
            f"{float(box.density):.2f}); lower --threshold or ask about a more common outcome"
        )
    rows = []
    for p in varied:
        low, high = float(limits[p].iloc[0]), float(limits[p].iloc[1])
        if low > float(x[p].min()) or high < float(x[p].max()):
            rows.append({"parameter": p, "low": low, "high": high})
    frame = pl.DataFrame(
        rows, schema={"parameter": pl.String, "low": pl.Float64, "high": pl.Float64}
    )
    return frame.with_columns(
        coverage=pl.lit(float(box.coverage)),
        density=pl.lit(float(box.density)),
        cases=pl.lit(int(y.size)),
    )
