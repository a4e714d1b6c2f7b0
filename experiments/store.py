"""The result store: hive-partitioned parquet parts, a manifest and append-only ledgers.

Layout (one code path for one run or a million)::

    OUT/manifest.json                               config as loaded, hash, versions, seed
    OUT/points.parquet                              one row per design point
    OUT/ledger/<writer>.jsonl                       one line per finished run
    OUT/table=<name>/part-<writer>-<seq>.parquet    many runs per part

A writer buffers finished runs and flushes them as one part per table, each written to a
temporary file and renamed into place (atomic on POSIX), and only then appends the runs to
its ledger. A run counts as stored once its ledger line exists: readers keep only rows
whose ``(run_id, part)`` the ledger names, so rows of a run killed mid-flush, or written
twice by a resumed sweep, are never read. polars' ``partition_by`` writer is never used for
appends (it reuses file names and overwrites).
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import polars as pl

from aimarket.sim.run import RunResult

__all__ = [
    "MANIFEST",
    "TABLES",
    "PartWriter",
    "Store",
    "new_writer_id",
    "write_json_atomic",
    "write_parquet_atomic",
]

MANIFEST = "manifest.json"
#: Tables every run writes, in write order.
TABLES: tuple[str, ...] = ("runs", "summary", "market", "firms", "offers", "models", "events")
_LEDGER_SCHEMA = {
    "run_id": pl.String,
    "status": pl.String,
    "part": pl.String,
    "wall_s": pl.Float64,
    "writer": pl.String,
    "t": pl.Float64,
}


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON to ``path`` through a temporary file and a rename."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
    os.replace(tmp, path)


def new_writer_id() -> str:
    """A writer name unique across hosts, processes and restarts."""
    host = socket.gethostname().split(".")[0].replace("-", "_") or "host"
    return f"{host}_{os.getpid()}_{uuid.uuid4().hex[:8]}"


class Store:
    """An output directory of runs.

    Parameters
    ----------
    root
        The directory (``OUT``).
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    @staticmethod
    def is_store(path: str | Path) -> bool:
        """Whether ``path`` holds a store (has a manifest)."""
        return (Path(path) / MANIFEST).is_file()

    @classmethod
    def create(cls, root: str | Path, manifest: dict[str, Any], points: pl.DataFrame) -> Store:
        """Make a store, or join one that several shards are creating at the same time.

        The manifest is published with an exclusive link, so exactly one creator writes it;
        the others find it and must carry the same ``config_sha256``. The points table is
        the same for every creator of the same config.

        Raises
        ------
        FileExistsError
            If ``root`` already holds a store of a different config.
        """
        store = cls(root)
        tmp_dir = store.root / ".tmp"
        (store.root / "ledger").mkdir(parents=True, exist_ok=True)
        tmp_dir.mkdir(exist_ok=True)
        for table in TABLES:
            store.table_dir(table).mkdir(exist_ok=True)
        if not (store.root / MANIFEST).exists():
            write_parquet_atomic(points, store.root / "points.parquet", tmp_dir)
            tmp = tmp_dir / f"{MANIFEST}.{uuid.uuid4().hex}"
            tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n")
            try:
                os.link(tmp, store.root / MANIFEST)
            except FileExistsError:
                pass
            finally:
                tmp.unlink()
        theirs = store.manifest().get("config_sha256")
        if theirs != manifest.get("config_sha256"):
            raise FileExistsError(f"{store.root} holds a store of another config ({theirs})")
        return store

    def table_dir(self, table: str) -> Path:
        """``OUT/table=<name>``."""
        return self.root / f"table={table}"

    def manifest(self) -> dict[str, Any]:
        """The manifest as written."""
        return json.loads((self.root / MANIFEST).read_text())

    def points(self) -> pl.DataFrame:
        """The design points."""
        return pl.read_parquet(self.root / "points.parquet")

    def ledger(self) -> pl.DataFrame:
        """Every ledger line of every writer (a torn last line from a kill is skipped)."""
        rows: list[dict[str, Any]] = []
        for path in sorted((self.root / "ledger").glob("*.jsonl")):
            for line in path.read_text().splitlines():
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    continue
                rows.append({k: row.get(k) for k in _LEDGER_SCHEMA})
        return pl.DataFrame(rows, schema=_LEDGER_SCHEMA, orient="row")

    def committed(self) -> pl.DataFrame:
        """One ledger entry per run: its ``done`` entry if any, else its latest failure."""
        ledger = self.ledger()
        return (
            ledger.sort([pl.col("status") == "done", "t"], descending=[True, True])
            .unique("run_id", keep="first", maintain_order=True)
            .sort("run_id")
        )

    def done_run_ids(self) -> set[str]:
        """Runs stored with status ``done``."""
        committed = self.committed()
        return set(committed.filter(pl.col("status") == "done")["run_id"].to_list())

    def scan(self, table: str) -> pl.LazyFrame:
        """Lazily read a table's committed rows (one copy of each stored run)."""
        from aimarket.sim.schemas import polars_schema

        files = sorted(self.table_dir(table).glob("part-*.parquet"))
        if not files:
            return pl.LazyFrame(schema=polars_schema(table))
        keys = self.committed().select("run_id", "part").lazy()
        # Read every part against the declared schema: a column added since a part was
        # written (a store resumed under a newer version) reads as null there.
        frame = pl.scan_parquet(
            files,
            hive_partitioning=False,
            include_file_paths="_file",
            schema=polars_schema(table),
            missing_columns="insert",
        )
        part = pl.col("_file").str.extract(r"part-(.+)\.parquet$", 1)
        return (
            frame.with_columns(part.alias("part"))
            .join(keys, on=["run_id", "part"], how="semi")
            .drop("_file", "part")
        )

    def read(self, table: str) -> pl.DataFrame:
        """A table's committed rows, collected."""
        return self.scan(table).collect()

    def writer(self, writer_id: str | None = None, *, max_runs: int = 64) -> PartWriter:
        """A writer for this process; see :class:`PartWriter`."""
        return PartWriter(self, writer_id or new_writer_id(), max_runs=max_runs)


