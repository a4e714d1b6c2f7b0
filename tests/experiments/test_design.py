"""Designs: every [sweep] kind expands to valid points and specs; every bad sweep is one line."""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aimarket.experiments.config import ConfigError, ExperimentConfig, load_config, validate_config
from aimarket.experiments.design import (
    Design,
    build_design,
    parameter_paths,
    plan_runs,
    point_params,
    points_frame,
)
from aimarket.sim.params import ModelParams, Regime

DESIGN_EXAMPLE = """
[experiment]
name = "regimes"
seed = 20261123
replications = 20
horizon_months = 120
start = "2025-01"

[model]
labs = 4
customers = 20_000
[model.hardware]
price_performance_doubling_years = 2.3

[sweep]
design = "grid"
[sweep.grid]
"hardware.price_performance_doubling_years" = [1.5, 2.3, 3.0]
"market.regime" = ["upfront_heavy", "inference_heavy"]
"""

DOUBLING = "hardware.price_performance_doubling_years"
MFU = "hardware.training_mfu_frac"


def config(sweep: dict[str, Any] | None, **experiment: Any) -> ExperimentConfig:
    data: dict[str, Any] = {"experiment": {"name": "t", "seed": 11, **experiment}}
    if sweep is not None:
        data["sweep"] = sweep
    return validate_config(data)


def ranges_sweep(design: str, samples: int, **extra: Any) -> dict[str, Any]:
    return {
        "design": design,
        "samples": samples,
        "ranges": {DOUBLING: [1.5, 3.0], MFU: [0.2, 0.6], "labs": [2, 8]},
        **extra,
    }


# --------------------------------------------------------------------------- grid


def test_design_example_grid_and_plan(tmp_path: Path) -> None:
    path = tmp_path / "regimes.toml"
    path.write_text(DESIGN_EXAMPLE)
    cfg = load_config(path)
    design, specs = plan_runs(cfg, config_dir=tmp_path)

    assert design.kind == "grid"
    assert design.variables == (DOUBLING, "market.regime")
    assert len(design.points) == 6
    assert design.points[:2] == (
        {DOUBLING: 1.5, "market.regime": "upfront_heavy"},
        {DOUBLING: 1.5, "market.regime": "inference_heavy"},
    )
    assert len(specs) == 120
    assert len({s.run_id for s in specs}) == 120
    # point-major, replicates 0..19 within each point
    assert [(s.point_id, s.replicate) for s in specs] == [
        (p, r) for p in range(6) for r in range(20)
    ]
    for s in specs:
        assert s.run_id == f"p{s.point_id:06d}-r{s.replicate:04d}"
        point = design.points[s.point_id]
        assert s.params.hardware.price_performance_doubling_years == point[DOUBLING]
        assert s.params.market.regime is Regime(point["market.regime"])
        assert s.params.labs == 4  # [model] base values carry through
        assert s.horizon_months == 120
        assert s.start_month == "2025-01"
    # common random numbers: replicate r has the same seed at every point
    for r in (0, 7, 19):
        states = {tuple(s.seed.generate_state(4)) for s in specs if s.replicate == r}
        assert len(states) == 1
    assert specs[0].seed.generate_state(4).tolist() != specs[1].seed.generate_state(4).tolist()


def test_no_sweep_is_the_base_point() -> None:
    cfg = config(None, replications=3)
    design, specs = plan_runs(cfg)
    assert design == Design(kind="base", variables=(), points=({},))
    assert [s.run_id for s in specs] == ["p000000-r0000", "p000000-r0001", "p000000-r0002"]
    assert all(s.params == cfg.model for s in specs)
    frame = points_frame(design)
    assert frame.columns == ["point_id"]
    assert frame.height == 1


def test_grid_with_fixed_and_sweep_overrides_model() -> None:
    cfg = validate_config(
        {
            "experiment": {"name": "t", "seed": 1},
            "model": {"labs": 4, "customers": 5_000},
            "sweep": {"grid": {"labs": [2, 6]}, "fixed": {"customers": 1_000}},
        }
    )
    design, specs = plan_runs(cfg)
    assert design.fixed == ("customers",)
    assert design.points == ({"labs": 2, "customers": 1_000}, {"labs": 6, "customers": 1_000})
    assert [(s.params.labs, s.params.customers) for s in specs] == [(2, 1_000), (6, 1_000)]


