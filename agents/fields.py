"""Shared field types and the frozen base of every config model."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Fraction",
    "Frozen",
    "NonNegativeFloat",
    "PositiveFloat",
    "StudentFrac",
    "UnitInterval",
]

PositiveFloat = Annotated[float, Field(gt=0)]
NonNegativeFloat = Annotated[float, Field(ge=0)]
Fraction = Annotated[float, Field(gt=0, le=1)]
UnitInterval = Annotated[float, Field(ge=0, le=1)]
StudentFrac = Annotated[float, Field(gt=0, lt=1)]


class Frozen(BaseModel):
    """Base for every config model: immutable, unknown keys and NaN/inf are errors."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", allow_inf_nan=False, validate_default=True
    )