class PartWriter:
    """Buffers finished runs and writes them as parts plus ledger lines.

    Use as a context manager, or call :meth:`close`, so the last part is flushed.
    """

    def __init__(self, store: Store, writer_id: str, *, max_runs: int = 64) -> None:
        if max_runs < 1:
            raise ValueError(f"max_runs must be at least 1, got {max_runs}")
        self.store = store
        self.writer_id = writer_id
        self.max_runs = max_runs
        self._seq = 0
        self._buffer: list[RunResult] = []

    def add(self, result: RunResult) -> None:
        """Buffer one run; flush when the buffer is full."""
        self._buffer.append(result)
        if len(self._buffer) >= self.max_runs:
            self.flush()

    def extend(self, results: Iterable[RunResult]) -> None:
        """Buffer several runs."""
        for result in results:
            self.add(result)

    def flush(self) -> None:
        """Write the buffered runs: parts first, then the ledger lines that commit them."""
        if not self._buffer:
            return
        part = f"{self.writer_id}-{self._seq:06d}"
        tmp_dir = self.store.root / ".tmp"
        for table in TABLES:
            frames = [r.tables[table] for r in self._buffer if table in r.tables]
            frames = [f for f in frames if f.height]
            if frames:
                path = self.store.table_dir(table) / f"part-{part}.parquet"
                write_parquet_atomic(pl.concat(frames, how="vertical"), path, tmp_dir)
        now = time.time()
        lines = "".join(
            json.dumps(
                {
                    "run_id": r.run_id,
                    "status": r.status,
                    "part": part,
                    "wall_s": r.wall_s,
                    "writer": self.writer_id,
                    "t": now,
                }
            )
            + "\n"
            for r in self._buffer
        )
        ledger = self.store.root / "ledger" / f"{self.writer_id}.jsonl"
        with ledger.open("a") as fh:
            fh.write(lines)
            fh.flush()
            os.fsync(fh.fileno())
        self._seq += 1
        self._buffer.clear()

    def close(self) -> None:
        """Flush what is left."""
        self.flush()

    def __enter__(self) -> PartWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_parquet_atomic(frame: pl.DataFrame, path: Path, tmp_dir: Path) -> None:
    """Write parquet to ``path`` through a file in ``tmp_dir`` (same filesystem) and a rename."""
    tmp_dir.mkdir(parents=True, exist_ok=True)
    tmp = tmp_dir / f"{path.name}.{uuid.uuid4().hex}"
    frame.write_parquet(tmp, compression="zstd", statistics=True)
    with tmp.open("rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)
