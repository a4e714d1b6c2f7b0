"""README.md's own "Reading the tables" snippets, run against a small real store.

Each python block right after a ``<!-- reader: TOOL -->`` comment is executed, in order
and in one namespace, with the README's store path replaced by a store made here. Every
frame a block assigns must hold each finished run once, with the design's parameters
joined. The store also holds an uncommitted copy of a part (what a sweep killed between
writing a part and its ledger line leaves), so a snippet that globbed the raw files of an
uncompacted store would count runs twice; blocks marked ``compacted store`` run after
``aimarket compact``.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import polars as pl
import pytest

from aimarket.experiments import analysis
from aimarket.experiments.cli import main
from aimarket.experiments.store import Store

README = Path(__file__).resolve().parents[2] / "README.md"
#: The store the README's snippets read.
README_STORE = "runs/regimes"
MONTHS = 4
CONFIG = f"""
[experiment]
name = "readme-snippets"
seed = 3
replications = 2
horizon_months = {MONTHS}

[model]
labs = 3
customers = 200

[sweep]
design = "grid"
[sweep.grid]
"market.regime" = ["upfront_heavy", "inference_heavy"]
"""
_BLOCK = re.compile(r"<!-- reader: ([^>]*?) -->\s*```python\n(.*?)```", re.DOTALL)
_FRAMES = (pl.DataFrame, pd.DataFrame, duckdb.DuckDBPyRelation)


def reader_blocks(text: str) -> list[tuple[str, str]]:
    """``(marker, code)`` of every python block right after a ``<!-- reader: ... -->``."""
    return [(m.group(1).strip(), m.group(2)) for m in _BLOCK.finditer(text)]


def as_polars(frame: object) -> pl.DataFrame:
    """A polars, pandas or DuckDB result as a polars frame."""
    if isinstance(frame, duckdb.DuckDBPyRelation):
        return frame.pl()
    if isinstance(frame, pd.DataFrame):
        return pl.from_pandas(frame)
    assert isinstance(frame, pl.DataFrame)
    return frame


def check_runs_once(frame: pl.DataFrame, done: set[str], params: list[str], where: str) -> None:
    """Each finished run once (per month, for a monthly table) with the parameters."""
    assert params, "the store must have design parameters to check they are joined"
    missing = [c for c in ["run_id", *params] if c not in frame.columns]
    assert not missing, f"{where}: columns missing: {missing}"
    assert set(frame["run_id"].to_list()) == done, where
    key = ["run_id", "month"] if "month" in frame.columns else ["run_id"]
    assert frame.select(key).is_unique().all(), f"{where}: a run counted twice on {key}"
    assert frame.height == len(done) * (MONTHS if "month" in frame.columns else 1), where
    assert frame[params].null_count().sum_horizontal().item() == 0, where


def plant_uncommitted_parts(store: Path) -> None:
    """Copy one committed part of every table under a name no ledger line commits."""
    for table_dir in sorted(store.glob("table=*")):
        part = sorted(table_dir.glob("part-*.parquet"))[0]
        shutil.copy(part, table_dir / "part-killed_writer-000000.parquet")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("readme")
    config = root / "sweep.toml"
    config.write_text(CONFIG)
    out = root / "store"
    assert main(["sweep", str(config), "--out", str(out), "--workers", "1", "--quiet"]) == 0
    plant_uncommitted_parts(out)
    return out


def test_readme_marks_a_reader_block_for_each_tool() -> None:
    blocks = reader_blocks(README.read_text())
    tools = {marker.split(",")[0] for marker, _ in blocks}
    assert {"polars", "pandas", "duckdb"} <= tools, f"reader blocks found: {tools}"
    assert any(README_STORE in code for _, code in blocks), f"no block reads {README_STORE}"


def test_readme_readers_count_each_run_once_with_parameters(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(store.parent)  # nothing a snippet writes lands in the repository
    # The planted part is real: read without the ledger (or compaction), runs count twice.
    raw = pl.read_parquet(store / "table=market" / "*.parquet")
    assert raw.select("run_id", "month").is_duplicated().any()
    done = Store(store).done_run_ids()
    params = analysis.parameters(store)
    namespace: dict[str, object] = {}
    compacted = False
    checked: dict[str, int] = {}
    for marker, code in reader_blocks(README.read_text()):
        if "compacted" in marker and not compacted:
            assert main(["compact", str(store)]) == 0
            compacted = True
        before = dict(namespace)
        exec(compile(code.replace(README_STORE, str(store)), f"README {marker}", "exec"), namespace)
        frames = {
            name: value
            for name, value in namespace.items()
            if isinstance(value, _FRAMES) and before.get(name) is not value
        }
        assert frames, f"the {marker} block assigns no frame"
        tool = marker.split(",")[0]
        if tool == "polars":
            assert any(isinstance(f, pl.DataFrame) for f in frames.values())
        elif tool == "pandas":
            assert any(isinstance(f, pd.DataFrame) for f in frames.values())
        for name, frame in frames.items():
            check_runs_once(as_polars(frame), done, params, f"{marker} block, {name}")
            checked[tool] = checked.get(tool, 0) + 1
    assert set(checked) >= {"polars", "pandas", "duckdb"}, checked
    assert compacted, "no block reads a compacted store's files"
