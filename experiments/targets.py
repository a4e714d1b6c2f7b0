"""Observed targets for the historical backtest, and how a store's runs compare to them.

A targets file (``experiments/targets/history.toml``) lists observed series, each with its
source, unit and tolerance. Three kinds:

``value_at``
    a ``market`` column in one calendar month (``date = "2021-11"``), or a ``firms``
    column of the month's leading firm (its largest value among firms, the open-weights
    fringe left out, e.g. revenue);
``growth_per_year``
    the factor per year of a log-linear trend between ``start`` and ``end``: of a
    ``market`` column month by month, or, for ``models``, of each calendar year's largest
    value among the models labs launched (the frontier);
``first_date``
    the first month in which some firm's ``firms`` column passes a threshold
    (``above``), e.g. the first reasoning model.

Ratio-scale targets are compared in log10: a run's value is within tolerance when
``|log10(simulated / observed)| <= log10(tolerance_factor)``; the mean over replications is
geometric, its 95% interval a Student-t interval of the log10 values. Date targets are
compared in months (``tolerance_months``). :func:`compare` scores every design point.

Each target has a ``role``: ``calibrate`` targets are in-sample (``aimarket calibrate``
picks parameters on them alone); ``validate`` targets are out-of-sample, reported as
measured and never used to choose.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import polars as pl
from pydantic import Field, ValidationError, model_validator

from aimarket.experiments.analysis import parameters, scan
from aimarket.experiments.config import ConfigError, format_validation_error
from aimarket.experiments.intervals import t_half_width
from aimarket.markets.calendar import month_index, normalise_month
from aimarket.sim.params import Frozen

__all__ = [
    "Target",
    "Targets",
    "compare",
    "coverage",
    "load_targets",
    "month_label",
    "observed_statistic",
    "run_values",
    "statistics",
    "tolerance",
]

_LAB_MODELS = ("upfront_heavy", "inference_heavy")
_QUANTILES = ("q05", "q25", "median", "q75", "q95")


class Target(Frozen):
    """One observed quantity the simulator should reproduce."""

    name: Annotated[str, Field(min_length=1)]
    kind: Literal["value_at", "growth_per_year", "first_date"]
    table: Literal["market", "models", "firms"] = "market"
    column: Annotated[str, Field(min_length=1)]
    observed: float | str
    unit: str
    source: Annotated[str, Field(min_length=1)]
    date: str | None = None
    start: str | None = None
    end: str | None = None
    above: float | None = None
    tolerance_factor: Annotated[float, Field(gt=1)] | None = None
    tolerance_months: Annotated[float, Field(gt=0)] | None = None
    role: Literal["calibrate", "validate"] = "calibrate"

    @model_validator(mode="after")
    def _consistent(self) -> Target:
        need: dict[str, tuple[str, ...]] = {
            "value_at": ("date", "tolerance_factor"),
            "growth_per_year": ("start", "end", "tolerance_factor"),
            "first_date": ("above", "tolerance_months"),
        }
        missing = [k for k in need[self.kind] if getattr(self, k) is None]
        if missing:
            raise ValueError(f"a {self.kind} target needs {', '.join(missing)}")
        if self.kind == "first_date":
            if not isinstance(self.observed, str):
                raise ValueError("a first_date target's observed value is a month, 'YYYY-MM'")
            normalise_month(self.observed)
        elif isinstance(self.observed, str) or not self.observed > 0:
            raise ValueError("observed must be a positive number (compared in log10)")
        for key in ("date", "start", "end"):
            if getattr(self, key) is not None:
                normalise_month(getattr(self, key))
        if self.kind == "value_at" and self.table == "models":
            raise ValueError("value_at targets read the market table or the leading firm's row")
        if self.kind == "first_date" and self.table != "firms":
            raise ValueError("first_date targets read the firms table")
        return self


class Targets(Frozen):
    """A targets file: ``[[target]]`` tables."""

    target: Annotated[tuple[Target, ...], Field(min_length=1)]


def load_targets(path: str | Path) -> tuple[Target, ...]:
    """Read and validate a targets file (errors name the key and the value)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"targets = {str(path)!r}: no such file; expected a TOML targets file")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    try:
        return Targets.model_validate(data).target
    except ValidationError as exc:
        raise ConfigError(f"{path}: {format_validation_error(exc)}") from None


def _month(text: str) -> int:
    return month_index(normalise_month(text))


def _keys(out: str | Path) -> list[str]:
    return ["run_id", "point_id", "replicate", *parameters(out)]


