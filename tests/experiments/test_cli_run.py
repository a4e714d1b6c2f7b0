"""`aimarket run` end to end on a tiny config: the store, its tables and its manifest."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from aimarket.experiments.cli import main
from aimarket.experiments.store import Store

TINY = """
[experiment]
name = "tiny"
seed = 42
replications = 2
horizon_months = 6

[model]
labs = 3
customers = 300
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    return path


def test_run_writes_a_readable_store(config: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    assert main(["run", str(config), "--out", str(out), "--quiet", "--workers", "1"]) == 0
    printed = capsys.readouterr().out
    assert "HHI, final month" in printed
    assert "0: base" in printed  # one row per design point
    assert "gross margin, upfront_heavy" in printed
    assert "contracted (used or not)" in printed  # what the margins count as cost
    market = pl.scan_parquet(str(out / "table=market" / "*.parquet")).collect()
    assert market.height == 2 * 6
    assert sorted(market["run_id"].unique().to_list()) == ["p000000-r0000", "p000000-r0001"]
    firms = pl.read_parquet(out / "table=firms")
    assert {
        "firm_id",
        "business_model",
        "share_revenue",
        "price_usd_per_query",
        "kappa",
        "gross_margin",
        "cash_usd",
    } <= set(firms.columns)
    runs = Store(out).read("runs")
    assert runs["status"].to_list() == ["done", "done"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 42
    assert len(manifest["config_sha256"]) == 64
    assert manifest["config"]["model"]["labs"] == 3
    assert {"numpy", "simpy", "mesa", "polars", "pydantic", "python"} <= set(manifest["packages"])
    assert not list(tmp_path.glob(".out.*")), "no temporary directories left behind"


def test_headline_margins_pool_each_business_model_over_the_runs(
    config: Path, tmp_path: Path
) -> None:
    # A business model that sold almost nothing in one run must not swamp the point's
    # figure (a mean of per-run ratios showed margins of -1,000,000%): its final-month cost
    # and revenue are summed over the runs first, so the margin is at most 1 and equals the
    # pooled ratio.
    from aimarket.experiments.runner import headline

    out = tmp_path / "out"
    assert main(["run", str(config), "--out", str(out), "--quiet", "--workers", "1"]) == 0
    store = Store(out)
    firms = store.read("firms")
    last = firms.filter(pl.col("month") == pl.col("month").max().over("run_id"))
    pooled = last.group_by("business_model").agg(
        (1 - pl.col("serving_cost_usd").sum() / pl.col("revenue_usd").sum()).alias("gm"),
        pl.col("revenue_usd").sum().alias("revenue"),
    )
    figures = headline(store)
    checked = 0
    for row in pooled.filter(pl.col("revenue") > 0).iter_rows(named=True):
        value = figures[f"gross_margin_final_{row['business_model']}"][0]
        np.testing.assert_allclose(value, row["gm"], rtol=1e-12)
        assert value <= 1.0
        checked += 1
    assert checked > 0


def test_seed_and_set_override(config: Path, tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    quiet = ["--quiet", "--workers", "1"]
    assert main(["run", str(config), "--out", str(a), *quiet]) == 0
    assert main(["run", str(config), "--out", str(b), *quiet, "--seed", "43"]) == 0
    assert main(["run", str(config), "--out", str(c), *quiet, "--set", "model.labs=2"]) == 0
    ma, mb = Store(a).read("market"), Store(b).read("market")
    assert not ma["revenue_usd"].equals(mb["revenue_usd"])
    labs = Store(c).read("firms").filter(pl.col("kind") == "lab")
    assert labs["firm_id"].n_unique() == 2


def test_rerun_replaces_the_store(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["run", str(config), "--out", str(out), "--quiet", "--workers", "1"]) == 0
    first = Store(out).read("market").sort("run_id", "month")
    parts = sorted((out / "table=market").glob("*.parquet"))
    assert main(["run", str(config), "--out", str(out), "--quiet", "--workers", "2"]) == 0
    second = Store(out).read("market").sort("run_id", "month")
    assert first.equals(second), "same config and seed, same tables, whatever the workers"
    again = sorted((out / "table=market").glob("*.parquet"))
    assert len(again) == len(parts)
    assert set(again).isdisjoint(parts), "replaced, not appended"


def test_default_out_is_runs_name(config: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(config), "--quiet", "--workers", "1"]) == 0
    assert Store.is_store(tmp_path / "runs" / "tiny")


def test_console_script(config: Path, tmp_path: Path) -> None:
    exe = shutil.which("aimarket", path=str(Path(sys.executable).parent)) or shutil.which(
        "aimarket"
    )
    if exe is None:
        pytest.fail("the aimarket console script is not installed")
    out = tmp_path / "out"
    env = {**os.environ, "COLUMNS": "120"}
    done = subprocess.run(
        [exe, "run", str(config), "--out", str(out)], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    assert "wall time" in done.stdout
    bad = subprocess.run(
        [exe, "run", str(config), "--set", "model.labs=0"], capture_output=True, text=True
    )
    assert bad.returncode == 2
    assert bad.stderr.strip() == (
        "aimarket: error: --set: model.labs = 0: expected greater than or equal to 1"
    )


def test_run_of_a_sweep_config_says_it_runs_the_base_point(tmp_path: Path, capsys) -> None:
    config = tmp_path / "swept.toml"
    config.write_text(
        TINY.replace("replications = 2", "replications = 1")
        + '[sweep]\ndesign = "grid"\n[sweep.grid]\n"demand.elasticity" = [1.5, 3.0]\n'
    )
    out = tmp_path / "out"
    assert main(["run", str(config), "--out", str(out), "--quiet", "--workers", "1"]) == 0
    # "[sweep]" is printed as text, not taken for rich markup.
    assert "the config has a [sweep]; `aimarket run` runs its base point" in capsys.readouterr().err
