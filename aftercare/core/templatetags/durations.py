"""`{{ a_timedelta|hours }}`: a duration in hours to one decimal (the sales hand-over's lag), "—" for None."""

import datetime as dt

from django import template

register = template.Library()


@register.filter
def hours(value: dt.timedelta | None) -> str:
    if value is None:
        return "—"
    return f"{value.total_seconds() / 3600:.1f}"
