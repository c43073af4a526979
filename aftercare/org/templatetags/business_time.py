"""Template filters for business time (Asia/Shanghai)."""

import datetime as dt

from django import template

from aftercare.org.calendar import business_date

register = template.Library()


@register.filter
def due_day(deadline: dt.datetime | None) -> dt.date | None:
    """The last business day of a half-open deadline: due before 2026-11-21 00:00 → 2026-11-20."""
    if deadline is None:
        return None
    return business_date(deadline - dt.timedelta(microseconds=1))
