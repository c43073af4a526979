"""The advisor's day board's writes: a walk-in, a no-show marked by hand, an appointment matched by hand to the
repair order it became, and the match after a DMS import (which keeps a matched order booked).

The walk-in takes the slot that is running now on a free bay that takes its kinds (its slots held like a booking's,
so nobody books over it), or none (a walk-in waits for a bay: no slot held). A walk-in never counts against the
day's appointment caps (`availability` leaves `BookingSource.WALK_IN` out of them) — the walk-in share is there for
it. A match sets the order's booked flag and never clears one the DMS set.
"""

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftercare.core.choices import AuditAction
from aftercare.core.services import audit_event_record
from aftercare.customers.models import Customer, RepairOrder, Vehicle
from aftercare.org.calendar import business_date, business_tz
from aftercare.org.permissions import Perm, require_perm
from aftercare.org.scoping import own_store_ids

from ..availability import bays_for, booking_length, capacity_read, day_plans, match_candidates_window
from ..choices import BookingEventKind, BookingSource, BookingState
from ..models import Booking, BookingEvent, BookingSlot, ServiceKind
from .day import bookings_match_repair_orders


def _board_actor(actor, store_id: int) -> None:
    require_perm(actor, Perm.APPOINTMENT_BOARD)
    if store_id not in own_store_ids(actor):
        raise PermissionDenied


def _current_slot(capacity, now: dt.datetime) -> tuple[dt.datetime | None, list[dt.datetime]]:
    """The start of the slot running at `now` (UTC) on an open day, and the day's slot starts; (None, []) when
    the store is closed at `now`."""
    day = business_date(now)
    plan = day_plans(capacity, day, day)[day]
    if not plan.open:
        return None, []
    tz = business_tz()
    step = dt.timedelta(minutes=capacity.settings.slot_minutes)
    at = dt.datetime.combine(day, plan.opens, tzinfo=tz)
    closes = dt.datetime.combine(day, plan.closes, tzinfo=tz)
    starts = []
    while at + step <= closes:
        starts.append(at.astimezone(dt.UTC))
        at += step
    current = next((s for s in starts if s <= now < s + step), None)
    return current, starts


def booking_walk_in(*, actor, store, customer: Customer, vehicle: Vehicle, kinds, advisor=None, notes: str = "",
                    now: dt.datetime | None = None) -> Booking:
    """A customer who came without an appointment, checked in at once (state arrived, source walk-in). Takes the
    slot running now (and the next ones its kinds need) on a free bay that takes them, else holds no slot."""
    _board_actor(actor, store.pk)
    if customer.store_id != store.pk or vehicle.store_id != store.pk:
        raise ValidationError({"vehicle": _("The vehicle belongs to another store.")})
    ids = [getattr(k, "pk", k) for k in kinds]
    kinds = list(ServiceKind.objects.filter(store_id=store.pk, pk__in=ids, is_active=True))
    if not ids or len(kinds) != len(set(ids)):
        raise ValidationError({"kinds": _("Choose one or more of the store's service kinds.")})
    now = (now or timezone.now()).astimezone(dt.UTC)
    capacity = capacity_read(store.pk)
    bays = bays_for(capacity, kinds) or capacity.bays
    if not bays:
        raise ValidationError({"kinds": _("The store has no bay for these service kinds.")})
    length = booking_length(capacity, kinds)
    step = dt.timedelta(minutes=capacity.settings.slot_minutes)
    current, starts = _current_slot(capacity, now)
    span = []
    if current is not None:
        span = [current + step * i for i in range(length)]
        if span[-1] not in starts:  # runs past closing time: hold none
            span = []
    with transaction.atomic():
        bay, held = bays[0], False
        if span:
            taken = set(BookingSlot.objects.filter(bay__in=bays, start_at__in=span).values_list("bay_id", "start_at"))
            free = [b for b in bays if all((b.pk, s) not in taken for s in span)]
            if free:
                bay, held = free[0], True
        booking = Booking(store=store, customer=customer, vehicle=vehicle, advisor=advisor, bay=bay,
                          start_at=span[0] if held else now, state=BookingState.ARRIVED, arrived_at=now,
                          source=BookingSource.WALK_IN, notes=notes, created_by=actor)
        booking.end_at = booking.start_at + step * length
        booking.full_clean(exclude=["customer", "vehicle", "bay", "store", "advisor", "followup_task"])
        booking.save()
        booking.kinds.set(kinds)
        if held:
            try:
                with transaction.atomic():
                    BookingSlot.objects.bulk_create([BookingSlot(store_id=store.pk, bay=bay, start_at=s,
                                                                 booking=booking) for s in span])
            except IntegrityError:  # someone took the bay meanwhile: the walk-in waits without a slot
                held = False
        BookingEvent.objects.bulk_create([
            BookingEvent(booking=booking, kind=BookingEventKind.CREATED, actor=actor,
                         detail={"source": BookingSource.WALK_IN, "slot": held}),
            BookingEvent(booking=booking, kind=BookingEventKind.ARRIVED, actor=actor, detail={"at": now.isoformat()}),
        ])
        audit_event_record(actor=actor, action=AuditAction.CREATE, obj=booking,
                           detail={"source": BookingSource.WALK_IN})
    booking.holds_slot = held
    return booking