def test_grid_values_take_the_parameter_type() -> None:
    design = build_design(config({"grid": {DOUBLING: [1, 2]}, "fixed": {"labs": 3.0}}))
    assert design.points[0] == {DOUBLING: 1.0, "labs": 3}
    assert type(design.points[0][DOUBLING]) is float
    assert type(design.points[0]["labs"]) is int


# --------------------------------------------------------------------------- sampled


def test_lhs_is_stratified_and_within_bounds() -> None:
    n = 16
    sweep = {"design": "lhs", "samples": n, "ranges": {DOUBLING: [1.5, 3.0], MFU: [0.2, 0.6]}}
    design = build_design(config(sweep))
    assert design.kind == "lhs"
    assert design.problem is None
    assert len(design.points) == n
    for path, (low, high) in sweep["ranges"].items():
        values = np.array([p[path] for p in design.points])
        assert np.all((values >= low) & (values <= high))
        bins = np.floor((values - low) / (high - low) * n).astype(int)
        assert sorted(bins.tolist()) == list(range(n))


def test_sobol_count_bounds_and_problem() -> None:
    n, d = 8, 3
    design = build_design(config(ranges_sweep("sobol", n)))
    assert len(design.points) == n * (d + 2)
    assert design.problem == {
        "num_vars": d,
        "names": [DOUBLING, MFU, "labs"],
        "bounds": [[1.5, 3.0], [0.2, 0.6], [2.0, 8.0]],
    }
    assert design.second_order is False
    matrix = design.sample_matrix()
    assert matrix.shape == (n * (d + 2), d)
    assert np.all(matrix >= [1.5, 0.2, 2.0])
    assert np.all(matrix <= [3.0, 0.6, 8.0])
    second = build_design(config(ranges_sweep("sobol", n, second_order=True)))
    assert len(second.points) == n * (2 * d + 2)
    assert second.second_order is True


def test_morris_count_levels_and_bounds() -> None:
    n, d = 5, 3
    design = build_design(config(ranges_sweep("morris", n)))
    assert len(design.points) == (d + 1) * n
    assert design.levels == 4
    doubling = {round(p[DOUBLING], 9) for p in design.points}
    assert doubling <= {1.5, 2.0, 2.5, 3.0}
    six = build_design(config(ranges_sweep("morris", n, levels=6)))
    assert six.levels == 6
    assert len(six.points) == (d + 1) * n


def test_sampled_integers_are_rounded() -> None:
    design = build_design(config(ranges_sweep("lhs", 12)))
    raw = design.sample_matrix()[:, 2]
    labs = [p["labs"] for p in design.points]
    assert all(type(v) is int for v in labs)
    assert labs == [int(np.rint(x)) for x in raw]
    assert all(2 <= v <= 8 for v in labs)
    assert points_frame(design).schema["labs"] == pl.Int64


@pytest.mark.parametrize("kind", ["grid", "lhs", "sobol", "morris"])
def test_designs_are_deterministic(kind: str) -> None:
    sweep = (
        {"grid": {DOUBLING: [1.5, 3.0], "market.regime": ["balanced", "upfront_heavy"]}}
        if kind == "grid"
        else ranges_sweep(kind, 4)
    )
    first, second = build_design(config(sweep)), build_design(config(sweep))
    assert first == second
    if kind != "grid":
        other = build_design(
            validate_config({"experiment": {"name": "t", "seed": 12}, "sweep": sweep})
        )
        assert other.points != first.points


def test_fixed_in_sampled_design() -> None:
    design = build_design(config(ranges_sweep("lhs", 3, fixed={"market.regime": "upfront_heavy"})))
    assert design.columns == (DOUBLING, MFU, "labs", "market.regime")
    assert {p["market.regime"] for p in design.points} == {"upfront_heavy"}


# --------------------------------------------------------------------------- list


