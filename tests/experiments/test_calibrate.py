"""``aimarket calibrate``: ABC-SMC recovers a known parameter, uses the in-sample targets
only, does not depend on the workers, and writes a posterior that sweeps draw from."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from aimarket.experiments import abc
from aimarket.experiments.cli import main
from aimarket.experiments.config import ConfigError, load_config, validate_config
from aimarket.experiments.design import plan_runs
from aimarket.experiments.posterior import last_generation, summary
from aimarket.experiments.store import Store
from aimarket.experiments.targets import Target, load_targets, statistics
from aimarket.sim.run import RunSpec, run_one

TRUE_CUSTOMERS = 1e9


def _config(particles: int = 12, populations: int = 3, **extra: object) -> dict:
    return {
        "experiment": {"name": "abc-test", "seed": 11, "horizon_months": 14, "start": "2023-01"},
        "model": {"labs": 2, "customers": 150},
        "calibration": {
            "particles": particles,
            "populations": populations,
            "max_simulations": 400,
            "min_epsilon": 0.0,
            "predictive_runs": 4,
            "priors": {
                "demand.represented_customers": {
                    "low": 1e8,
                    "high": 1e10,
                    "scale": "log",
                    "reason": "test",
                }
            },
        },
        **extra,
    }


def _users_target(observed: float, role: str = "calibrate", name: str = "users") -> Target:
    return Target(
        name=name,
        kind="value_at",
        column="users",
        date="2024-01",
        observed=observed,
        unit="users",
        tolerance_factor=1.5,
        source="a run at the true value",
        role=role,
    )


@pytest.fixture(scope="module")
def observed_users() -> float:
    """Users in 2024-01 of one run at the true value, with a seed the calibration never uses."""
    config = validate_config(_config())
    params = config.model.model_copy(
        update={
            "demand": config.model.demand.model_copy(
                update={"represented_customers": TRUE_CUSTOMERS}
            )
        }
    )
    spec = RunSpec("truth", 0, 0, params, 999, (0,), horizon_months=14, start_month="2023-01")
    result = run_one(spec)
    assert result.status == "done", result.error
    return 10 ** statistics(result.tables, [_users_target(1.0)])["users"]


def _posterior(tmp_path: Path, config: dict, targets: list[Target], **kw: object) -> pl.DataFrame:
    cfg = validate_config(config)
    tmp_path.mkdir(parents=True, exist_ok=True)
    history = abc.run_abc(cfg, targets, tmp_path / "abc.db", **kw)
    return abc.posterior_frame(history, abc.TargetModel(cfg, targets))


@pytest.mark.slow
def test_calibration_recovers_a_known_parameter(tmp_path: Path, observed_users: float) -> None:
    posterior = _posterior(tmp_path, _config(), [_users_target(observed_users)])
    row = summary(posterior).row(0, named=True)
    assert row["q05"] <= TRUE_CUSTOMERS <= row["q95"]
    # The data inform the parameter: the posterior's 90% interval is well inside the prior's
    # two orders of magnitude, and the last generation fits better than the first.
    assert math.log10(row["q95"] / row["q05"]) < 1.0
    means = posterior.group_by("generation").agg(pl.col("distance").mean()).sort("generation")
    assert means["distance"][-1] < means["distance"][0]


def test_validation_targets_never_enter_the_distance(tmp_path: Path, observed_users: float) -> None:
    config = _config(particles=5, populations=2)
    in_sample = _users_target(observed_users)
    held_out = _users_target(observed_users * 1e4, role="validate", name="held_out")
    only = _posterior(tmp_path / "a", config, [in_sample])
    both = _posterior(tmp_path / "b", config, [in_sample, held_out])
    assert both.equals(only)
    assert not any("held_out" in c for c in both.columns)
    assert abc.TargetModel(validate_config(config), [in_sample, held_out]).targets == (in_sample,)
    with pytest.raises(ConfigError, match="no target has role = 'calibrate'"):
        abc.in_sample([held_out])


@pytest.mark.slow
def test_a_calibration_does_not_depend_on_the_number_of_workers(
    tmp_path: Path, observed_users: float
) -> None:
    from aimarket.experiments.calibrate import submitter

    config = _config(particles=5, populations=2)
    target = [_users_target(observed_users)]
    serial = _posterior(tmp_path / "serial", config, target)
    with submitter(workers=2) as (submit, in_flight, _expected):
        pooled = _posterior(tmp_path / "pool", config, target, submit=submit, in_flight=in_flight)
    assert pooled.equals(serial)


def test_the_distance_is_the_rms_error_in_tolerances_and_undefined_counts_as_far() -> None:
    a, b = _users_target(10.0, name="a"), _users_target(10.0, name="b")
    tol = math.log10(1.5)
    distance = abc.TargetDistance([a, b])
    assert distance({"a": 1.0 + tol, "b": 1.0 - tol}, {"a": 1.0, "b": 1.0}) == pytest.approx(1.0)
    far = distance({"a": math.nan, "b": 1.0}, {"a": 1.0, "b": 1.0})
    assert far == pytest.approx(abc.UNDEFINED_UNITS / math.sqrt(2))


def _targets_file(path: Path, observed: float, role: str = "calibrate") -> Path:
    path.write_text(
        f"""
