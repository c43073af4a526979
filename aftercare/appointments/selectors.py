"""Scoped reads of appointments. Every selector takes the acting user and reads only the stores they may see
(`org.scoping.visible_store_ids`); another store's id answers 404. Sections: the booking pages, waitlist, parts
list, start-page card and customer panel; the capacity settings and the advisor's day board (a constant number of
queries whatever the number of bookings); the roadside rescue log and its arrival time."""

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db.models import Count, Prefetch, Q, Value
from django.utils import timezone

from aftercare.complaints.models import DepartmentDesignee
from aftercare.customers.models import RepairOrder
from aftercare.org.calendar import business_date, business_day_start, day_range, month_range
from aftercare.org.choices import DepartmentKind, Role
from aftercare.org.models import Staff
from aftercare.org.permissions import Perm, has_perm
from aftercare.org.scoping import get_scoped_or_404, narrowed_store_ids, visible_store_ids

from .availability import match_candidates_window
from .choices import BookingSource, BookingState
from .models import (
    AppointmentSettings,
    Bay,
    Booking,
    DayOverride,
    KindCap,
    OpeningHours,
    RescueCall,
    ServiceKind,
    WaitlistEntry,
    WaitlistState,
)


def _scope(user, store_ids=None) -> frozenset[int]:
    ids = visible_store_ids(user)
    return ids if store_ids is None else ids & frozenset(store_ids)


def booking_list(*, user, store_ids=None):
    """The bookings of the stores in scope (narrowed to `store_ids`)."""
    return Booking.objects.filter(store_id__in=_scope(user, store_ids))


def booking_rows(bookings):
    """What a list of bookings shows, in a constant number of queries."""
    return bookings.select_related("store", "customer", "vehicle", "bay", "advisor__staff").prefetch_related("kinds")


def booking_get(*, user, booking_id: int) -> Booking:
    """One booking in scope, or 404."""
    return get_scoped_or_404(booking_rows(booking_list(user=user)), pk=booking_id)


def booking_day(bookings, day: dt.date):
    """The bookings starting on the Shanghai day `day`."""
    lo, hi = day_range(day, day + dt.timedelta(days=1))
    return bookings.filter(start_at__gte=lo, start_at__lt=hi)


def booking_narrow(bookings, *, day: dt.date | None = None, state: str = "", parts: bool = False):
    """The list's filters (the start-page card's links use exactly these)."""
    if day is not None:
        bookings = booking_day(bookings, day)
    if state == "active":
        bookings = bookings.exclude(state=BookingState.CANCELLED)
    elif state == "open":
        bookings = bookings.filter(state__in=(BookingState.BOOKED, BookingState.CONFIRMED))
    elif state:
        bookings = bookings.filter(state=state)
    if parts:
        bookings = bookings.exclude(parts_to_prepare="").exclude(state=BookingState.CANCELLED)
    return bookings.order_by("start_at", "pk")


def booking_customer_rows(*, user, customer, limit: int) -> tuple[list[Booking], list[Booking], int]:
    """The customer's upcoming (soonest first) and past (latest first) bookings, at most `limit` of each, and
    their no-show count, in one query (the customer-360 panel: each row carries the count; no rows, no no-shows)."""
    from django.db.models import IntegerField, OuterRef, Subquery
    from django.db.models.functions import Coalesce
    from django.utils import timezone

    now = timezone.now()
    mine = booking_list(user=user).filter(customer=customer)
    no_shows = (
        booking_list(user=user).filter(customer_id=OuterRef("customer_id"), state=BookingState.NO_SHOW)
        .values("customer_id").annotate(n=Count("pk")).values("n")
    )
    rows = list(
        mine.select_related("vehicle")
        .annotate(no_shows=Coalesce(Subquery(no_shows[:1], output_field=IntegerField()), Value(0)))
        .order_by("-start_at", "-pk")[: 2 * limit]
    )
    upcoming = [b for b in reversed(rows) if b.start_at >= now][:limit]
    past = [b for b in rows if b.start_at < now][:limit]
    return upcoming, past, rows[0].no_shows if rows else 0


def booking_events(booking: Booking):
    return booking.events.select_related("actor__staff").order_by("at", "pk")


