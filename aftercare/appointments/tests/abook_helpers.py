"""Shared helpers of the booking-page, reminder and waitlist tests (fixtures `booking_world`, `sms_outbox`:
conftest.py): a Monday morning in Shanghai, customers with a plate."""

import datetime as dt

from aftercare.appointments.services.booking import booking_create
from aftercare.org.calendar import business_tz
from aftercare.testing import factories as f

TZ = business_tz()
NOW = dt.datetime(2026, 12, 7, 2, 0, tzinfo=dt.UTC)  # Monday 10:00 in Shanghai
TODAY = dt.date(2026, 12, 7)
DAY = dt.date(2026, 12, 8)  # tomorrow, a Tuesday


def local(day, hour, minute=0):
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=TZ).astimezone(dt.UTC)


def customer_with_car(store, plate="粤A12345", **kwargs):
    customer = f.CustomerFactory(store=store, **kwargs)
    return customer, f.owned_vehicle(customer, plate=plate)


def book(store, actor, kinds, at, *, customer=None, vehicle=None, **kwargs):
    if customer is None:
        customer, vehicle = customer_with_car(store, plate=f"粤A{at.minute:02d}{at.hour:02d}{store.pk % 10}")
    return booking_create(actor=actor, store=store, customer=customer, vehicle=vehicle, kinds=kinds, start_at=at,
                          **kwargs)
