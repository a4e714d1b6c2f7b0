"""How labs split compute over pre-training, post-training and inference (question 9).

    python docs/scripts/lifecycle_split.py runs/lifecycle

Reads a store of ``experiments/configs/lifecycle.toml`` (or any store) and prints, per
design point, means over runs with 95% intervals (``aimarket.experiments.intervals``):

- the decade's split of the labs' compute: for every model a lab developed (its
  flagships and their distilled versions; the open fringe's copies excluded),
  pre-training, post-training, distillation and serving FLOP in the run, each over
  pre-training;
- the share of lab flagships retired within the run whose lifetime serving (their own and
  their distilled versions') exceeded their pre-training compute;
- serving over what the labs expected when they chose the project (flagships retired in
  the run, whose expectation covered the payback horizon).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import polars as pl

from aimarket.experiments.intervals import mean_interval

__all__ = ["lifecycle_split"]

_LABS = ("upfront_heavy", "inference_heavy")


def _per_run(models: pl.DataFrame) -> pl.DataFrame:
    """One row per run: the labs' compute by stage, FLOP."""
    lab = models.filter(pl.col("business_model").is_in(_LABS))
    flag = pl.col("role") == "flagship"
    return lab.group_by("run_id", maintain_order=True).agg(
        pre=(pl.col("train_flop") - pl.col("posttrain_flop")).filter(flag).sum(),
        post=pl.col("posttrain_flop").sum(),
        distil=pl.col("train_flop").filter(~flag).sum(),
        serve=pl.col("inference_flop").sum(),
    )


def _lifetimes(models: pl.DataFrame) -> pl.DataFrame:
    """Lab flagships retired in the run: pre-training, lifetime serving with their
    distilled versions', and what was expected."""
    lab = models.filter(pl.col("business_model").is_in(_LABS))
    children = (
        lab.filter(pl.col("role") == "distilled")
        .group_by("run_id", "parent_id", maintain_order=True)
        .agg(child_serve=pl.col("inference_flop").sum())
        .rename({"parent_id": "model_id"})
    )
    return (
        lab.filter((pl.col("role") == "flagship") & pl.col("retired_month").is_not_null())
        .filter(pl.col("month") >= 0)
        .join(children, on=["run_id", "model_id"], how="left")
        .with_columns(
            pre=pl.col("train_flop") - pl.col("posttrain_flop"),
            life=pl.col("inference_flop") + pl.col("child_serve").fill_null(0.0),
        )
    )


def _fmt(values: np.ndarray, bounds: tuple[float, float] = (0.0, np.inf)) -> str:
    iv = mean_interval(values, bounds=bounds)
    return f"{iv.mean:.3g} [{iv.low:.3g}, {iv.high:.3g}]" if iv.n > 1 else f"{iv.mean:.3g}"


def lifecycle_split(store: Path) -> pl.DataFrame:
    """The split per design point (one row each), as formatted strings."""
    runs = pl.read_parquet(store / "table=runs" / "*.parquet").select("run_id", "point_id")
    models = pl.read_parquet(store / "table=models" / "*.parquet").join(runs, on="run_id")
    if models.is_empty():
        raise SystemExit(f"{store}: no models table rows")
    points = pl.read_parquet(store / "points.parquet")
    split = _per_run(models).join(runs, on="run_id")
    life = _lifetimes(models)
    rows = []
    for point in points.iter_rows(named=True):
        p = split.filter(pl.col("point_id") == point["point_id"])
        lf = life.filter(pl.col("point_id") == point["point_id"])
        pre = p["pre"].to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            per_run_over = lf.group_by("run_id", maintain_order=True).agg(
                (pl.col("life") > pl.col("pre")).mean()
            )
            expected = lf.filter(pl.col("expected_inference_flop") > 0).group_by(
                "run_id", maintain_order=True
            )
            realised = expected.agg(
                (pl.col("life").sum() / pl.col("expected_inference_flop").sum()).alias("r")
            )
            rows.append(
                {
                    **{k: str(v) for k, v in point.items()},
                    "runs": p.height,
                    "post / pre": _fmt(p["post"].to_numpy() / pre),
                    "distil / pre": _fmt(p["distil"].to_numpy() / pre),
                    "serve / pre": _fmt(p["serve"].to_numpy() / pre),
                    "retired flagships served > pre": _fmt(
                        per_run_over["life"].to_numpy(), (0.0, 1.0)
                    ),
                    "served / expected": _fmt(realised["r"].to_numpy()),
                }
            )
    return pl.DataFrame(rows)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_width_chars=250, fmt_str_lengths=40):
        print(lifecycle_split(Path(sys.argv[1])))