def booking_no_show(*, actor, booking: Booking, now: dt.datetime | None = None) -> Booking:
    """Mark an open booking whose start has passed a no-show by hand (before the job does after the grace); its
    slots are freed for walk-ins."""
    _board_actor(actor, booking.store_id)
    now = now or timezone.now()
    if booking.state not in (BookingState.BOOKED, BookingState.CONFIRMED):
        raise ValidationError({"state": _("Only an open booking can be marked a no-show.")})
    if booking.start_at > now:
        raise ValidationError({"state": _("The appointment has not begun yet.")})
    with transaction.atomic():
        changed = Booking.objects.filter(pk=booking.pk, state__in=(BookingState.BOOKED, BookingState.CONFIRMED)).update(
            state=BookingState.NO_SHOW, updated_at=now)
        if not changed:
            raise ValidationError({"state": _("Only an open booking can be marked a no-show.")})
        BookingSlot.objects.filter(booking=booking).delete()
        BookingEvent.objects.create(booking=booking, kind=BookingEventKind.NO_SHOW, actor=actor,
                                    detail={"by_hand": True})
        audit_event_record(actor=actor, action=AuditAction.UPDATE, obj=booking, changed_fields=["state"])
    booking.state = BookingState.NO_SHOW
    return booking


def booking_match_repair_order(*, actor, booking: Booking, repair_order: RepairOrder) -> Booking:
    """Match an appointment by hand to the repair order it became (the vehicle's, settled that day ± 7): the
    booking gets the order (and is shown, arrived), the order becomes booked. Never clears a booked flag."""
    _board_actor(actor, booking.store_id)
    if repair_order.store_id != booking.store_id or repair_order.vehicle_id != booking.vehicle_id:
        raise ValidationError({"repair_order": _("Choose a repair order of this vehicle.")})
    lo, hi = match_candidates_window(booking)
    if not lo <= repair_order.settled_at < hi:
        raise ValidationError({"repair_order": _("The repair order was settled more than 7 days from the "
                                                 "appointment.")})
    if booking.state == BookingState.CANCELLED:
        raise ValidationError({"repair_order": _("A cancelled appointment is not matched.")})
    with transaction.atomic():
        booking = Booking.objects.select_for_update().get(pk=booking.pk)
        if booking.repair_order_id is not None:
            raise ValidationError({"repair_order": _("The appointment is matched already.")})
        if Booking.objects.filter(repair_order=repair_order).exists():
            raise ValidationError({"repair_order": _("The repair order is matched to another appointment.")})
        booking.repair_order = repair_order
        fields = ["repair_order", "updated_at"]
        if booking.state != BookingState.ARRIVED:
            booking.state, booking.arrived_at = BookingState.ARRIVED, booking.arrived_at or booking.start_at
            fields += ["state", "arrived_at"]
        try:
            with transaction.atomic():
                booking.save(update_fields=fields)
        except IntegrityError:  # the order was matched meanwhile (one-to-one)
            raise ValidationError({"repair_order": _("The repair order is matched to another appointment.")}) from None
        RepairOrder.objects.filter(pk=repair_order.pk, booked=False).update(booked=True)
        BookingEvent.objects.create(booking=booking, kind=BookingEventKind.MATCHED, actor=actor,
                                    detail={"repair_order": repair_order.pk, "by_hand": True})
        audit_event_record(actor=actor, action=AuditAction.UPDATE, obj=booking, changed_fields=fields[:1])
    return booking


def bookings_match_after_import(*, store_id: int) -> int:
    """After a repair-order import (`dms.signals.repair_orders_imported`): match the store's new orders to their
    appointments, and keep the orders matched before booked (a DMS file whose booked column says no does not undo
    an appointment the store saw). Returns how many matched now."""
    matched = bookings_match_repair_orders(store_id=store_id)
    RepairOrder.objects.filter(store_id=store_id, booked=False, booking__isnull=False).update(booked=True)
    return matched
