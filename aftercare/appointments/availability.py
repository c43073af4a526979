"""Free slots: the store's capacity (bays, opening hours on its work calendar, caps, walk-in share, day
overrides) minus its bookings, for a range of Shanghai days. Pure reads, a constant number of queries whatever
the range; the booking services check a slot with the same code under the day's lock."""

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone

from aftercare.org.calendar import business_date, business_day_start, business_tz, statutory_holiday, workday_map

from .choices import HOLDING_STATES, BayKind, BookingSource
from .models import AppointmentSettings, Bay, Booking, BookingSlot, DayOverride, KindCap, OpeningHours, ServiceKind

# an order settled this many days after the appointment's day still came from it (a repair over several days)
MATCH_DAYS = 7


def match_candidates_window(booking: Booking) -> tuple[dt.datetime, dt.datetime]:
    """The repair orders a booking may be matched to by hand: its vehicle's, settled from 7 days before the
    appointment's day to 7 days after (half-open UTC range). Pure: the day board's candidates and the manual
    match's check."""
    day = business_date(booking.start_at)
    return (business_day_start(day - dt.timedelta(days=MATCH_DAYS)),
            business_day_start(day + dt.timedelta(days=MATCH_DAYS + 1)))


# a free slot goes to the first free bay in this order: the dedicated appointment bay first
BAY_PREFERENCE = {BayKind.APPOINTMENT: 0, BayKind.GENERAL: 1, BayKind.EXPRESS: 2}


@dataclass
class Day:
    date: dt.date
    open: bool
    opens: dt.time | None = None
    closes: dt.time | None = None
    cap: int | None = None
    why_closed: str = ""  # "holiday", "closed", "override"
    booked: int = 0  # bookings that day (holding states)
    free: list[tuple[dt.datetime, int]] = field(default_factory=list)  # (start, bay id) of each free start
    full: bool = False  # open but nothing free for the kinds asked


@dataclass
class Capacity:
    """What the store has, read once (`capacity_read`)."""

    store_id: int
    settings: AppointmentSettings
    bays: list[Bay]
    hours: dict[int, OpeningHours]
    kind_caps: dict[tuple[int, int], int]  # (weekday, service kind id) → cap


def capacity_read(store_id: int) -> Capacity:
    settings = AppointmentSettings.objects.filter(store_id=store_id).first() or AppointmentSettings(
        store_id=store_id
    )
    bays = sorted(Bay.objects.filter(store_id=store_id, is_active=True), key=lambda b: (BAY_PREFERENCE[b.kind], b.pk))
    hours = {h.weekday: h for h in OpeningHours.objects.filter(store_id=store_id)}
    caps = {(c.weekday, c.service_kind_id): c.cap for c in KindCap.objects.filter(store_id=store_id)}
    return Capacity(store_id, settings, bays, hours, caps)


def booking_length(capacity: Capacity, kinds: list[ServiceKind]) -> int:
    """How many slots a booking of `kinds` takes (their durations added, rounded up to whole slots; one if none)."""
    minutes = sum(k.duration_minutes for k in kinds) or capacity.settings.slot_minutes
    return max(1, math.ceil(minutes / capacity.settings.slot_minutes))


def bays_for(capacity: Capacity, kinds: list[ServiceKind]) -> list[Bay]:
    """The bays that take every kind asked (all bays when none is asked)."""
    return [b for b in capacity.bays if all(b.kind in k.bay_kinds for k in kinds)]


def day_plans(capacity: Capacity, start: dt.date, end: dt.date) -> dict[dt.date, Day]:
    """Open or closed, hours and cap of each day of `[start, end]`: a statutory holiday is closed, and so is a
    weekday the work calendar makes a day off (a holiday the group or store entered, e.g. a year `chinese-calendar`
    does not know yet); a make-up working day has its weekday's hours (or Monday's when that weekday is normally
    closed); an appointment day override wins."""
    workdays = workday_map(capacity.store_id, start, end)
    overrides = {o.date: o for o in DayOverride.objects.filter(store_id=capacity.store_id, date__gte=start,
                                                                 date__lte=end)}
    out = {}
    day = start
    while day <= end:
        hours = capacity.hours.get(day.weekday())
        if hours is None and workdays[day] and day.weekday() >= 5:  # a make-up working day (调休)
            hours = capacity.hours.get(0)
        plan = Day(day, open=hours is not None, opens=hours and hours.opens_at, closes=hours and hours.closes_at,
                   cap=hours and hours.daily_cap, why_closed="" if hours else "closed")
        if plan.open and not workdays[day] and (day.weekday() < 5 or statutory_holiday(day)):
            plan.open, plan.why_closed = False, "holiday"
        override = overrides.get(day)
        if override is not None:
            if override.closed:
                plan.open, plan.why_closed = False, "override"
            elif override.opens_at is not None:
                plan.open, plan.opens, plan.closes, plan.why_closed = True, override.opens_at, override.closes_at, ""
            if override.daily_cap is not None and plan.open:
                plan.cap = override.daily_cap
        out[day] = plan
        day += dt.timedelta(days=1)
    return out


