"""Where runs execute: in process, on a local process pool, or on a Dask cluster.

Every executor sends *batches* of run specs to :func:`run_batch`, which runs them and writes
their tables straight into the store from the worker, returning only a small status per
run; the parent's memory therefore stays flat however many runs a sweep has. Results do not
depend on the executor, the number of workers or the batch size: each run is a function of
its spec alone.

Pool workers die with the sweep that started them, kill -9 included (:func:`die_with_parent`),
and a Dask worker whose numerics differ from the sweep's refuses its batch
(``run_batch(..., expected_numerics=...)``).
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aimarket.experiments.store import Store, new_writer_id
from aimarket.sim import run as sim_run
from aimarket.sim.run import RunSpec, run_one

__all__ = [
    "RunStatus",
    "batches",
    "default_workers",
    "die_with_parent",
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


def run_batch(
    specs: Sequence[RunSpec], out: str, expected_numerics: str | None = None
) -> list[RunStatus]:
    """Run ``specs`` and store their tables in ``out`` as one part; the worker-side task.

    A run that raises is stored as failed (with its traceback in the ``runs`` table) and
    the others go on. With ``expected_numerics`` (the sweep parent's
    :func:`sim.run.numerics`), a worker that computes with anything else runs nothing and
    writes nothing: every run comes back with status ``"refused"`` and an error naming the
    worker and its numerics.
    """
    if expected_numerics is not None:
        mine = sim_run.numerics()
        if mine != expected_numerics:
            where = _where()
            return [
                RunStatus(
                    spec.run_id,
                    "refused",
                    0.0,
                    f"{where} computes with {mine!r}, expected {expected_numerics!r}, "
                    f"and refused run {spec.run_id}",
                )
                for spec in specs
            ]
    store = Store(out)
    statuses = []
    with store.writer(new_writer_id(), max_runs=len(specs) + 1) as writer:
        for spec in specs:
            result = run_one(spec)
            writer.add(result)
            last = (result.error or "").strip().splitlines()[-1:] or [None]
            statuses.append(RunStatus(result.run_id, result.status, result.wall_s, last[0]))
    return statuses


def _where() -> str:
    """This worker, for error messages: its Dask address, or its host and pid."""
    if "distributed" in sys.modules:  # every Dask worker has it; elsewhere, do not import it
        from distributed import get_worker

        try:
            return f"Dask worker {get_worker().address}"
        except ValueError:  # not in a Dask worker
            pass
    return f"worker process {os.getpid()} on {socket.gethostname()}"


def die_with_parent(parent_pid: int) -> None:
    """Pool initializer: end this process as soon as ``parent_pid`` (its parent) ends.

    A pool worker holds a copy of its task queue's write end, so when the sweep's parent is
    killed with SIGKILL its workers never see the queue close: they finish their batch and
    then wait forever, ~190 MiB each. On Linux the kernel sends this process SIGKILL when its
    parent dies (``prctl(PR_SET_PDEATHSIG)``; strictly, when the parent's thread that
    started it ends, and the pool starts its workers from the thread that submits). Where
    that is not available a daemon thread polls ``os.getppid()`` once a second. A parent
    that died before either was in place is caught by the check at the end.
    """
    if not _kill_with_parent():
        threading.Thread(
            target=_exit_when_orphaned, args=(parent_pid,), name="die-with-parent", daemon=True
        ).start()
    if os.getppid() != parent_pid:
        os._exit(1)


_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _kill_with_parent() -> bool:
    """Ask Linux to SIGKILL this process when its parent dies; False where it cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _exit_when_orphaned(parent_pid: int, interval_s: float = 1.0) -> None:
    """Poll until this process's parent is no longer ``parent_pid``, then exit at once."""
    while os.getppid() == parent_pid:
        time.sleep(interval_s)
    os._exit(1)


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
    Workers end with this process, kill -9 included (:func:`die_with_parent`).
    """
    context = multiprocessing.get_context("spawn")
    pending: set[Future[list[RunStatus]]] = set()
    queue = iter(work)
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=die_with_parent,
        initargs=(os.getpid(),),
    ) as pool:
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
    work: Sequence[list[RunSpec]],
    out: Path,
    *,
    client: Any,
    expected_numerics: str | None = None,
) -> Iterator[list[RunStatus]]:
    """Run batches on a Dask distributed cluster through ``client``.

    Tasks are impure (``pure=False``): a batch re-run after a worker dies writes a new part,
    and the store's ledger makes readers see each run exactly once. ``expected_numerics``
    goes to every :func:`run_batch`, so a worker with other numerics refuses its batch.
    """
    from distributed import as_completed

    futures = [
        client.submit(run_batch, batch, str(out), expected_numerics, pure=False) for batch in work
    ]
    try:
        for future in as_completed(futures):
            yield future.result()
    except BaseException:
        client.cancel(futures)
        raise
