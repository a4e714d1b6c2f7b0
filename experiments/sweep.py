"""Sweeps: plan runs, open (or resume) a store, execute anywhere, report.

``aimarket sweep`` and ``aimarket run`` share this code: ``run`` is a sweep of the config's
base point into a fresh store.
"""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from aimarket.experiments.config import ConfigError
from aimarket.experiments.executors import (
    RunStatus,
    batches,
    default_workers,
    iter_dask,
    iter_pool,
    iter_serial,
)
from aimarket.experiments.runner import run_id_for
from aimarket.experiments.store import TABLES, Store, new_writer_id, write_parquet_atomic
from aimarket.sim.run import RunSpec

__all__ = [
    "SweepReport",
    "compact_store",
    "execute",
    "open_store",
    "parse_shard",
    "replace_store",
    "select_shard",
    "store_numerics",
    "store_status",
]


@dataclass
class SweepReport:
    """What one execution did (this invocation only)."""

    out: Path
    planned: int
    skipped: int
    executor: str
    workers: int
    runs: int = 0
    failed: int = 0
    wall_s: float = 0.0
    errors: list[tuple[str, str]] = field(default_factory=list)

    @property
    def runs_per_s(self) -> float:
        """Runs finished per second of wall time."""
        return self.runs / self.wall_s if self.wall_s > 0 else 0.0


def parse_shard(text: str) -> tuple[int, int]:
    """``"i/N"`` (``0 <= i < N``) as ``(i, N)``.

    Examples
    --------
    >>> parse_shard("2/3")
    (2, 3)
    """
    index, sep, count = text.partition("/")
    try:
        i, n = int(index), int(count)
    except ValueError:
        i, n = -1, 0
    if not sep or n < 1 or not 0 <= i < n:
        raise ConfigError(f"--shard {text!r}: expected i/N with 0 <= i < N, e.g. 0/4")
    return i, n


def select_shard(specs: Sequence[RunSpec], shard: tuple[int, int] | None) -> list[RunSpec]:
    """The runs of one shard: every N-th run starting at i (balanced across points)."""
    if shard is None:
        return list(specs)
    i, n = shard
    return [spec for k, spec in enumerate(specs) if k % n == i]


def open_store(
    out: Path,
    *,
    manifest: dict[str, Any],
    points: pl.DataFrame,
    resume: bool,
    shard: tuple[int, int] | None,
) -> Store:
    """Create the store at ``out``, or open it to resume or to add a shard.

    Refuses (``ConfigError``): ``out`` is a file; a non-empty directory that is not a
    store; a store of another config; this config's store without ``--resume`` (shards
    need none).
    """
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out}: is a file, expected a directory")
    if out.is_dir() and any(out.iterdir()):
        if not Store.is_store(out):
            raise ConfigError(
                f"--out {out}: is a non-empty directory that is not an aimarket store; "
                "expected a new or empty directory"
            )
        existing = Store(out).manifest()
        if existing.get("config_sha256") != manifest["config_sha256"]:
            theirs = str(existing.get("config_sha256"))[:12]
            raise ConfigError(
                f"--out {out}: holds another experiment "
                f"({existing.get('experiment')!r}, config {theirs}); "
                "expected this config's store or a new directory"
            )
        if not resume and shard is None:
            done = len(Store(out).done_run_ids())
            raise ConfigError(
                f"--out {out}: already holds this sweep ({done} runs done); "
                "pass --resume to finish it, or choose a new --out"
            )
    try:
        return Store.create(out, manifest, points)
    except FileExistsError as exc:
        raise ConfigError(f"--out {out}: {exc}") from None


def execute(
    specs: Sequence[RunSpec],
    store: Store,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    cluster: Any = None,
    on_batch: Callable[[list[RunStatus]], None] | None = None,
    on_start: Callable[[int, str, int], None] | None = None,
) -> SweepReport:
    """Run every spec not yet done in ``store`` and write it there.

    Parameters
    ----------
    specs
        The runs this invocation is responsible for (a shard's slice, or all).
    store
        An open store; runs its ledger marks done are skipped (resume).
    workers
        Local worker processes; ``1`` runs in this process; default all cores.
    scheduler, cluster
        Run on Dask instead: an existing scheduler address, or a ``[cluster]`` section.
    on_batch
        Called with each finished batch's statuses (progress).
    on_start
        Called once with ``(runs to do, executor name, workers)`` before the first run.
    """
    done = store.done_run_ids()
    todo = [s for s in specs if s.run_id not in done]
    use_dask = scheduler is not None or cluster is not None
    n_workers = workers or default_workers()
    executor = "dask" if use_dask else ("serial" if n_workers == 1 else "process pool")
    report = SweepReport(
        out=store.root,
        planned=len(specs),
        skipped=len(specs) - len(todo),
        executor=executor,
        workers=n_workers,
    )
    t0 = time.perf_counter()
    if use_dask:
        from aimarket.experiments.cluster import dask_client

        with dask_client(scheduler=scheduler, cluster=cluster) as (client, threads):
            report.workers = threads
            _consume(
                iter_dask(batches(todo, workers=threads), store.root.resolve(), client=client),
                report,
                on_start,
                on_batch,
                len(todo),
            )
    elif n_workers == 1 or len(todo) <= 1:
        report.executor, report.workers = "serial", 1
        _consume(
            iter_serial(batches(todo, workers=1, max_batch=1), store.root),
            report,
            on_start,
            on_batch,
            len(todo),
        )
    else:
        n_workers = min(n_workers, len(todo))
        report.workers = n_workers
        _consume(
            iter_pool(batches(todo, workers=n_workers), store.root, workers=n_workers),
            report,
            on_start,
            on_batch,
            len(todo),
        )
    report.wall_s = time.perf_counter() - t0
    return report


