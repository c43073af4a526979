"""Book, move and cancel appointments. A booking's slots are rows of `BookingSlot`, unique per bay and slot: the
database refuses a double booking. The day's caps and walk-in share are checked under the day's lock
(`BookingDay`), so of concurrent bookings of the last slot exactly one wins and the others get `SlotTaken`."""

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftercare.core.choices import AuditAction
from aftercare.core.services import audit_event_record
from aftercare.customers.models import Customer, Vehicle
from aftercare.org.calendar import business_date
from aftercare.org.permissions import Perm, require_perm
from aftercare.org.scoping import own_store_ids

from ..availability import availability, booking_length, capacity_read
from ..choices import HOLDING_STATES, BookingEventKind, BookingSource, BookingState
from ..models import Booking, BookingDay, BookingEvent, BookingSlot, ServiceKind
from ..signals import booking_created, booking_freed


class SlotTaken(Exception):
    """The slot is no longer free (another booking took it, or the day's cap was reached): the API answers 409."""


def _lock_day(store_id: int, day: dt.date) -> None:
    BookingDay.objects.get_or_create(store_id=store_id, date=day)
    if connection.features.has_select_for_update:
        BookingDay.objects.select_for_update().get(store_id=store_id, date=day)


def _kinds(store_id: int, kinds) -> list[ServiceKind]:
    ids = [getattr(k, "pk", k) for k in kinds]
    found = list(ServiceKind.objects.filter(store_id=store_id, pk__in=ids, is_active=True))
    if not ids or len(found) != len(set(ids)):
        raise ValidationError({"kinds": _("Choose one or more of the store's service kinds.")})
    return found


def _hold(
    booking: Booking, kinds: list[ServiceKind], start_at: dt.datetime, *, exclude: int | None = None
) -> tuple[int, int, int]:
    """Check `start_at` is free for `kinds` under the day's lock: (bay id, slots it takes, slot minutes)."""
    if timezone.is_naive(start_at):
        raise ValidationError({"start_at": _("Give the time with its time zone.")})
    day = business_date(start_at)
    _lock_day(booking.store_id, day)
    capacity = capacity_read(booking.store_id)
    plan = availability(store_id=booking.store_id, start=day, end=day, kinds=kinds, capacity=capacity,
                        exclude_booking_id=exclude)[0]
    if not plan.open:
        raise ValidationError({"start_at": _("The store takes no appointments that day.")})
    bay_id = dict(plan.free).get(start_at.astimezone(dt.UTC))
    if bay_id is None:
        raise SlotTaken
    return bay_id, booking_length(capacity, kinds), capacity.settings.slot_minutes


def _write_slots(booking: Booking, bay_id: int, length: int, slot_minutes: int) -> None:
    step = dt.timedelta(minutes=slot_minutes)
    try:
        with transaction.atomic():
            BookingSlot.objects.bulk_create([
                BookingSlot(store_id=booking.store_id, bay_id=bay_id, start_at=booking.start_at + step * i,
                            booking=booking)
                for i in range(length)
            ])
    except IntegrityError as exc:  # the unique (bay, start) key: someone holds one of these slots
        raise SlotTaken from exc


