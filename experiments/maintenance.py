"""Looking after a store: status, verification, leftovers of killed commands, compaction.

What survives what (docs/sweeps.md, "What survives what"):

- a killed writer leaves parts without ledger lines and files in ``.tmp``: never read
  (readers open only committed parts), removed by the next command that writes to the
  store, or by ``status``, when no other command holds it;
- a part deleted or cut short is found by its recorded size (on every read) or changed
  contents by its checksum (``verify``, ``status --verify``, ``sweep --resume``): reads
  refuse, naming the file, and ``sweep --resume`` runs its runs again;
- a compaction killed at any point leaves every run readable exactly once through the
  store's readers; the next command removes what it left.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import polars as pl

from aimarket.experiments.locking import StoreLock, holders
from aimarket.experiments.runner import run_id_for
from aimarket.experiments.store import (
    TABLES,
    Store,
    StoreError,
    new_writer_id,
    write_parquet_atomic,
)

__all__ = ["collect_garbage", "compact_store", "leftovers", "store_numerics", "store_status"]


def leftovers(store: Store) -> list[Path]:
    """What killed commands left in the store: temporary files, parts no committed run
    is read from, and the old files of an interrupted ``run`` replacement."""
    chosen = set(store.committed()["part"].to_list())
    out = sorted((store.root / ".tmp").glob("*"))
    out += [
        path
        for path in sorted(store.root.glob("table=*/part-*.parquet"))
        if path.name[len("part-") : -len(".parquet")] not in chosen
    ]
    out += sorted(store.root.glob(".aimarket-old-*"))
    return out


def collect_garbage(store: Store) -> int:
    """Remove :func:`leftovers`; the caller holds the store's ``all`` lock. Returns how
    many files and folders were removed."""
    found = leftovers(store)
    for path in found:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    return len(found)


def _tidy_if_idle(store: Store) -> int:
    """Remove leftovers if no live command holds the store (a stale lock is taken over; a
    read-only store is left as is)."""
    try:
        with StoreLock(store.root):
            return collect_garbage(store)
    except (OSError, StoreError):
        return 0


def store_status(out: Path, *, checksums: bool = False) -> dict[str, Any]:
    """Planned, done, failed, damaged and pending runs of a store, its damaged files
    (``checksums``: compare contents too, reading every part) and who holds it."""
    store = Store.open(out)
    manifest = store.manifest()
    tidied = _tidy_if_idle(store)
    try:
        replications = int(manifest["config"]["experiment"]["replications"])
    except (KeyError, TypeError, ValueError):
        raise StoreError(f"{out}/manifest.json: damaged, no experiment.replications") from None
    point_ids = store.points()["point_id"].to_list()
    planned = {run_id_for(p, r) for p in point_ids for r in range(replications)}
    committed, damaged_files = store.health(checksums=checksums)
    whole = committed.filter(pl.col("whole"))
    done = set(whole.filter(pl.col("status") == "done")["run_id"].to_list())
    failed = set(whole.filter(pl.col("status") != "done")["run_id"].to_list())
    damaged = set(committed.filter(~pl.col("whole"))["run_id"].to_list())
    return {
        "out": str(out),
        "experiment": manifest.get("experiment"),
        "config_sha256": manifest.get("config_sha256"),
        "points": len(point_ids),
        "replications": replications,
        "planned": len(planned),
        "done": len(done & planned),
        "failed": len(failed & planned),
        "damaged": len(damaged & planned),
        "pending": len(planned - done - failed - damaged),
        "damaged_files": damaged_files,
        "checksums_verified": checksums,
        "leftovers_removed": tidied,
        "locked_by": [h.describe() for h in holders(store.root)],
        "parts": {t: len(list(store.table_dir(t).glob("part-*.parquet"))) for t in TABLES},
        "wall_s_total": float(whole["wall_s"].sum() or 0.0),
        "numerics": store_numerics(store) if not damaged else {},
    }


def store_numerics(store: Store) -> dict[str, int]:
    """Finished runs by what they computed with (the ``runs`` table's ``numerics``), most
    first. More than one key means the store's tables may differ from a re-run's in more
    than rounding (``experiments.numerics``); runs of stores made before this was recorded
    count as ``"not recorded"``."""
    counts = (
        store.scan("runs")
        .filter(pl.col("status") == "done")
        .group_by(pl.col("numerics").fill_null("not recorded"))
        .len()
        .sort(["len", "numerics"], descending=[True, False])
        .collect()
    )
    return dict(zip(counts["numerics"].to_list(), counts["len"].to_list(), strict=True))


def compact_store(out: Path, *, break_lock: bool = False) -> dict[str, int]:
    """Merge every table's committed rows into one part and the ledgers into one.

    Holds the store's lock; refuses a damaged store (checked by checksum). New parts
    and the new ledger are written first and the old ones removed after, so a kill at
    any point leaves a store whose readers see every run once; what it left is removed
    by the next command.
    """
    store = Store.open(out)
    with StoreLock(store.root, break_lock=break_lock):
        damage = store.damage(checksums=True)
        if damage:
            raise StoreError(
                f"{damage[0]}: cannot compact a damaged store; `aimarket sweep CONFIG "
                f"--out {out} --resume` runs its runs again first"
            )
        collect_garbage(store)
        committed = store.committed()
        writer = f"compact_{new_writer_id()}"
        part = f"{writer}-000000"
        old_parts = sorted(store.root.glob("table=*/part-*.parquet"))
        old_ledgers = sorted((store.root / "ledger").glob("*.jsonl"))
        tmp_dir = store.root / ".tmp"
        files: dict[str, list] = {}
        for table in TABLES:
            frame = store.read(table)
            if frame.height:
                path = store.table_dir(table) / f"part-{part}.parquet"
                files[table] = write_parquet_atomic(frame, path, tmp_dir)
        now = time.time()
        lines = [json.dumps({"part": part, "files": files, "writer": writer, "t": now})]
        for row in committed.drop("whole").iter_rows(named=True):
            lines.append(json.dumps({**row, "part": part, "writer": writer, "t": now}))
        tmp = tmp_dir / f"{writer}.jsonl"
        with tmp.open("w") as fh:
            fh.write("\n".join(lines) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(store.root / "ledger" / f"{writer}.jsonl")
        for path in old_ledgers:
            path.unlink()
        for path in old_parts:
            path.unlink()
    return {
        "runs": committed.height,
        "parts_before": len(old_parts),
        "parts_after": len(list(store.root.glob("table=*/part-*.parquet"))),
    }
