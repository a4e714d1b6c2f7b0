"""Sweeps: plan runs, open (or resume) a store, execute anywhere, report.

``aimarket sweep`` and ``aimarket run`` share this code: ``run`` is a sweep of the config's
base point into a fresh store.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aimarket.experiments.config import ConfigError
from aimarket.experiments.executors import (
    RunStatus,
    batches,
    default_workers,
    iter_dask,
    iter_pool,
    iter_serial,
)
from aimarket.experiments.memory import fit_workers
from aimarket.experiments.store import Store
from aimarket.sim import run as sim_run
from aimarket.sim.run import RunSpec

__all__ = [
    "SweepReport",
    "execute",
    "parse_shard",
    "select_shard",
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


def execute(
    specs: Sequence[RunSpec],
    store: Store,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    cluster: Any = None,
    on_batch: Callable[[list[RunStatus]], None] | None = None,
    on_start: Callable[[int, str, int], None] | None = None,
    on_warning: Callable[[str], None] | None = None,
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
    on_warning
        Called with a one-line message when local workers outnumber the cores, or do not
        all fit in memory (then fewer are used: :func:`experiments.memory.fit_workers`).

    Raises
    ------
    ConfigError
        Locally, if not even one run fits in memory. On Dask, if a worker computes with
        other numerics than this process (:func:`sim.run.numerics`): checked on every
        connected worker before anything is submitted, and again by every batch on the
        worker that runs it (a worker may join mid-sweep).
    """
    done = store.done_run_ids(checksums=True)  # a damaged part's runs are run again
    todo = [s for s in specs if s.run_id not in done]
    use_dask = scheduler is not None or cluster is not None
    n_workers = workers or default_workers()
    if not use_dask:
        n_workers = fit_workers(todo, n_workers, on_warning)  # or refuse: no run fits
        cores = default_workers()
        if on_warning is not None and min(n_workers, len(todo)) > cores:
            on_warning(
                f"--workers {n_workers}: more than the {cores} cores this process may use; "
                f"runs will share cores and each take longer (expected at most {cores})"
            )
    executor = "dask" if use_dask else ("serial" if n_workers == 1 else "process pool")
    report = SweepReport(
        out=store.root,
        planned=len(specs),
        skipped=len(specs) - len(todo),
        executor=executor,
        workers=n_workers,
    )
    t0 = time.perf_counter()
    if not todo:  # nothing to do: start no pool and no cluster
        _consume(iter(()), report, on_start, on_batch, 0)
    elif use_dask:
        from aimarket.experiments.cluster import check_numerics, dask_client, numerics_fix

        expected = sim_run.numerics()
        with dask_client(scheduler=scheduler, cluster=cluster) as (client, threads):
            fix = numerics_fix(scheduler, client)
            check_numerics(client, expected, fix=fix)
            report.workers = threads
            work = batches(todo, workers=threads)
            _consume(
                iter_dask(work, store.root.resolve(), client=client, expected_numerics=expected),
                report,
                on_start,
                on_batch,
                len(todo),
                fix=fix,
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
    fix: str = "",
) -> None:
    if on_start is not None:
        on_start(n_todo, report.executor, report.workers)
    try:
        for batch in statuses:
            for status in batch:
                if status.status == "refused":  # a worker with other numerics
                    raise ConfigError(f"{status.error}; {fix}")
                report.runs += 1
                if status.status != "done":
                    report.failed += 1
                    report.errors.append((status.run_id, status.error or "unknown error"))
            if on_batch is not None:
                on_batch(batch)
    finally:  # an error here stops the executor now (it cancels what is queued)
        close = getattr(statuses, "close", None)
        if close is not None:
            close()