[[target]]
name = "users"
kind = "value_at"
column = "users"
date = "2024-01"
observed = {observed}
unit = "users"
tolerance_factor = 1.5
source = "test"
role = "{role}"
"""
    )
    return path


def _toml(config: dict) -> str:
    import tomli_w

    return tomli_w.dumps(config)


@pytest.mark.slow
def test_calibrate_from_the_shell_writes_a_posterior_that_a_sweep_draws_from(
    tmp_path: Path, observed_users: float, capsys
) -> None:
    (tmp_path / "c.toml").write_text(_toml(_config(particles=6, populations=2)))
    targets = _targets_file(tmp_path / "t.toml", observed_users)
    out = tmp_path / "cal"
    args = ["calibrate", str(tmp_path / "c.toml"), str(targets), "--out", str(out)]
    assert main([*args, "--workers", "1", "--quiet"]) == 0
    assert "posterior-predictive check" in capsys.readouterr().out
    posterior = pl.read_parquet(out / "posterior.parquet")
    generations = pl.read_parquet(out / "generations.parquet")
    assert generations["generation"].to_list() == [0, 1]
    assert (generations["simulations"] >= generations["particles"]).all()
    last = last_generation(posterior)
    assert last.height == 6
    assert last["weight"].sum() == pytest.approx(1.0)
    coverage = pl.read_csv(out / "coverage.csv")
    assert coverage["runs"].to_list() == [4]
    # calibrated.toml: the posterior median in [model], a posterior design in [sweep]
    calibrated = load_config(out / "calibrated.toml")
    assert calibrated.sweep is not None
    assert calibrated.sweep.posterior == "posterior.parquet"
    assert calibrated.calibration is None
    assert calibrated.experiment.replications == 4
    median = summary(posterior)["median"][0]
    assert calibrated.model.demand.represented_customers == pytest.approx(median, rel=1e-4)
    _, specs = plan_runs(calibrated, config_dir=out)
    drawn = [s.params.demand.represented_customers for s in specs]
    assert set(drawn) <= set(last["demand.represented_customers"].to_list())
    # the predictive runs are that sweep, and the store lists each replicate's draw
    manifest = Store(out / "predictive").manifest()
    listed = [d["demand.represented_customers"] for d in manifest["design"]["posterior_draws"]]
    assert listed == drawn
    # and its report draws fans of the runs (median, central 50% and 90%), not means' bands
    from aimarket.experiments.report import write_report

    page = write_report(out / "predictive").read_text()
    assert "fan users" in page
    assert "timeseries users" not in page
    # a second calibration into the same directory is refused, and writes nothing
    before = sorted(p.name for p in out.iterdir())
    assert main([*args, "--workers", "1", "--quiet"]) == 2
    assert "not an empty directory" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == before


def test_calibrate_needs_a_calibration_section_and_in_sample_targets(
    tmp_path: Path, capsys
) -> None:
    (tmp_path / "c.toml").write_text('[experiment]\nname = "x"\nseed = 1\n')
    targets = _targets_file(tmp_path / "t.toml", 1e6)
    args = ["calibrate", str(tmp_path / "c.toml"), str(targets), "--out", str(tmp_path / "o")]
    assert main(args) == 2
    assert "no [calibration]" in capsys.readouterr().err
    (tmp_path / "d.toml").write_text(_toml(_config()))
    held_out = _targets_file(tmp_path / "v.toml", 1e6, role="validate")
    args = ["calibrate", str(tmp_path / "d.toml"), str(held_out), "--out", str(tmp_path / "o")]
    assert main(args) == 2
    assert "no target has role = 'calibrate'" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("prior", "message"),
    [
        ({"low": 2.0, "high": 1.0, "reason": "r"}, "expected low < high"),
        ({"low": 0.0, "high": 1.0, "scale": "log", "reason": "r"}, "needs low > 0"),
        ({"low": 0.0, "high": 1.0}, "reason"),
    ],
)
def test_bad_priors_are_one_clear_line(prior: dict, message: str) -> None:
    config = _config()
    config["calibration"]["priors"] = {"demand.elasticity": prior}
    with pytest.raises(ConfigError, match=message):
        validate_config(config)


def test_a_prior_on_an_unknown_parameter_fails_before_any_run(tmp_path: Path) -> None:
    config = _config()
    config["calibration"]["priors"] = {"demand.no_such_thing": {"low": 0, "high": 1, "reason": "r"}}
    with pytest.raises(ConfigError, match=r"calibration\.priors\.demand\.no_such_thing"):
        abc.run_abc(validate_config(config), [_users_target(1e6)], tmp_path / "abc.db")
    assert not (tmp_path / "abc.db").exists()


def test_the_backtest_declares_priors_with_reasons_for_its_free_parameters() -> None:
    root = Path(__file__).resolve().parents[2]
    raw = tomllib.loads((root / "experiments/configs/backtest_2020.toml").read_text())
    config = load_config(root / "experiments/configs/backtest_2020.toml")
    assert config.calibration is not None
    assert set(raw["sweep"]) == {"posterior"}
    assert len(config.calibration.priors) >= 5
    for name, prior in config.calibration.priors.items():
        assert len(prior.reason) > 20, name
    assert np.isfinite([p.low for p in config.calibration.priors.values()]).all()


def _posterior_file(path: Path, values: list[float], weights: list[float]) -> Path:
    pl.DataFrame(
        {
            "generation": [0] * len(values),
            "particle": list(range(len(values))),
            "weight": weights,
            "distance": [0.5] * len(values),
            "demand.elasticity": values,
            "target:users": [8.0] * len(values),
        }
    ).write_parquet(path)
    return path


def test_a_posterior_design_pairs_points_on_each_replicates_draw(tmp_path: Path) -> None:
    _posterior_file(tmp_path / "post.parquet", [1.1, 1.2, 1.3, 1.4], [0.0, 0.5, 0.5, 0.0])
    config = validate_config(
        {
            "experiment": {"name": "p", "seed": 3, "replications": 40},
            "sweep": {"grid": {"labs": [2, 4]}, "posterior": "post.parquet"},
        }
    )
    design, specs = plan_runs(config, config_dir=tmp_path)
    by_point = [[s.params.demand.elasticity for s in specs if s.point_id == p] for p in (0, 1)]
    assert by_point[0] == by_point[1]  # replicate r of every point: the same draw
    assert set(by_point[0]) == {1.2, 1.3}  # never a particle of weight 0
    assert [s.spawn_key for s in specs[:3]] == [(0,), (1,), (2,)]
    assert [d["demand.elasticity"] for d in design.draws] == by_point[0]
    again = plan_runs(config, config_dir=tmp_path)[1]
    assert [s.params for s in again] == [s.params for s in specs]


def test_a_posterior_design_carries_only_the_parameters_it_names(tmp_path: Path) -> None:
    # A 2020 posterior's elasticity carried into another market, its size left to [model];
    # the subset is the same draws' marginal: replicate r keeps the elasticity it had.
    post = _posterior_file(tmp_path / "post.parquet", [1.1, 1.2, 1.3, 1.4], [0.1, 0.4, 0.4, 0.1])
    frame = pl.read_parquet(post).with_columns(
        (pl.col("demand.elasticity") * 1e9).alias("demand.represented_customers")
    )
    frame.write_parquet(post)
    base = {"experiment": {"name": "p", "seed": 3, "replications": 12}}
    sweep = {"posterior": "post.parquet"}
    every = plan_runs(validate_config(base | {"sweep": sweep}), config_dir=tmp_path)[1]
    some = validate_config(
        base | {"sweep": sweep | {"posterior_parameters": ["demand.elasticity"]}}
    )
    design, specs = plan_runs(some, config_dir=tmp_path)
    assert [s.params.demand.elasticity for s in specs] == [
        s.params.demand.elasticity for s in every
    ]
    default_size = validate_config(base).model.demand.represented_customers
    assert {s.params.demand.represented_customers for s in specs} == {default_size}
    assert len({s.params.demand.represented_customers for s in every}) > 1
    assert all(set(d) == {"demand.elasticity"} for d in design.draws)


@pytest.mark.parametrize(
    ("sweep", "message"),
    [
        ({"posterior_parameters": ["demand.elasticity"]}, r"expected sweep\.posterior too"),
        (
            {"posterior": "post.parquet", "posterior_parameters": ["demand.nothing"]},
            r"demand\.nothing not in the posterior",
        ),
        (
            {"posterior": "post.parquet", "grid": {"demand.elasticity": [1.5, 2.0]}},
            r"demand\.elasticity is set by the design and drawn from the posterior",
        ),
    ],
)
def test_a_posterior_parameter_that_cannot_be_drawn_is_one_clear_line(
    tmp_path: Path, sweep: dict, message: str
) -> None:
    _posterior_file(tmp_path / "post.parquet", [1.1, 1.2], [0.5, 0.5])
    raw = {"experiment": {"name": "p", "seed": 3}, "sweep": sweep}
    with pytest.raises(ConfigError, match=message):
        plan_runs(validate_config(raw), config_dir=tmp_path)


def test_a_missing_posterior_is_one_clear_line(tmp_path: Path) -> None:
    config = validate_config(
        {"experiment": {"name": "p", "seed": 3}, "sweep": {"posterior": "nowhere.parquet"}}
    )
    with pytest.raises(ConfigError, match=r"sweep\.posterior = .*nowhere\.parquet.*no such file"):
        plan_runs(config, config_dir=tmp_path)


@pytest.mark.slow
def test_a_stopped_calibration_resumes_to_where_an_uninterrupted_one_ends(
    tmp_path: Path, capsys
) -> None:
    from aimarket.experiments.calibrate import identity, prepare_out

    (tmp_path / "c.toml").write_text(_toml(_config(particles=5, populations=2)))
    targets = _targets_file(tmp_path / "t.toml", 3e7)
    common = ["calibrate", str(tmp_path / "c.toml"), str(targets), "--workers", "1", "--quiet"]
    assert main([*common, "--out", str(tmp_path / "whole")]) == 0
    # "stopped" after its first generation: what a killed calibration leaves
    stopped = tmp_path / "stopped"
    config = load_config(tmp_path / "c.toml", ["calibration.populations=1"])
    prepare_out(stopped, identity(config, targets.read_text()), resume=False)
    abc.run_abc(config, abc.in_sample(load_targets(targets)), stopped / "abc.db")
    assert main([*common, "--out", str(stopped), "--resume"]) == 0
    for name in ("posterior.parquet", "generations.parquet"):
        assert pl.read_parquet(stopped / name).equals(pl.read_parquet(tmp_path / "whole" / name))
    capsys.readouterr()
    # a finished calibration, or another config's, is not resumed (and nothing is written)
    assert main([*common, "--out", str(stopped), "--resume"]) == 2
    assert "is finished" in capsys.readouterr().err
    other = ["--set", "model.labs=3", "--out", str(tmp_path / "whole"), "--resume"]
    assert main([*common, *other]) == 2
    assert "another config or targets" in capsys.readouterr().err
    assert main([*common, "--out", str(tmp_path / "new"), "--resume"]) == 2
    assert "no calibration to resume" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()


def test_the_forecast_continues_the_backtest_with_its_posterior() -> None:
    configs = Path(__file__).resolve().parents[2] / "experiments" / "configs"
    backtest = load_config(configs / "backtest_2020.toml")
    forecast = load_config(configs / "forecast_2026.toml")
    assert forecast.model == backtest.model
    assert forecast.experiment.start == backtest.experiment.start
    assert forecast.sweep is not None
    assert backtest.sweep is not None
    assert forecast.sweep.posterior == backtest.sweep.posterior
    design, specs = plan_runs(forecast, config_dir=configs)
    assert design.draws
    assert specs[-1].horizon_months == 127


def test_the_simulation_budget_holds_and_drops_the_generation_it_cuts_short(
    tmp_path: Path, observed_users: float
) -> None:
    config = _config(particles=5, populations=4)
    config["calibration"]["max_simulations"] = 30  # the prior's 5, then not four generations
    cfg = validate_config(config)
    history = abc.run_abc(cfg, [_users_target(observed_users)], tmp_path / "abc.db")
    generations = abc.generations_frame(history)
    assert history.total_nr_simulations <= 30
    assert 1 <= generations.height < 4
    assert generations["particles"].to_list() == [5] * generations.height
    config["calibration"]["max_simulations"] = 10  # not even the first generation
    with pytest.raises(ConfigError, match="max_simulations = 10: the budget ran out"):
        abc.run_abc(validate_config(config), [_users_target(observed_users)], tmp_path / "b.db")


def test_an_evaluation_on_a_worker_with_other_numerics_is_refused_in_one_line() -> None:
    # a worker that joins a Dask calibration late is checked per evaluation
    with pytest.raises(ConfigError, match=r"computes with .*, expected 'other'; start workers"):
        abc._evaluate(b"never unpickled", 1, 0, 0, expected_numerics="other")
