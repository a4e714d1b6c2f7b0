"""Experiment designs: the ``[sweep]`` table of a config into design points and run specs.

A design point is a mapping from dotted parameter paths (relative to ``[model]``, e.g.
``"hardware.price_performance_doubling_years"``) to values. ``build_design`` turns a
config's ``[sweep]`` into points (grid, Latin hypercube, Sobol/Saltelli, Morris, or an
explicit list), ``point_params`` applies a point to the base ``ModelParams``, and
``plan_runs`` crosses points with replications into ``RunSpec`` objects.

Every mistake in a ``[sweep]`` table is one :class:`~experiments.config.ConfigError` whose
message names the key as written in the TOML, the value and what was expected. The rules
are in ``docs/sweeps.md``.
"""

from __future__ import annotations

import dataclasses
import inspect
import itertools
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from pydantic import ValidationError

from aimarket.experiments.config import (
    ConfigError,
    ExperimentConfig,
    SweepSection,
    format_validation_error,
)
from aimarket.experiments.design_paths import (
    Kind,
    Scalar,
    apply_values,
    get_path,
    parameter_paths,
    plain,
    point_params,
    resolve_path,
)
from aimarket.experiments.posterior import posterior_draws
from aimarket.sim.params import ModelParams
from aimarket.sim.run import RunSpec

__all__ = [
    "DESIGN_SPAWN_KEY",
    "MORRIS_LEVELS",
    "Design",
    "Scalar",
    "build_design",
    "parameter_paths",
    "plan_runs",
    "point_params",
    "points_frame",
]

#: Spawn key of the design sampler's stream: ``SeedSequence(experiment.seed,
#: spawn_key=(DESIGN_SPAWN_KEY,))``. Replicate streams use ``spawn_key=(r,)`` with
#: ``r < 1_000_000``, so the sampler never shares a stream with a run.
DESIGN_SPAWN_KEY = 0x5EED_DE51

#: Morris grid levels when ``sweep.levels`` is not given.
MORRIS_LEVELS = 4

