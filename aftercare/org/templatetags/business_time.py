"""Template filters for business time (Asia/Shanghai)."""

import datetime as dt

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.translation import gettext

from aftercare.org.calendar import business_tz, deadline_day

register = template.Library()


@register.filter
def due_day(deadline: dt.datetime | None) -> dt.date | None:
    """The last business day of a half-open deadline: due before 2026-11-21 00:00 → 2026-11-20."""
    if deadline is None:
        return None
    return deadline_day(deadline)


@register.filter
def due_text(deadline: dt.datetime | None, fmt: str = "Y-m-d") -> str:
    """One way to show a half-open deadline everywhere: at a Shanghai midnight it is "by the end of" the day
    before (as the notifications say), otherwise "before" the instant. `fmt`: the date format of that day."""
    if deadline is None:
        return "—"
    local = timezone.localtime(deadline, business_tz())
    if local.time() == dt.time(0, 0):
        return gettext("by the end of %(day)s") % {"day": date_format(due_day(deadline), fmt)}
    return gettext("before %(when)s") % {"when": date_format(local, f"{fmt} H:i")}
