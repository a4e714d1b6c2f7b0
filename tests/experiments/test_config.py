"""Configs: the design example loads, overrides apply, every bad input is one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from aimarket.experiments.cli import main
from aimarket.experiments.config import ConfigError, config_hash, load_config, parse_override
from aimarket.sim.params import Regime

DESIGN_EXAMPLE = """
[experiment]
name = "regimes"
seed = 20261123          # required
replications = 20
horizon_months = 120
start = "2025-01"

[model]                  # base values; every key has a default, unknown keys are errors
labs = 4
customers = 20_000
[model.hardware]
price_performance_doubling_years = 2.3

[sweep]
design = "grid"          # grid | lhs | sobol | morris | list
[sweep.grid]
"hardware.price_performance_doubling_years" = [1.5, 2.3, 3.0]
"market.regime" = ["upfront_heavy", "inference_heavy"]
"""

TINY = """
[experiment]
name = "tiny"
seed = 1
horizon_months = 3

[model]
customers = 200
"""


def write(tmp_path: Path, text: str, name: str = "c.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_design_example_loads(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, DESIGN_EXAMPLE))
    assert cfg.experiment.replications == 20
    assert cfg.model.hardware.price_performance_doubling_years == 2.3
    assert cfg.sweep is not None
    assert cfg.sweep.grid["market.regime"] == ["upfront_heavy", "inference_heavy"]


def test_shipped_configs_load() -> None:
    paths = sorted(Path("experiments/configs").glob("*.toml"))
    assert len(paths) >= 10, f"shipped configs not found: {paths}"  # a glob finding none must fail
    for path in paths:
        config = load_config(path)
        if config.sweep is not None and config.sweep.posterior is not None:
            from aimarket.experiments.design import plan_runs

            plan_runs(config, config_dir=path.parent)  # the posterior it draws from ships too


def test_overrides_and_hash(tmp_path: Path) -> None:
    path = write(tmp_path, TINY)
    base = load_config(path)
    cfg = load_config(path, ["model.labs=6", "model.market.regime=inference_heavy"])
    assert cfg.model.labs == 6
    assert cfg.model.market.regime is Regime.INFERENCE_HEAVY
    assert config_hash(cfg) != config_hash(base)
    assert config_hash(load_config(path)) == config_hash(base)


def test_config_is_frozen(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, TINY))
    with pytest.raises(ValueError, match="frozen"):
        cfg.model.labs = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "overrides", "expected"),
    [
        (TINY + "colour = 3\n", [], "model.colour: unknown key (expected one of: labs,"),
        (TINY, ["model.labs=many"], "model.labs = 'many': expected a valid integer"),
        (TINY, ["model.labs=0"], "model.labs = 0: expected greater than or equal to 1"),
        (TINY, ["model.hardware.rental_floor_usd_per_hour=nan"], "expected a finite number"),
        (TINY, ["model.hardware.rental_floor_usd_per_hour=inf"], "expected a finite number"),
        (TINY, ["model.hardware.gpu='tpu'"], "model.hardware.gpu = 'tpu': expected one of"),
        (TINY, ["model.market.regime=mixed"], "model.market.regime = 'mixed': expected"),
        (TINY, ["experiment.start=2025-13"], "experiment.start = '2025-13': expected a month"),
        (TINY.replace("seed = 1\n", ""), [], "experiment.seed: required key is missing"),
        ("[experiment\nname=1", [], "malformed TOML"),
        (TINY, ["model.demand.segments=[{name='a'}]"], "model.demand.segments[0].weight_frac"),
        (TINY, ["labs"], "expected dotted.key=value"),
    ],
)
def test_bad_config_is_one_clear_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    text: str,
    overrides: list[str],
    expected: str,
) -> None:
    path = write(tmp_path, text)
    out = tmp_path / "out"
    argv = ["run", str(path), "--out", str(out), "--quiet"]
    for o in overrides:
        argv += ["--set", o]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert expected in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err
    assert not out.exists()


def test_non_finite_in_toml_file(tmp_path: Path) -> None:
    path = write(tmp_path, TINY + "[model.hardware]\nrental_floor_usd_per_hour = nan\n")
    with pytest.raises(
        ConfigError, match=r"model.hardware.rental_floor_usd_per_hour = NaN: expected a finite"
    ):
        load_config(path)


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(tmp_path / "nope.toml"), "--quiet"]) == 2
    assert "nope.toml: no such file" in capsys.readouterr().err


def test_out_is_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, TINY)
    target = tmp_path / "taken"
    target.write_text("x")
    assert main(["run", str(path), "--out", str(target), "--quiet"]) == 2
    assert "is a file, expected a directory" in capsys.readouterr().err
    assert target.read_text() == "x"


def test_out_is_a_foreign_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, TINY)
    target = tmp_path / "mine"
    target.mkdir()
    (target / "notes.txt").write_text("keep me")
    assert main(["run", str(path), "--out", str(target), "--quiet"]) == 2
    assert "not an aimarket store" in capsys.readouterr().err
    assert (target / "notes.txt").read_text() == "keep me"


def test_parse_override_values() -> None:
    assert parse_override("a.b=1.5e9") == (("a", "b"), 1.5e9)
    assert parse_override("a=[1, 2]") == (("a",), [1, 2])
    assert parse_override("a=true") == (("a",), True)
    assert parse_override('a="x y"') == (("a",), "x y")
