"""Scoped reads of the appointment measures (docs/kpis.md, "Service appointments"): the appointment rate of the
repair orders, show and no-show rates, lead time and bay use per store-month, and the peak load by weekday and hour.

Set-based: `appointment_monthly` reads every store and month of a range in three queries (repair orders grouped
by store and Shanghai month, bookings grouped likewise, and the bookings' two instants for the median lead time);
`bay_use` reads each store's capacity once (`availability.capacity_read`, `day_plans`: six queries a store,
whatever the number of days or bookings) and its bookings in one query; `peak_load` two queries.

- Appointment rate: repair orders (`customers.RepairOrder`) by the Shanghai month of `settled_at`; internal orders
  and car washes are left out (`EXCLUDED_KINDS`): neither is a customer's workshop visit an advisor books.
- Show / no-show: bookings by the Shanghai month of their start; cancelled ones left out; arrived / (arrived +
  no-show). A booking still open (booked, confirmed) counts in neither.
- Lead time: median days from the booking made (`created_at`) to its start, bookings not cancelled.
- Bay use: booked bay-minutes (bookings not cancelled) / open bay-minutes (active bays × opening hours of the open
  days, holidays and overrides applied), per weekday × hour and for the month.
"""

import datetime as dt
import statistics
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Q
from django.db.models.functions import ExtractHour, ExtractWeekDay, TruncMonth

from aftercare.customers.choices import RepairKind
from aftercare.customers.models import RepairOrder
from aftercare.org.calendar import business_tz, day_range, month_add, month_range
from aftercare.org.kpis import rate
from aftercare.org.permissions import Perm, has_perm
from aftercare.org.scoping import visible_store_ids

from .availability import capacity_read, day_plans
from .choices import BookingState
from .models import Booking

# repair orders that are not a customer's workshop visit: left out of the appointment rate
EXCLUDED_KINDS = (RepairKind.INTERNAL, RepairKind.WASH)
FIELDS = ("orders", "orders_booked", "bookings", "arrived", "no_show", "open", "cancelled")


def store_ids_scoped(user, store_ids=None) -> frozenset[int]:
    """The stores of `store_ids` (default: all) the user sees, if the user may see the appointment board."""
    if not has_perm(user, Perm.APPOINTMENT_BOARD):
        return frozenset()
    visible = visible_store_ids(user)
    return visible if store_ids is None else visible & frozenset(store_ids)


def empty_figures() -> dict:
    return {**{name: 0 for name in FIELDS}, "lead_days": []}


def with_rates(f: dict) -> dict:
    """The figures of a store-month (or a sum) with their rates and the median lead time."""
    shown = f["arrived"] + f["no_show"]
    lead = f["lead_days"]
    return {
        **{k: f[k] for k in FIELDS},
        "appointment_rate": rate(f["orders_booked"], f["orders"]),
        "show_rate": rate(f["arrived"], shown),
        "no_show_rate": rate(f["no_show"], shown),
        "lead_time_days": Decimal(str(statistics.median(lead))).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
        if lead else None,
        "lead_count": len(lead),
    }


def add_figures(into: dict, other: dict) -> dict:
    for k in FIELDS:
        into[k] += other[k]
    into["lead_days"] = into["lead_days"] + other["lead_days"]
    return into


def _month(value) -> dt.date:
    if isinstance(value, dt.datetime):
        value = value.astimezone(business_tz()) if value.tzinfo else value
        return value.date().replace(day=1)
    return value.replace(day=1)


