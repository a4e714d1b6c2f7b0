"""Replication statistics over a store, and ``aimarket analyze``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from scipy import stats

from experiments.analysis import point_statistics, run_summaries
from experiments.cli import main

CONFIG = """
[experiment]
name = "analysis-test"
seed = 5
replications = 3
horizon_months = 6

[model]
labs = 3
customers = 200

[sweep]
design = "grid"
[sweep.grid]
"market.regime" = ["upfront_heavy", "inference_heavy"]
"""


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("analysis")
    config = root / "a.toml"
    config.write_text(CONFIG)
    out = root / "out"
    assert main(["sweep", str(config), "--out", str(out), "--workers", "1", "--quiet"]) == 0
    return out


def test_run_summaries_carry_points_and_replicates(store: Path) -> None:
    frame = run_summaries(store)
    assert frame.height == 6
    assert set(frame["market.regime"]) == {"upfront_heavy", "inference_heavy"}
    assert sorted(frame["replicate"].to_list()) == [0, 0, 1, 1, 2, 2]


def test_point_statistics_match_a_hand_computed_t_interval(store: Path) -> None:
    out = point_statistics(store, ["gross_margin_mean", "hhi_revenue_mean"])
    assert out.height == 4
    raw = run_summaries(store).filter(pl.col("point_id") == 1)["hhi_revenue_mean"].to_numpy()
    row = out.filter((pl.col("point_id") == 1) & (pl.col("metric") == "hhi_revenue_mean"))
    half = stats.t.ppf(0.975, 2) * raw.std(ddof=1) / np.sqrt(3)
    assert row["n"].item() == 3
    assert row["mean"].item() == pytest.approx(raw.mean())
    assert row["ci_low"].item() == pytest.approx(raw.mean() - half)
    assert row["ci_high"].item() == pytest.approx(raw.mean() + half)


def test_unknown_metric_is_a_clear_error(store: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(KeyError, match="not summary columns: nope"):
        point_statistics(store, ["nope"])
    assert main(["analyze", str(store), "--metric", "nope"]) == 2
    assert "nope" in capsys.readouterr().err


def test_analyze_prints_and_writes(store: Path, tmp_path: Path, capsys) -> None:
    csv = tmp_path / "stats.csv"
    assert main(["analyze", str(store), "--metric", "entries", "--csv", str(csv)]) == 0
    printed = capsys.readouterr().out
    assert "upfront_heavy" in printed
    assert "95% CI" in printed
    assert pl.read_csv(csv).height == 2


def test_analyze_refuses_a_directory_that_is_not_a_store(tmp_path: Path, capsys) -> None:
    assert main(["analyze", str(tmp_path)]) == 2
    assert "not an aimarket store" in capsys.readouterr().err