def service_advisor_list(*, store_id: int):
    """The store's service advisors (the booking form's advisor choices)."""
    return (
        Staff.objects.filter(stores=store_id, role=Role.SERVICE_ADVISOR, user__is_active=True)
        .select_related("user").order_by("display_name")
    )


def waitlist_list(*, user, store_ids=None):
    return WaitlistEntry.objects.filter(store_id__in=_scope(user, store_ids))


def waitlist_rows(entries):
    return entries.select_related("store", "customer", "vehicle", "booking").prefetch_related("kinds")


def waitlist_narrow(entries, *, day: dt.date | None = None, state: str = "", now=None):
    if day is not None:
        entries = entries.filter(date=day)
    if state == "offered":  # offers pending: not yet expired
        entries = entries.filter(state=WaitlistState.OFFERED, offer_expires_at__gt=now)
    elif state == "open":
        entries = entries.filter(state__in=(WaitlistState.WAITING, WaitlistState.OFFERED))
    elif state:
        entries = entries.filter(state=state)
    return entries.order_by("date", "created_at", "pk")


def parts_store_ids(*, user, store_ids=None) -> frozenset[int]:
    """Stores whose parts list `user` may read: with `appointment.book` those in scope; a parts department's
    designee, the stores of the parts departments they are designee of."""
    scope = _scope(user, store_ids)
    if has_perm(user, Perm.APPOINTMENT_BOOK):
        return scope
    designee_of = DepartmentDesignee.objects.filter(
        user=user, department__kind=DepartmentKind.PARTS, department__store_id__in=scope
    ).values_list("department__store_id", flat=True)
    return frozenset(designee_of)


def parts_booking_list(*, user, store_ids=None):
    """The bookings whose parts list `user` may read (`parts_store_ids`)."""
    return Booking.objects.filter(store_id__in=parts_store_ids(user=user, store_ids=store_ids))


def parts_designees(*, store_id: int) -> list:
    """The users notified of parts to prepare: the designee of the store's parts department."""
    return [d.user for d in DepartmentDesignee.objects.filter(
        department__store_id=store_id, department__kind=DepartmentKind.PARTS).select_related("user")]


def booking_start_counts(*, user, store_ids, now, today: dt.date) -> dict:
    """The start-page card's numbers, in two aggregate queries: today's bookings (not cancelled), tomorrow's
    bookings not yet confirmed (`booked`), and the waitlist offers pending."""
    tomorrow = today + dt.timedelta(days=1)
    bookings = booking_list(user=user, store_ids=store_ids)
    t0, t1, t2 = (business_day_start(today), business_day_start(tomorrow),
                  business_day_start(tomorrow + dt.timedelta(days=1)))
    counts = bookings.aggregate(
        today=Count("pk", filter=Q(start_at__gte=t0, start_at__lt=t1) & ~Q(state=BookingState.CANCELLED)),
        unconfirmed=Count("pk", filter=Q(start_at__gte=t1, start_at__lt=t2, state=BookingState.BOOKED)),
    )
    counts["offers"] = waitlist_narrow(waitlist_list(user=user, store_ids=store_ids), state="offered",
                                       now=now).count()
    return counts


def bookings_made(vehicle_ids, since, until):
    """(vehicle id, made at) of the bookings made in `[since, until)` for `vehicle_ids`, cancelled ones left out:
    the bookings lookup of `customers/registry.py` (the care reminders' effectiveness; registered in `apps.py`)."""
    return (Booking.objects.filter(vehicle_id__in=vehicle_ids, created_at__gte=since, created_at__lt=until)
            .exclude(state=BookingState.CANCELLED).values_list("vehicle_id", "created_at"))


# ---- capacity settings and the day board ----

UNMATCHED_DAYS = 14  # the board lists unmatched appointments of the last two weeks


# ---- capacity settings ----