def appointment_monthly(*, user, store_ids=None, since: dt.date, until: dt.date) -> dict[int, dict[dt.date, dict]]:
    """{store id: {first of month: figures}} for the Shanghai months of `[since, until)` (first days of months),
    the stores in scope. Three queries."""
    ids = store_ids_scoped(user, store_ids)
    out: dict[int, dict[dt.date, dict]] = {sid: {} for sid in ids}
    if not ids:
        return out
    lo, hi = day_range(since, until)
    tz = business_tz()

    def cell(sid, month):
        return out.setdefault(sid, {}).setdefault(_month(month), empty_figures())

    orders = (RepairOrder.objects.filter(store_id__in=ids, settled_at__gte=lo, settled_at__lt=hi)
              .exclude(kind__in=EXCLUDED_KINDS)
              .annotate(month=TruncMonth("settled_at", tzinfo=tz)).values("store_id", "month")
              .annotate(n=Count("id"), booked=Count("id", filter=Q(booked=True))).order_by())
    for row in orders:
        c = cell(row["store_id"], row["month"])
        c["orders"] += row["n"]
        c["orders_booked"] += row["booked"]
    bookings = Booking.objects.filter(store_id__in=ids, start_at__gte=lo, start_at__lt=hi)
    counts = (bookings.annotate(month=TruncMonth("start_at", tzinfo=tz)).values("store_id", "month")
              .annotate(
                  n=Count("id", filter=~Q(state=BookingState.CANCELLED)),
                  arrived=Count("id", filter=Q(state=BookingState.ARRIVED)),
                  no_show=Count("id", filter=Q(state=BookingState.NO_SHOW)),
                  open=Count("id", filter=Q(state__in=(BookingState.BOOKED, BookingState.CONFIRMED))),
                  cancelled=Count("id", filter=Q(state=BookingState.CANCELLED)),
              ).order_by())
    for row in counts:
        c = cell(row["store_id"], row["month"])
        c["bookings"] += row["n"]
        for k in ("arrived", "no_show", "open", "cancelled"):
            c[k] += row[k]
    rows = bookings.exclude(state=BookingState.CANCELLED).values_list("store_id", "start_at", "created_at")
    for sid, start_at, created_at in rows.iterator(chunk_size=5000):
        days = max(0.0, (start_at - created_at).total_seconds() / 86400)
        cell(sid, start_at)["lead_days"].append(days)
    return out


def _hours_of(start: dt.datetime, end: dt.datetime):
    """(weekday, hour, minutes) of the Shanghai interval `[start, end)`, split at each whole hour."""
    tz = business_tz()
    at, end = start.astimezone(tz), end.astimezone(tz)
    while at < end:
        nxt = min(end, (at + dt.timedelta(hours=1)).replace(minute=0, second=0, microsecond=0))
        yield at.weekday(), at.hour, (nxt - at).total_seconds() / 60
        at = nxt


def bay_use(*, user, store_ids=None, month: dt.date) -> dict:
    """Booked bay-minutes / open bay-minutes of the stores in scope in `month`: per store, and per weekday × hour
    summed over the stores. {"stores": {id: {"booked": min, "open": min, "rate": %}}, "grid": {(weekday, hour):
    {"booked", "open", "rate"}}, "booked", "open", "rate"}. Six queries a store plus one."""
    ids = sorted(store_ids_scoped(user, store_ids))
    month = month.replace(day=1)
    last = month_add(month, 1) - dt.timedelta(days=1)
    grid: dict[tuple[int, int], dict] = defaultdict(lambda: {"booked": 0.0, "open": 0.0})
    stores: dict[int, dict] = {}
    for sid in ids:
        capacity = capacity_read(sid)
        bays = len(capacity.bays)
        opened = 0.0
        tz = business_tz()
        for plan in day_plans(capacity, month, last).values():
            if not plan.open or not bays:
                continue
            start = dt.datetime.combine(plan.date, plan.opens, tzinfo=tz)
            end = dt.datetime.combine(plan.date, plan.closes, tzinfo=tz)
            for weekday, hour, minutes in _hours_of(start, end):
                grid[(weekday, hour)]["open"] += minutes * bays
                opened += minutes * bays
        stores[sid] = {"booked": 0.0, "open": opened}
    lo, hi = month_range(month)
    rows = (Booking.objects.filter(store_id__in=ids, start_at__gte=lo, start_at__lt=hi)
            .exclude(state=BookingState.CANCELLED).values_list("store_id", "start_at", "end_at"))
    for sid, start_at, end_at in rows:
        for weekday, hour, minutes in _hours_of(start_at, end_at):
            grid[(weekday, hour)]["booked"] += minutes
            stores[sid]["booked"] += minutes
    for cell in [*grid.values(), *stores.values()]:
        cell["rate"] = rate(round(cell["booked"]), round(cell["open"]))
    booked = sum(s["booked"] for s in stores.values())
    opened = sum(s["open"] for s in stores.values())
    return {"stores": stores, "grid": dict(grid), "booked": booked, "open": opened,
            "rate": rate(round(booked), round(opened))}


