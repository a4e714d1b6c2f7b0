"""Analysis of a store: replication statistics, paired differences, sensitivity indices,
scenario discovery, and ``aimarket analyze``."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import polars as pl
import pytest
from scipy import stats

from aimarket.experiments import analysis
from aimarket.experiments.cli import main
from aimarket.experiments.config import ConfigError

GRID = """
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

SAMPLED = """
[experiment]
name = "{design}-test"
seed = 11
replications = 1
horizon_months = 12

[model]
labs = 2
customers = 120

[sweep]
design = "{design}"
samples = {samples}
[sweep.ranges]
"demand.elasticity" = [1.5, 4.0]
"finance.lab_opex_usd_per_month" = [1e7, 3e8]
"""


def _sweep(root: Path, name: str, text: str) -> Path:
    config = root / f"{name}.toml"
    config.write_text(text)
    out = root / name
    assert main(["sweep", str(config), "--out", str(out), "--workers", "1", "--quiet"]) == 0
    return out


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _sweep(tmp_path_factory.mktemp("grid"), "grid", GRID)


@pytest.fixture(scope="module")
def sobol_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _sweep(
        tmp_path_factory.mktemp("sobol"), "sobol", SAMPLED.format(design="sobol", samples=4)
    )


@pytest.fixture(scope="module")
def morris_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _sweep(
        tmp_path_factory.mktemp("morris"), "morris", SAMPLED.format(design="morris", samples=3)
    )


def test_scan_joins_points_and_counts_runs(store: Path) -> None:
    frame = analysis.run_summaries(store)
    assert frame.height == 6
    assert set(frame["market.regime"]) == {"upfront_heavy", "inference_heavy"}
    assert sorted(frame["replicate"].to_list()) == [0, 0, 1, 1, 2, 2]
    assert analysis.run_counts(store) == {"done": 6, "failed": 0}
    market = analysis.scan(store, "market").select("point_id", "month").collect()
    assert market.height == 6 * 6


def test_point_statistics_match_a_hand_computed_t_interval(store: Path) -> None:
    out = analysis.point_statistics(store, ["gross_margin_mean", "hhi_revenue_mean"])
    assert out.height == 4
    raw = analysis.run_summaries(store).filter(pl.col("point_id") == 1)["hhi_revenue_mean"]
    row = out.filter((pl.col("point_id") == 1) & (pl.col("metric") == "hhi_revenue_mean"))
    half = stats.t.ppf(0.975, 2) * raw.std(ddof=1) / np.sqrt(3)
    assert row["n"].item() == 3
    assert row["mean"].item() == pytest.approx(raw.mean())
    # Three replications: Student-t, cut at the HHI's bounds (0 to 10,000).
    assert row["ci_low"].item() == pytest.approx(max(raw.mean() - half, 0.0))
    assert row["ci_high"].item() == pytest.approx(min(raw.mean() + half, 10_000.0))
    assert row["interval"].item() == "t clipped to bounds"
    assert row["small_n"].item()


def test_market_metrics_reduce_to_final_mean_or_a_month(store: Path) -> None:
    market = analysis.scan(store, "market").collect()
    run = market.filter(pl.col("run_id") == market["run_id"][0]).sort("month")
    picks = {
        "final": run["hhi_revenue"][-1],
        "mean": run["hhi_revenue"].mean(),
        "month": run.filter(pl.col("month") == 2)["hhi_revenue"].item(),
    }
    for how, expected in picks.items():
        frame = analysis.metric_by_run(store, "hhi_revenue", table="market", how=how, month=2)
        got = frame.filter(pl.col("run_id") == run["run_id"][0])["value"].item()
        assert got == pytest.approx(expected)
    with pytest.raises(ConfigError, match="--month"):
        analysis.metric_by_run(store, "hhi_revenue", table="market", how="month")


def test_paired_differences_use_the_same_replicate(store: Path) -> None:
    diff = analysis.paired_differences(store, "hhi_revenue_mean", baseline=0)
    runs = analysis.run_summaries(store).sort("replicate")
    d = (
        runs.filter(pl.col("point_id") == 1)["hhi_revenue_mean"].to_numpy()
        - runs.filter(pl.col("point_id") == 0)["hhi_revenue_mean"].to_numpy()
    )
    assert diff.height == 1
    assert diff["n"].item() == 3
    assert diff["mean_diff"].item() == pytest.approx(d.mean())
    assert diff["p_value"].item() == pytest.approx(stats.ttest_rel(d + 0.0, 0.0 * d).pvalue)
    with pytest.raises(ConfigError, match="baseline = 7"):
        analysis.paired_differences(store, "hhi_revenue_mean", baseline=7)


