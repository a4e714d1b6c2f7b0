"""The result store: hive-partitioned parquet parts, a manifest and append-only ledgers.

Layout (one code path for one run or a million)::

    OUT/manifest.json                               the marker: tool, config, hashes, versions
    OUT/points.parquet                              one row per design point
    OUT/ledger/<writer>.jsonl                       one line per part and per finished run
    OUT/table=<name>/part-<writer>-<seq>.parquet    many runs per part

A writer buffers finished runs and flushes them as one part per table, each written to a
temporary file and renamed into place (atomic on POSIX), and only then appends to its
ledger one line for the part (each file's size and sha256) and one per run. A run counts
as stored once its ledger line exists and its part's files are whole: readers keep only
rows whose ``(run_id, part)`` the ledger names, so rows of a run killed mid-flush, or
written twice by a resumed sweep, are never read, and a part that went missing or was cut
short is found by its size (by its checksum with ``checksums=True``) instead of being read.
polars' ``partition_by`` writer is never used for appends (it reuses file names and
overwrites).
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

from aimarket.experiments.config import ConfigError
from aimarket.experiments.storefiles import (
    file_problem,
    file_record,
    first_line,
    identity_hash,
    manifest_identity,
    write_json_atomic,
    write_parquet_atomic,
)
from aimarket.sim.run import RunResult

__all__ = [
    "MANIFEST",
    "TABLES",
    "TOOL",
    "PartWriter",
    "Store",
    "StoreError",
    "file_record",
    "identity_hash",
    "new_writer_id",
    "write_json_atomic",
    "write_parquet_atomic",
]

MANIFEST = "manifest.json"
#: What a store's manifest names as its maker.
TOOL = "aimarket"
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


class StoreError(ConfigError):
    """A store that cannot be used as it is: a damaged or missing file, or a directory that
    is not a store (one line naming it; the command exits 2)."""


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
    def open(cls, root: str | Path) -> Store:
        """The store at ``root``; :class:`StoreError` if there is none."""
        if not cls.is_store(root):
            raise StoreError(f"{root}: not an aimarket store (no {MANIFEST})")
        return cls(root)

    @classmethod
    def create(cls, root: str | Path, manifest: dict[str, Any], points: pl.DataFrame) -> Store:
        """Make a store, or join one that several shards are creating at the same time.

        The manifest is published with an exclusive link, so exactly one creator writes it;
        the others find it and must carry the same ``identity_sha256`` (or, for manifests
        without one, ``config_sha256``). The points table is the same for every creator of
        the same config.

        Raises
        ------
        FileExistsError
            If ``root`` already holds a store of a different experiment.
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
        if manifest_identity(store.manifest()) != manifest_identity(manifest):
            theirs = store.manifest().get("config_sha256")
            raise FileExistsError(f"{store.root} holds a store of another config ({theirs})")
        return store

    def table_dir(self, table: str) -> Path:
        """``OUT/table=<name>``."""
        return self.root / f"table={table}"

    def manifest(self) -> dict[str, Any]:
        """The manifest as written."""
        path = self.root / MANIFEST
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise StoreError(f"{path}: missing; {self.root} is not an aimarket store") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise StoreError(f"{path}: damaged, not valid JSON ({exc})") from None
        if not isinstance(data, dict):
            raise StoreError(f"{path}: damaged, expected a JSON object")
        return data

    def points(self) -> pl.DataFrame:
        """The design points."""
        path = self.root / "points.parquet"
        try:
            return pl.read_parquet(path)
        except FileNotFoundError:
            raise StoreError(
                f"{path}: missing; the store's design points are needed to read it "
                "(re-create it with the same config and --resume)"
            ) from None
        except pl.exceptions.PolarsError as exc:
            raise StoreError(f"{path}: damaged ({first_line(exc)})") from None

    def _ledger_lines(self) -> tuple[list[dict[str, Any]], dict[str, dict[str, list]]]:
        """Run lines and part records of every writer (a torn line from a kill is skipped)."""
        rows: list[dict[str, Any]] = []
        parts: dict[str, dict[str, list]] = {}
        for path in sorted((self.root / "ledger").glob("*.jsonl")):
            for line in path.read_text().splitlines():
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if not isinstance(row, dict):
                    continue
                if "run_id" in row:
                    rows.append({k: row.get(k) for k in _LEDGER_SCHEMA})
                elif isinstance(row.get("files"), dict) and "part" in row:
                    parts[str(row["part"])] = row["files"]
        return rows, parts

    def ledger(self) -> pl.DataFrame:
        """Every run line of every writer's ledger."""
        rows, _ = self._ledger_lines()
        return pl.DataFrame(rows, schema=_LEDGER_SCHEMA, orient="row")

    def part_records(self) -> dict[str, dict[str, list]]:
        """Each recorded part's files: ``{part: {table: [bytes, sha256]}}`` (parts written
        before records were kept have none)."""
        return self._ledger_lines()[1]

    def part_problems(self, *, checksums: bool = False) -> dict[str, list[str]]:
        """Recorded parts whose files are missing, of the wrong size or (``checksums``)
        whose contents changed: ``{part: ["OUT/table=.../part-....parquet: missing", ...]}``."""
        return self._problems(self.part_records(), checksums)

    def _problems(
        self, records: dict[str, dict[str, list]], checksums: bool
    ) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for part, files in records.items():
            problems = []
            for table, (size, digest) in sorted(files.items()):
                path = self.table_dir(table) / f"part-{part}.parquet"
                problem = file_problem(path, size, digest if checksums else None)
                if problem:
                    problems.append(f"{path}: {problem}")
            if problems:
                out[part] = problems
        return out

    def _state(self, checksums: bool) -> tuple[pl.DataFrame, dict[str, list[str]]]:
        """The committed entries and the damaged parts, from one read of the ledgers."""
        rows, records = self._ledger_lines()
        problems = self._problems(records, checksums)
        committed = (
            pl.DataFrame(rows, schema=_LEDGER_SCHEMA, orient="row")
            .with_columns(whole=~pl.col("part").is_in(list(problems)))
            .sort(["whole", pl.col("status") == "done", "t"], descending=[True, True, True])
            .unique("run_id", keep="first", maintain_order=True)
            .sort("run_id")
        )
        return committed, problems

    def committed(self, *, checksums: bool = False) -> pl.DataFrame:
        """One ledger entry per run, with ``whole`` (its part's files are all there): of a
        run's entries, the first with a whole part, ``done`` before failed, latest first.
        A run whose only entries are in damaged parts keeps one with ``whole`` false."""
        return self._state(checksums)[0]

    def done_run_ids(self, *, checksums: bool = False) -> set[str]:
        """Runs stored with status ``done`` in a whole part (a run of a damaged part is
        not done: a resumed sweep runs it again)."""
        committed = self.committed(checksums=checksums)
        done = committed.filter((pl.col("status") == "done") & pl.col("whole"))
        return set(done["run_id"].to_list())

    def damage(self, *, checksums: bool = False) -> list[str]:
        """One line per damaged file that holds a run stored nowhere else (empty: the
        store reads whole)."""
        return self.health(checksums=checksums)[1]

    def health(self, *, checksums: bool = False) -> tuple[pl.DataFrame, list[str]]:
        """:meth:`committed` and :meth:`damage` from one read (and, with ``checksums``,
        one hashing) of the store."""
        committed, problems = self._state(checksums)
        return committed, _damage(committed, problems)

    def scan(self, table: str) -> pl.LazyFrame:
        """Lazily read a table's committed rows (one copy of each stored run).

        Raises :class:`StoreError`, naming the file, if a part holding runs stored nowhere
        else is missing or cut short: reading on would silently drop those runs.
        """
        from aimarket.sim.schemas import polars_schema

        committed, problems = self._state(checksums=False)
        damaged = committed.filter(~pl.col("whole"))
        if damaged.height:
            problems = _damage(committed, problems)
            raise StoreError(
                f"{problems[0]} ({len(problems)} damaged file(s), {damaged.height} runs "
                f"not readable): `aimarket sweep CONFIG --out {self.root} --resume` runs "
                f"them again; `aimarket status {self.root}` lists the files"
            )
        # Only files of committed parts are opened: leftovers of a killed writer or of a
        # superseded part are never read, whatever state they are in.
        names = set(committed["part"].to_list())
        files = [
            f
            for f in sorted(self.table_dir(table).glob("part-*.parquet"))
            if f.name[len("part-") : -len(".parquet")] in names
        ]
        if not files:
            return pl.LazyFrame(schema=polars_schema(table))
        keys = committed.select("run_id", "part").lazy()
        # Read every part against the declared schema: a column added since a part was
        # written (a store resumed under a newer version) reads as null there. Categorical
        # columns are read as text and cast after: parts written before a column became
        # categorical hold plain strings, which polars does not read as categories.
        declared = polars_schema(table)
        categorical = {c: t for c, t in declared.items() if isinstance(t, pl.Categorical)}
        frame = pl.scan_parquet(
            files,
            hive_partitioning=False,
            include_file_paths="_file",
            schema=pl.Schema(
                {c: pl.String if c in categorical else t for c, t in declared.items()}
            ),
            missing_columns="insert",
            cast_options=pl.ScanCastOptions(categorical_to_string="allow"),
        )
        part = pl.col("_file").str.extract(r"part-(.+)\.parquet$", 1)
        return (
            frame.with_columns(part.alias("part"))
            .join(keys, on=["run_id", "part"], how="semi")
            .drop("_file", "part")
            .cast(categorical)
        )

    def read(self, table: str) -> pl.DataFrame:
        """A table's committed rows, collected."""
        try:
            return self.scan(table).collect()
        except pl.exceptions.PolarsError as exc:
            raise StoreError(
                f"{self.table_dir(table)}: a part cannot be read ({first_line(exc)}); "
                f"`aimarket verify {self.root}` finds damaged files"
            ) from None

    def writer(self, writer_id: str | None = None, *, max_runs: int = 64) -> PartWriter:
        """A writer for this process; see :class:`PartWriter`."""
        return PartWriter(self, writer_id or new_writer_id(), max_runs=max_runs)


def _damage(committed: pl.DataFrame, problems: dict[str, list[str]]) -> list[str]:
    """The problems of the parts that hold runs stored nowhere else."""
    parts = set(committed.filter(~pl.col("whole"))["part"].to_list())
    return [line for part in sorted(parts) for line in problems.get(part, [])]


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
        files: dict[str, list] = {}
        for table in TABLES:
            frames = [r.tables[table] for r in self._buffer if table in r.tables]
            frames = [f for f in frames if f.height]
            if frames:
                path = self.store.table_dir(table) / f"part-{part}.parquet"
                files[table] = write_parquet_atomic(
                    pl.concat(frames, how="vertical"), path, tmp_dir
                )
        now = time.time()
        record = {"part": part, "files": files, "writer": self.writer_id, "t": now}
        lines = json.dumps(record) + "\n"
        lines += "".join(
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
