"""Text columns of few values are categoricals, in polars, in parquet and in pandas, and
stores written while they were plain text still read (``Store.scan`` casts)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from aimarket.experiments.store import Store
from aimarket.sim import ModelParams, RunSpec, run_one
from aimarket.sim.run import RunResult
from aimarket.sim.schemas import polars_schema

#: Plain text before; Categorical now.
CATEGORICAL = {
    "firms": ["kind", "business_model"],
    "models": ["business_model", "allocation", "segment"],
    "offers": ["tier"],
}
#: Enum since their tables were first written.
ENUM = {"models": ["role"], "events": ["kind"], "runs": ["status"]}
KEYS = {
    "firms": ["run_id", "month", "firm_id"],
    "models": ["run_id", "model_id"],
    "offers": ["run_id", "month", "model_id", "tier"],
}


def as_plain_text(result: RunResult) -> RunResult:
    """A run's tables as a store written before these columns were categorical holds them."""
    tables = {
        name: frame.with_columns(pl.col(CATEGORICAL.get(name, [])).cast(pl.String))
        for name, frame in result.tables.items()
    }
    return replace(result, tables=tables)


@pytest.fixture(scope="module")
def results() -> list[RunResult]:
    params = ModelParams(labs=2, customers=100)
    return [
        run_one(RunSpec(f"r{i}", 0, i, params, seed_entropy=1, spawn_key=(i,), horizon_months=3))
        for i in range(2)
    ]


def test_text_columns_of_few_values_are_declared_categorical() -> None:
    for table, columns in CATEGORICAL.items():
        for column in columns:
            assert isinstance(polars_schema(table)[column], pl.Categorical), (table, column)
    for table, columns in ENUM.items():
        for column in columns:
            assert isinstance(polars_schema(table)[column], pl.Enum), (table, column)


def test_a_store_with_plain_text_parts_reads_as_declared(
    tmp_path: Path, results: list[RunResult]
) -> None:
    """One run in a part of an older version (plain text), one in a new part: both read,
    with the declared dtypes and the same values."""
    store = Store.create(tmp_path / "out", {"format": 1}, pl.DataFrame({"point_id": [0]}))
    with store.writer("old") as writer:
        writer.add(as_plain_text(results[0]))
    with store.writer("new") as writer:
        writer.add(results[1])
    old_part = store.table_dir("firms") / "part-old-000000.parquet"
    assert pl.read_parquet_schema(old_part)["business_model"] == pl.String
    for table in CATEGORICAL:
        frame = store.read(table)
        assert frame.schema == polars_schema(table)
        expected = pl.concat([r.tables[table] for r in results])
        assert expected.height > 0, table
        assert_frame_equal(frame.sort(KEYS[table]), expected.sort(KEYS[table]))


def test_categoricals_reach_pandas_as_category(tmp_path: Path, results: list[RunResult]) -> None:
    store = Store.create(tmp_path / "out", {"format": 1}, pl.DataFrame({"point_id": [0]}))
    with store.writer("w") as writer:
        writer.add(results[0])
    for table, columns in {**CATEGORICAL, "events": ["kind"]}.items():
        part = store.table_dir(table) / "part-w-000000.parquet"
        frame = pd.read_parquet(part)
        assert all(isinstance(frame[c].dtype, pd.CategoricalDtype) for c in columns), table
        via_polars = store.read(table).to_pandas()
        assert all(isinstance(via_polars[c].dtype, pd.CategoricalDtype) for c in columns)
