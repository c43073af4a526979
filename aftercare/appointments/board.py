"""Reads of the capacity settings, the advisor's day board, the roadside rescue log and its arrival-time measure.

Every selector takes the acting user and reads only the stores they may see (`org.scoping.visible_store_ids`);
another store's id answers 404. The board reads a constant number of queries whatever the number of bookings.
"""

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db.models import Prefetch
from django.http import Http404
from django.utils import timezone

from aftercare.customers.models import RepairOrder
from aftercare.org.calendar import business_date, business_day_start, day_range, month_add, month_start
from aftercare.org.choices import Role
from aftercare.org.scoping import visible_store_ids

from .choices import BookingSource, BookingState
from .models import AppointmentSettings, Bay, Booking, DayOverride, KindCap, OpeningHours, RescueCall, ServiceKind
from .services.day import MATCH_DAYS

UNMATCHED_DAYS = 14  # the board lists unmatched appointments of the last two weeks


def _store_ids(user, store_ids=None) -> frozenset[int]:
    visible = visible_store_ids(user)
    return visible if store_ids is None else frozenset(store_ids) & visible


def _one_store(user, store_id: int) -> int:
    if store_id not in visible_store_ids(user):
        raise Http404
    return store_id


# ---- capacity settings --------------------------------------------------------------------------------------------


def appointment_capacity_get(*, user, store_id: int) -> dict:
    """The store's settings (unsaved defaults if none), bays, service kinds, opening hours {weekday: row}, kind caps
    and the day overrides from today on."""
    _one_store(user, store_id)
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
    bay = Bay.objects.filter(pk=pk, store_id__in=visible_store_ids(user)).first()
    if bay is None:
        raise Http404
    return bay


def appointment_kind_get(*, user, pk: int) -> ServiceKind:
    kind = ServiceKind.objects.filter(pk=pk, store_id__in=visible_store_ids(user)).first()
    if kind is None:
        raise Http404
    return kind


def appointment_override_get(*, user, pk: int) -> DayOverride:
    row = DayOverride.objects.filter(pk=pk, store_id__in=visible_store_ids(user)).first()
    if row is None:
        raise Http404
    return row


# ---- the day board ------------------------------------------------------------------------------------------------

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


def booking_board_get(*, user, pk: int) -> Booking:
    booking = Booking.objects.filter(pk=pk, store_id__in=visible_store_ids(user)).first()
    if booking is None:
        raise Http404
    return booking


def repair_order_board_get(*, user, pk: int) -> RepairOrder:
    order = RepairOrder.objects.filter(pk=pk, store_id__in=visible_store_ids(user)).first()
    if order is None:
        raise Http404
    return order


def board_advisor_list(*, user, store_id: int) -> list:
    """The store's service advisors (users), by name."""
    _one_store(user, store_id)
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
    _one_store(user, store_id)
    now = now or timezone.now()
    grace = AppointmentSettings.objects.filter(store_id=store_id).values_list("no_show_grace_minutes", flat=True)
    grace = next(iter(grace), 30)
    lo, hi = business_day_start(day), business_day_start(day + dt.timedelta(days=1))
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
        window = dt.timedelta(days=MATCH_DAYS)
        orders = RepairOrder.objects.filter(
            store_id=store_id, vehicle_id__in={b.vehicle_id for b in unmatched}, booking__isnull=True,
            settled_at__gte=min(b.start_at for b in unmatched) - window - dt.timedelta(days=1),
            settled_at__lt=max(b.start_at for b in unmatched) + window + dt.timedelta(days=1),
        ).only("pk", "vehicle_id", "ro_number", "settled_at", "kind", "booked").order_by("settled_at")
        by_vehicle = defaultdict(list)
        for ro in orders:
            by_vehicle[ro.vehicle_id].append(ro)
        for b in unmatched:
            first = business_day_start(business_date(b.start_at) - window)
            last = business_day_start(business_date(b.start_at) + window + dt.timedelta(days=1))
            b.candidates = [ro for ro in by_vehicle[b.vehicle_id] if first <= ro.settled_at < last]
    return Board(day, now, rows, counts, unmatched, grace)


# ---- roadside rescue ------------------------------------------------------------------------------------------------


def rescue_call_list(*, user, store_ids=None):
    """Rescue calls of the stores the user may see, latest first."""
    return RescueCall.objects.filter(store_id__in=_store_ids(user, store_ids)).select_related(
        "store", "customer", "vehicle", "dispatched_user__staff").order_by("-reported_at", "-pk")


def rescue_call_get(*, user, pk: int) -> RescueCall:
    call = rescue_call_list(user=user).filter(pk=pk).first()
    if call is None:
        raise Http404
    return call


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
        store_id__in=_store_ids(user, store_ids), reported_at__gte=lo, reported_at__lt=hi, arrived_at__isnull=False
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
    first = month_start(month)
    lo, hi = day_range(first, month_add(first, 1))
    pairs = RescueCall.objects.filter(
        store_id__in=_store_ids(user, store_ids), reported_at__gte=lo, reported_at__lt=hi, arrived_at__isnull=False
    ).values_list("reported_at", "arrived_at")
    return _arrival_figures([(arrived - reported).total_seconds() / 60 for reported, arrived in pairs])
