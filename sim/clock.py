"""The simulation clock: months, calendar labels and same-time phase ordering.

simpy's ``Environment`` is the only clock; ``env.now`` is in months since the run's start
month. Several things happen at the same month, and their order matters: state changes
(hardware, training progress, model retirement, exits) first, then strategy reviews, then
pricing, then market clearing, then recording. simpy orders events at the same time by
priority, then by insertion; :func:`at_phase` schedules a wake-up with the phase as its
priority, so the order holds whatever order the processes were started in.
"""

from __future__ import annotations

import datetime as dt
import functools
from enum import IntEnum

import simpy
from simpy.events import NORMAL, Event

__all__ = [
    "Phase",
    "add_months",
    "at_phase",
    "month_index",
    "month_start_date",
    "normalise_month",
]


class Phase(IntEnum):
    """Same-month order of the simulation's processes (lower runs first)."""

    STATE = NORMAL  # plain simpy timeouts: hardware, training runs
    HOUSEKEEPING = NORMAL + 1  # models age out, firms raise money or exit
    STRATEGY = NORMAL + 2  # strategy reviews
    PRICING = NORMAL + 3
    CLEARING = NORMAL + 4
    RECORDING = NORMAL + 5


def at_phase(env: simpy.Environment, delay_months: float, phase: Phase) -> Event:
    """An event that fires ``delay_months`` from now, ordered by ``phase`` within that time.

    Examples
    --------
    >>> env = simpy.Environment()
    >>> order = []
    >>> def proc(name, phase):
    ...     yield at_phase(env, 1, phase)
    ...     order.append(name)
    >>> _ = env.process(proc("record", Phase.RECORDING))
    >>> _ = env.process(proc("clear", Phase.CLEARING))
    >>> env.run()
    >>> order
    ['clear', 'record']
    """
    if delay_months < 0:
        raise ValueError(f"delay must be non-negative, got {delay_months}")
    event = Event(env)
    event._ok = True
    event._value = None
    env.schedule(event, priority=int(phase), delay=delay_months)
    return event


@functools.lru_cache(maxsize=256)
def month_index(month: str) -> int:
    """Months since year 0 of a ``'YYYY-MM'`` label.

    Examples
    --------
    >>> month_index("2025-01") - month_index("2024-01")
    12
    """
    year, mon = month.split("-")
    return int(year) * 12 + int(mon) - 1


def add_months(month: str, offset: int) -> str:
    """The ``'YYYY-MM'`` label ``offset`` months after ``month``.

    Examples
    --------
    >>> add_months("2025-11", 3)
    '2026-02'
    """
    year, mon0 = divmod(month_index(month) + offset, 12)
    return f"{year:04d}-{mon0 + 1:02d}"


def month_start_date(month: str, offset: int = 0) -> dt.date:
    """First day of the month ``offset`` months after ``month``."""
    year, mon0 = divmod(month_index(month) + offset, 12)
    return dt.date(year, mon0 + 1, 1)


def normalise_month(text: str) -> str:
    """Check a ``'YYYY-MM'`` label and return it zero-padded; ValueError otherwise.

    Examples
    --------
    >>> normalise_month("2025-1")
    '2025-01'
    """
    parts = text.split("-")
    if len(parts) != 2 or not all(p.isdigit() for p in parts) or not 1 <= int(parts[1]) <= 12:
        raise ValueError("expected a month as 'YYYY-MM'")
    return f"{int(parts[0]):04d}-{int(parts[1]):02d}"