def _starts(capacity: Capacity, plan: Day) -> list[dt.datetime]:
    """The slot starts of an open day, as aware UTC instants."""
    tz = business_tz()
    step = dt.timedelta(minutes=capacity.settings.slot_minutes)
    at = dt.datetime.combine(plan.date, plan.opens, tzinfo=tz)
    closes = dt.datetime.combine(plan.date, plan.closes, tzinfo=tz)
    out = []
    while at + step <= closes:
        out.append(at.astimezone(dt.UTC))
        at += step
    return out


def availability(
    *, store_id: int, start: dt.date, end: dt.date, kinds: list[ServiceKind] | None = None,
    now: dt.datetime | None = None, capacity: Capacity | None = None, exclude_booking_id: int | None = None,
) -> list[Day]:
    """Each day of `[start, end]` with its free starts for a booking of `kinds` (a start is free when a bay that
    takes every kind has all the booking's slots free, the day is open, its caps and the walk-in share are not
    reached, and it is after `now` and within the booking horizon). `exclude_booking_id`: as if that booking
    (being moved) held nothing."""
    kinds = list(kinds or [])
    now = now or timezone.now()
    capacity = capacity or capacity_read(store_id)
    plans = day_plans(capacity, start, end)
    lo, hi = business_day_start(start), business_day_start(end + dt.timedelta(days=1))
    held_rows = BookingSlot.objects.filter(store_id=store_id, start_at__gte=lo, start_at__lt=hi)
    bookings = Booking.objects.filter(store_id=store_id, start_at__gte=lo, start_at__lt=hi, state__in=HOLDING_STATES)
    bookings = bookings.exclude(source=BookingSource.WALK_IN)  # walk-ins use the held-back share, not the caps
    if exclude_booking_id is not None:
        held_rows = held_rows.exclude(booking_id=exclude_booking_id)
        bookings = bookings.exclude(pk=exclude_booking_id)
    held: dict[dt.date, set[tuple[int, dt.datetime]]] = defaultdict(set)
    tz = business_tz()
    for bay_id, at in held_rows.values_list("bay_id", "start_at"):
        held[at.astimezone(tz).date()].add((bay_id, at))
    # bookings per Shanghai day counted by the database: a month's ~1,000 timestamps are not worth loading
    # (docs/benchmarks.md, "Appointments")
    per_day: dict[dt.date, int] = defaultdict(int)
    for day, n in bookings.annotate(day=TruncDate("start_at", tzinfo=tz)).values_list("day").annotate(
        n=Count("id")
    ).order_by():
        per_day[day] += n
    per_kind: dict[tuple[dt.date, int], int] = defaultdict(int)
    if capacity.kind_caps and kinds:
        through = Booking.kinds.through.objects.filter(booking__in=bookings, servicekind_id__in=[k.pk for k in kinds])
        for day, kind_id, n in through.annotate(day=TruncDate("booking__start_at", tzinfo=tz)).values_list(
            "day", "servicekind_id"
        ).annotate(n=Count("id")).order_by():
            per_kind[(day, kind_id)] += n
    length = booking_length(capacity, kinds)
    bays = bays_for(capacity, kinds)
    horizon = now + dt.timedelta(days=capacity.settings.booking_horizon_days)
    step = dt.timedelta(minutes=capacity.settings.slot_minutes)
    out = []
    for day, plan in plans.items():
        plan.booked = per_day.get(day, 0)
        out.append(plan)
        if not plan.open:
            continue
        starts = _starts(capacity, plan)
        taken = held.get(day, set())
        total = len(capacity.bays) * len(starts)
        bookable = total - math.floor(total * capacity.settings.walk_in_share / 100) - len(taken)
        capped = plan.cap is not None and plan.booked >= plan.cap
        capped = capped or any(
            per_kind.get((day, k.pk), 0) >= capacity.kind_caps[(day.weekday(), k.pk)]
            for k in kinds if (day.weekday(), k.pk) in capacity.kind_caps
        )
        if capped or bookable < length or not bays:
            plan.full = True
            continue
        for at in starts[: len(starts) - length + 1]:
            if at <= now or at > horizon:
                continue
            span = [at + step * j for j in range(length)]
            bay = next((b for b in bays if all((b.pk, s) not in taken for s in span)), None)
            if bay is not None:
                plan.free.append((at, bay.pk))
        plan.full = not plan.free
    return out
