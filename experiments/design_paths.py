"""Parameter paths: the dotted ``[model]`` paths a sweep may vary, their kinds, and a
design point applied to a base ``ModelParams``.

A path is relative to ``[model]``, e.g. ``"hardware.price_performance_doubling_years"``;
tables (nested models) are walked, fields holding tuples or lists are not sweepable.
"""

from __future__ import annotations

import enum
import types
from collections.abc import Mapping, Sequence
from typing import Any, Literal, Union, get_args, get_origin

import numpy as np
from pydantic import BaseModel, ValidationError

from aimarket.experiments.config import ConfigError, format_validation_error
from aimarket.sim.params import ModelParams

__all__ = [
    "Kind",
    "Scalar",
    "apply_values",
    "get_path",
    "parameter_paths",
    "plain",
    "point_params",
    "resolve_path",
]

Scalar = bool | int | float | str
Kind = Literal["int", "float", "bool", "str"]


def _unwrap(annotation: Any) -> Any:
    """``X`` from ``X | None`` (or ``Optional[X]``); other annotations unchanged."""
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _leaf_kind(annotation: Any) -> Kind | None:
    """The scalar kind of a field's type, or ``None`` for tuples, lists and the like."""
    ann = _unwrap(annotation)
    if get_origin(ann) is Literal and all(isinstance(a, str) for a in get_args(ann)):
        return "str"  # one of named choices, e.g. firms.open_weights.releases
    if not isinstance(ann, type):
        return None
    if issubclass(ann, bool):
        return "bool"
    if issubclass(ann, enum.Enum):
        return "str"
    if issubclass(ann, int):
        return "int"
    if issubclass(ann, float):
        return "float"
    if issubclass(ann, str):
        return "str"
    return None


def _is_table(annotation: Any) -> bool:
    ann = _unwrap(annotation)
    return isinstance(ann, type) and issubclass(ann, BaseModel)


def parameter_paths(model: type[BaseModel] = ModelParams) -> dict[str, str]:
    """Every sweepable dotted path of ``model`` and its kind (int, float, bool or str).

    Fields that hold tuples or lists (e.g. ``demand.segments``) are not sweepable.

    Examples
    --------
    >>> paths = parameter_paths()
    >>> paths["labs"], paths["market.regime"], paths["hardware.price_performance_doubling_years"]
    ('int', 'str', 'float')
    >>> paths["firms.open_weights.releases"]
    'str'
    """
    out: dict[str, str] = {}
    for name, field in model.model_fields.items():
        if _is_table(field.annotation):
            for sub, kind in parameter_paths(_unwrap(field.annotation)).items():
                out[f"{name}.{sub}"] = kind
        elif (kind := _leaf_kind(field.annotation)) is not None:
            out[name] = kind
    return out


def resolve_path(path: str) -> Kind:
    """The kind of a sweepable path; raises ``ValueError`` with the reason otherwise.

    The reason reads on from ``"<key>: "``, e.g. ``unknown parameter hardware.nope
    (expected one of: hardware.gpu, ...)``.
    """
    model: type[BaseModel] = ModelParams
    parts = path.split(".")
    for depth, part in enumerate(parts):
        fields = model.model_fields
        if part not in fields:
            hint = ""
            if depth == 0 and part == "model" and len(parts) > 1:
                hint = f"; paths are relative to [model], write {'.'.join(parts[1:])!r}"
            here = "".join(f"{p}." for p in parts[:depth])
            known = ", ".join(here + name for name in fields)
            raise ValueError(f"unknown parameter {path} (expected one of: {known}){hint}")
        annotation = fields[part].annotation
        last = depth == len(parts) - 1
        if _is_table(annotation):
            model = _unwrap(annotation)
            if last:
                leaves = ", ".join(f"{path}.{p}" for p in list(parameter_paths(model))[:3])
                raise ValueError(f"{path} is a table, expected a path to one value (e.g. {leaves})")
            continue
        kind = _leaf_kind(annotation)
        if not last:
            leaf = ".".join(parts[: depth + 1])
            raise ValueError(f"unknown parameter {path} ({leaf} is a value, not a table)")
        if kind is None:
            raise ValueError(f"{path} holds a list of values and cannot be swept")
        return kind
    raise ValueError(f"unknown parameter {path!r}")  # pragma: no cover - unreachable


def _set_path(tree: dict[str, Any], parts: Sequence[str], value: Any) -> dict[str, Any]:
    """A copy of ``tree`` with ``parts`` set to ``value``; only the dicts on the path are copied."""
    out = dict(tree)
    if len(parts) == 1:
        out[parts[0]] = value
    else:
        child = out.get(parts[0])
        out[parts[0]] = _set_path(child if isinstance(child, dict) else {}, parts[1:], value)
    return out


def get_path(params: BaseModel, path: str) -> Any:
    """The value at a dotted ``path`` of ``params``."""
    node: Any = params
    for part in path.split("."):
        node = getattr(node, part)
    return node


def plain(value: Any) -> Scalar:
    """A validated field value as a plain Python scalar (enums as their value)."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, np.generic):
        return value.item()
    return value


def apply_values(base: Mapping[str, Any], values: Mapping[str, Any]) -> ModelParams:
    """Validate ``base`` (a ``ModelParams`` dump) with ``values`` set; pydantic errors pass.

    Paths are not checked here: callers resolve them first, for a clearer message.
    """
    tree = dict(base)
    for path, value in values.items():
        tree = _set_path(tree, path.split("."), value)
    return ModelParams.model_validate(tree)


def point_params(base: ModelParams, values: Mapping[str, Scalar]) -> ModelParams:
    """``base`` with each dotted path in ``values`` set, validated as a whole.

    Parameters
    ----------
    base
        The config's ``[model]``.
    values
        Dotted paths relative to ``[model]`` and their values (a design point).

    Returns
    -------
    ModelParams
        A new, fully validated parameter set (``base`` itself when ``values`` is empty).

    Raises
    ------
    ConfigError
        For a path that is not a parameter, or a value the parameter rejects.

    Examples
    --------
    >>> p = point_params(ModelParams(), {"labs": 6, "market.regime": "inference_heavy"})
    >>> p.labs, p.market.regime.value
    (6, 'inference_heavy')
    >>> point_params(ModelParams(), {"hardware.serving_batch": 0})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    aimarket.experiments.config.ConfigError: hardware.serving_batch = 0: expected greater ...
    """
    if not values:
        return base
    for path in values:
        try:
            resolve_path(path)
        except ValueError as exc:
            raise ConfigError(f"{path}: {exc}") from None
    try:
        return apply_values(base.model_dump(), values)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc)) from None
