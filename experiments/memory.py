"""Will a local sweep fit in memory? A run's peak memory from its size, against what the
machine has free.

:func:`fit_workers` runs before a local sweep starts (``experiments.sweep.execute``): if
not even one run fits in the memory available it refuses, and if the requested workers
do not all fit it warns and uses as many as fit. Where the available memory cannot be
read (no ``/proc/meminfo``) it changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from aimarket.experiments.config import ConfigError
from aimarket.sim.run import RunSpec

__all__ = [
    "BASE_MIB",
    "BYTES_PER_CUSTOMER_LONG",
    "BYTES_PER_CUSTOMER_SHORT",
    "available_memory_mib",
    "fit_workers",
    "run_memory_mib",
]

BASE_MIB = 165.0
"""A run's peak RSS besides its customers: the interpreter, numpy, polars, mesa, the firms."""

BYTES_PER_CUSTOMER_SHORT = 360.0
"""Bytes per customer of a run over 12 months or fewer (fewer offerings on sale yet)."""

BYTES_PER_CUSTOMER_LONG = 620.0
"""Bytes per customer of a run over 36 months or more (the offerings on sale level off)."""


def run_memory_mib(customers: int, horizon_months: int) -> float:
    """Estimated peak memory (RSS, MiB) of one run with the baseline's firms.

    ``BASE_MIB + customers * bytes_per_customer``, where bytes per customer rise linearly
    from ``BYTES_PER_CUSTOMER_SHORT`` at 12 months to ``BYTES_PER_CUSTOMER_LONG`` at 36
    and stay there. Fitted as an upper envelope (every measurement at or below it) to the
    peak RSS (``VmHWM``) of one run of ``ModelParams(customers=N)`` in a fresh, pinned
    process on the development machine (Intel Xeon, 2 cores, numpy 2.4.6, December 2026):
    158 / 162 MiB at 1k customers and 12 / 120 months, 160 at 10k and 12, 186 at 100k and
    12, 206 at 100k and 240, 313 / 316 at 300k and 36 / 120, 496 / 703 / 714 at 1M and
    12 / 36 / 60, 838 at 2M and 6; and bench/customer_scaling.py's 167 / 204 / 750 MiB at
    10k / 100k / 1M and 120 months (docs/benchmarks.md). Configs with many more firms or
    segments than the baseline's need more. A pool worker that has stored many large runs
    holds more than one run's peak (326 MiB after the first of ten 300k-customer,
    36-month runs, 546 after the tenth), so this is a floor for long sweeps, not a bound.

    Examples
    --------
    >>> round(run_memory_mib(1_000_000, 120))
    756
    >>> round(run_memory_mib(10_000, 6))
    168
    """
    span = min(max((horizon_months - 12) / (36 - 12), 0.0), 1.0)
    per_customer = BYTES_PER_CUSTOMER_SHORT + span * (
        BYTES_PER_CUSTOMER_LONG - BYTES_PER_CUSTOMER_SHORT
    )
    return BASE_MIB + customers * per_customer / 2**20


def available_memory_mib(meminfo: str | Path = "/proc/meminfo") -> float | None:
    """The memory new processes can use without swapping (``MemAvailable``, MiB); None
    where it cannot be read (not Linux, or a kernel without the field)."""
    try:
        with open(meminfo) as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 1024  # kB
    except (OSError, ValueError, IndexError):
        return None
    return None


def fit_workers(
    specs: Sequence[RunSpec],
    workers: int,
    on_warning: Callable[[str], None] | None = None,
) -> int:
    """How many local worker processes can run ``specs`` at once in the memory available.

    ``workers`` if ``workers`` times the largest run's :func:`run_memory_mib` fits in
    :func:`available_memory_mib` (or that cannot be read, or there is nothing to run);
    otherwise as many as fit, after a one-line ``on_warning``.

    Raises
    ------
    ConfigError
        If not even one run fits.
    """
    available = available_memory_mib()
    if available is None or not specs:
        return workers
    largest = max(specs, key=lambda s: run_memory_mib(s.params.customers, s.horizon_months))
    need = run_memory_mib(largest.params.customers, largest.horizon_months)
    if need > available:
        raise ConfigError(
            f"model.customers = {largest.params.customers}: a run of "
            f"{largest.horizon_months} months needs about {need:,.0f} MiB of memory and "
            f"{available:,.0f} MiB is available; expected fewer customers, or free memory"
        )
    fit = min(workers, int(available // need))
    if fit < workers and on_warning is not None:
        on_warning(
            f"--workers {workers}: {workers} runs at once need about {workers * need:,.0f} MiB "
            f"({need:,.0f} MiB each) and {available:,.0f} MiB is available; using {fit}"
        )
    return fit
