"""`seed_demo` builds the appointments: capacity, advisors, 18 months of bookings matched to the booked repair
orders, no-shows and cancellations, today's and the coming days', targets — and GZ01 reproduces the seed's
appointment-rate months (Jun 15 % … Dec 26 %) as the measure counts them.

The demo is seeded once for the package (`conftest.py`, one transaction rolled back at the end); every test reads it.
"""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.db.models import Count, F

from aftercare.appointments import measures as m
from aftercare.appointments.availability import availability
from aftercare.appointments.choices import BookingState
from aftercare.appointments.models import Bay, Booking, BookingSlot, OpeningHours, ServiceKind
from aftercare.customers.models import RepairOrder
from aftercare.demo.appointments import APPOINTMENT_RATE_MEASURE, SEED_RATES, seed_months
from aftercare.org.choices import Role
from aftercare.org.models import KpiTarget, Staff, Store

from .conftest import NOW, SHANGHAI, TODAY

SEED_SECONDS = {}


@pytest.fixture
def demo(seeded_demo, db):
    SEED_SECONDS.update(all=seeded_demo["seconds"], output=seeded_demo["output"])
    with time_machine.travel(NOW, tick=False):
        yield


def _admin():
    return Staff.objects.get(user__username="admin").user


def test_gz01_reproduces_the_seeds_appointment_rate_months_within_one_point(demo):
    gz = Store.objects.get(code="GZ01")
    months = seed_months(TODAY)
    assert min(months) == dt.date(2025, 6, 1) and max(months) == dt.date(2025, 12, 1)
    table = m.appointment_monthly(user=_admin(), store_ids=[gz.pk], since=min(months), until=dt.date(2026, 1, 1))
    for month, rate in months.items():
        figures = m.with_rates(table[gz.pk][month])
        assert figures["orders"] >= 60, month
        assert abs(figures["appointment_rate"] - Decimal(rate)) <= 1, (month, figures["appointment_rate"], rate)
    assert [months[dt.date(2025, mo, 1)] for mo in range(6, 13)] == list(SEED_RATES.values())


def test_every_store_has_bays_kinds_hours_an_advisor_and_targets(demo):
    for store in Store.objects.filter(group__code="YUETONG"):
        assert Bay.objects.filter(store=store, kind="appointment").count() == 1
        assert ServiceKind.objects.filter(store=store).count() == 5
        assert OpeningHours.objects.filter(store=store).count() == 7
        advisor = Staff.objects.get(stores=store, role=Role.SERVICE_ADVISOR)
        assert advisor.user.username.endswith("_advisor")
        assert RepairOrder.objects.filter(store=store, service_advisor=advisor.display_name).exists()
        assert Booking.objects.filter(store=store, advisor=advisor.user).exists()
        assert KpiTarget.objects.filter(store=store, measure_code=APPOINTMENT_RATE_MEASURE).count() >= 18


def test_the_booked_orders_have_their_appointments_and_the_rates_look_like_a_workshop(demo):
    booked = RepairOrder.objects.filter(booked=True, settled_at__lt=dt.datetime.combine(
        TODAY, dt.time(0), tzinfo=SHANGHAI), store__group__code="YUETONG")
    matched = booked.filter(booking__isnull=False).count()
    assert matched >= 0.9 * booked.count() > 1000
    states = dict(Booking.objects.values_list("state").annotate(n=Count("id")))
    shown = states[BookingState.ARRIVED] + states[BookingState.NO_SHOW]
    assert 0.05 <= states[BookingState.NO_SHOW] / shown <= 0.14
    assert states[BookingState.CANCELLED] > 0
    # every appointment that holds its bay has its slots; none of the others holds any
    holding = Booking.objects.filter(state__in=(BookingState.ARRIVED, BookingState.BOOKED, BookingState.CONFIRMED))
    assert BookingSlot.objects.filter(booking__state__in=(BookingState.NO_SHOW, BookingState.CANCELLED)).count() == 0
    assert holding.filter(slots__isnull=True).count() == 0
    # matched on the order's day, before it was settled, made ahead of its start
    sample = Booking.objects.filter(repair_order__isnull=False).select_related("repair_order")[:300]
    assert all(b.start_at <= b.repair_order.settled_at and b.created_at < b.start_at for b in sample)


def test_the_advisor_starts_today_with_arrivals_and_the_coming_days_booked(demo):
    gz = Store.objects.get(code="GZ01")
    start = dt.datetime.combine(TODAY, dt.time(0), tzinfo=SHANGHAI)
    today = Booking.objects.filter(store=gz, start_at__gte=start, start_at__lt=start + dt.timedelta(days=1))
    assert today.filter(state=BookingState.ARRIVED).exists()
    assert today.filter(state=BookingState.BOOKED, start_at__gt=NOW).count() >= 4  # at 15:30: the day's last slots
    assert today.filter(state=BookingState.BOOKED, start_at__lt=NOW).count() == 1  # late, within the grace
    ahead = Booking.objects.filter(store=gz, start_at__gte=start + dt.timedelta(days=1), state=BookingState.BOOKED)
    assert ahead.count() >= 40 and ahead.exclude(parts_to_prepare="").exists()
    days = availability(store_id=gz.pk, start=TODAY + dt.timedelta(days=1), end=TODAY + dt.timedelta(days=7),
                        kinds=[ServiceKind.objects.get(store=gz, code="maintenance")])
    assert all(d.free for d in days if d.open)


def test_the_rescue_log_has_its_months_and_the_arrival_time_shortens(demo):
    from aftercare.appointments.models import RescueCall
    from aftercare.appointments.selectors import rescue_arrival_by_store

    gz = Store.objects.get(code="GZ01")
    calls = RescueCall.objects.filter(store=gz)
    assert calls.count() >= 50 and calls.filter(arrived_at__isnull=True).exists()  # some cancelled
    assert not calls.filter(arrived_at__lt=F("reported_at")).exists()
    admin = get_user_model().objects.get(username="admin")
    first = rescue_arrival_by_store(user=admin, store_ids=[gz.pk], since=TODAY - dt.timedelta(days=540),
                                    until=TODAY - dt.timedelta(days=360))[gz.pk]
    last = rescue_arrival_by_store(user=admin, store_ids=[gz.pk], since=TODAY - dt.timedelta(days=180),
                                   until=TODAY)[gz.pk]
    assert last["median"] < first["median"] and 30 <= last["median"] <= 60 and first["count"] >= 10


def test_it_reports_the_seed_time(demo):
    assert "appointments" in SEED_SECONDS["output"]
    print(f"seed_demo with appointments: {SEED_SECONDS['all']:.1f} s")
    assert SEED_SECONDS["all"] < 600