_SAMPLED = ("lhs", "sobol", "morris")
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True)
class Design:
    """Design points of an experiment, and what sensitivity analysis needs to read them.

    Attributes
    ----------
    kind
        ``"grid"``, ``"lhs"``, ``"sobol"``, ``"morris"``, ``"list"``, or ``"base"`` for a
        config without ``[sweep]`` (one point, the ``[model]`` table as written).
    variables
        Varied dotted paths, in the order they are written in the config (grid keys,
        range keys, or the columns of the list).
    points
        One dict per point, ``point_id`` = position: every varied path, then every fixed
        path, to its value. Values have the parameter's type (``int`` parameters hold
        ``int`` values, enums their string value).
    problem
        The SALib problem (``num_vars``, ``names``, ``bounds``) for ``sobol`` and
        ``morris``; ``None`` otherwise.
    fixed
        Paths held at one value at every point (``[sweep.fixed]``), in config order.
    second_order
        For ``sobol``: whether the Saltelli sample supports second-order indices (pass it
        as ``calc_second_order`` to ``SALib.analyze.sobol.analyze``).
    levels
        For ``morris``: the number of grid levels (``num_levels`` for
        ``SALib.analyze.morris.analyze``).
    samples
        For ``lhs``, ``sobol`` and ``morris``: the sampler's matrix scaled to the ranges but
        *before* integer parameters are rounded, one row per point, one column per
        variable. Morris analysis should use it as ``X``. ``None`` otherwise.
    draws
        With ``sweep.posterior`` (set by :func:`plan_runs`): replicate ``r``'s drawn
        parameter values, one dict per replicate; empty otherwise.
    """

    kind: str
    variables: tuple[str, ...]
    points: tuple[dict[str, Scalar], ...]
    problem: dict[str, Any] | None = None
    fixed: tuple[str, ...] = ()
    second_order: bool = False
    levels: int | None = None
    samples: tuple[tuple[float, ...], ...] | None = None
    draws: tuple[dict[str, float], ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        """Every path of a point: the varied ones, then the fixed ones."""
        return self.variables + self.fixed

    def sample_matrix(self) -> np.ndarray:
        """``samples`` as a ``(points, variables)`` float array (for SALib's ``X``).

        Raises
        ------
        ValueError
            If the design was not sampled (grid, list or base).
        """
        if self.samples is None:
            raise ValueError(f"a {self.kind} design has no sample matrix")
        return np.array(self.samples, dtype=float).reshape(len(self.points), len(self.variables))


# --------------------------------------------------------------------------- messages


def _key(table: str, name: str) -> str:
    """A sweep key as written in TOML: ``sweep.grid.labs``, ``sweep.grid."market.regime"``."""
    return f"{table}.{name}" if _BARE_KEY.match(name) else f"{table}.{json.dumps(name)}"


def _show(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def _reason(exc: ValidationError) -> str:
    """Pydantic's reason for the first error, worded as ``format_validation_error`` does.

    Used where the key and value are already named; anything but a plain value error falls
    back to the whole ``format_validation_error`` line.
    """
    err = exc.errors(include_url=False)[0]
    if err["type"] in ("extra_forbidden", "missing"):
        return format_validation_error(exc)
    msg = err["msg"]
    if msg.startswith("Value error, "):
        return msg.removeprefix("Value error, ")
    if msg.startswith("Input should be "):
        return "expected " + msg.removeprefix("Input should be ")
    return msg


# --------------------------------------------------------------------------- checks


class _Checker:
    """Validates single values against the base parameters and normalises them."""

    def __init__(self, base: ModelParams) -> None:
        self.dump = base.model_dump()

    def kind(self, key: str, path: str) -> Kind:
        try:
            return resolve_path(path)
        except ValueError as exc:
            raise ConfigError(f"{key}: {exc}") from None

    def value(self, prefix: str, path: str, value: Any, kind: Kind) -> Scalar:
        """``value`` as the parameter's type; ``ConfigError("<prefix>: <reason>")`` if rejected.

        ``prefix`` names the sweep key and the value as written, e.g.
        ``sweep.grid."market.regime"[1] = "x"``.
        """
        if kind in ("int", "float") and isinstance(value, bool):
            raise ConfigError(f"{prefix}: expected a number for {path}")
        try:
            params = apply_values(self.dump, {path: value})
        except ValidationError as exc:
            raise ConfigError(f"{prefix}: {_reason(exc)}") from None
        return plain(get_path(params, path))

    def point(self, where: str, point: Mapping[str, Any]) -> None:
        """Validate a whole point; ConfigError prefixed by ``where``."""
        try:
            apply_values(self.dump, point)
        except ValidationError as exc:
            raise ConfigError(f"{where}: {format_validation_error(exc)}") from None


def _check_fields(sweep: SweepSection) -> None:
    """Keys that belong to other designs are errors naming the key."""
    design = sweep.design
    wrong: list[tuple[str, Any, str]] = []
    if design != "grid" and sweep.grid:
        name = next(iter(sweep.grid))
        wrong.append((_key("sweep.grid", name), sweep.grid[name], "grid"))
    if design not in _SAMPLED and sweep.ranges:
        name = next(iter(sweep.ranges))
        wrong.append((_key("sweep.ranges", name), list(sweep.ranges[name]), "lhs, sobol or morris"))
    if design != "list" and sweep.points is not None:
        wrong.append(("sweep.points", sweep.points, "list"))
    if design not in _SAMPLED and sweep.samples is not None:
        wrong.append(("sweep.samples", sweep.samples, "lhs, sobol or morris"))
    if design != "morris" and sweep.levels is not None:
        wrong.append(("sweep.levels", sweep.levels, "morris"))
    if design != "sobol" and sweep.second_order:
        wrong.append(("sweep.second_order", True, "sobol"))
    if wrong:
        key, value, designs = wrong[0]
        raise ConfigError(
            f"{key} = {_show(value)}: not used by design {design!r} "
            f"(only by {designs}); remove it or change sweep.design"
        )


def _check_overlap(varied: Iterable[str], fixed: Mapping[str, Any], where: str) -> None:
    varied = set(varied)
    for path, value in fixed.items():
        if path in varied:
            raise ConfigError(
                f"{_key('sweep.fixed', path)} = {_show(value)}: {path} is also varied in "
                f"{where}; expected each parameter either varied or fixed"
            )


# --------------------------------------------------------------------------- designs


def build_design(config: ExperimentConfig, *, config_dir: Path | None = None) -> Design:
    """Validate a config's ``[sweep]`` and expand it into design points.

    Parameters
    ----------
    config
        A loaded config. Without ``[sweep]`` the design is ``"base"``: one point, ``{}``.
    config_dir
        Directory that a CSV ``sweep.points`` path is relative to (the config file's
        directory); the working directory if ``None``.

    Returns
    -------
    Design
        Points in a deterministic order; sampled designs depend only on the config
        (their stream is ``SeedSequence(experiment.seed, spawn_key=(DESIGN_SPAWN_KEY,))``).

    Raises
    ------
    ConfigError
        For any invalid ``[sweep]`` entry, naming the key as written in the TOML.

    Examples
    --------
    >>> from aimarket.experiments.config import validate_config
    >>> cfg = validate_config({
    ...     "experiment": {"name": "x", "seed": 1},
    ...     "sweep": {"grid": {"labs": [2, 4], "market.regime": ["balanced", "upfront_heavy"]},
    ...               "fixed": {"customers": 1000}},
    ... })
    >>> d = build_design(cfg)
    >>> d.kind, d.variables, len(d.points)
    ('grid', ('labs', 'market.regime'), 4)
    >>> d.points[1]
    {'labs': 2, 'market.regime': 'upfront_heavy', 'customers': 1000}
    """
    sweep = config.sweep
    if sweep is None:
        return Design(kind="base", variables=(), points=({},))
    _check_fields(sweep)
    checker = _Checker(config.model)
    fixed: dict[str, Scalar] = {}
    for path, v in sweep.fixed.items():
        key = _key("sweep.fixed", path)
        fixed[path] = checker.value(f"{key} = {_show(v)}", path, v, checker.kind(key, path))
    if sweep.design == "grid":
        design = _grid(sweep, checker, fixed)
    elif sweep.design == "list":
        design = _list(sweep, checker, fixed, config_dir)
    else:
        design = _sampled(sweep, checker, fixed, config.experiment.seed)
    return design


def _grid(sweep: SweepSection, checker: _Checker, fixed: dict[str, Scalar]) -> Design:
    if not sweep.grid and sweep.posterior is not None:  # posterior draws alone
        return Design(kind="posterior", variables=(), points=(dict(fixed),))
    if not sweep.grid:
        raise ConfigError(
            "sweep.grid: no parameters to vary; expected at least one "
            '"dotted.path" = [values] (to change the base point, edit [model])'
        )
    _check_overlap(sweep.grid, sweep.fixed, "sweep.grid")
    axes: list[list[Scalar]] = []
    for path, raw in sweep.grid.items():
        key = _key("sweep.grid", path)
        kind = checker.kind(key, path)
        if not raw:
            raise ConfigError(f"{key} = []: expected a non-empty list of values")
        values = [
            checker.value(f"{key}[{i}] = {_show(v)}", path, v, kind) for i, v in enumerate(raw)
        ]
        for i, v in enumerate(values):
            if v in values[:i]:
                raise ConfigError(
                    f"{key} = {_show(list(raw))}: value {_show(raw[i])} appears twice; "
                    "expected distinct values (use experiment.replications for repeats)"
                )
        axes.append(values)
    variables = tuple(sweep.grid)
    points = tuple(
        {**dict(zip(variables, combo, strict=True)), **fixed} for combo in itertools.product(*axes)
    )
    return Design(kind="grid", variables=variables, points=points, fixed=tuple(fixed))


def _list(
    sweep: SweepSection, checker: _Checker, fixed: dict[str, Scalar], config_dir: Path | None
) -> Design:
    if sweep.points is None:
        raise ConfigError(
            "sweep.points: required for design 'list'; expected inline [[sweep.points]] "
            "tables or the path of a CSV file"
        )
    if isinstance(sweep.points, str):
        rows, where, label = _read_csv(sweep.points, config_dir)

        def column(path: str) -> str:
            return f"{where}: column {json.dumps(path)}"
    else:
        rows = [dict(p) for p in sweep.points]
        where = "sweep.points"
        label = [f"sweep.points[{i}]" for i in range(len(rows))]

        def column(path: str) -> str:
            return _key("sweep.points[0]", path)

    if not rows:
        empty = f"{where}: no rows" if isinstance(sweep.points, str) else f"{where} = []"
        raise ConfigError(f"{empty}: expected at least one point")
    variables = tuple(rows[0])
    if not variables:
        raise ConfigError(f"{label[0]} = {{}}: expected at least one dotted.path = value")
    kinds = {path: checker.kind(column(path), path) for path in variables}
    _check_overlap(variables, sweep.fixed, where)
    points: list[dict[str, Scalar]] = []
    for i, row in enumerate(rows):
        if set(row) != set(variables):
            raise ConfigError(
                f"{label[i]}: sets {', '.join(row) or 'nothing'}; expected the same "
                f"parameters as the first point: {', '.join(variables)}"
            )
        for path in variables:
            if row[path] is None:
                raise ConfigError(f"{label[i]}: {path} is empty; expected a value")
        point = {
            p: checker.value(f"{label[i]}: {p} = {_show(row[p])}", p, row[p], kinds[p])
            for p in variables
        }
        point.update(fixed)
        checker.point(label[i], point)
        points.append(point)
    return Design(kind="list", variables=variables, points=tuple(points), fixed=tuple(fixed))


def _read_csv(name: str, config_dir: Path | None) -> tuple[list[dict[str, Any]], str, list[str]]:
    where = f"sweep.points = {_show(name)}"
    path = Path(name)
    if not path.is_absolute() and config_dir is not None:
        path = Path(config_dir) / path
    if not path.is_file():
        what = "is a directory" if path.is_dir() else "no such file"
        raise ConfigError(f"{where}: {what} ({path}); expected a CSV file of points")
    try:
        frame = pl.read_csv(path, infer_schema_length=None)
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"{where}: not a readable CSV file ({first})") from None
    rows = frame.to_dicts()
    # line numbers as a spreadsheet shows them: the header is line 1
    return rows, where, [f"{where}, line {i + 2}" for i in range(len(rows))]


def _sampled(sweep: SweepSection, checker: _Checker, fixed: dict[str, Scalar], seed: int) -> Design:
    design = sweep.design
    if not sweep.ranges:
        raise ConfigError(
            f"sweep.ranges: no parameters to vary; expected at least one "
            f'"dotted.path" = [low, high] for design {design!r}'
        )
    if sweep.samples is None:
        what = {
            "lhs": "the number of points",
            "sobol": "the base sample size N (a power of 2); the design has N*(D+2) points",
            "morris": "the number of trajectories; the design has (D+1) points per trajectory",
        }[design]
        raise ConfigError(f"sweep.samples: required for design {design!r}; expected {what}")
    _check_overlap(sweep.ranges, sweep.fixed, "sweep.ranges")
    variables = tuple(sweep.ranges)
    kinds: list[Kind] = []
    bounds: list[list[float]] = []
    for path, (low, high) in sweep.ranges.items():
        key = _key("sweep.ranges", path)
        kind = checker.kind(key, path)
        shown = f"{key} = {_show([low, high])}"
        if kind not in ("int", "float"):
            raise ConfigError(
                f"{shown}: {path} is a {'text' if kind == 'str' else 'true/false'} parameter "
                "and cannot be sampled from a range; expected a number parameter "
                "(hold it in sweep.fixed, or use a grid or list design)"
            )
        if not low < high:
            raise ConfigError(f"{shown}: expected low < high")
        for end, value in (("low", low), ("high", high)):
            v = _round(value) if kind == "int" else value
            checker.value(f"{shown}: {end} end {_show(v)}", path, v, kind)
        if kind == "int" and _round(low) == _round(high):
            raise ConfigError(
                f"{shown}: both ends round to {_round(low)}; expected a range that spans "
                "at least two integers"
            )
        kinds.append(kind)
        bounds.append([float(low), float(high)])
    n = sweep.samples
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(DESIGN_SPAWN_KEY,)))
    problem: dict[str, Any] | None = None
    levels: int | None = None
    if design == "lhs":
        matrix = _lhs(len(variables), n, rng, bounds)
    else:
        problem = {"num_vars": len(variables), "names": list(variables), "bounds": bounds}
        # SALib adds keys to the problem it is given: hand it a copy
        salib_problem = {**problem, "names": list(variables), "bounds": [*map(list, bounds)]}
        if design == "sobol":
            matrix = _sobol(salib_problem, n, sweep.second_order, rng)
        else:
            levels = MORRIS_LEVELS if sweep.levels is None else sweep.levels
            matrix = _morris(salib_problem, n, levels, rng)
    points = []
    for row in matrix:
        point: dict[str, Scalar] = {
            path: (_round(x) if kind == "int" else float(x))
            for path, kind, x in zip(variables, kinds, row, strict=True)
        }
        point.update(fixed)
        points.append(point)
    return Design(
        kind=design,
        variables=variables,
        points=tuple(points),
        problem=problem,
        fixed=tuple(fixed),
        second_order=sweep.second_order if design == "sobol" else False,
        levels=levels,
        samples=tuple(tuple(float(x) for x in row) for row in matrix),
    )


