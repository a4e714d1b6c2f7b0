"""Buffers one run's rows and returns them as polars DataFrames with declared schemas."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
import polars as pl

from sim.clock import month_start_date
from sim.schemas import SCHEMAS, polars_schema

__all__ = ["Recorder", "to_table", "validate"]


class Recorder:
    """Collects rows month by month; :meth:`tables` builds the DataFrames once at the end.

    Parameters
    ----------
    run_id
        Key of every row.
    start_month
        ``'YYYY-MM'`` of simulation month 0, for the ``date`` column.
    """

    def __init__(self, run_id: str, start_month: str) -> None:
        self.run_id = run_id
        self.start_month = start_month
        self._columns: dict[str, defaultdict[str, list[Any]]] = {
            "market": defaultdict(list),
            "firms": defaultdict(list),
        }

    def market(self, month: int, **values: float) -> None:
        """Add the market row of ``month``."""
        cols = self._columns["market"]
        cols["month"].append(month)
        cols["date"].append(month_start_date(self.start_month, month))
        for name, value in values.items():
            cols[name].append(value)

    def firms(self, month: int, **columns: np.ndarray | list[Any]) -> None:
        """Add one row per firm for ``month``; every column has the same length."""
        n = len(next(iter(columns.values())))
        cols = self._columns["firms"]
        cols["month"].append(np.full(n, month, dtype=np.int32))
        cols["date"].append([month_start_date(self.start_month, month)] * n)
        for name, values in columns.items():
            cols[name].append(values)

    def tables(self) -> dict[str, pl.DataFrame]:
        """The run's tables, keyed by table name, columns in schema order."""
        market = dict(self._columns["market"])
        firms = {k: _concat(v) for k, v in self._columns["firms"].items()}
        return {
            "market": to_table("market", self.run_id, market),
            "firms": to_table("firms", self.run_id, firms),
        }


def _concat(chunks: list[Any]) -> list[Any] | np.ndarray:
    if chunks and isinstance(chunks[0], np.ndarray):
        return np.concatenate(chunks)
    return [x for chunk in chunks for x in chunk]


def to_table(table: str, run_id: str, columns: dict[str, Any]) -> pl.DataFrame:
    """Build a declared table from columns; NaN becomes null and dtypes are cast.

    Raises ``KeyError`` naming any declared column that is missing.
    """
    schema = polars_schema(table)
    n = len(next(iter(columns.values()))) if columns else 0
    data: dict[str, Any] = {"run_id": [run_id] * n, **columns}
    missing = [c for c in schema.names() if c not in data]
    if missing:
        raise KeyError(f"table {table!r} is missing columns {missing}")
    frame = pl.DataFrame({c: data[c] for c in schema.names()}, nan_to_null=True)
    frame = frame.cast(dict(schema.items()))
    floats = [c for c, t in schema.items() if t == pl.Float64]
    return frame.with_columns(pl.col(floats).fill_nan(None)) if floats else frame


def validate(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Check a frame against its declared schema; raises dataframely's ValidationError."""
    return SCHEMAS[table].validate(frame, cast=False)
