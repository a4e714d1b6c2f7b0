"""Dask clients for sweeps: an existing scheduler, or a dask-jobqueue cluster from the config.

Dask is an optional dependency (``pip install 'aimarket[dask]'``), imported only here and
only when a sweep asks for it.

A sweep refuses workers that compute with other numerics than the sweep's own process
(:func:`check_numerics`, before submitting; ``executors.run_batch``, per batch): their
tables would differ from a local run's (``experiments.numerics``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aimarket.experiments.config import ClusterSection, ConfigError
from aimarket.experiments.numerics import shell_exports

__all__ = ["check_numerics", "cluster_kwargs", "dask_client", "numerics_fix"]

_JOBQUEUE = {
    "slurm": "SLURMCluster",
    "pbs": "PBSCluster",
    "sge": "SGECluster",
    "lsf": "LSFCluster",
}


def _require_distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise ConfigError(
            "Dask is not installed: pip install 'aimarket[dask]' (distributed, dask-jobqueue)"
        ) from None
    return distributed


def cluster_kwargs(section: ClusterSection) -> dict[str, Any]:
    """Keyword arguments for the dask-jobqueue cluster class of ``section.kind``.

    The job script pins numpy's and OpenBLAS's SIMD code before the worker starts
    (:func:`experiments.numerics.shell_exports`), so runs give the same tables whatever
    node they land on; the config's own prologue lines come after and can override it.
    """
    kwargs: dict[str, Any] = {
        "cores": section.cores,
        "memory": section.memory,
        "walltime": section.walltime,
        "processes": section.processes or 1,
        "job_extra_directives": list(section.job_extra_directives),
        "job_script_prologue": [*shell_exports(), *section.job_script_prologue],
    }
    optional = {
        "queue": section.queue,
        "account": section.account,
        "local_directory": section.local_directory,
        "interface": section.interface,
    }
    kwargs.update({k: v for k, v in optional.items() if v is not None})
    return kwargs


def numerics_fix(scheduler: str | None, client: Any) -> str:
    """What to do about a worker with other numerics, for the end of an error line."""
    if scheduler is not None:
        return f"start workers with `aimarket worker {scheduler}` (docs/cluster.md)"
    return (
        f"the workers of {client.scheduler.address} were started with another environment; "
        "check [cluster] job_script_prologue and the nodes' aimarket installs (docs/cluster.md)"
    )


def check_numerics(client: Any, expected: str, *, fix: str) -> None:
    """Refuse (``ConfigError``, one line naming the worker, its numerics, the expected ones
    and ``fix``) if any worker connected to ``client`` computes with other numerics than
    ``expected`` (:func:`sim.run.numerics` in each worker), or cannot run aimarket."""
    found = client.run(_worker_numerics, on_error="return")
    for address, theirs in sorted(found.items()):
        if isinstance(theirs, BaseException):
            raise ConfigError(
                f"Dask worker {address}: cannot run aimarket ({type(theirs).__name__}: "
                f"{theirs}); {fix}"
            )
        if theirs != expected:
            raise ConfigError(
                f"Dask worker {address} computes with {theirs!r}, expected {expected!r}; {fix}"
            )


def _worker_numerics() -> str:
    """:func:`sim.run.numerics` of the worker that calls it (sent by name, not by value)."""
    from aimarket.sim import run

    return run.numerics()


@contextmanager
def dask_client(
    *, scheduler: str | None = None, cluster: ClusterSection | None = None
) -> Iterator[tuple[Any, int]]:
    """A connected ``distributed.Client`` and its expected number of worker threads.

    ``scheduler`` (``tcp://HOST:PORT``) connects to a running cluster; otherwise ``cluster``
    starts one (``local`` or a dask-jobqueue class) and shuts it down on exit.
    """
    distributed = _require_distributed()
    if scheduler is not None:
        try:
            client = distributed.Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise ConfigError(f"--scheduler {scheduler}: cannot connect ({exc})") from None
        with client:
            threads = sum(client.nthreads().values()) or 1
            yield client, threads
        return
    if cluster is None:
        raise ConfigError("a Dask sweep needs --scheduler ADDRESS or a [cluster] table")
    if cluster.kind == "local":
        dask_cluster = distributed.LocalCluster(
            n_workers=cluster.jobs,
            threads_per_worker=cluster.cores,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        )
        threads = cluster.jobs * cluster.cores
    else:
        try:
            import dask_jobqueue
        except ImportError:
            raise ConfigError(
                "dask-jobqueue is not installed: pip install 'aimarket[dask]'"
            ) from None
        dask_cluster = getattr(dask_jobqueue, _JOBQUEUE[cluster.kind])(**cluster_kwargs(cluster))
        dask_cluster.scale(jobs=cluster.jobs)
        threads = cluster.jobs * cluster.cores
    with dask_cluster, distributed.Client(dask_cluster) as client:
        yield client, threads