def peak_load(*, user, store_ids=None, month: dt.date) -> dict[tuple[int, int], dict]:
    """{(weekday 0 = Monday, hour): {"bookings", "walk_ins"}} of `month`: bookings not cancelled by their start,
    walk-ins (repair orders not booked, internal orders and washes left out) by the hour the order was settled —
    the DMS gives no arrival time. Shanghai time. Two queries."""
    ids = store_ids_scoped(user, store_ids)
    out: dict[tuple[int, int], dict] = defaultdict(lambda: {"bookings": 0, "walk_ins": 0})
    if not ids:
        return {}
    lo, hi = month_range(month)
    tz = business_tz()
    # ExtractWeekDay: 1 = Sunday … 7 = Saturday
    booked = (Booking.objects.filter(store_id__in=ids, start_at__gte=lo, start_at__lt=hi)
              .exclude(state=BookingState.CANCELLED)
              .annotate(wd=ExtractWeekDay("start_at", tzinfo=tz), hr=ExtractHour("start_at", tzinfo=tz))
              .values("wd", "hr").annotate(n=Count("id")).order_by())
    for row in booked:
        out[((row["wd"] + 5) % 7, row["hr"])]["bookings"] += row["n"]
    walk = (RepairOrder.objects.filter(store_id__in=ids, settled_at__gte=lo, settled_at__lt=hi, booked=False)
            .exclude(kind__in=EXCLUDED_KINDS)
            .annotate(wd=ExtractWeekDay("settled_at", tzinfo=tz), hr=ExtractHour("settled_at", tzinfo=tz))
            .values("wd", "hr").annotate(n=Count("id")).order_by())
    for row in walk:
        out[((row["wd"] + 5) % 7, row["hr"])]["walk_ins"] += row["n"]
    return dict(out)


def months_range(month: dt.date, until: dt.date | None = None) -> tuple[dt.datetime, dt.datetime]:
    """The Shanghai months from `month` up to `until` (a month, not included; default the month after `month`) as
    UTC instants, half-open."""
    lo, hi = month_range(month)
    return lo, (month_range(until.replace(day=1))[0] if until is not None else hi)


def repair_orders_of_month(*, user, store_ids=None, month: dt.date, booked: bool | None = None,
                           until: dt.date | None = None):
    """The repair orders counted in a month's appointment rate (drill-down; the months up to `until` for a quarter
    or a year), newest first."""
    ids = store_ids_scoped(user, store_ids)
    lo, hi = months_range(month, until)
    qs = RepairOrder.objects.filter(store_id__in=ids, settled_at__gte=lo, settled_at__lt=hi).exclude(
        kind__in=EXCLUDED_KINDS)
    if booked is not None:
        qs = qs.filter(booked=booked)
    return qs.select_related("store", "vehicle").order_by("-settled_at", "-id")


def bookings_of_month(*, user, store_ids=None, month: dt.date, state: str | None = None,
                      weekday: int | None = None, hour: int | None = None, until: dt.date | None = None):
    """The bookings behind a month's figure (drill-down; the months up to `until` for a quarter or a year): by
    start month, optionally one state (or "shown": arrived and no-shows; "counted": not cancelled), weekday
    (0 = Monday) and hour, Shanghai time."""
    ids = store_ids_scoped(user, store_ids)
    lo, hi = months_range(month, until)
    qs = Booking.objects.filter(store_id__in=ids, start_at__gte=lo, start_at__lt=hi)
    if state == "shown":
        qs = qs.filter(state__in=(BookingState.ARRIVED, BookingState.NO_SHOW))
    elif state == "counted":
        qs = qs.exclude(state=BookingState.CANCELLED)
    elif state:
        qs = qs.filter(state=state)
    if weekday is not None or hour is not None:
        tz = business_tz()
        qs = qs.annotate(wd=ExtractWeekDay("start_at", tzinfo=tz), hr=ExtractHour("start_at", tzinfo=tz))
        if weekday is not None:
            qs = qs.filter(wd=(weekday + 1) % 7 + 1)
        if hour is not None:
            qs = qs.filter(hr=hour)
    return qs.select_related("store", "vehicle", "bay").order_by("start_at", "id")
