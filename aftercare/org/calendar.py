"""Business time: the business time zone (Asia/Shanghai by default), its days and months, and working days.

Instants are stored in UTC; days and months are those of the business time zone (`core.timezones.business_tz`,
re-exported here for the apps above org). Every range is half-open, `[start, end)`: a day or month ends at 00:00
of the next one, so an instant belongs to exactly one of them. Working days come from China's statutory calendar
(`chinese-calendar`: holidays and make-up working days) overridden by `WorkCalendarDay` rows, group-wide or per
store (the store's own row wins). See docs/architecture.md, "Time".
"""

import calendar
import datetime as dt

import chinese_calendar
from django.db.models import F, Q
from django.utils import timezone

from aftercare.core.timezones import business_tz

from .models import WorkCalendarDay

__all__ = [
    "add_working_days",
    "business_date",
    "business_day_start",
    "business_tz",
    "day_range",
    "deadline_day",
    "is_workday",
    "month_add",
    "month_range",
    "month_start",
    "statutory_workday",
    "week_start",
    "working_days_between",
    "working_deadline",
]


# ---- days and months ---------------------------------------------------------------------------------------------


def business_date(moment: dt.datetime | None = None) -> dt.date:
    """The Asia/Shanghai calendar date of a UTC instant (00:30 Shanghai is already the next day); default now."""
    moment = moment or timezone.now()
    return timezone.localtime(moment, business_tz()).date()


