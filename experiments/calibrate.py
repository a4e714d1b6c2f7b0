"""Calibration by history matching: keep the design points whose runs reproduce the targets.

``aimarket calibrate CONFIG TARGETS --out DIR`` runs the config's ``[sweep]`` (a Latin
hypercube or Sobol sample over the few free parameters; every other default stays the
literature's), compares every point with the targets (:func:`experiments.targets.compare`)
and picks the point that meets the most targets, breaking ties by the smallest error in
units of tolerance. Points within tolerance on every target are *accepted* (rejection, as
in history matching). It writes ``DIR/calibration.csv`` (every point against every target)
and ``DIR/calibrated.toml``: the config with the chosen values in ``[model]``, no
``[sweep]``, and the evidence as comments.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import polars as pl
import tomli_w

from aimarket.experiments.analysis import parameters
from aimarket.experiments.config import ConfigError, ExperimentConfig
from aimarket.experiments.targets import Target, month_label

__all__ = ["Choice", "choose", "write_calibrated"]


class Choice(dict):
    """The chosen point: ``point_id``, ``values`` (dotted path -> value), ``met``,
    ``targets``, ``accepted`` (points within tolerance on every target) and ``loss``."""


def _tolerance(target: Target) -> float:
    if target.kind == "first_date":
        return float(target.tolerance_months)
    return math.log10(float(target.tolerance_factor))


def choose(comparison: pl.DataFrame, targets: tuple[Target, ...], out: str | Path) -> Choice:
    """Score every point of a :func:`experiments.targets.compare` frame on the in-sample
    (``role = "calibrate"``) targets and pick one; validation targets never count."""
    targets = tuple(t for t in targets if t.role == "calibrate")
    if not targets:
        raise ConfigError(f"{out}: no target has role = 'calibrate'; nothing to calibrate on")
    comparison = comparison.filter(pl.col("target").is_in([t.name for t in targets]))
    if comparison.is_empty():
        raise ConfigError(f"{out}: no finished runs to calibrate on")
    tol = {t.name: _tolerance(t) for t in targets}
    scored = comparison.with_columns(
        scaled=(
            pl.col("error").abs() / pl.col("target").replace_strict(tol, return_dtype=pl.Float64)
        ).fill_null(10.0)  # a target never reached counts as far off
    )
    params = parameters(out)
    per_point = (
        scored.group_by(["point_id", *params])
        .agg(met=pl.col("within").sum(), loss=pl.col("scaled").mean())
        .sort(["met", "loss"], descending=[True, False])
    )
    best = per_point.row(0, named=True)
    accepted = per_point.filter(pl.col("met") == len(targets))["point_id"].to_list()
    return Choice(
        point_id=best["point_id"],
        values={p: best[p] for p in params},
        met=int(best["met"]),
        targets=len(targets),
        accepted=sorted(accepted),
        loss=float(best["loss"]),
    )


def write_calibrated(
    config: ExperimentConfig,
    choice: Choice,
    comparison: pl.DataFrame,
    path: Path,
    *,
    targets_path: str,
) -> Path:
    """The config with the chosen point's values, no ``[sweep]``, and the evidence."""
    data: dict[str, Any] = {
        "experiment": config.experiment.model_dump(mode="json", exclude_none=True),
        "model": config.model.model_dump(mode="json", exclude_defaults=True),
    }
    for dotted, value in choice["values"].items():
        node = data["model"]
        *parents, leaf = dotted.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
    rows = comparison.filter(pl.col("point_id") == choice["point_id"])
    lines = [
        f"# Calibrated by `aimarket calibrate` against {targets_path}: point "
        f"{choice['point_id']}, {choice['met']} of {choice['targets']} targets within "
        f"tolerance; {len(choice['accepted'])} points met all of them.",
        "# target: observed | simulated [95% CI] | within",
    ]
    for r in rows.iter_rows(named=True):
        dated = r["unit"] == "month"
        sim = month_label(r["simulated"]) if dated else _num(r["simulated"])
        lo = month_label(r["ci_low"]) if dated else _num(r["ci_low"])
        hi = month_label(r["ci_high"]) if dated else _num(r["ci_high"])
        lines.append(
            f"#   {r['target']}{' (validation)' if r.get('role') == 'validate' else ''}: "
            f"{r['observed']} | {sim} [{lo}, {hi}] | "
            f"{'yes' if r['within'] else 'no'}"
        )
    path.write_text("\n".join(lines) + "\n\n" + tomli_w.dumps(data))
    return path


def _num(x: Any) -> str:
    return "n/a" if x is None else f"{x:.3g}"