def run_values(out: str | Path, target: Target) -> pl.DataFrame:
    """One value of the target per finished run (null where it is undefined, e.g. a date
    never reached): ``run_id``, ``point_id``, ``replicate``, parameters, ``value``. Dates
    are month indices (``year * 12 + month - 1``)."""
    keys = _keys(out)
    runs = scan(out, "runs").select(keys).collect()
    found = _values(scan(out, target.table), keys, target)
    return runs.join(found.select("run_id", "value"), on="run_id", how="left").sort(
        "point_id", "replicate"
    )


def statistics(tables: Mapping[str, pl.DataFrame], targets: Sequence[Target]) -> dict[str, float]:
    """Each target's value in one run's in-memory tables, on the scale it is compared on:
    log10 of a ratio-scale value, the month index of a date; NaN where it is undefined (a
    date never reached, a value of 0). What :func:`experiments.abc` measures distances on."""
    out: dict[str, float] = {}
    for target in targets:
        found = _values(tables[target.table].lazy(), ["run_id"], target)
        value = float(found["value"][0]) if found.height else math.nan
        if target.kind != "first_date":
            value = math.log10(value) if value > 0 else math.nan
        out[target.name] = value
    return out


def observed_statistic(target: Target) -> float:
    """The observed value on the scale of :func:`statistics`."""
    if target.kind == "first_date":
        return float(_month(str(target.observed)))
    return math.log10(float(target.observed))


def tolerance(target: Target) -> float:
    """The tolerance on the scale of :func:`statistics`: months, or log10 of the factor."""
    if target.kind == "first_date":
        return float(target.tolerance_months)
    return math.log10(float(target.tolerance_factor))


def _values(lazy: pl.LazyFrame, keys: list[str], target: Target) -> pl.DataFrame:
    """The target's value per ``keys`` (a run) in one table's rows."""
    if target.column not in lazy.collect_schema().names():
        raise ConfigError(
            f"target {target.name!r}: column = {target.column!r} is not in the {target.table} table"
        )
    months = pl.col("date").dt.year() * 12 + pl.col("date").dt.month() - 1
    col = pl.col(target.column).cast(pl.Float64)
    if target.kind == "value_at" and target.table == "firms":  # the month's leading firm
        # The open-weights fringe stands for many competing hosts: not a firm that leads.
        firms = lazy.filter((months == _month(target.date)) & (pl.col("kind") != "open_weights"))
        return firms.group_by(keys).agg(col.max().alias("value")).collect()
    if target.kind == "value_at":
        return (
            lazy.filter(months == _month(target.date)).select(*keys, col.alias("value")).collect()
        )
    if target.kind == "first_date":
        return (
            lazy.filter(col >= target.above)
            .group_by(keys)
            .agg(months.min().cast(pl.Float64).alias("value"))
            .collect()
        )
    lo, hi = _month(target.start), _month(target.end)
    if target.table == "market":
        rows = (
            lazy.filter(months.is_between(lo, hi) & (col > 0))
            .select(*keys, months.alias("m"), col.log10().alias("y"))
            .collect()
        )
        return _fits(rows, per_year=12.0)
    # models: the frontier (each year's largest value among lab models)
    rows = (
        lazy.filter(
            months.is_between(lo, hi) & pl.col("business_model").is_in(_LAB_MODELS) & (col > 0)
        )
        .group_by(*keys, pl.col("date").dt.year().alias("m"))
        .agg(col.max().log10().alias("y"))
        .collect()
    )
    return _fits(rows, per_year=1.0)


def _fits(rows: pl.DataFrame, *, per_year: float) -> pl.DataFrame:
    """Factor per year of a least-squares trend of ``y`` (log10) on ``m``, per run."""
    out = []
    for run_id, group in rows.group_by("run_id"):
        if group["m"].n_unique() < 2:
            continue
        m = group["m"].cast(pl.Float64).to_numpy()
        slope = np.polyfit(m, group["y"].to_numpy(), 1)[0]
        out.append({"run_id": run_id[0], "value": float(10.0 ** (slope * per_year))})
    return pl.DataFrame(out, schema={"run_id": pl.String, "value": pl.Float64})