def business_day_start(day: dt.date) -> dt.datetime:
    """00:00 Asia/Shanghai of `day`, as UTC: the half-open bound of business days and months."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=business_tz()).astimezone(dt.UTC)


def deadline_day(deadline: dt.datetime) -> dt.date:
    """The last business day of a half-open deadline: due before 2026-11-21 00:00 Shanghai → 2026-11-20 (one
    microsecond earlier is still inside it)."""
    return business_date(deadline - dt.timedelta(microseconds=1))


def week_start(at: dt.datetime) -> dt.datetime:
    """Monday 00:00 Asia/Shanghai of the week of the instant `at`, as UTC (the weekly caps' calendar week)."""
    day = business_date(at)
    return business_day_start(day - dt.timedelta(days=day.weekday()))


def day_range(since: dt.date | None, until: dt.date | None) -> tuple[dt.datetime | None, dt.datetime | None]:
    """Half-open `[since, until)` in Shanghai days as UTC instants (either end may be open: None)."""
    return (business_day_start(since) if since else None, business_day_start(until) if until else None)


def month_start(value: dt.date | dt.datetime) -> dt.date:
    """The first day of the month of a date, or of an instant's Shanghai date (a naive datetime is taken as it is)."""
    if isinstance(value, dt.datetime):
        if timezone.is_aware(value):
            value = value.astimezone(business_tz())
        value = value.date()
    return value.replace(day=1)


def month_add(month: dt.date, n: int) -> dt.date:
    """The first day of the month `n` months after (n < 0: before) the month of `month`: December + 1 = January."""
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def add_months(day: dt.date, months: int) -> dt.date:
    """`day` + `months` calendar months (months < 0: before), the day kept or the month's last: 31 January + 1 =
    28 (29) February, 31 August − 6 = 28 (29) February."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def month_range(month: dt.date | dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The Shanghai month of `month` (any day in it, or an instant) as UTC instants, half-open: `[1st 00:00, next
    month's 1st 00:00)`."""
    first = month_start(month)
    return business_day_start(first), business_day_start(month_add(first, 1))


# ---- working days ------------------------------------------------------------------------------------------------


def _overrides(store, start: dt.date, end: dt.date) -> dict[dt.date, bool]:
    """Calendar overrides in [start, end]: group-wide rows, then the store's own rows win."""
    store_id = getattr(store, "pk", store)
    rows = WorkCalendarDay.objects.filter(date__gte=start, date__lte=end).filter(
        Q(store__isnull=True) | Q(store_id=store_id)
    )
    out: dict[dt.date, bool] = {}
    for day, workday in rows.order_by(F("store_id").asc(nulls_first=True)).values_list(
        "date", "is_workday"
    ):
        out[day] = workday
    return out


def workday_map(store, start: dt.date, end: dt.date) -> dict[dt.date, bool]:
    """Whether each day of `[start, end]` is a working day for `store` (one query for the overrides)."""
    overrides = _overrides(store, start, end)
    out, day = {}, start
    while day <= end:
        out[day] = overrides.get(day, statutory_workday(day))
        day += dt.timedelta(days=1)
    return out


def statutory_holiday(day: dt.date) -> bool:
    """Whether `day` is a statutory public holiday (春节, 国庆 …), not merely a weekend; False outside the years
    the library knows."""
    try:
        on_holiday, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        return False
    return bool(on_holiday and name)


def statutory_workday(day: dt.date) -> bool:
    """Whether `day` is a working day by China's statutory calendar, without the group's or store's overrides
    (outside the years the library knows: Monday to Friday)."""
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:  # outside the years the library knows: Mon–Fri
        return day.weekday() < 5


def is_workday(store, day: dt.date) -> bool:
    """Whether `day` is a working day for `store` (statutory calendar + overrides)."""
    return _overrides(store, day, day).get(day, statutory_workday(day))


def add_working_days(store, start: dt.date, n: int) -> dt.date:
    """The date `n` working days after `start` (n=0: `start` itself if a workday, else the next one)."""
    if n < 0:
        raise ValueError("n must be >= 0")
    horizon = start + dt.timedelta(days=n * 3 + 40)
    overrides = _overrides(store, start, horizon)

    def workday(d: dt.date) -> bool:
        return overrides.get(d, statutory_workday(d))

    day = start
    if n == 0:
        while not workday(day):
            day += dt.timedelta(days=1)
        return day
    remaining = n
    while remaining:
        day += dt.timedelta(days=1)
        if day > horizon:
            overrides.update(_overrides(store, day, day + dt.timedelta(days=60)))
            horizon = day + dt.timedelta(days=60)
        if workday(day):
            remaining -= 1
    return day


def working_days_between(store, start: dt.date, end: dt.date) -> int:
    """Working days in the half-open range (start, end]."""
    if end <= start:
        return 0
    overrides = _overrides(store, start, end)
    count = 0
    day = start
    while day < end:
        day += dt.timedelta(days=1)
        if overrides.get(day, statutory_workday(day)):
            count += 1
    return count


def working_deadline(store, moment: dt.datetime, n: int) -> dt.datetime:
    """Deadline `n` working days after an instant: end of that business day (Shanghai), as UTC.

    Returned as the half-open bound: 00:00 Shanghai of the day after the due date.
    """
    return business_day_start(add_working_days(store, business_date(moment), n) + dt.timedelta(days=1))


CALENDAR_LOOKAHEAD_DAYS = 90  # how far ahead the work is planned (bookings, reminders, renewal contacts)


def statutory_years_unknown(today: dt.date, ahead_days: int = CALENDAR_LOOKAHEAD_DAYS) -> list[int]:
    """The years from `today` to `ahead_days` later whose statutory holidays `chinese-calendar` does not know yet
    (the State Council publishes them each November; the library follows some time later) and for which the group
    has entered no work-calendar override: on those years every weekday counts as a working day."""
    years = range(today.year, (today + dt.timedelta(days=ahead_days)).year + 1)
    unknown = []
    for year in years:
        try:
            chinese_calendar.is_workday(dt.date(year, 1, 1))
        except NotImplementedError:
            unknown.append(year)
    entered = set(WorkCalendarDay.objects.filter(store__isnull=True, date__year__in=unknown)
                  .values_list("date__year", flat=True).distinct()) if unknown else set()
    return [year for year in unknown if year not in entered]