def test_list_inline_points() -> None:
    sweep = {
        "design": "list",
        "points": [
            {"labs": 2, "market.regime": "balanced"},
            {"market.regime": "inference_heavy", "labs": 6},
        ],
        "fixed": {DOUBLING: 2.5},
    }
    design, specs = plan_runs(config(sweep, replications=2))
    assert design.kind == "list"
    assert design.variables == ("labs", "market.regime")
    assert design.points[1] == {"labs": 6, "market.regime": "inference_heavy", DOUBLING: 2.5}
    assert [s.params.labs for s in specs] == [2, 2, 6, 6]


def test_list_from_csv_relative_to_config_dir(tmp_path: Path) -> None:
    (tmp_path / "pts.csv").write_text(
        f"labs,market.regime,{DOUBLING}\n2,balanced,1.5\n5,upfront_heavy,3\n"
    )
    path = tmp_path / "c.toml"
    path.write_text(
        '[experiment]\nname = "l"\nseed = 3\n\n[sweep]\ndesign = "list"\npoints = "pts.csv"\n'
    )
    design = build_design(load_config(path), config_dir=tmp_path)
    assert design.variables == ("labs", "market.regime", DOUBLING)
    assert design.points == (
        {"labs": 2, "market.regime": "balanced", DOUBLING: 1.5},
        {"labs": 5, "market.regime": "upfront_heavy", DOUBLING: 3.0},
    )


# --------------------------------------------------------------------------- outputs


def test_points_frame_columns_and_dtypes() -> None:
    sweep = {
        "grid": {DOUBLING: [1.5, 3.0], "market.regime": ["balanced", "upfront_heavy"]},
        "fixed": {"labs": 3},
    }
    frame = points_frame(build_design(config(sweep)))
    assert frame.columns == ["point_id", DOUBLING, "market.regime", "labs"]
    assert dict(frame.schema) == {
        "point_id": pl.Int64,
        DOUBLING: pl.Float64,
        "market.regime": pl.String,
        "labs": pl.Int64,
    }
    assert frame["point_id"].to_list() == [0, 1, 2, 3]
    flags = Design(kind="list", variables=("flag",), points=({"flag": True}, {"flag": False}))
    assert points_frame(flags).schema["flag"] == pl.Boolean


def test_point_params() -> None:
    base = ModelParams(labs=4)
    assert point_params(base, {}) is base
    p = point_params(base, {"market.regime": "upfront_heavy", DOUBLING: 3})
    assert p.market.regime is Regime.UPFRONT_HEAVY
    assert p.hardware.price_performance_doubling_years == 3.0
    assert p.labs == 4
    assert base.market.regime is Regime.BALANCED
    with pytest.raises(ConfigError, match=r"hardware\.nope: unknown parameter"):
        point_params(base, {"hardware.nope": 1})
    with pytest.raises(ConfigError, match=r"training_mfu_frac = 2"):
        point_params(base, {MFU: 2})


def test_parameter_paths_are_leaves() -> None:
    paths = parameter_paths()
    assert paths["customers"] == "int"
    assert paths["hardware.gpu"] == "str"
    assert "hardware" not in paths
    assert "demand.segments" not in paths


# --------------------------------------------------------------------------- errors