def _summarise(target: Target, values: np.ndarray) -> dict[str, object]:
    """Mean, interval and verdict of one point's run values (NaN: undefined in that run)."""
    finite = values[np.isfinite(values)]
    n, never = int(finite.size), int(values.size - finite.size)
    row: dict[str, object] = {"n": n, "undefined": never}
    if target.kind == "first_date":
        x, scale = finite, 1.0
        obs = float(_month(str(target.observed)))
        tol = float(target.tolerance_months)
    else:
        # A run that simulated 0 (no revenue yet, say) is -inf in logarithms: the mean is
        # then 0 and the interval undefined, without a warning on the user's screen.
        with np.errstate(divide="ignore"):
            x = np.log10(finite)
        obs = math.log10(float(target.observed))
        tol = math.log10(float(target.tolerance_factor))
        scale = 0.0
    if n == 0:
        return {
            **row,
            "simulated": None,
            "ci_low": None,
            "ci_high": None,
            "error": None,
            "within": False,
        }
    mean = float(x.mean())
    with np.errstate(invalid="ignore"):
        half = float(t_half_width(x.std(ddof=1), n)) if n > 1 else math.nan
    error = mean - obs
    back = (lambda v: v) if scale else (lambda v: 10.0**v)
    return {
        **row,
        "simulated": back(mean),
        "ci_low": back(mean - half) if n > 1 else None,
        "ci_high": back(mean + half) if n > 1 else None,
        # months for dates, log10 units for ratios
        "error": error,
        "within": bool(abs(error) <= tol and never == 0),
    }


def compare(out: str | Path, targets: Sequence[Target]) -> pl.DataFrame:
    """Every design point against every target.

    One row per point and target: ``point_id``, parameters, ``target``, ``role``, ``unit``,
    ``observed``, ``simulated`` (geometric mean over replications, or the mean month),
    ``ci_low``, ``ci_high`` (95%), ``n``, ``undefined`` (runs where it never happened),
    ``error`` (log10 of simulated / observed, or months late), ``within`` (the mean is
    within tolerance and the target is defined in every run), ``source``.
    """
    params = parameters(out)
    rows = []
    for target in targets:
        values = run_values(out, target)
        for (pid, *vals), group in values.group_by(["point_id", *params], maintain_order=True):
            v = group["value"].fill_null(np.nan).to_numpy()
            rows.append(
                {
                    "point_id": pid,
                    **dict(zip(params, vals, strict=True)),
                    "target": target.name,
                    "role": target.role,
                    "unit": target.unit,
                    "observed": _label(target.observed),
                    **_summarise(target, v),
                    "source": target.source,
                }
            )
    frame = pl.DataFrame(rows, infer_schema_length=None)
    return frame.sort("point_id", "target") if frame.height else frame


def _label(observed: float | str) -> str:
    """An observed value as the tables show it: a month as is, a number to 3 digits."""
    return observed if isinstance(observed, str) else f"{observed:.3g}"


def month_label(index: float | None) -> str:
    """``'YYYY-MM'`` of a month index (None: ``'never'``)."""
    if index is None or not math.isfinite(index):
        return "never"
    i = round(index)
    return f"{i // 12:04d}-{i % 12 + 1:02d}"


def coverage(out: str | Path, targets: Sequence[Target]) -> pl.DataFrame:
    """Every target against all of a store's runs pooled: a posterior-predictive check.

    One row per target: ``target``, ``role``, ``unit``, ``observed``, ``runs``,
    ``undefined`` (runs where it never happened: a date after the horizon, a value of 0,
    ranked as the latest or the smallest), the runs' ``q05``, ``q25``, ``median``, ``q75``,
    ``q95`` (a month index for dates) and ``inside_50`` and ``inside_90``: whether the
    observation lies within the central 50% and 90% of the runs.
    """
    rows = []
    for target in targets:
        values = run_values(out, target)["value"].fill_null(math.nan).to_numpy()
        dated = target.kind == "first_date"
        with np.errstate(divide="ignore", invalid="ignore"):
            x = values if dated else np.log10(values)
        defined = np.isfinite(x)
        x = np.where(defined, x, math.inf if dated else -math.inf)
        q = np.quantile(x, [0.05, 0.25, 0.5, 0.75, 0.95], method="inverted_cdf")
        obs = observed_statistic(target)
        back = (lambda v: float(v)) if dated else (lambda v: float(10.0**v))
        rows.append(
            {
                "target": target.name,
                "role": target.role,
                "unit": target.unit,
                "observed": _label(target.observed),
                "runs": int(x.size),
                "undefined": int((~defined).sum()),
                **{k: back(v) for k, v in zip(_QUANTILES, q, strict=True)},
                "inside_50": bool(q[1] <= obs <= q[3]),
                "inside_90": bool(q[0] <= obs <= q[4]),
            }
        )
    return pl.DataFrame(rows)
