"""Appointment rows of a foreign store for the project-wide scoping walker (aftercare/core/tests/test_scoping.py): a
bay, a service kind and a booking (with its history and a self-booking link) whose customer, vehicle, notes and parts
carry the canary; none may ever show."""

import datetime as dt

from django.utils import timezone

from aftercare.appointments.choices import BayKind, BookingEventKind, BookingSource
from aftercare.appointments.models import Bay, Booking, BookingEvent, BookingSlot, ServiceKind
from aftercare.appointments.services.selfbooking import self_booking_link_issue
from aftercare.testing import factories as f


def plant(store, canary) -> dict:
    customer = f.CustomerFactory(store=store, name=f"{canary}-ap", mobile="+8613700007741")
    vehicle = f.owned_vehicle(customer, model=canary)
    bay = Bay.objects.create(store=store, name=f"{canary}-bay", kind=BayKind.APPOINTMENT)
    kind = ServiceKind.objects.create(store=store, code="maintenance", name=canary, duration_minutes=30,
                                      bay_kinds=[BayKind.APPOINTMENT])
    start = (timezone.now() + dt.timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    booking = Booking.objects.create(store=store, customer=customer, vehicle=vehicle, bay=bay, start_at=start,
                                     end_at=start + dt.timedelta(minutes=30), source=BookingSource.CALL,
                                     notes=canary, parts_to_prepare=canary)
    booking.kinds.set([kind])
    BookingSlot.objects.create(store=store, bay=bay, start_at=start, booking=booking)
    BookingEvent.objects.create(booking=booking, kind=BookingEventKind.CREATED, detail={"note": canary})
    self_booking_link_issue(booking=booking)
    return {"booking": booking, "booking_id": booking, "bay": bay, "service_kind": kind}