BAD: list[tuple[dict[str, Any], str]] = [
    (
        {"grid": {"hardware.nope": [1]}},
        'sweep.grid."hardware.nope": unknown parameter hardware.nope '
        "(expected one of: hardware.gpu, hardware.price_performance_doubling_years,",
    ),
    ({"grid": {"model.labs": [2]}}, "paths are relative to [model]"),
    (
        {"grid": {"hardware": [1]}},
        "sweep.grid.hardware: hardware is a table, expected a path to one value",
    ),
    ({"grid": {"labs.x": [1]}}, "labs is a value, not a table"),
    ({"grid": {"demand.segments": [1]}}, "demand.segments holds a list of values"),
    (
        {"grid": {"hardware.serving_batch": [4, 0]}},
        'sweep.grid."hardware.serving_batch"[1] = 0: expected greater than or equal to 1',
    ),
    (
        {"grid": {"market.regime": ["balanced", "x"]}},
        "[1] = \"x\": expected 'balanced', 'upfront_heavy' or 'inference_heavy'",
    ),
    ({"grid": {"labs": [2, 2.0]}}, "appears twice"),
    ({"grid": {"labs": [True]}}, "sweep.grid.labs[0] = true: expected a number"),
    ({"grid": {}}, "sweep.grid: no parameters to vary"),
    ({}, "sweep.grid: no parameters to vary"),
    (
        {"grid": {"labs": [2]}, "fixed": {"labs": 3}},
        "sweep.fixed.labs = 3: labs is also varied in sweep.grid",
    ),
    (
        {"grid": {"labs": [2]}, "fixed": {MFU: 2}},
        f'sweep.fixed."{MFU}" = 2: expected less than or equal to 1',
    ),
    (
        {"grid": {"labs": [2]}, "fixed": {"hardware.nope": 2}},
        'sweep.fixed."hardware.nope": unknown parameter',
    ),
    (
        {"grid": {"labs": [2]}, "ranges": {MFU: [0.1, 0.2]}},
        f"sweep.ranges.\"{MFU}\" = [0.1, 0.2]: not used by design 'grid'",
    ),
    ({"grid": {"labs": [2]}, "samples": 4}, "sweep.samples = 4: not used by design 'grid'"),
    (
        {"design": "lhs", "samples": 4, "ranges": {DOUBLING: [3.0, 1.5]}},
        f'sweep.ranges."{DOUBLING}" = [3.0, 1.5]: expected low < high',
    ),
    ({"design": "lhs", "samples": 4, "ranges": {DOUBLING: [2.0, 2.0]}}, "expected low < high"),
    (
        {"design": "lhs", "samples": 4, "ranges": {MFU: [0.5, 1.5]}},
        "high end 1.5: expected less than or equal to 1",
    ),
    (
        {"design": "lhs", "samples": 4, "ranges": {"market.regime": [0, 1]}},
        "market.regime is a text parameter and cannot be sampled from a range",
    ),
    ({"design": "lhs", "samples": 4, "ranges": {"labs": [1.2, 1.4]}}, "both ends round to 1"),
    (
        {"design": "lhs", "samples": 4, "ranges": {"labs": [2, 4]}, "grid": {"customers": [9]}},
        "sweep.grid.customers = [9]: not used by design 'lhs'",
    ),
    ({"design": "lhs", "ranges": {"labs": [2, 4]}}, "sweep.samples: required for design 'lhs'"),
    ({"design": "sobol", "ranges": {"labs": [2, 4]}}, "sweep.samples: required for design 'sobol'"),
    (
        {"design": "morris", "ranges": {"labs": [2, 4]}},
        "sweep.samples: required for design 'morris'",
    ),
    ({"design": "lhs", "samples": 4}, "sweep.ranges: no parameters to vary"),
    (
        {"design": "lhs", "samples": 4, "ranges": {"labs": [2, 4]}, "fixed": {"labs": 3}},
        "labs is also varied in sweep.ranges",
    ),
    (
        {"design": "sobol", "samples": 100, "ranges": {"labs": [2, 4]}},
        "sweep.samples = 100: expected a power of 2 for design 'sobol' (nearest: 64 or 128)",
    ),
    (
        {"design": "morris", "samples": 4, "levels": 5, "ranges": {"labs": [2, 4]}},
        "sweep.levels = 5: expected an even number",
    ),
    (
        {"design": "lhs", "samples": 4, "levels": 4, "ranges": {"labs": [2, 4]}},
        "sweep.levels = 4: not used by design 'lhs'",
    ),
    ({"design": "list"}, "sweep.points: required for design 'list'"),
    ({"design": "list", "points": []}, "sweep.points = []: expected at least one point"),
    ({"design": "list", "points": [{}]}, "sweep.points[0] = {}: expected at least one"),
    (
        {"design": "list", "points": [{"labs": 2}, {"customers": 3}]},
        "sweep.points[1]: sets customers; expected the same parameters",
    ),
    (
        {"design": "list", "points": [{"labs": 2}, {"labs": 0}]},
        "sweep.points[1]: labs = 0: expected greater than or equal to 1",
    ),
    (
        {"design": "list", "points": [{"hardware.x": 2}]},
        'sweep.points[0]."hardware.x": unknown parameter hardware.x',
    ),
    (
        {"design": "list", "points": [{"labs": 2}], "fixed": {"labs": 3}},
        "labs is also varied in sweep.points",
    ),
    ({"design": "list", "points": "missing.csv"}, 'sweep.points = "missing.csv": no such file'),
]


