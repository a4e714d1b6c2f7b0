"""The simulation clock: same-time phase ordering of a month's events.

simpy's ``Environment`` is the only clock; ``env.now`` is in months since the run's start
month. Several things happen at the same month, and their order matters: state changes
(hardware, training progress, model retirement, exits) first, then strategy reviews, then
pricing, then market clearing, then recording. simpy orders events at the same time by
priority, then by insertion; :func:`at_phase` schedules a wake-up with the phase as its
priority, so the order holds whatever order the processes were started in.
"""

from __future__ import annotations

from enum import IntEnum

import simpy
from simpy.events import NORMAL, Event

__all__ = ["Phase", "at_phase"]


class Phase(IntEnum):
    """Same-month order of the simulation's processes (lower runs first)."""

    STATE = NORMAL  # plain simpy timeouts: hardware, training runs
    HOUSEKEEPING = NORMAL + 1  # models age out, firms raise money or exit
    STRATEGY = NORMAL + 2  # strategy reviews
    PRICING = NORMAL + 3
    CLEARING = NORMAL + 4
    RECORDING = NORMAL + 5
    LEARNING = NORMAL + 6  # customers: adoption spreads, usage follows prices


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
