"""The waitlist of a full day. When a booking of a day is cancelled or moved away (`signals.booking_freed`), the
first entry waiting for that day (oldest first) for whose service kinds a start is free is offered one — the freed
start when it fits, else the day's earliest free start no other open offer names — by SMS (`WaitlistEntry.offered_*`,
`offer_letter`). The SMS asks the customer to call the store before the offer ends, and staff book it from the
waitlist page; a booking of the entry's vehicle on its day marks it booked (`waitlist_entry_booked_mark`).
An offer not taken within `OFFER_HOURS` expires (`manage.py appointment_waitlist_expire`, hourly) and the next
entry waiting is offered. An offer holds no slot: whoever books first gets it."""

import datetime as dt

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from aftercare.core.choices import AuditAction
from aftercare.core.services import audit_event_record
from aftercare.customers.models import Customer, Vehicle
from aftercare.org.calendar import business_date
from aftercare.org.permissions import Perm, require_perm
from aftercare.org.scoping import own_store_ids

from ..availability import availability, capacity_read
from ..links import plate_tail
from ..models import Booking, BookingDay, WaitlistEntry, WaitlistState
from .booking import _kinds
from .messages import SMS_PLATE_TAIL, _when, booking_sms_send, may_text

OFFER_HOURS = settings.APPOINTMENT_WAITLIST_OFFER_HOURS
OPEN_STATES = (WaitlistState.WAITING, WaitlistState.OFFERED)


def waitlist_entry_create(
    *, actor, store, customer: Customer, vehicle: Vehicle, date: dt.date, kinds, notes: str = ""
) -> WaitlistEntry:
    """Put `vehicle` of `customer` on the waitlist of `date` for `kinds`."""
    require_perm(actor, Perm.APPOINTMENT_BOOK)
    if store.pk not in own_store_ids(actor):
        raise PermissionDenied
    errors = {}
    if customer.store_id != store.pk:
        errors["customer"] = [_("The customer belongs to another store.")]
    if vehicle.store_id != store.pk:
        errors["vehicle"] = [_("The vehicle belongs to another store.")]
    if date < business_date():
        errors["date"] = [_("The day wanted has passed.")]
    if errors:
        raise ValidationError(errors)
    kinds = _kinds(store.pk, kinds)
    if WaitlistEntry.objects.filter(store=store, vehicle=vehicle, date=date, state__in=OPEN_STATES).exists():
        raise ValidationError({"date": _("The vehicle is already on the waitlist of that day.")})
    with transaction.atomic():
        entry = WaitlistEntry(store=store, customer=customer, vehicle=vehicle, date=date, notes=notes,
                              created_by=actor)
        entry.full_clean(exclude=["customer", "vehicle", "store"])
        entry.save()
        entry.kinds.set(kinds)
        audit_event_record(actor=actor, action=AuditAction.CREATE, obj=entry, detail={"date": date.isoformat()})
    return entry


def waitlist_entry_cancel(*, actor, entry: WaitlistEntry) -> WaitlistEntry:
    require_perm(actor, Perm.APPOINTMENT_BOOK)
    if entry.store_id not in own_store_ids(actor):
        raise PermissionDenied
    if entry.state not in OPEN_STATES:
        raise ValidationError({"state": _("Only a waiting or offered entry can be cancelled.")})
    with transaction.atomic():
        entry.state = WaitlistState.CANCELLED
        entry.save(update_fields=["state", "updated_at"])
        audit_event_record(actor=actor, action=AuditAction.UPDATE, obj=entry, changed_fields=["state"])
    return entry


def waitlist_entry_booked_mark(*, booking: Booking) -> int:
    """A booking was made: the open entries of its vehicle for its day are booked (inside its transaction)."""
    return WaitlistEntry.objects.filter(
        store_id=booking.store_id, vehicle_id=booking.vehicle_id, date=business_date(booking.start_at),
        state__in=OPEN_STATES,
    ).update(state=WaitlistState.BOOKED, booking=booking, updated_at=timezone.now())


def offer_text(entry: WaitlistEntry) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        text = gettext(
            "[%(store)s] A slot has become free for your vehicle ending %(tail)s: %(time)s. Call us by %(until)s "
            "to take it."
        ) % {"store": entry.store.name, "tail": plate_tail(entry.vehicle.plate, SMS_PLATE_TAIL),
             "time": _when(entry.offered_start_at),
             "until": _when(entry.offer_expires_at)}
        return text


def waitlist_offer_freed(*, store_id: int, day: dt.date, freed_at: dt.datetime | None = None,
                         now: dt.datetime | None = None) -> WaitlistEntry | None:
    """Offer a start of `day` to the first entry waiting whose kinds fit one (the freed start `freed_at` when it
    fits). Returns the entry offered, or None. Run after the freeing booking's commit."""
    now = now or timezone.now()
    if day < business_date(now):
        return None
    with transaction.atomic():
        BookingDay.objects.get_or_create(store_id=store_id, date=day)
        if connection.features.has_select_for_update:
            BookingDay.objects.select_for_update().get(store_id=store_id, date=day)
        open_offers = WaitlistEntry.objects.filter(store_id=store_id, date=day, state=WaitlistState.OFFERED,
                                                   offer_expires_at__gt=now)
        offered = set(open_offers.values_list("offered_start_at", flat=True))
        entries = list(
            WaitlistEntry.objects.filter(store_id=store_id, date=day, state=WaitlistState.WAITING)
            .select_related("store", "customer", "vehicle").prefetch_related("kinds").order_by("created_at", "pk")
        )
        if not entries:
            return None
        capacity = capacity_read(store_id)
        for entry in entries:
            kinds = list(entry.kinds.all())
            plan = availability(store_id=store_id, start=day, end=day, kinds=kinds, now=now, capacity=capacity)[0]
            starts = [at for at, _bay in plan.free if at not in offered]
            if not starts:
                continue
            start = freed_at if freed_at in starts else starts[0]
            entry.state = WaitlistState.OFFERED
            entry.offered_start_at = start
            entry.offered_at = now
            entry.offer_expires_at = min(now + dt.timedelta(hours=OFFER_HOURS), start)
            if may_text(entry.customer):  # queued now, sent after the commit
                entry.offer_letter = booking_sms_send(customer=entry.customer, store=entry.store,
                                                      text=offer_text(entry))
            entry.save()
            audit_event_record(actor=None, action=AuditAction.UPDATE, obj=entry, changed_fields=["state"],
                               detail={"offered_start_at": start.isoformat()})
            return entry
    return None


def waitlist_offers_expire(*, now: dt.datetime | None = None) -> int:
    """Expire the offers not taken in time and offer their days' next entries. Returns how many expired."""
    now = now or timezone.now()
    with transaction.atomic():
        stale = list(WaitlistEntry.objects.select_for_update().filter(state=WaitlistState.OFFERED,
                                                                       offer_expires_at__lte=now))
        WaitlistEntry.objects.filter(pk__in=[e.pk for e in stale]).update(state=WaitlistState.EXPIRED,
                                                                          updated_at=now)
    for store_id, day in sorted({(e.store_id, e.date) for e in stale}):
        waitlist_offer_freed(store_id=store_id, day=day, now=now)
    return len(stale)
