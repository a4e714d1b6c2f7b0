"""Targets and ``aimarket compare``; the backtest config, short."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from aimarket.experiments.analysis import scan
from aimarket.experiments.cli import main
from aimarket.experiments.config import ConfigError
from aimarket.experiments.targets import compare, load_targets, month_label, run_values

ROOT = Path(__file__).resolve().parents[2]

SWEEP = """
[experiment]
name = "targets-test"
seed = 8
replications = 2
horizon_months = 14
start = "2023-01"

[model]
labs = 3
customers = 200

[sweep]
design = "lhs"
samples = 3
[sweep.ranges]
"hardware.gpu_supply" = [2e4, 4e5]
"""


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("targets")
    (root / "s.toml").write_text(SWEEP)
    out = root / "s"
    assert (
        main(["sweep", str(root / "s.toml"), "--out", str(out), "--workers", "1", "--quiet"]) == 0
    )
    return out


def _targets(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "t.toml"
    path.write_text(body)
    return path


def _value_target(name: str, observed: float, factor: float) -> str:
    return f"""
[[target]]
name = "{name}"
kind = "value_at"
column = "usd_per_gpu_hour"
date = "2023-06"
observed = {observed}
unit = "USD per GPU-hour"
tolerance_factor = {factor}
source = "test"
"""


def test_compare_gives_the_right_verdicts_on_known_values(store: Path, tmp_path: Path) -> None:
    market = scan(store, "market").filter(pl.col("month") == 5).collect()
    # Geometric mean over replicates of point 0, computed by hand.
    known = float(np.exp(np.log(market.filter(pl.col("point_id") == 0)["usd_per_gpu_hour"]).mean()))
    path = _targets(
        tmp_path,
        _value_target("close", known * 1.1, 1.2)
        + _value_target("far", known * 3.0, 1.2)
        + _value_target("edge", known * 1.19, 1.2),
    )
    frame = compare(store, load_targets(path)).filter(pl.col("point_id") == 0)
    verdict = dict(zip(frame["target"], frame["within"], strict=True))
    assert verdict == {"close": True, "far": False, "edge": True}
    close = frame.filter(pl.col("target") == "close")
    assert close["simulated"].item() == pytest.approx(known)
    assert close["error"].item() == pytest.approx(-math.log10(1.1))
    assert close["ci_low"].item() <= known <= close["ci_high"].item()


def test_growth_and_first_date_targets(store: Path, tmp_path: Path) -> None:
    path = _targets(
        tmp_path,
        """
[[target]]
name = "price_trend"
kind = "growth_per_year"
column = "usd_per_gpu_hour"
start = "2023-01"
end = "2024-02"
observed = 1.0
unit = "factor per year"
tolerance_factor = 100.0
source = "test"

[[target]]
name = "never"
kind = "first_date"
table = "firms"
column = "inference_multiplier"
above = 1e9
observed = "2023-06"
unit = "month"
tolerance_months = 6
source = "test"
""",
    )
    targets = load_targets(path)
    trend = run_values(store, targets[0])
    assert trend["value"].is_not_null().all()
    frame = compare(store, targets)
    never = frame.filter(pl.col("target") == "never")
    assert (never["undefined"] == 2).all()
    assert not never["within"].any()
    assert month_label(None) == "never"
    assert month_label(2024 * 12 + 8) == "2024-09"


def test_a_firms_value_at_target_reads_the_leading_firm(store: Path, tmp_path: Path) -> None:
    path = _targets(
        tmp_path,
        """
