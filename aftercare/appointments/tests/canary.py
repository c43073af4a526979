"""Appointment rows of a foreign store for the project-wide scoping walker (aftercare/core/tests/test_scoping.py):
the store's bay, service kind, day override, a booking (of a canary-named customer, with canary notes and parts to
prepare) with its history and a self-booking link, a waitlist entry offered a start, and a roadside rescue call.
Every one carries the canary; none may ever show."""

import datetime as dt

from django.utils import timezone

from aftercare.appointments.choices import BookingSource, BookingState
from aftercare.appointments.models import (
    Bay,
    Booking,
    BookingEvent,
    BookingSlot,
    DayOverride,
    RescueCall,
    ServiceKind,
    WaitlistEntry,
)
from aftercare.appointments.services.selfbooking import self_booking_link_issue
from aftercare.testing import factories as f


def plant(store, canary) -> dict:
    # ---- day board part (aday): settings, board, rescue ----
    now = timezone.now().replace(second=0, microsecond=0)
    customer = f.CustomerFactory(store=store, name=f"{canary}-ap")
    vehicle = f.owned_vehicle(customer, model=canary)
    bay = Bay.objects.create(store=store, name=canary[:50], kind="general")
    kind = ServiceKind.objects.create(store=store, code="canary", name=canary, duration_minutes=30,
                                      bay_kinds=["general"])
    override = DayOverride.objects.create(store=store, date=timezone.localdate() + dt.timedelta(days=3), closed=True,
                                          note=canary)
    booking = Booking.objects.create(store=store, customer=customer, vehicle=vehicle, bay=bay, start_at=now,
                                     end_at=now + dt.timedelta(minutes=30), state=BookingState.BOOKED,
                                     source=BookingSource.PHONE_IN, notes=canary, parts_to_prepare=canary)
    booking.kinds.set([kind])
    BookingEvent.objects.create(booking=booking, kind="created", detail={"reason": canary})
    self_booking_link_issue(booking=booking)
    start = now.replace(minute=0) + dt.timedelta(days=1)
    entry = WaitlistEntry.objects.create(store=store, customer=customer, vehicle=vehicle, date=start.date(),
                                         notes=canary, state="offered", offered_start_at=start,
                                         offer_expires_at=now + dt.timedelta(hours=4))
    entry.kinds.set([kind])
    BookingSlot.objects.create(store=store, bay=bay, start_at=now, booking=booking)
    past = Booking.objects.create(store=store, customer=customer, vehicle=vehicle, bay=bay,
                                  start_at=now - dt.timedelta(days=2), end_at=now - dt.timedelta(days=2, minutes=-30),
                                  state=BookingState.NO_SHOW, source=BookingSource.PHONE_IN, notes=canary)
    rescue = RescueCall.objects.create(store=store, customer=customer, vehicle=vehicle,
                                       reported_at=now - dt.timedelta(hours=2), place=canary, what_happened=canary,
                                       dispatched_at=now - dt.timedelta(hours=1), dispatched_to=canary,
                                       arrived_at=now, outcome="other", outcome_note=canary)
    return {"bay_id": bay, "kind_id": kind, "override_id": override, "booking": booking, "booking_id": booking,
            "bay": bay, "service_kind": kind, "past_booking": past, "rescue_id": rescue, "waitlist_entry": entry,
            "entry_id": entry}
