"""Report periods: half-open Shanghai dates. A weekly report covers an ISO week (Monday to Sunday), a monthly one a
calendar month; a period is due once it has ended."""

import datetime as dt

from aftercare.org.calendar import month_add

from ..mail_models import ReportKind


def period_of(kind: str, day: dt.date) -> tuple[dt.date, dt.date]:
    """The `[start, end)` of the week or month that contains `day`."""
    if kind == ReportKind.WEEKLY:
        start = day - dt.timedelta(days=day.weekday())
        return start, start + dt.timedelta(days=7)
    if kind == ReportKind.MONTHLY:
        start = day.replace(day=1)
        return start, month_add(start, 1)
    raise ValueError(f"unknown report kind {kind!r}")


def last_ended_period(kind: str, today: dt.date) -> tuple[dt.date, dt.date]:
    """The latest period that has ended by `today` (Shanghai): last week on any day of this week, last month on
    any day of this month."""
    start, _end = period_of(kind, today)
    return period_of(kind, start - dt.timedelta(days=1))
