"""Appointment rows of a foreign store for the project-wide scoping walker (aftercare/core/tests/test_scoping.py):
a booking (notes and parts to prepare carry the canary) with its history, and a waitlist entry offered a start.
None may ever show."""

import datetime as dt

from django.utils import timezone

from aftercare.appointments.models import Bay, Booking, BookingEvent, ServiceKind, WaitlistEntry
from aftercare.testing import factories as f


def plant(store, canary) -> dict:
    now = timezone.now()
    customer = f.CustomerFactory(store=store, name=f"{canary}-ap", mobile="+8613700007733")
    vehicle = f.owned_vehicle(customer, model=canary, plate="粤Z77331")
    bay = Bay.objects.create(store=store, name=f"{canary}-bay", kind="appointment")
    kind = ServiceKind.objects.create(store=store, code="canary", name=canary, duration_minutes=60,
                                      bay_kinds=["appointment"])
    start = now.replace(minute=0, second=0, microsecond=0) + dt.timedelta(days=1)
    booking = Booking.objects.create(store=store, customer=customer, vehicle=vehicle, bay=bay, start_at=start,
                                     end_at=start + dt.timedelta(hours=1), source="customer_page", notes=canary,
                                     parts_to_prepare=canary)
    booking.kinds.set([kind])
    BookingEvent.objects.create(booking=booking, kind="created", detail={"reason": canary})
    entry = WaitlistEntry.objects.create(store=store, customer=customer, vehicle=vehicle, date=start.date(),
                                         notes=canary, state="offered", offered_start_at=start,
                                         offer_expires_at=now + dt.timedelta(hours=4))
    entry.kinds.set([kind])
    return {"booking": booking, "booking_id": booking, "waitlist_entry": entry, "entry_id": entry}
