"""Experiment configs: TOML into frozen pydantic models, dotted overrides, clear errors.

Every error a user can make in a config or an override becomes one :class:`ConfigError`
whose message names the key (as a dotted path), the value and what was expected.
"""

from __future__ import annotations

import hashlib
import json
import math
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from aimarket.markets.calendar import normalise_month
from aimarket.sim.params import Frozen, ModelParams

__all__ = [
    "CalibrationSection",
    "ClusterSection",
    "ConfigError",
    "ExperimentConfig",
    "ExperimentSection",
    "PriorSection",
    "SweepSection",
    "apply_overrides",
    "config_hash",
    "format_validation_error",
    "load_config",
    "parse_override",
    "validate_config",
]

Scalar = bool | int | float | str


class ConfigError(ValueError):
    """A config or override the user must fix; the message is one line, ready to print."""


class ExperimentSection(Frozen):
    """``[experiment]``: identity, seed, replications and time span of an experiment."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=100)]
    seed: Annotated[int, Field(ge=0, lt=2**63)]
    replications: Annotated[int, Field(ge=1, le=1_000_000)] = 1
    horizon_months: Annotated[int, Field(ge=1, le=1200)] = 120
    start: str = "2025-01"
    description: str = ""

    @field_validator("start")
    @classmethod
    def _month(cls, v: str) -> str:
        return normalise_month(v)


class SweepSection(Frozen):
    """``[sweep]``: which model parameters vary, and how they are sampled."""

    design: Literal["grid", "lhs", "sobol", "morris", "list"] = "grid"
    samples: Annotated[int, Field(ge=1)] | None = None
    grid: dict[str, Annotated[list[Scalar], Field(min_length=1)]] = Field(default_factory=dict)
    ranges: dict[str, tuple[float, float]] = Field(default_factory=dict)
    fixed: dict[str, Scalar] = Field(default_factory=dict)
    points: str | list[dict[str, Scalar]] | None = None
    levels: Annotated[int, Field(ge=2)] | None = None  # morris grid levels (even; default 4)
    second_order: bool = False  # sobol: also sample for second-order indices
    # a posterior (``aimarket calibrate``'s posterior.parquet): replicate r of every point
    # takes the r-th weighted draw of its particles (docs/sweeps.md, "Posterior designs")
    posterior: Annotated[str, Field(min_length=1)] | None = None
    # the posterior's parameters that replicates take (default: all of them); the others
    # keep [model]'s values, e.g. a 2020 market's size when its elasticities are carried
    # into a 2025 question (docs/sweeps.md, "Posterior designs")
    posterior_parameters: tuple[Annotated[str, Field(min_length=1)], ...] | None = None

    @model_validator(mode="after")
    def _parameters_need_a_posterior(self) -> SweepSection:
        if self.posterior_parameters is not None and self.posterior is None:
            raise ValueError(
                f"sweep.posterior_parameters = {list(self.posterior_parameters)}: "
                "expected sweep.posterior too (the file to draw them from)"
            )
        return self


class ClusterSection(Frozen):
    """``[cluster]``: a Dask cluster that ``aimarket sweep`` starts through dask-jobqueue.

    ``kind = "local"`` starts a Dask ``LocalCluster`` on this machine (``jobs`` worker
    processes with ``cores`` threads each), which is how the path is tested here.
    """

    kind: Literal["slurm", "pbs", "sge", "lsf", "local"] = "slurm"
    jobs: Annotated[int, Field(ge=1)] = 1
    cores: Annotated[int, Field(ge=1)] = 1
    processes: Annotated[int, Field(ge=1)] | None = None
    memory: Annotated[str, Field(min_length=1)] = "4GB"
    walltime: Annotated[str, Field(pattern=r"^\d+(:\d\d){0,2}$")] = "01:00:00"
    queue: str | None = None
    account: str | None = None
    job_extra_directives: tuple[str, ...] = ()
    job_script_prologue: tuple[str, ...] = ()
    local_directory: str | None = None
    interface: str | None = None


class PriorSection(Frozen):
    """One free parameter's prior: uniform on ``[low, high]``, or on its logarithm
    (``scale = "log"``, for a parameter known only to an order of magnitude)."""

    low: float
    high: float
    scale: Literal["linear", "log"] = "linear"
    reason: Annotated[str, Field(min_length=1)]

    @model_validator(mode="after")
    def _ordered(self) -> PriorSection:
        if not (math.isfinite(self.low) and math.isfinite(self.high) and self.low < self.high):
            raise ValueError(f"low = {self.low}, high = {self.high}: expected low < high")
        if self.scale == "log" and self.low <= 0:
            raise ValueError(f"low = {self.low}: a log-scale prior needs low > 0")
        return self


class CalibrationSection(Frozen):
    """``[calibration]``: ABC-SMC of the free parameters (``aimarket calibrate``).

    Each generation accepts ``particles`` runs; it stops after ``populations`` generations,
    ``max_simulations`` runs in all (the prior sample included; a generation the budget
    cuts short is dropped), or once the acceptance threshold (the root-mean-square error
    over the in-sample targets, in units of their tolerances) reaches ``min_epsilon``.
    ``predictive_runs`` posterior draws are then run for the posterior-predictive check.
    """

    particles: Annotated[int, Field(ge=2)] = 100
    populations: Annotated[int, Field(ge=1)] = 6
    max_simulations: Annotated[int, Field(ge=1)] = 5000
    min_epsilon: Annotated[float, Field(ge=0)] = 0.5
    predictive_runs: Annotated[int, Field(ge=2)] = 60
    priors: Annotated[dict[str, PriorSection], Field(min_length=1)]

    @model_validator(mode="after")
    def _budget(self) -> CalibrationSection:
        if self.max_simulations < 2 * self.particles:
            raise ValueError(
                f"max_simulations = {self.max_simulations}: expected at least twice "
                f"particles ({2 * self.particles}): the prior sample and one generation"
            )
        return self


class ExperimentConfig(Frozen):
    """A whole experiment config file."""

    experiment: ExperimentSection
    model: ModelParams = ModelParams()
    sweep: SweepSection | None = None
    cluster: ClusterSection | None = None
    calibration: CalibrationSection | None = None


def load_config(path: str | Path, overrides: Iterable[str] = ()) -> ExperimentConfig:
    """Read, override and validate an experiment config.

    Parameters
    ----------
    path
        A TOML file.
    overrides
        ``"dotted.key=value"`` strings; the value is read as TOML (``3``, ``1.5e9``,
        ``"text"``, ``[1, 2]``, ``true``) and otherwise taken as a bare string.

    Raises
    ------
    ConfigError
        For a missing or unreadable file, malformed TOML or any invalid value.
    """
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"{p}: no such file")
    if not p.is_file():
        raise ConfigError(f"{p}: is a directory, expected a TOML file")
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: malformed TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{p}: not a UTF-8 text file") from None
    parsed = [parse_override(o) for o in overrides]
    data = apply_overrides(raw, parsed)
    try:
        return ExperimentConfig.model_validate(data)
    except ValidationError as exc:
        loc = tuple(str(x) for x in exc.errors()[0]["loc"])
        from_set = any(loc[: len(path)] == path for path, _ in parsed)
        source = "--set" if from_set else str(p)
        raise ConfigError(f"{source}: {format_validation_error(exc)}") from None


def validate_config(data: Mapping[str, Any], *, source: str = "config") -> ExperimentConfig:
    """Validate a config mapping; raises :class:`ConfigError` naming the first bad key."""
    try:
        return ExperimentConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {format_validation_error(exc)}") from None


def parse_override(text: str) -> tuple[tuple[str, ...], Any]:
    """Split ``"a.b.c=value"`` into ``(("a", "b", "c"), value)``.

    Examples
    --------
    >>> parse_override("model.labs=6")
    (('model', 'labs'), 6)
    >>> parse_override("model.market.regime=inference_heavy")
    (('model', 'market', 'regime'), 'inference_heavy')
    """
    key, sep, value = text.partition("=")
    path = tuple(part.strip() for part in key.strip().split("."))
    if not sep or not all(path):
        raise ConfigError(f"--set {text!r}: expected dotted.key=value")
    value = value.strip()
    try:
        parsed = tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value
    if isinstance(parsed, float) and not math.isfinite(parsed):
        raise ConfigError(f"{key.strip()} = {value}: expected a finite number")
    return path, parsed


def apply_overrides(
    data: Mapping[str, Any], overrides: Iterable[tuple[tuple[str, ...], Any]]
) -> dict[str, Any]:
    """A deep copy of ``data`` with each ``(path, value)`` set, creating tables as needed."""
    out: dict[str, Any] = json.loads(json.dumps(data, default=str))
    for path, value in overrides:
        node = out
        for depth, part in enumerate(path[:-1]):
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                where = ".".join(path[: depth + 1])
                raise ConfigError(f"{where} = {child!r}: is a value, cannot set {'.'.join(path)}")
            node = child
        node[path[-1]] = value
    return out


def format_validation_error(exc: ValidationError) -> str:
    """One line for the first error: ``dotted.key = value: expected ...``."""
    err = exc.errors(include_url=False)[0]
    loc = _dotted(err["loc"])
    kind, msg = err["type"], err["msg"]
    if kind == "extra_forbidden":
        return f"{loc}: unknown key{_known_keys(err['loc'])}"
    if kind == "missing":
        return f"{loc}: required key is missing"
    value = err.get("input")
    if msg.startswith("Value error, "):
        msg = msg.removeprefix("Value error, ")
    elif msg.startswith("Input should be "):
        msg = "expected " + msg.removeprefix("Input should be ")
    return f"{loc} = {_show(value)}: {msg}"


def _dotted(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _known_keys(loc: tuple[int | str, ...]) -> str:
    model: Any = ExperimentConfig
    for part in loc[:-1]:
        fields = getattr(model, "model_fields", None)
        if fields is None or isinstance(part, int):
            model = _element_model(model)
            if isinstance(part, int):
                continue
            fields = getattr(model, "model_fields", None)
        if fields is None or part not in fields:
            return ""
        model = _element_model(fields[part].annotation)
    fields = getattr(model, "model_fields", None)
    return f" (expected one of: {', '.join(fields)})" if fields else ""


def _element_model(annotation: Any) -> Any:
    """The pydantic model inside ``X``, ``X | None`` or ``tuple[X, ...]``."""
    if hasattr(annotation, "model_fields"):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _element_model(arg)
        if found is not None:
            return found
    return None


def _show(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def config_hash(config: ExperimentConfig) -> str:
    """sha256 of the config as loaded (canonical JSON, defaults included)."""
    blob = json.dumps(config.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()
