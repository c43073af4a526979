"""Reads for the organisation: stores in scope, staff, and the work calendar."""

import datetime as dt
from zoneinfo import ZoneInfo

import chinese_calendar
from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from .models import Staff, Store, WorkCalendarDay
from .scoping import visible_store_ids

BUSINESS_TZ = ZoneInfo(settings.BUSINESS_TIME_ZONE)


def store_list(*, user):
    """Stores the user may see."""
    return Store.objects.filter(id__in=visible_store_ids(user)).select_related("region", "group")


def staff_list(*, user):
    """Staff working in the stores the user may see."""
    return (
        Staff.objects.filter(stores__in=visible_store_ids(user))
        .select_related("user", "department")
        .distinct()
    )


def staff_mobiles(user_ids) -> dict[int, str]:
    """`{user id: mobile}` of the staff among `user_ids` who have one; core's SMS lookup (`OrgConfig.ready`)."""
    return dict(Staff.objects.filter(user_id__in=user_ids).exclude(mobile="").values_list("user_id", "mobile"))


def job_alert_recipients() -> list[tuple[int, list]]:
    """`[(store id, users)]`: active staff whose role may see the jobs page, each under their first store (else the
    first store of their group); who core's schedule tells of a failed or late job (`OrgConfig.ready`)."""
    from .permissions import ROLE_PERMISSIONS, Perm

    roles = [role for role, perms in ROLE_PERMISSIONS.items() if Perm.JOBS_VIEW in perms]
    first_of_group = {}
    for store_id, group_id in Store.objects.order_by("-id").values_list("id", "group_id"):
        first_of_group[group_id] = store_id
    by_store: dict[int, list] = {}
    staff = Staff.objects.filter(role__in=roles, user__is_active=True).select_related("user")
    for member in staff.prefetch_related("stores").order_by("pk"):
        store_ids = sorted(s.pk for s in member.stores.all())
        store_id = store_ids[0] if store_ids else first_of_group.get(member.group_id)
        if store_id is not None:
            by_store.setdefault(store_id, []).append(member.user)
    return sorted(by_store.items())


# --- work calendar -------------------------------------------------------


def business_date(moment: dt.datetime | None = None) -> dt.date:
    """The Asia/Shanghai calendar date of a UTC instant (00:30 Shanghai is already the next day)."""
    moment = moment or timezone.now()
    return timezone.localtime(moment, BUSINESS_TZ).date()


def business_day_start(day: dt.date) -> dt.datetime:
    """00:00 Asia/Shanghai of `day`, as UTC: the half-open bound of business days and months."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=BUSINESS_TZ).astimezone(dt.UTC)


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


def _statutory_workday(day: dt.date) -> bool:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:  # outside the years the library knows: Mon–Fri
        return day.weekday() < 5


def is_workday(store, day: dt.date) -> bool:
    """Whether `day` is a working day for `store` (statutory calendar + overrides)."""
    return _overrides(store, day, day).get(day, _statutory_workday(day))


def add_working_days(store, start: dt.date, n: int) -> dt.date:
    """The date `n` working days after `start` (n=0: `start` itself if a workday, else the next one)."""
    if n < 0:
        raise ValueError("n must be >= 0")
    horizon = start + dt.timedelta(days=n * 3 + 40)
    overrides = _overrides(store, start, horizon)

    def workday(d: dt.date) -> bool:
        return overrides.get(d, _statutory_workday(d))

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
        if overrides.get(day, _statutory_workday(day)):
            count += 1
    return count


def working_deadline(store, moment: dt.datetime, n: int) -> dt.datetime:
    """Deadline `n` working days after an instant: end of that business day (Shanghai), as UTC.

    Returned as the half-open bound: 00:00 Shanghai of the day after the due date.
    """
    return business_day_start(add_working_days(store, business_date(moment), n) + dt.timedelta(days=1))