def booking_create(
    *, actor, store, customer: Customer, vehicle: Vehicle, kinds, start_at: dt.datetime, advisor=None,
    notes: str = "", parts_to_prepare: str = "", source: str = BookingSource.CUSTOMER_PAGE, followup_task=None,
) -> Booking:
    """Book `start_at` (an aware instant at a free slot start) for `vehicle` of `customer` in the actor's store."""
    require_perm(actor, Perm.APPOINTMENT_BOOK)
    if store.pk not in own_store_ids(actor):
        raise PermissionDenied
    if customer.store_id != store.pk:
        raise ValidationError({"customer": _("The customer belongs to another store.")})
    if vehicle.store_id != store.pk:
        raise ValidationError({"vehicle": _("The vehicle belongs to another store.")})
    if source not in BookingSource.values:
        raise ValidationError({"source": _("Unknown source.")})
    kinds = _kinds(store.pk, kinds)
    with transaction.atomic():
        booking = Booking(store=store, customer=customer, vehicle=vehicle, advisor=advisor, start_at=start_at,
                          end_at=start_at, source=source, notes=notes, parts_to_prepare=parts_to_prepare,
                          followup_task=followup_task, created_by=actor)
        bay_id, length, minutes = _hold(booking, kinds, start_at)
        booking.bay_id = bay_id
        booking.start_at = start_at.astimezone(dt.UTC)
        booking.end_at = booking.start_at + dt.timedelta(minutes=minutes * length)
        booking.full_clean(exclude=["customer", "vehicle", "bay", "store", "advisor", "followup_task"])
        booking.save()
        booking.kinds.set(kinds)
        _write_slots(booking, bay_id, length, minutes)
        BookingEvent.objects.create(booking=booking, kind=BookingEventKind.CREATED, actor=actor,
                                    detail={"start_at": booking.start_at.isoformat(), "source": source})
        audit_event_record(actor=actor, action=AuditAction.CREATE, obj=booking, detail={"source": source})
        booking_created.send(sender=Booking, booking=booking, actor=actor)
    return booking


def _for_write(actor, booking: Booking) -> Booking:
    require_perm(actor, Perm.APPOINTMENT_BOOK)
    if booking.store_id not in own_store_ids(actor):
        raise PermissionDenied
    return booking


def booking_move(*, actor, booking: Booking, start_at: dt.datetime, kinds=None) -> Booking:
    """Move a booking to another free start (and kinds); its old slots are freed in the same transaction."""
    if actor is not None:
        _for_write(actor, booking)
    if booking.state not in (BookingState.BOOKED, BookingState.CONFIRMED):
        raise ValidationError({"state": _("Only a booking not yet arrived, cancelled or missed can be moved.")})
    kinds = _kinds(booking.store_id, kinds) if kinds is not None else list(booking.kinds.all())
    old = booking.start_at
    with transaction.atomic():
        booking = Booking.objects.select_for_update().get(pk=booking.pk)
        bay_id, length, minutes = _hold(booking, kinds, start_at, exclude=booking.pk)
        BookingSlot.objects.filter(booking=booking).delete()
        booking.bay_id = bay_id
        booking.start_at = start_at.astimezone(dt.UTC)
        booking.end_at = booking.start_at + dt.timedelta(minutes=minutes * length)
        booking.reminded_on = None
        booking.save()
        booking.kinds.set(kinds)
        _write_slots(booking, bay_id, length, minutes)
        BookingEvent.objects.create(booking=booking, kind=BookingEventKind.MOVED, actor=actor,
                                    detail={"from": old.isoformat(), "to": booking.start_at.isoformat()})
        audit_event_record(actor=actor, action=AuditAction.UPDATE, obj=booking, changed_fields=["start_at"])
        booking_freed.send(sender=Booking, booking=booking, store_id=booking.store_id, start_at=old, actor=actor)
    return booking


def booking_cancel(*, actor, booking: Booking, reason: str = "") -> Booking:
    """Cancel a booking and free its slots (history kept)."""
    if actor is not None:
        _for_write(actor, booking)
    if booking.state not in HOLDING_STATES or booking.state == BookingState.ARRIVED:
        raise ValidationError({"state": _("Only an open booking can be cancelled.")})
    with transaction.atomic():
        BookingSlot.objects.filter(booking=booking).delete()
        booking.state = BookingState.CANCELLED
        booking.save(update_fields=["state", "updated_at"])
        BookingEvent.objects.create(booking=booking, kind=BookingEventKind.CANCELLED, actor=actor,
                                    detail={"reason": reason[:200]})
        audit_event_record(actor=actor, action=AuditAction.UPDATE, obj=booking, changed_fields=["state"])
        booking_freed.send(sender=Booking, booking=booking, store_id=booking.store_id, start_at=booking.start_at,
                           actor=actor)
    return booking