@pytest.mark.parametrize(("sweep", "fragment"), BAD)
def test_bad_sweep_is_one_clear_line(sweep: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        plan_runs(config(sweep))
    message = str(info.value)
    assert fragment in message
    assert "\n" not in message
    assert info.value.__suppress_context__ or info.value.__context__ is None


@pytest.mark.parametrize(
    ("csv", "fragment"),
    [
        ("labs,hardware.nope\n2,1\n", 'column "hardware.nope": unknown parameter hardware.nope'),
        ("labs\n2\n0\n", 'sweep.points = "p.csv", line 3: labs = 0: expected greater than'),
        ("labs,customers\n2,\n", "line 2: customers is empty"),
        ("labs\n", 'sweep.points = "p.csv": no rows: expected at least one point'),
    ],
)
def test_bad_csv_is_one_clear_line(tmp_path: Path, csv: str, fragment: str) -> None:
    (tmp_path / "p.csv").write_text(csv)
    with pytest.raises(ConfigError) as info:
        build_design(config({"design": "list", "points": "p.csv"}), config_dir=tmp_path)
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_csv_path_is_relative_to_config_dir(tmp_path: Path) -> None:
    (tmp_path / "p.csv").write_text("labs\n2\n")
    cfg = config({"design": "list", "points": "p.csv"})
    with pytest.raises(ConfigError, match="no such file"):
        build_design(cfg, config_dir=tmp_path / "elsewhere")
    assert build_design(cfg, config_dir=tmp_path).points == ({"labs": 2},)


# --------------------------------------------------------------------------- property

FLOAT_PATHS = {
    DOUBLING: st.floats(0.1, 10.0),
    "hardware.rental_scarcity_usd_per_hour": st.floats(8.0, 100.0),
    MFU: st.floats(0.01, 1.0),
    "algorithms.serving_efficiency_per_year": st.floats(1.0, 4.0),
    "market.reference_kappa": st.floats(20.0, 35.0),
}


@st.composite
def grids(draw: st.DrawFn) -> dict[str, list[float]]:
    paths = draw(
        st.lists(st.sampled_from(sorted(FLOAT_PATHS)), min_size=1, max_size=3, unique=True)
    )
    return {p: draw(st.lists(FLOAT_PATHS[p], min_size=1, max_size=4, unique=True)) for p in paths}


@settings(max_examples=25, deadline=None)
@given(grid=grids())
def test_grid_size_is_product_and_points_validate(grid: dict[str, list[float]]) -> None:
    design = build_design(config({"grid": grid}))
    assert len(design.points) == math.prod(len(v) for v in grid.values())
    assert design.variables == tuple(grid)
    assert [tuple(p.values()) for p in design.points] == list(itertools.product(*grid.values()))
    base = ModelParams()
    for point in design.points:
        params = point_params(base, point)
        for path, value in point.items():
            section, name = path.split(".")
            assert getattr(getattr(params, section), name) == value


def test_docs_examples_build(tmp_path: Path) -> None:
    text = (Path(__file__).parents[2] / "docs" / "sweeps.md").read_text()
    blocks = [b.split("```", 1)[0] for b in text.split("```toml\n")[1:]]
    (tmp_path / "points.csv").write_text(f"labs,market.regime,{DOUBLING}\n2,upfront_heavy,1.5\n")
    sizes = []
    for i, block in enumerate(blocks):
        path = tmp_path / f"c{i}.toml"
        path.write_text(block)
        sizes.append(len(build_design(load_config(path), config_dir=tmp_path).points))
    assert sizes == [6, 64, 1280, 80, 2, 1, 1]