def test_unknown_metric_is_a_clear_error(store: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(ConfigError, match="metric = 'nope'"):
        analysis.point_statistics(store, ["nope"])
    assert main(["analyze", str(store), "--metric", "nope"]) == 2
    assert "nope" in capsys.readouterr().err


def test_sobol_indices_for_a_sobol_design(sobol_store: Path) -> None:
    table = analysis.sensitivity(sobol_store, "gross_margin_mean")
    assert table["parameter"].to_list() == [
        "demand.elasticity",
        "finance.lab_opex_usd_per_month",
    ]
    assert {"S1", "S1_conf", "ST", "ST_conf"} <= set(table.columns)
    assert np.isfinite(table["ST"].to_numpy()).all()


def test_morris_effects_for_a_morris_design(morris_store: Path) -> None:
    table = analysis.sensitivity(morris_store, "gross_margin_mean")
    assert table.height == 2
    assert (table["mu_star"] >= 0).all()


def test_sensitivity_needs_a_sampled_design(store: Path) -> None:
    with pytest.raises(ConfigError, match="sobol or morris"):
        analysis.sensitivity(store, "gross_margin_mean")


def test_scenario_discovery_finds_the_box_where_the_condition_holds(sobol_store: Path) -> None:
    # Operating margin falls with the labs' running costs by accounting, so a box exists
    # (low opex) whatever the run's noise: this tests the tool, not the model.
    runs = analysis.run_summaries(sobol_store)
    cut = float(runs["operating_margin_mean"].median())
    box = analysis.discover(sobol_store, f"operating_margin_mean > {cut}", threshold=0.7)
    assert "finance.lab_opex_usd_per_month" in box["parameter"].to_list()
    assert box["density"][0] >= 0.7
    assert 0 < box["coverage"][0] <= 1
    assert box["cases"][0] == runs.height
    with pytest.raises(ConfigError, match="expected 'metric OP number'"):
        analysis.discover(sobol_store, "gross_margin_mean is big")
    with pytest.raises(ConfigError, match="holds in no run"):
        analysis.discover(sobol_store, "gross_margin_mean > 10")


def test_analyze_prints_and_writes(store: Path, tmp_path: Path, capsys) -> None:
    csv = tmp_path / "stats.csv"
    assert main(["analyze", str(store), "--metric", "entries", "--csv", str(csv)]) == 0
    # The table's title names the store, so where rich wraps it depends on the temporary
    # directory's name: compare with the line breaks taken out.
    printed = " ".join(capsys.readouterr().out.split())
    assert "upfront_heavy" in printed
    assert "95% CI" in printed
    assert pl.read_csv(csv).height == 2
    assert main(["analyze", str(store), "--metric", "hhi_revenue_mean", "--paired", "0"]) == 0
    assert "paired differences" in " ".join(capsys.readouterr().out.split())
    market_csv = tmp_path / "market.csv"
    args = ["analyze", str(store), "--table", "market", "--how", "mean", "--csv", str(market_csv)]
    assert main(args) == 0
    assert set(pl.read_csv(market_csv)["metric"]) == {"hhi_revenue", "gross_margin"}


def test_analyze_sensitivity_and_discovery_from_the_shell(sobol_store: Path, capsys) -> None:
    # The run length is the same at every point, whatever the model does.
    assert main(["analyze", str(sobol_store), "--sensitivity", "--metric", "months"]) == 2
    assert "sensitivity indices are undefined" in capsys.readouterr().err
    assert main(["analyze", str(sobol_store), "--sensitivity"]) == 0
    assert "ST" in capsys.readouterr().out
    cut = float(analysis.run_summaries(sobol_store)["operating_margin_mean"].median())
    condition = f"operating_margin_mean > {cut}"
    assert main(["analyze", str(sobol_store), "--discover", condition]) == 0
    assert "PRIM box" in " ".join(capsys.readouterr().out.split())  # the title may wrap
    assert main(["analyze", str(sobol_store), "--discover", "gross_margin_mean > -100"]) == 2
    assert "holds in every run" in capsys.readouterr().err


def test_analyze_refuses_a_directory_that_is_not_a_store(tmp_path: Path, capsys) -> None:
    assert main(["analyze", str(tmp_path)]) == 2
    assert "not an aimarket store" in capsys.readouterr().err


def test_discovery_says_so_when_no_box_is_dense_enough(sobol_store: Path, monkeypatch) -> None:
    # A rare outcome scattered over the parameter space: PRIM stops at a box whose density
    # is below the threshold, and the answer is a clear error, not an empty table.
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ema_workbench.analysis import prim

    box = SimpleNamespace(density=0.3, coverage=0.5, _cur_box=0, box_lims=[None])
    monkeypatch.setattr(prim, "Prim", lambda x, y, threshold: SimpleNamespace(find_box=lambda: box))
    cut = float(analysis.run_summaries(sobol_store)["operating_margin_mean"].median())
    with pytest.raises(ConfigError, match=r"no box of parameter values reaches density 0.7"):
        analysis.discover(sobol_store, f"operating_margin_mean > {cut}", threshold=0.7)
