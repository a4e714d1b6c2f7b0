"""Where runs execute: in process, on a local process pool, or on a Dask cluster.

Every executor sends *batches* of run specs to :func:`run_batch`, which runs them and writes
their tables straight into the store from the worker, returning only a small status per
run; the parent's memory therefore stays flat however many runs a sweep has. Results do not
depend on the executor, the number of workers or the batch size: each run is a function of
its spec alone.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aimarket.experiments.store import Store, new_writer_id
from aimarket.sim.run import RunSpec, run_one

__all__ = [
    "RunStatus",
    "batches",
    "default_workers",
    "iter_dask",
    "iter_pool",
    "iter_serial",
    "run_batch",
]


@dataclass(frozen=True, slots=True)
class RunStatus:
    """What a worker reports back for one run."""

    run_id: str
    status: str
    wall_s: float
    error: str | None = None


def run_batch(specs: Sequence[RunSpec], out: str) -> list[RunStatus]:
    """Run ``specs`` and store their tables in ``out`` as one part; the worker-side task.

    A run that raises is stored as failed (with its traceback in the ``runs`` table) and
    the others go on.
    """
    store = Store(out)
    statuses = []
    with store.writer(new_writer_id(), max_runs=len(specs) + 1) as writer:
        for spec in specs:
            result = run_one(spec)
            writer.add(result)
            last = (result.error or "").strip().splitlines()[-1:] or [None]
            statuses.append(RunStatus(result.run_id, result.status, result.wall_s, last[0]))
    return statuses


def default_workers() -> int:
    """All the cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def batches(specs: Sequence[RunSpec], *, workers: int, max_batch: int = 16) -> list[list[RunSpec]]:
    """Split specs into batches: about four per worker, at most ``max_batch`` runs each.

    Small batches keep progress smooth and the loss from a killed worker small; larger
    ones write fewer, bigger parts.

    Examples
    --------
    >>> [len(b) for b in batches(list(range(10)), workers=1)]
    [3, 3, 3, 1]
    """
    if not specs:
        return []
    size = max(1, min(max_batch, -(-len(specs) // (4 * max(workers, 1)))))
    return [list(specs[i : i + size]) for i in range(0, len(specs), size)]


def iter_serial(work: Sequence[list[RunSpec]], out: Path) -> Iterator[list[RunStatus]]:
    """Run batches one after another in this process."""
    for batch in work:
        yield run_batch(batch, str(out))


def iter_pool(
    work: Sequence[list[RunSpec]], out: Path, *, workers: int
) -> Iterator[list[RunStatus]]:
    """Run batches on a local process pool, yielding each batch's statuses as it finishes.

    The pool uses the ``spawn`` start method explicitly: ``import mesa`` switches the
    process-wide default to ``spawn`` anyway, and ``fork`` is unsafe with polars' threads.
    At most ``2 * workers`` batches are queued at once, so the parent holds few specs.
    """
    context = multiprocessing.get_context("spawn")
    pending: set[Future[list[RunStatus]]] = set()
    queue = iter(work)
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        try:
            for batch in queue:
                pending.add(pool.submit(run_batch, batch, str(out)))
                if len(pending) >= 2 * workers:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        yield future.result()
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
        except BaseException:
            for future in pending:
                future.cancel()
            raise


def iter_dask(
    work: Sequence[list[RunSpec]], out: Path, *, client: Any
) -> Iterator[list[RunStatus]]:
    """Run batches on a Dask distributed cluster through ``client``.

    Tasks are impure (``pure=False``): a batch re-run after a worker dies writes a new part,
    and the store's ledger makes readers see each run exactly once.
    """
    from distributed import as_completed

    futures = [client.submit(run_batch, batch, str(out), pure=False) for batch in work]
    try:
        for future in as_completed(futures):
            yield future.result()
    except BaseException:
        client.cancel(futures)
        raise
