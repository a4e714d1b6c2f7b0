"""Buffers one run's rows and returns them as polars DataFrames with declared schemas."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
import polars as pl

from aimarket.markets.calendar import month_start_date
from aimarket.sim.schemas import SCHEMAS, polars_schema

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

    def __init__(self, run_id: str, start_month: str, market: Any = None) -> None:
        self.run_id = run_id
        self.start_month = start_month
        #: Plan names, for the offers table's ``tier`` (``market.plans``).
        self.plan_names: tuple[str, ...] = (
            tuple(p.name for p in market.plans) if market is not None else ()
        )
        self._columns: dict[str, defaultdict[str, list[Any]]] = {
            "market": defaultdict(list),
            "firms": defaultdict(list),
            "offers": defaultdict(list),
        }
        self._models: list[dict[str, Any]] = []
        self._model_row: dict[int, int] = {}
        self._events: list[dict[str, Any]] = []

    def market(self, month: int, **values: float) -> None:
        """Add the market row of ``month``."""
        cols = self._columns["market"]
        cols["month"].append(month)
        cols["date"].append(month_start_date(self.start_month, month))
        for name, value in values.items():
            cols[name].append(value)

    def firms(self, month: int, **columns: np.ndarray | list[Any]) -> None:
        """Add one row per firm for ``month``; every column has the same length."""
        self._rows("firms", month, columns)

    def offers(self, month: int, **columns: np.ndarray | list[Any]) -> None:
        """Add one row per offering for ``month``; every column has the same length."""
        self._rows("offers", month, columns)

    def _rows(self, table: str, month: int, columns: dict[str, Any]) -> None:
        n = len(next(iter(columns.values())))
        cols = self._columns[table]
        cols["month"].append(np.full(n, month, dtype=np.int32))
        cols["date"].append([month_start_date(self.start_month, month)] * n)
        for name, values in columns.items():
            cols[name].append(values)

    def model(self, trained: Any, segment_names: tuple[str, ...]) -> None:
        """Add a launched model (an :class:`aimarket.agents.products.Model`)."""
        self._model_row[trained.model_id] = len(self._models)
        self._models.append(
            {
                "model_id": trained.model_id,
                "firm_id": trained.firm_id,
                "month": trained.launched_month,
                "date": month_start_date(self.start_month, trained.launched_month),
                "business_model": trained.business_model.value,
                "allocation": trained.allocation.value,
                "role": trained.role.value,
                "parent_id": trained.parent_id,
                "params": trained.params,
                "train_tokens": trained.train_tokens,
                "tokens_per_param": trained.train_tokens / trained.params,
                "train_flop": trained.train_flop,
                "posttrain_flop": trained.posttrain_flop,
                "expected_inference_flop": trained.expected_inference_flop,
                "cost_usd": trained.cost_usd,
                "kappa": trained.kappa,
                "max_inference_multiplier": trained.max_inference_multiplier,
                "segment": None if trained.segment is None else segment_names[trained.segment],
                "supplier_id": trained.supplier_id,
                "retired_month": None,
            }
        )

    def retire(self, model_id: int, month: int) -> None:
        """A model left the market in ``month`` (first retirement counts)."""
        row = self._models[self._model_row[model_id]]
        if row["retired_month"] is None:
            row["retired_month"] = month

    def event(
        self, time_months: float, firm_id: int, kind: str, amount_usd: float | None, detail: str
    ) -> None:
        """Add an event at simulation time ``time_months``."""
        month = int(time_months)
        self._events.append(
            {
                "month": month,
                "time_months": float(time_months),
                "date": month_start_date(self.start_month, month),
                "firm_id": firm_id,
                "kind": kind,
                "amount_usd": amount_usd,
                "detail": detail,
            }
        )

    def tables(self, months_run: int) -> dict[str, pl.DataFrame]:
        """The run's tables after ``months_run`` months, keyed by table name, columns in
        schema order (a model still on sale has been on sale up to ``months_run``)."""
        market = dict(self._columns["market"])
        firms = {k: _concat(v) for k, v in self._columns["firms"].items()}
        offers = {k: _concat(v) for k, v in self._columns["offers"].items()}
        served = _served_tokens(offers)
        models = [
            {
                **row,
                "served_tokens": served.get(row["model_id"], 0.0),
                "inference_flop": 2.0 * row["params"] * served.get(row["model_id"], 0.0),
                "months_on_sale": max(
                    (row["retired_month"] if row["retired_month"] is not None else months_run)
                    - row["month"],
                    0,
                ),
            }
            for row in self._models
        ]
        return {
            "market": to_table("market", self.run_id, market),
            "firms": to_table("firms", self.run_id, firms),
            "offers": to_table("offers", self.run_id, offers),
            "models": to_table("models", self.run_id, _columns_of(models, "models")),
            "events": to_table("events", self.run_id, _columns_of(self._events, "events")),
        }


def _served_tokens(offers: dict[str, Any]) -> dict[int, float]:
    """Tokens each model served over the run, by model id, from the offers columns."""
    if "model_id" not in offers or not len(offers["model_id"]):
        return {}
    ids, inverse = np.unique(np.asarray(offers["model_id"]), return_inverse=True)
    total = np.bincount(inverse, weights=np.asarray(offers["tokens"], dtype=float))
    return dict(zip(ids.tolist(), total.tolist(), strict=True))


def _columns_of(rows: list[dict[str, Any]], table: str) -> dict[str, list[Any]]:
    names = [c for c in polars_schema(table).names() if c != "run_id"]
    return {c: [r[c] for r in rows] for c in names}


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
    if not columns:
        return pl.DataFrame(schema=schema)
    data: dict[str, Any] = {"run_id": [run_id] * n, **columns}
    missing = [c for c in schema.names() if c not in data]
    if missing:
        raise KeyError(f"table {table!r} is missing columns {missing}")
    # Column by column, straight to the declared dtype (a frame-wide cast and NaN fill
    # would each run a lazy query: most of a small run's table time).
    return pl.DataFrame([_series(name, data[name], dtype) for name, dtype in schema.items()])


def _series(name: str, values: Any, dtype: pl.DataType) -> pl.Series:
    """One declared column; NaN becomes null."""
    if dtype == pl.Float64:
        return pl.Series(name, np.asarray(values, dtype=float), nan_to_null=True)
    return pl.Series(name, values, nan_to_null=True).cast(dtype)


def validate(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Check a frame against its declared schema; raises dataframely's ValidationError."""
    return SCHEMAS[table].validate(frame, cast=False)
