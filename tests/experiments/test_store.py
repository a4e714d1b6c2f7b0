"""The store: only runs committed by the ledger are read, once each."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl

from aimarket.experiments.store import Store
from aimarket.sim import ModelParams, RunSpec, run_one


def _results(n: int) -> list:
    params = ModelParams(labs=2, customers=100)
    return [
        run_one(RunSpec(f"r{i}", 0, i, params, seed_entropy=1, spawn_key=(i,), horizon_months=3))
        for i in range(n)
    ]


def _store(tmp_path: Path) -> Store:
    return Store.create(tmp_path / "out", {"format": 1}, pl.DataFrame({"point_id": [0]}))


def test_parts_are_committed_by_the_ledger(tmp_path: Path) -> None:
    store = _store(tmp_path)
    results = _results(3)
    with store.writer("w1", max_runs=2) as writer:
        writer.extend(results)
    assert len(list(store.table_dir("market").glob("part-*.parquet"))) == 2
    assert store.done_run_ids() == {"r0", "r1", "r2"}
    market = store.read("market")
    assert market.height == 3 * 3
    assert market.columns[:2] == ["run_id", "month"]


def test_uncommitted_and_duplicate_rows_are_not_read(tmp_path: Path) -> None:
    store = _store(tmp_path)
    results = _results(2)
    with store.writer("w1") as writer:
        writer.extend(results)
    # A part written by a writer killed before its ledger line: ignored.
    src = store.table_dir("market") / "part-w1-000000.parquet"
    shutil.copy(src, store.table_dir("market") / "part-dead-000000.parquet")
    # The same run written again by a resumed writer and committed: read once.
    with store.writer("w2") as writer:
        writer.add(results[0])
    market = store.read("market")
    assert market.height == 2 * 3
    assert market.group_by("run_id", "month").len()["len"].max() == 1


def test_torn_ledger_line_is_skipped(tmp_path: Path) -> None:
    store = _store(tmp_path)
    with store.writer("w1") as writer:
        writer.extend(_results(1))
    with (store.root / "ledger" / "w1.jsonl").open("a") as fh:
        fh.write('{"run_id": "r9", "sta')
    assert store.done_run_ids() == {"r0"}


def test_empty_table_has_its_schema(tmp_path: Path) -> None:
    store = _store(tmp_path)
    frame = store.read("firms")
    assert frame.height == 0
    assert "firm_id" in frame.columns
