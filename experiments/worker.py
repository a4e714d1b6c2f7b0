"""The ``aimarket worker`` subcommand: a Dask worker that computes like ``aimarket`` does.

``aimarket worker tcp://HEAD:8786 [dask worker options]`` starts ``dask worker`` (as
``python -m distributed.cli.dask_worker``, with this Python) in the environment the
``aimarket`` command pinned before numpy loaded (``experiments/__main__.py``,
:mod:`experiments.numerics`), so its runs give the same tables as a local sweep's. Options
after the scheduler address go to ``dask worker`` as they are, e.g. ``--nworkers 4
--nthreads 1``. A sweep refuses workers started any other way whose numerics differ
(``experiments.cluster.check_numerics``).

:func:`add_parser` registers ``worker`` on the ``aimarket`` command's subparsers;
:func:`run_parsed` replaces this process with the worker (POSIX) or runs it and returns its
exit status.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from aimarket.experiments.config import ConfigError
from aimarket.experiments.numerics import pinned_variables

__all__ = ["add_parser", "run_parsed", "worker_command", "worker_environment"]


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Register ``aimarket worker SCHEDULER [dask worker options]`` on ``sub`` (the
    ``aimarket`` command's subparsers) and return its parser."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "worker",
        help="start a Dask worker with aimarket's pinned numerics",
        description=(
            "Start `dask worker SCHEDULER ...` with numpy's and OpenBLAS's SIMD code pinned "
            "as `aimarket` pins its own, so its runs match a local sweep's."
        ),
    )
    parser.add_argument("scheduler", metavar="SCHEDULER", help="scheduler address, tcp://HOST:PORT")
    parser.add_argument(
        "dask_args",
        nargs=argparse.REMAINDER,
        metavar="...",
        help="options passed on to `dask worker`, e.g. --nworkers 4 --nthreads 1",
    )
    return parser


def worker_command(scheduler: str, dask_args: Sequence[str] = ()) -> list[str]:
    """The command line of a Dask worker for ``scheduler``, run by this Python."""
    return [sys.executable, "-m", "distributed.cli.dask_worker", scheduler, *dask_args]


def worker_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """``environ`` (default this process's) with the numerics pinned as ``aimarket`` pins
    them: variables the user set are kept (:func:`experiments.numerics.pinned_variables`)."""
    env = dict(os.environ if environ is None else environ)
    env.update(pinned_variables(env))
    return env


def run_parsed(args: argparse.Namespace) -> int:
    """Start the worker of a parsed ``aimarket worker`` command line.

    On POSIX this process becomes the worker (``os.execve``: signals and the exit status are
    the worker's own) and the call does not return; elsewhere the worker runs as a child and
    its exit status is returned.

    Raises
    ------
    ConfigError
        If Dask's ``distributed`` package is not installed.
    """
    if importlib.util.find_spec("distributed") is None:
        raise ConfigError(
            "aimarket worker: Dask is not installed; expected pip install 'aimarket[dask]'"
        )
    command = worker_command(args.scheduler, args.dask_args)
    env = worker_environment()
    if os.name != "posix":
        return subprocess.call(command, env=env)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(command[0], command, env)  # replaces this process; does not return
