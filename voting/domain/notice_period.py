"""The objection period of a 公示, counted in working days.

A working day is Monday to Friday. Statutory holidays and the Saturdays worked in their
place (调休) are not modelled: they change every year by State Council notice, and a street
that publishes across a holiday lengthens its period (``objection_days``) instead. The
period runs from the day after the decision to the end of the N-th working day, local time.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DEFAULT_OBJECTION_DAYS = 5
SATURDAY = 5


def is_working_day(day: date) -> bool:
    """Monday to Friday."""
    return day.weekday() < SATURDAY


def add_working_days(start: date, days: int) -> date:
    """The ``days``-th working day after ``start`` (``start`` itself never counts)."""
    if days < 1:
        raise ValueError("days must be at least 1")
    day, counted = start, 0
    while counted < days:
        day += timedelta(days=1)
        counted += is_working_day(day)
    return day


def objections_close_at(decided_at: datetime, days: int, zone: ZoneInfo) -> datetime:
    """The instant the period ends: local midnight after its last working day (aware)."""
    last = add_working_days(decided_at.astimezone(zone).date(), days)
    return datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone)


def period_open(now: datetime, close_at: datetime) -> bool:
    """Objections are taken until the close instant."""
    return now < close_at
