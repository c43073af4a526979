"""Appointment rows of a foreign store for the project-wide scoping walker (aftercare/core/tests/test_scoping.py):
a bay and a service kind named with the canary, an arrived appointment of this month matched to a booked repair
order, a no-show and their history. Every one carries the canary; none may ever show, nor count in another store's
measures."""

import datetime as dt

from django.utils import timezone

from aftercare.appointments.choices import BayKind, BookingEventKind, BookingSource, BookingState
from aftercare.appointments.models import Bay, Booking, BookingEvent, OpeningHours, ServiceKind
from aftercare.testing import factories as f


def plant(store, canary) -> dict:
    now = timezone.now()
    customer = f.CustomerFactory(store=store, name=f"{canary}-ap")
    vehicle = f.owned_vehicle(customer, model=canary, plate="粤Z7731A")
    bay = Bay.objects.create(store=store, name=canary, kind=BayKind.APPOINTMENT)
    kind = ServiceKind.objects.create(store=store, code="canary", name=canary, duration_minutes=60,
                                      bay_kinds=["appointment"])
    OpeningHours.objects.get_or_create(store=store, weekday=0, defaults={"opens_at": dt.time(8, 30),
                                                                         "closes_at": dt.time(17, 30)})
    order = f.RepairOrderFactory(store=store, customer=customer, vehicle=vehicle, settled_at=now, booked=True,
                                 fault_description=canary, service_advisor=canary)
    arrived = Booking.objects.create(
        store=store, customer=customer, vehicle=vehicle, bay=bay, start_at=now - dt.timedelta(hours=2),
        end_at=now - dt.timedelta(hours=1), state=BookingState.ARRIVED, source=BookingSource.CALL, notes=canary,
        parts_to_prepare=canary, repair_order=order, arrived_at=now - dt.timedelta(hours=2),
    )
    arrived.kinds.set([kind])
    missed = Booking.objects.create(
        store=store, customer=customer, vehicle=vehicle, bay=bay, start_at=now - dt.timedelta(hours=4),
        end_at=now - dt.timedelta(hours=3), state=BookingState.NO_SHOW, source=BookingSource.PHONE_IN, notes=canary,
    )
    BookingEvent.objects.create(booking=arrived, kind=BookingEventKind.MATCHED, detail={"note": canary})
    return {"booking": arrived, "booking_id": arrived, "no_show_booking": missed, "bay": bay, "bay_id": bay,
            "service_kind": kind, "kind_id": kind}
