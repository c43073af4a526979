"""Eight threads book the last free slot at once, through the service and through the API: exactly one wins, the
seven others get `SlotTaken` / HTTP 409 — never a server error or a "database is locked" — on SQLite (a file copy
of the test database, opened as in production: `aftercare/testing/race.py`) and PostgreSQL."""

import datetime as dt
import json

import pytest
from django.test import Client

from aftercare.appointments.models import AppointmentSettings, Booking, BookingSlot
from aftercare.appointments.services.booking import SlotTaken, booking_create
from aftercare.core.services import api_token_create
from aftercare.org.calendar import business_tz
from aftercare.org.choices import Role
from aftercare.testing import factories as f
from aftercare.testing.race import in_thread, production_like_database, race

THREADS = 8
TZ = business_tz()
START = dt.datetime(2027, 3, 2, 9, tzinfo=TZ)


@pytest.fixture
def last_slot(store_a, workshop, booker):
    """09:00 on one of the two bays is taken: the other bay's 09:00 is the last free start; eight customers and
    eight service advisors of the store want it."""
    AppointmentSettings.objects.create(store=store_a, walk_in_share=0, booking_horizon_days=3650)
    first = f.CustomerFactory(store=store_a)
    booking_create(actor=booker, store=store_a, customer=first, vehicle=f.owned_vehicle(first),
                   kinds=[workshop["maintenance"]], start_at=START)
    racers = []
    for i in range(THREADS):
        customer = f.CustomerFactory(store=store_a)
        user = f.UserFactory(username=f"appt-racer{i}")
        f.StaffFactory(user=user, group=store_a.group, role=Role.SERVICE_ADVISOR, stores=[store_a])
        racers.append({"user": user, "customer": customer, "vehicle": f.owned_vehicle(customer)})
    return racers


def _outcome():
    return in_thread(lambda: (Booking.objects.filter(start_at=START).count(),
                              BookingSlot.objects.filter(start_at=START).count(),
                              sorted(Booking.objects.filter(start_at=START).values_list("bay_id", flat=True))))


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_lets_exactly_one_of_eight_threads_book_the_last_slot(tmp_path, store_a, workshop, last_slot):
    def book(racer) -> str:
        try:
            booking_create(actor=racer["user"], store=store_a, customer=racer["customer"], vehicle=racer["vehicle"],
                           kinds=[workshop["maintenance"]], start_at=START)
            return "won"
        except SlotTaken:
            return "lost"

    with production_like_database(tmp_path):
        results = race(book, last_slot)
        bookings, slots, bays = _outcome()
    assert sorted(results) == ["lost"] * (THREADS - 1) + ["won"], results
    assert (bookings, slots) == (2, 2) and bays == sorted(b.pk for b in workshop["bays"])


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_answers_409_to_all_but_one_of_eight_api_bookings(tmp_path, store_a, workshop, last_slot):
    keys = {r["user"].pk: api_token_create(user=r["user"], name="race")[1] for r in last_slot}

    def book(racer) -> str:
        client = Client(HTTP_AUTHORIZATION=f"Bearer {keys[racer['user'].pk]}", raise_request_exception=False)
        response = client.post("/api/appointments/bookings", json.dumps({
            "customer_id": racer["customer"].pk, "vehicle_id": racer["vehicle"].pk,
            "kinds": [workshop["maintenance"].pk], "start_at": "2027-03-02T01:00:00Z",
        }), content_type="application/json")
        return f"{response.status_code} {response.json().get('detail', '')}".strip()

    with production_like_database(tmp_path):
        results = race(book, last_slot)
        bookings, slots, _bays = _outcome()
    assert sorted(results) == ["201"] + ["409 The slot is no longer free."] * (THREADS - 1), results
    assert (bookings, slots) == (2, 2)
