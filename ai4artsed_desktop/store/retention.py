"""Time windows for deleting runs: a local calendar day, a date range, a retention cut-off.

Run times are stored in UTC; the user thinks in local days, so every bound here is the
start of a local day converted to POSIX seconds.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta


def local_day_start(day: date) -> float:
    """POSIX seconds of local midnight at the start of ``day``.

    A ``datetime`` is taken as an exact moment instead (naive = local time).
    """
    if isinstance(day, datetime):
        return day.timestamp()
    return datetime.combine(day, time.min).astimezone().timestamp()


def local_day_bounds(day: date) -> tuple[float, float]:
    """``[start, end)`` of the local calendar day ``day`` in POSIX seconds."""
    return local_day_start(day), local_day_start(day + timedelta(days=1))


def date_range(date_from: date | None, date_to: date | None) -> tuple[float | None, float | None]:
    """``[since, until)`` for a search from ``date_from`` through ``date_to`` (both inclusive).

    Whole days when given dates; exact moments when given datetimes.
    """
    since = None if date_from is None else local_day_start(date_from)
    if date_to is None:
        until = None
    elif isinstance(date_to, datetime):
        until = date_to.timestamp()
    else:
        until = local_day_start(date_to + timedelta(days=1))
    return since, until


def retention_cutoff(days: int, now: datetime | None = None) -> float | None:
    """Runs created before the returned POSIX time are older than ``days`` days.

    ``days <= 0`` means "keep everything" and gives None. The cut-off is local midnight,
    so a run is kept for ``days`` whole calendar days after the day it was made.

    Raises:
        ValueError: ``days`` is not an int.
    """
    if isinstance(days, bool) or not isinstance(days, int):
        raise ValueError(f"retention days must be an int, not {days!r}")
    if days <= 0:
        return None
    today = (now or datetime.now()).astimezone().date()
    return local_day_start(today - timedelta(days=days))