def appointment_capacity_get(*, user, store_id: int) -> dict:
    """The store's settings (unsaved defaults if none), bays, service kinds, opening hours {weekday: row}, kind caps
    and the day overrides from today on."""
    narrowed_store_ids(user, store_id)
    settings = AppointmentSettings.objects.filter(store_id=store_id).first() or AppointmentSettings(store_id=store_id)
    return {
        "settings": settings,
        "bays": list(Bay.objects.filter(store_id=store_id).order_by("-is_active", "name")),
        "kinds": list(ServiceKind.objects.filter(store_id=store_id).order_by("-is_active", "code")),
        "hours": {h.weekday: h for h in OpeningHours.objects.filter(store_id=store_id)},
        "caps": list(KindCap.objects.filter(store_id=store_id).select_related("service_kind")
                     .order_by("weekday", "service_kind__code")),
        "overrides": list(DayOverride.objects.filter(store_id=store_id, date__gte=business_date()).order_by("date")),
    }


def appointment_bay_get(*, user, pk: int) -> Bay:
    return get_scoped_or_404(Bay.objects.filter(store_id__in=_scope(user)), pk=pk)


def appointment_kind_get(*, user, pk: int) -> ServiceKind:
    return get_scoped_or_404(ServiceKind.objects.filter(store_id__in=_scope(user)), pk=pk)


def appointment_override_get(*, user, pk: int) -> DayOverride:
    return get_scoped_or_404(DayOverride.objects.filter(store_id__in=_scope(user)), pk=pk)


# ---- the day board ----

EXPECTED, LATE, SHOWN, NO_SHOW, WALK_IN, CANCELLED = "expected", "late", "shown", "no_show", "walk_in", "cancelled"
BOARD_STATES = (EXPECTED, LATE, SHOWN, NO_SHOW, WALK_IN, CANCELLED)


def board_state(booking: Booking, now: dt.datetime, grace_minutes: int) -> str:
    """Where a booking stands on the board: expected (not begun), late (begun, within the grace), shown (checked in),
    no-show (marked, or past the grace and not yet marked by the job), walk-in, cancelled."""
    if booking.state == BookingState.CANCELLED:
        return CANCELLED
    if booking.source == BookingSource.WALK_IN:
        return WALK_IN
    if booking.state == BookingState.ARRIVED:
        return SHOWN
    if booking.state == BookingState.NO_SHOW:
        return NO_SHOW
    if now < booking.start_at:
        return EXPECTED
    if now <= booking.start_at + dt.timedelta(minutes=grace_minutes):
        return LATE
    return NO_SHOW


def repair_order_board_get(*, user, pk: int) -> RepairOrder:
    return get_scoped_or_404(RepairOrder.objects.filter(store_id__in=_scope(user)), pk=pk)


def board_advisor_list(*, user, store_id: int) -> list:
    """The store's service advisors (users), by name."""
    narrowed_store_ids(user, store_id)
    return list(get_user_model().objects.filter(staff__role=Role.SERVICE_ADVISOR, staff__stores=store_id,
                                                 is_active=True).select_related("staff")
                .order_by("staff__display_name", "pk").distinct())


@dataclass
class Board:
    day: dt.date
    now: dt.datetime
    rows: list  # bookings of the day by time, each with `.board_state`
    counts: dict  # board state → how many
    unmatched: list  # bookings of past days without a repair order, each with `.candidates`
    grace_minutes: int


def _bookings():
    return Booking.objects.select_related(
        "customer", "vehicle", "bay", "advisor__staff", "repair_order"
    ).prefetch_related(Prefetch("kinds", queryset=ServiceKind.objects.order_by("code")))