def _round(x: float) -> int:
    """Nearest integer, halves to even (``numpy.rint``)."""
    return int(np.rint(x))


def _lhs(d: int, n: int, rng: np.random.Generator, bounds: list[list[float]]) -> np.ndarray:
    try:
        from scipy.stats import qmc
    except ImportError:  # pragma: no cover - scipy is a dependency of sweeps
        raise ConfigError("sweep.design = 'lhs': needs scipy (pip install scipy)") from None
    # scipy >= 1.15 names the generator `rng`; older versions call it `seed`
    arg = "rng" if "rng" in inspect.signature(qmc.LatinHypercube).parameters else "seed"
    unit = qmc.LatinHypercube(d, **{arg: rng}).random(n)
    lows = np.array([b[0] for b in bounds])
    highs = np.array([b[1] for b in bounds])
    return lows + unit * (highs - lows)


def _sobol(
    problem: dict[str, Any], n: int, second_order: bool, rng: np.random.Generator
) -> np.ndarray:
    if n & (n - 1):
        low = 1 << (n.bit_length() - 1)
        raise ConfigError(
            f"sweep.samples = {n}: expected a power of 2 for design 'sobol' "
            f"(nearest: {low} or {low * 2})"
        )
    try:
        from SALib.sample import sobol
    except ImportError:  # pragma: no cover - SALib is a dependency of sweeps
        raise ConfigError("sweep.design = 'sobol': needs SALib (pip install SALib)") from None
    return sobol.sample(problem, n, calc_second_order=second_order, seed=rng)