def _consume(
    statuses: Iterator[list[RunStatus]],
    report: SweepReport,
    on_start: Callable[[int, str, int], None] | None,
    on_batch: Callable[[list[RunStatus]], None] | None,
    n_todo: int,
) -> None:
    if on_start is not None:
        on_start(n_todo, report.executor, report.workers)
    for batch in statuses:
        for status in batch:
            report.runs += 1
            if status.status != "done":
                report.failed += 1
                report.errors.append((status.run_id, status.error or "unknown error"))
        if on_batch is not None:
            on_batch(batch)


def replace_store(out: Path, build: Callable[[Path], SweepReport]) -> SweepReport:
    """Build a complete new store in a hidden sibling of ``out``, then rename it over ``out``.

    An interrupted build leaves ``out`` as it was. ``out`` may be missing, empty or an
    existing store; anything else is refused.
    """
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out}: is a file, expected a directory")
    if out.is_dir() and any(out.iterdir()) and not Store.is_store(out):
        raise ConfigError(
            f"--out {out}: is a non-empty directory that is not an aimarket store; "
            "expected a new or empty directory"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.partial-{uuid.uuid4().hex[:8]}"
    try:
        report = build(tmp)
        shutil.rmtree(tmp / ".tmp", ignore_errors=True)
        if out.exists():
            old = out.parent / f".{out.name}.old-{uuid.uuid4().hex[:8]}"
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report.out = out
    return report


def store_status(out: Path) -> dict[str, Any]:
    """Planned, done, failed and pending runs of a store."""
    if not Store.is_store(out):
        raise ConfigError(f"{out}: not an aimarket store (no manifest.json)")
    store = Store(out)
    manifest = store.manifest()
    replications = int(manifest["config"]["experiment"]["replications"])
    point_ids = store.points()["point_id"].to_list()
    planned = {run_id_for(p, r) for p in point_ids for r in range(replications)}
    committed = store.committed()
    done = set(committed.filter(pl.col("status") == "done")["run_id"].to_list())
    failed = set(committed.filter(pl.col("status") != "done")["run_id"].to_list()) - done
    return {
        "out": str(out),
        "experiment": manifest.get("experiment"),
        "config_sha256": manifest.get("config_sha256"),
        "points": len(point_ids),
        "replications": replications,
        "planned": len(planned),
        "done": len(done & planned),
        "failed": len(failed & planned),
        "pending": len(planned - done - failed),
        "parts": {t: len(list(store.table_dir(t).glob("part-*.parquet"))) for t in TABLES},
        "wall_s_total": float(committed["wall_s"].sum() or 0.0),
        "numerics": store_numerics(store),
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


def compact_store(out: Path) -> dict[str, int]:
    """Merge every table's committed rows into one part and the ledgers into one.

    New parts and the new ledger are written first; the old ones are removed after, so a
    crash in between leaves a store that still reads every run once. Do not compact a
    store that a sweep is still writing to.
    """
    if not Store.is_store(out):
        raise ConfigError(f"{out}: not an aimarket store (no manifest.json)")
    store = Store(out)
    committed = store.committed()
    writer = f"compact_{new_writer_id()}"
    part = f"{writer}-000000"
    old_parts = {t: sorted(store.table_dir(t).glob("part-*.parquet")) for t in TABLES}
    old_ledgers = sorted((store.root / "ledger").glob("*.jsonl"))
    tmp_dir = store.root / ".tmp"
    tmp_dir.mkdir(exist_ok=True)
    for table in TABLES:
        frame = store.read(table)
        if frame.height:
            write_parquet_atomic(frame, store.table_dir(table) / f"part-{part}.parquet", tmp_dir)
    ledger = committed.with_columns(
        pl.lit(part).alias("part"), pl.lit(writer).alias("writer"), pl.lit(time.time()).alias("t")
    )
    tmp = tmp_dir / f"{writer}.jsonl"
    ledger.write_ndjson(tmp)
    tmp.replace(store.root / "ledger" / f"{writer}.jsonl")
    for path in old_ledgers:
        path.unlink()
    for paths in old_parts.values():
        for path in paths:
            path.unlink()
    return {
        "runs": committed.height,
        "parts_before": sum(len(p) for p in old_parts.values()),
        "parts_after": sum(len(list(store.table_dir(t).glob("part-*.parquet"))) for t in TABLES),
    }
