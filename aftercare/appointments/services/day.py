"""The day of appointments: arrivals, no-shows after the store's grace, and repair orders matched to the
appointment they came from (which sets the order's booked flag; a match never clears a flag the DMS set)."""

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftercare.core.choices import AuditAction
from aftercare.core.services import audit_event_record
from aftercare.customers.models import RepairOrder
from aftercare.org.calendar import business_date, business_day_start
from aftercare.org.permissions import Perm, require_perm
from aftercare.org.scoping import own_store_ids

from ..availability import MATCH_DAYS
from ..choices import BookingEventKind, BookingState
from ..models import AppointmentSettings, Booking, BookingEvent, BookingSlot


def booking_arrive(*, actor, booking: Booking, at: dt.datetime | None = None) -> Booking:
    """Check the customer in (show)."""
    require_perm(actor, Perm.APPOINTMENT_BOARD)
    if booking.store_id not in own_store_ids(actor):
        raise PermissionDenied
    if booking.state not in (BookingState.BOOKED, BookingState.CONFIRMED, BookingState.NO_SHOW):
        raise ValidationError({"state": _("Only an open or missed booking can be checked in.")})
    at = at or timezone.now()
    with transaction.atomic():
        booking.state, booking.arrived_at = BookingState.ARRIVED, at
        booking.save(update_fields=["state", "arrived_at", "updated_at"])
        BookingEvent.objects.create(booking=booking, kind=BookingEventKind.ARRIVED, actor=actor,
                                    detail={"at": at.isoformat()})
        audit_event_record(actor=actor, action=AuditAction.UPDATE, obj=booking, changed_fields=["state"])
    return booking


def bookings_mark_no_show(*, store_id: int | None = None, now: dt.datetime | None = None) -> int:
    """Open bookings whose start passed by more than the store's grace become no-shows; their slots are freed
    (for walk-ins). Idempotent; returns how many."""
    now = now or timezone.now()
    grace = dict(AppointmentSettings.objects.values_list("store_id", "no_show_grace_minutes"))
    qs = Booking.objects.filter(state__in=(BookingState.BOOKED, BookingState.CONFIRMED), start_at__lt=now)
    if store_id is not None:
        qs = qs.filter(store_id=store_id)
    missed = [b for b in qs.only("pk", "store_id", "start_at")
              if b.start_at + dt.timedelta(minutes=grace.get(b.store_id, 30)) < now]
    if not missed:
        return 0
    ids = [b.pk for b in missed]
    with transaction.atomic():
        changed = Booking.objects.filter(pk__in=ids, state__in=(BookingState.BOOKED, BookingState.CONFIRMED)).update(
            state=BookingState.NO_SHOW, updated_at=now
        )
        BookingSlot.objects.filter(booking_id__in=ids).delete()
        BookingEvent.objects.bulk_create([BookingEvent(booking_id=i, kind=BookingEventKind.NO_SHOW) for i in ids])
        audit_event_record(actor=None, action=AuditAction.UPDATE, object_type=Booking._meta.label_lower,
                           store_id=store_id, detail={"no_show": changed})
    return changed


def bookings_match_repair_orders(*, store_id: int | None = None, since: dt.date | None = None) -> int:
    """Match each repair order settled since `since` to the vehicle's unmatched appointment of that day or up to
    7 days before; the order becomes booked and the appointment shown (arrived). Returns how many matched."""
    since = since or business_date() - dt.timedelta(days=30)
    orders = RepairOrder.objects.filter(settled_at__gte=business_day_start(since), booking__isnull=True)
    bookings = Booking.objects.filter(repair_order__isnull=True, start_at__gte=business_day_start(
        since - dt.timedelta(days=MATCH_DAYS))).exclude(state=BookingState.CANCELLED)
    if store_id is not None:
        orders, bookings = orders.filter(store_id=store_id), bookings.filter(store_id=store_id)
    by_vehicle: dict[int, list[Booking]] = {}
    for b in bookings.order_by("start_at").only("pk", "vehicle_id", "start_at", "state", "arrived_at"):
        by_vehicle.setdefault(b.vehicle_id, []).append(b)
    matched: list[tuple[Booking, RepairOrder]] = []
    for ro in orders.filter(vehicle_id__in=list(by_vehicle)).order_by("settled_at").only("pk", "vehicle_id",
                                                                                          "settled_at", "booked"):
        day = business_date(ro.settled_at)
        for b in by_vehicle[ro.vehicle_id]:
            if business_date(b.start_at) <= day <= business_date(b.start_at) + dt.timedelta(days=MATCH_DAYS):
                matched.append((b, ro))
                by_vehicle[ro.vehicle_id].remove(b)
                break
    if not matched:
        return 0
    now = timezone.now()
    with transaction.atomic():
        for b, ro in matched:
            b.repair_order_id = ro.pk
            if b.state != BookingState.ARRIVED:
                b.state, b.arrived_at = BookingState.ARRIVED, b.arrived_at or b.start_at
            b.updated_at = now
        Booking.objects.bulk_update([b for b, _ro in matched], ["repair_order", "state", "arrived_at", "updated_at"])
        RepairOrder.objects.filter(pk__in=[ro.pk for _b, ro in matched], booked=False).update(booked=True)
        BookingEvent.objects.bulk_create([
            BookingEvent(booking_id=b.pk, kind=BookingEventKind.MATCHED, detail={"repair_order": ro.pk})
            for b, ro in matched
        ])
        audit_event_record(actor=None, action=AuditAction.UPDATE, object_type=Booking._meta.label_lower,
                           store_id=store_id, detail={"matched": len(matched)})
    return len(matched)