def _morris(problem: dict[str, Any], n: int, levels: int, rng: np.random.Generator) -> np.ndarray:
    if levels % 2:
        raise ConfigError(
            f"sweep.levels = {levels}: expected an even number of Morris levels "
            "(odd levels bias the sample)"
        )
    try:
        from SALib.sample import morris
    except ImportError:  # pragma: no cover - SALib is a dependency of sweeps
        raise ConfigError("sweep.design = 'morris': needs SALib (pip install SALib)") from None
    return morris.sample(problem, n, num_levels=levels, seed=rng)


# --------------------------------------------------------------------------- outputs


_DTYPES: dict[type, pl.DataType] = {
    bool: pl.Boolean(),
    int: pl.Int64(),
    float: pl.Float64(),
    str: pl.String(),
}


def points_frame(design: Design) -> pl.DataFrame:
    """The design as a table: ``point_id`` (Int64), then one column per path.

    Columns are the varied paths, then the fixed ones, named by their dotted paths; each
    column's dtype follows its values (Boolean, Int64, Float64 or String).

    Examples
    --------
    >>> d = Design(kind="list", variables=("labs", "market.regime"),
    ...            points=({"labs": 2, "market.regime": "balanced"},
    ...                    {"labs": 6, "market.regime": "upfront_heavy"}))
    >>> dict(points_frame(d).schema)
    {'point_id': Int64, 'labs': Int64, 'market.regime': String}
    """
    columns: dict[str, pl.Series] = {
        "point_id": pl.Series("point_id", range(len(design.points)), dtype=pl.Int64)
    }
    for path in design.columns:
        values = [point[path] for point in design.points]
        types_ = {type(v) for v in values}
        if types_ == {int, float}:
            values, types_ = [float(v) for v in values], {float}
        if len(types_) != 1 or (kind := next(iter(types_))) not in _DTYPES:
            raise ValueError(f"column {path}: mixed or unsupported value types {types_}")
        columns[path] = pl.Series(path, values, dtype=_DTYPES[kind])
    return pl.DataFrame(list(columns.values()))


