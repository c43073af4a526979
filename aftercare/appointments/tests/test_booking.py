"""Booking, moving and cancelling; the database refuses a double booking."""

import datetime as dt
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection

from aftercare.appointments.choices import BookingState
from aftercare.appointments.models import Booking, BookingSlot
from aftercare.appointments.services.booking import SlotTaken, booking_cancel, booking_create, booking_move
from aftercare.org.calendar import business_tz
from aftercare.testing import factories as f

pytestmark = pytest.mark.django_db
TZ = business_tz()
DAY = dt.date(2027, 3, 2)


def local(day, hour, minute=0):
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=TZ).astimezone(dt.UTC)


def book(store, workshop, booker, at, kind="maintenance"):
    customer = f.CustomerFactory(store=store)
    return booking_create(actor=booker, store=store, customer=customer, vehicle=f.owned_vehicle(customer),
                          kinds=[workshop[kind]], start_at=at)


@pytest.fixture(autouse=True)
def _no_walk_in_share(store_a):
    from aftercare.appointments.models import AppointmentSettings

    AppointmentSettings.objects.create(store=store_a, walk_in_share=0, booking_horizon_days=365)


def test_it_books_a_free_slot_on_the_appointment_bay_and_holds_its_slots(store_a, workshop, booker):
    booking = book(store_a, workshop, booker, local(DAY, 9))
    assert booking.bay == workshop["bays"][0] and booking.end_at == local(DAY, 10)
    assert BookingSlot.objects.filter(booking=booking).count() == 2
    assert booking.events.get().kind == "created"


def test_the_next_booking_of_the_slot_takes_the_other_bay_then_none(store_a, workshop, booker):
    book(store_a, workshop, booker, local(DAY, 9))
    second = book(store_a, workshop, booker, local(DAY, 9))
    assert second.bay == workshop["bays"][1]
    with pytest.raises(SlotTaken):
        book(store_a, workshop, booker, local(DAY, 9, 30))


def test_the_database_refuses_a_second_booking_of_a_bays_slot(store_a, workshop, booker):
    booking = book(store_a, workshop, booker, local(DAY, 9))
    with pytest.raises(IntegrityError):
        BookingSlot.objects.create(store=store_a, bay=booking.bay, start_at=local(DAY, 9, 30), booking=booking)


def test_it_refuses_a_time_that_is_not_a_slot_start_or_without_time_zone(store_a, workshop, booker):
    with pytest.raises(SlotTaken):
        book(store_a, workshop, booker, local(DAY, 9, 10))
    with pytest.raises(ValidationError) as e:
        book(store_a, workshop, booker, dt.datetime(2027, 3, 2, 9))
    assert "start_at" in e.value.message_dict


def test_moving_and_cancelling_free_the_slots_and_keep_history(store_a, workshop, booker):
    booking = book(store_a, workshop, booker, local(DAY, 9))
    booking_move(actor=booker, booking=booking, start_at=local(DAY, 9, 30))  # overlaps its own old slot
    assert set(BookingSlot.objects.values_list("start_at", flat=True)) == {local(DAY, 9, 30), local(DAY, 10)}
    booking_cancel(actor=booker, booking=Booking.objects.get(), reason="客户出差")
    assert not BookingSlot.objects.exists() and Booking.objects.get().state == BookingState.CANCELLED
    assert [e.kind for e in Booking.objects.get().events.all()] == ["created", "moved", "cancelled"]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_eight_threads_booking_the_last_slot_exactly_one_wins(store_a, workshop, booker):
    if connection.vendor != "postgresql":
        pytest.skip("threads share no in-memory SQLite test database; see test_race_sqlite")
    first = book(store_a, workshop, booker, local(DAY, 9))
    customers = [f.CustomerFactory(store=store_a) for _ in range(8)]
    vehicles = [f.owned_vehicle(c) for c in customers]
    barrier = threading.Barrier(8)
    results: list[str] = []

    def race(i):
        try:
            barrier.wait()
            booking_create(actor=booker, store=store_a, customer=customers[i], vehicle=vehicles[i],
                           kinds=[workshop["maintenance"]], start_at=local(DAY, 9))
            results.append("won")
        except SlotTaken:
            results.append("lost")
        except Exception as exc:  # noqa: BLE001 — anything else fails the test below
            results.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=race, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["lost"] * 7 + ["won"]
    assert Booking.objects.exclude(pk=first.pk).count() == 1


def test_a_missed_booking_becomes_a_no_show_after_the_grace_and_frees_its_slots(store_a, workshop, booker):

    from aftercare.appointments.services.day import bookings_mark_no_show

    booking = book(store_a, workshop, booker, local(DAY, 9))
    assert bookings_mark_no_show(store_id=store_a.pk, now=local(DAY, 9, 30)) == 0  # grace: 30 minutes
    assert bookings_mark_no_show(store_id=store_a.pk, now=local(DAY, 9, 31)) == 1
    assert bookings_mark_no_show(store_id=store_a.pk, now=local(DAY, 9, 31)) == 0
    booking.refresh_from_db()
    assert booking.state == BookingState.NO_SHOW and not booking.slots.exists()


def test_an_imported_order_is_matched_to_its_appointment_and_becomes_booked(store_a, workshop, booker):
    from aftercare.appointments.services.day import bookings_match_repair_orders

    booking = book(store_a, workshop, booker, local(DAY, 9))
    other = f.RepairOrderFactory(store=store_a, customer=booking.customer, vehicle=f.owned_vehicle(booking.customer),
                                 settled_at=local(DAY, 16))
    ro = f.RepairOrderFactory(store=store_a, customer=booking.customer, vehicle=booking.vehicle,
                              settled_at=local(DAY + dt.timedelta(days=1), 11), booked=False)
    assert bookings_match_repair_orders(store_id=store_a.pk, since=DAY) == 1
    assert bookings_match_repair_orders(store_id=store_a.pk, since=DAY) == 0
    booking.refresh_from_db()
    ro.refresh_from_db()
    other.refresh_from_db()
    assert booking.repair_order == ro and booking.state == BookingState.ARRIVED and ro.booked
    assert not other.booked