def day_board(*, user, store_id: int, day: dt.date, advisor_id: int | None = None,
              now: dt.datetime | None = None) -> Board:
    """The store's bookings of `day` by time with their board state, counts per state, and the appointments of the
    last two weeks before `day` still without a repair order, each with the vehicle's repair orders of its day ± 7
    not matched to another appointment (for the manual match). Optionally only one advisor's. Constant queries."""
    narrowed_store_ids(user, store_id)
    now = now or timezone.now()
    grace = AppointmentSettings.objects.filter(store_id=store_id).values_list("no_show_grace_minutes", flat=True)
    grace = next(iter(grace), 30)
    lo, hi = day_range(day, day + dt.timedelta(days=1))
    qs = _bookings().filter(store_id=store_id)
    if advisor_id is not None:
        qs = qs.filter(advisor_id=advisor_id)
    rows = list(qs.filter(start_at__gte=lo, start_at__lt=hi).order_by("start_at", "pk"))
    counts = dict.fromkeys(BOARD_STATES, 0)
    for b in rows:
        b.board_state = board_state(b, now, grace)
        counts[b.board_state] += 1
    since = business_day_start(min(day, business_date(now)) - dt.timedelta(days=UNMATCHED_DAYS))
    today_start = business_day_start(min(day, business_date(now)) + dt.timedelta(days=1))
    unmatched = list(
        qs.filter(start_at__gte=since, start_at__lt=min(lo, today_start), repair_order__isnull=True)
        .exclude(state=BookingState.CANCELLED).order_by("-start_at", "pk")
    )
    if unmatched:
        windows = {b.pk: match_candidates_window(b) for b in unmatched}
        orders = RepairOrder.objects.filter(
            store_id=store_id, vehicle_id__in={b.vehicle_id for b in unmatched}, booking__isnull=True,
            settled_at__gte=min(lo for lo, _hi in windows.values()),
            settled_at__lt=max(hi for _lo, hi in windows.values()),
        ).only("pk", "vehicle_id", "ro_number", "settled_at", "kind", "booked").order_by("settled_at")
        by_vehicle = defaultdict(list)
        for ro in orders:
            by_vehicle[ro.vehicle_id].append(ro)
        for b in unmatched:
            first, last = windows[b.pk]
            b.candidates = [ro for ro in by_vehicle[b.vehicle_id] if first <= ro.settled_at < last]
    return Board(day, now, rows, counts, unmatched, grace)


# ---- roadside rescue ----


def rescue_call_list(*, user, store_ids=None):
    """Rescue calls of the stores the user may see, latest first."""
    return RescueCall.objects.filter(store_id__in=_scope(user, store_ids)).select_related(
        "store", "customer", "vehicle", "dispatched_user__staff").order_by("-reported_at", "-pk")


def rescue_call_get(*, user, pk: int) -> RescueCall:
    return get_scoped_or_404(rescue_call_list(user=user), pk=pk)


def _percentile(values: list[float], q: float) -> float:
    """Linear interpolation between the closest ranks (PostgreSQL's `percentile_cont`, numpy's default)."""
    position = (len(values) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return values[low] + (values[high] - values[low]) * (position - low)


def rescue_arrival_by_store(*, user, store_ids, since: dt.date, until: dt.date) -> dict[int, dict]:
    """Minutes from the report to the arrival of the rescue calls reported in the Shanghai days `[since, until)`
    that have arrived, per store the user may see among `store_ids`: {store_id: {"median", "p90", "count"}} (only
    stores with an arrived call; one decimal; interpolated as `percentile_cont`). One query."""
    lo, hi = day_range(since, until)
    per_store: dict[int, list[float]] = defaultdict(list)
    rows = RescueCall.objects.filter(
        store_id__in=_scope(user, store_ids), reported_at__gte=lo, reported_at__lt=hi, arrived_at__isnull=False
    ).values_list("store_id", "reported_at", "arrived_at")
    for store_id, reported, arrived in rows:
        per_store[store_id].append((arrived - reported).total_seconds() / 60)
    return {sid: _arrival_figures(values) for sid, values in per_store.items()}


def _arrival_figures(values: list[float]) -> dict:
    minutes = sorted(values)
    if not minutes:
        return {"median": None, "p90": None, "count": 0}
    return {"median": round(_percentile(minutes, 0.5), 1), "p90": round(_percentile(minutes, 0.9), 1),
            "count": len(minutes)}


def rescue_arrival_minutes(*, user, store_ids, month: dt.date) -> dict:
    """The arrival time of the rescue calls reported in `month` (Asia/Shanghai), the given stores the user may see
    pooled: {"median", "p90", "count"} (median and p90 `None` without calls)."""
    lo, hi = month_range(month)
    pairs = RescueCall.objects.filter(
        store_id__in=_scope(user, store_ids), reported_at__gte=lo, reported_at__lt=hi, arrived_at__isnull=False
    ).values_list("reported_at", "arrived_at")
    return _arrival_figures([(arrived - reported).total_seconds() / 60 for reported, arrived in pairs])