def _check_no_overlap(design: Design, draws: tuple[dict[str, float], ...]) -> None:
    """A parameter is either set by the design or drawn from the posterior, not both."""
    both = sorted(set(draws[0] if draws else ()) & set(design.columns))
    if both:
        raise ConfigError(
            f"sweep.posterior: {', '.join(both)} is set by the design and drawn from the "
            "posterior; expected sweep.posterior_parameters without it"
        )


def plan_runs(
    config: ExperimentConfig, *, config_dir: Path | None = None
) -> tuple[Design, list[RunSpec]]:
    """Every design point times every replication, as run specs.

    Specs are point-major (all replicates of point 0, then of point 1, ...). Replicate
    ``r`` of every point has ``spawn_key=(r,)`` and the experiment's seed, hence the same
    ``SeedSequence`` at every point (common random numbers).

    Parameters
    ----------
    config
        A loaded config.
    config_dir
        Passed to :func:`build_design`.

    Returns
    -------
    tuple[Design, list[RunSpec]]
        The design and ``len(design.points) * experiment.replications`` specs.

    Raises
    ------
    ConfigError
        As :func:`build_design`, or for a point whose parameters fail validation together.

    Examples
    --------
    >>> from aimarket.experiments.config import validate_config
    >>> cfg = validate_config({"experiment": {"name": "x", "seed": 7, "replications": 2},
    ...                        "sweep": {"grid": {"labs": [2, 3]}}})
    >>> design, specs = plan_runs(cfg)
    >>> [(s.run_id, s.params.labs, s.spawn_key) for s in specs]  # doctest: +NORMALIZE_WHITESPACE
    [('p000000-r0000', 2, (0,)), ('p000000-r0001', 2, (1,)),
     ('p000001-r0000', 3, (0,)), ('p000001-r0001', 3, (1,))]
    """
    # imported here: experiments.runner may import this module to plan its runs
    from aimarket.experiments.runner import run_id_for

    design = build_design(config, config_dir=config_dir)
    exp = config.experiment
    dump = config.model.model_dump()
    draws: tuple[dict[str, float], ...] = ({},) * exp.replications
    if config.sweep is not None and config.sweep.posterior is not None:
        path = Path(config.sweep.posterior)
        path = path if path.is_absolute() else (config_dir or Path()) / path
        draws = posterior_draws(path, exp.replications, exp.seed, config.sweep.posterior_parameters)
        _check_no_overlap(design, draws)
        design = dataclasses.replace(design, draws=draws)
    specs: list[RunSpec] = []
    for point_id, point in enumerate(design.points):
        shared = None
        for r, draw in enumerate(draws):
            values = {**point, **draw}
            try:
                if shared is None or draw:  # one validation per point without a posterior
                    params = apply_values(dump, values) if values else config.model
                    shared = params
            except ValidationError as exc:
                where = f"design point {point_id}" + (f", posterior draw {r}" if draw else "")
                raise ConfigError(f"{where}: {format_validation_error(exc)}") from None
            specs.append(
                RunSpec(
                    run_id=run_id_for(point_id, r),
                    point_id=point_id,
                    replicate=r,
                    params=params,
                    seed_entropy=exp.seed,
                    spawn_key=(r,),
                    horizon_months=exp.horizon_months,
                    start_month=exp.start,
                )
            )
    return design, specs