[[target]]
name = "leader"
kind = "value_at"
table = "firms"
column = "revenue_usd"
date = "2023-06"
observed = 1e6
unit = "USD per month"
tolerance_factor = 10.0
source = "test"
""",
    )
    got = run_values(store, load_targets(path)[0])
    firms = (
        scan(store, "firms")
        .filter((pl.col("month") == 5) & (pl.col("kind") != "open_weights"))
        .collect()
    )
    top = firms.group_by("run_id").agg(pl.col("revenue_usd").max())
    joined = got.join(top, on="run_id")
    np.testing.assert_allclose(joined["value"].to_numpy(), joined["revenue_usd"].to_numpy())


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            '[[target]]\nname = "x"\nkind = "value_at"\ncolumn = "c"\nobserved = 1.0\n'
            'unit = "u"\nsource = "s"\n',
            "needs date, tolerance_factor",
        ),
        (
            '[[target]]\nname = "x"\nkind = "sometimes"\ncolumn = "c"\nobserved = 1.0\n'
            'unit = "u"\nsource = "s"\n',
            "kind",
        ),
        ("not toml [", "not valid TOML"),
    ],
)
def test_bad_targets_files_are_clear_errors(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_targets(_targets(tmp_path, body))


def test_compare_from_the_shell(store: Path, tmp_path: Path, capsys) -> None:
    path = _targets(tmp_path, _value_target("rental", 2.0, 1.5))
    csv = tmp_path / "c.csv"
    assert main(["compare", str(store), str(path), "--point", "1", "--csv", str(csv)]) == 0
    assert "rental" in capsys.readouterr().out
    assert pl.read_csv(csv)["point_id"].to_list() == [1]
    assert main(["compare", str(store), str(tmp_path / "missing.toml")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_the_backtest_runs_short_and_is_dated_from_june_2020(tmp_path: Path, capsys) -> None:
    out = tmp_path / "bt"
    args = [
        "run",
        str(ROOT / "experiments/configs/backtest_2020.toml"),
        "--out",
        str(out),
        "--set",
        "model.customers=600",
        "--set",
        "experiment.horizon_months=20",
        "--set",
        "experiment.replications=1",
        "--quiet",
    ]
    assert main(args) == 0
    market = scan(out, "market").collect().sort("month")
    assert str(market["date"][0]) == "2020-06-01"
    assert str(market["date"][-1]) == "2022-01-01"
    for table in ("firms", "models", "events"):
        assert "date" in scan(out, table).collect_schema().names()
    csv = tmp_path / "compare.csv"
    history = str(ROOT / "experiments/targets/history.toml")
    assert main(["compare", str(out), history, "--csv", str(csv)]) == 0
    frame = pl.read_csv(csv)
    assert len(frame) == len(load_targets(history))
    # Targets after the 20-month horizon cannot be met; the 2021-11 price can be scored.
    assert not frame.filter(pl.col("target") == "gpu_rental_2025")["within"].item()
    assert frame.filter(pl.col("target") == "gpt3_level_price_2021_11")["n"].item() == 1


def test_a_run_that_simulated_zero_is_summarised_without_numpy_warnings():
    import warnings

    from aimarket.experiments.targets import Target, _summarise

    target = Target(
        name="revenue",
        kind="value_at",
        column="revenue_usd",
        observed=1e9,
        unit="USD",
        source="test",
        date="2021-01",
        tolerance_factor=3.0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        row = _summarise(target, np.array([0.0, 2e9, 3e9]))
    assert row["simulated"] == 0.0
    assert not row["within"]


def test_one_runs_statistics_are_the_stores_values_on_the_compared_scale(
    store: Path, tmp_path: Path
) -> None:
    # What a calibration measures in memory is what compare reads from a store.
    from aimarket.experiments.targets import observed_statistic, statistics

    body = (
        _value_target("rental", 2.0, 1.5)
        + """
[[target]]
name = "users_trend"
kind = "growth_per_year"
column = "users"
start = "2023-01"
end = "2024-02"
observed = 3.0
unit = "factor per year"
tolerance_factor = 2.0
source = "test"
"""
    )
    targets = load_targets(_targets(tmp_path, body))
    run_id = "p000001-r0001"
    tables = {t: scan(store, t).filter(pl.col("run_id") == run_id).collect() for t in ("market",)}
    got = statistics(tables, targets)
    for target in targets:
        values = run_values(store, target).filter(pl.col("run_id") == run_id)["value"]
        assert got[target.name] == pytest.approx(math.log10(values[0]))
    assert observed_statistic(targets[0]) == pytest.approx(math.log10(2.0))


def test_coverage_says_whether_the_observation_is_inside_the_runs_range(
    store: Path, tmp_path: Path
) -> None:
    from aimarket.experiments.targets import coverage

    values = run_values(store, load_targets(_targets(tmp_path, _value_target("x", 1.0, 2)))[0])
    middle = float(np.median(values["value"].to_numpy()))
    inside = _value_target("inside", middle, 1.5)
    outside = _value_target("outside", middle * 1e3, 1.5)
    frame = coverage(store, load_targets(_targets(tmp_path, inside + outside)))
    assert frame["runs"].to_list() == [values.height] * 2
    assert frame["inside_90"].to_list() == [True, False]
    assert frame["inside_50"].to_list() == [True, False]
    q = frame.row(0, named=True)
    assert q["q05"] <= q["q25"] <= q["median"] <= q["q75"] <= q["q95"]
