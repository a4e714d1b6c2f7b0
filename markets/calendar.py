"""Calendar months: ``'YYYY-MM'`` labels and offsets between them.

Simulation time is in months since a run's start month; tables also carry the calendar
date, and some parameters follow calendar time (e.g. the open-weights release lag).
"""

from __future__ import annotations

import datetime as dt
import functools

__all__ = ["add_months", "month_index", "month_start_date", "normalise_month"]


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
