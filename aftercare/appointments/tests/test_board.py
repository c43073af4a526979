"""The advisor's day board: states by time, check-in, no-show by hand and by the job, walk-ins, the manual match,
the advisor filter, constant queries, the minute's refresh, and the no-show job in the schedule."""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from aftercare.appointments.choices import BookingSource, BookingState
from aftercare.appointments.models import AppointmentSettings, Booking, BookingSlot, OpeningHours
from aftercare.appointments.selectors import day_board
from aftercare.appointments.services.board import booking_match_repair_order, booking_no_show, booking_walk_in
from aftercare.appointments.services.booking import booking_cancel, booking_create
from aftercare.appointments.services.day import booking_arrive
from aftercare.org.calendar import business_tz
from aftercare.org.choices import Role
from aftercare.testing import factories as f

pytestmark = pytest.mark.django_db
TZ = business_tz()
DAY = dt.date(2027, 3, 2)


def local(day, hour, minute=0):
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=TZ).astimezone(dt.UTC)


@pytest.fixture
def advisor(users):
    return users[Role.SERVICE_ADVISOR]


@pytest.fixture(autouse=True)
def _settings(store_a):
    AppointmentSettings.objects.create(store=store_a, walk_in_share=0, booking_horizon_days=365,
                                       no_show_grace_minutes=15)


def book(store, workshop, actor, at, kind="maintenance", advisor=None, plate=None):
    customer = f.CustomerFactory(store=store)
    vehicle = f.owned_vehicle(customer, **({"plate": plate} if plate else {}))
    with time_machine.travel(local(DAY, 7) - dt.timedelta(days=3), tick=False):
        return booking_create(actor=actor, store=store, customer=customer, vehicle=vehicle, kinds=[workshop[kind]],
                              start_at=at, advisor=advisor)


def client_for(user):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def test_it_shows_each_booking_of_the_day_by_time_with_its_state(store_a, workshop, advisor):
    at9 = book(store_a, workshop, advisor, local(DAY, 9))
    at10 = book(store_a, workshop, advisor, local(DAY, 10))
    at11 = book(store_a, workshop, advisor, local(DAY, 11))
    at14 = book(store_a, workshop, advisor, local(DAY, 14))
    gone = book(store_a, workshop, advisor, local(DAY, 15))
    booking_cancel(actor=advisor, booking=gone)
    with time_machine.travel(local(DAY, 10, 5), tick=False):
        booking_arrive(actor=advisor, booking=at10)
    now = local(DAY, 11, 10)  # 9:00 is 130 min late (past the 15 min grace), 11:00 is 10 min late
    board = day_board(user=advisor, store_id=store_a.pk, day=DAY, now=now)
    states = {b.pk: b.board_state for b in board.rows}
    assert [b.pk for b in board.rows] == [at9.pk, at10.pk, at11.pk, at14.pk, gone.pk]
    assert states == {at9.pk: "no_show", at10.pk: "shown", at11.pk: "late", at14.pk: "expected", gone.pk: "cancelled"}
    assert board.counts == {"expected": 1, "late": 1, "shown": 1, "no_show": 1, "walk_in": 0, "cancelled": 1}
    with time_machine.travel(now, tick=False):
        response = client_for(advisor).get("/appointments/board/", {"date": DAY.isoformat()})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'hx-trigger="every 60s"' in html
    assert f'id="booking-{at11.pk}" data-state="late"' in html and f'id="booking-{at9.pk}" data-state="no_show"' in html


def test_it_checks_a_customer_in_from_the_board_and_answers_htmx_with_the_board(store_a, workshop, advisor):
    booking = book(store_a, workshop, advisor, local(DAY, 9))
    with time_machine.travel(local(DAY, 9, 5), tick=False):
        response = client_for(advisor).post(f"/appointments/board/{booking.pk}/arrive/",
                                            {"store": store_a.pk, "date": DAY.isoformat()}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert 'id="board"' in response.content.decode() and "checked in" in response.content.decode()
    booking.refresh_from_db()
    assert booking.state == BookingState.ARRIVED and booking.arrived_at == local(DAY, 9, 5)


def test_it_marks_a_no_show_by_hand_only_after_the_start_and_frees_the_slots(store_a, workshop, advisor):
    booking = book(store_a, workshop, advisor, local(DAY, 9))
    with pytest.raises(ValidationError):
        booking_no_show(actor=advisor, booking=booking, now=local(DAY, 8, 59))
    with time_machine.travel(local(DAY, 9, 10), tick=False):
        response = client_for(advisor).post(f"/appointments/board/{booking.pk}/no-show/",
                                            {"store": store_a.pk, "date": DAY.isoformat()})
    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.state == BookingState.NO_SHOW and not booking.slots.exists()
    assert booking.events.last().actor == advisor


def test_the_job_marks_no_shows_after_the_grace_and_is_scheduled_four_times_an_hour(store_a, workshop, advisor):
    from aftercare.core.schedule import job_get

    booking = book(store_a, workshop, advisor, local(DAY, 9))
    with time_machine.travel(local(DAY, 9, 14), tick=False):
        call_command("appointments_no_show", stdout=open("/dev/null", "w"))
    assert Booking.objects.get(pk=booking.pk).state == BookingState.BOOKED
    with time_machine.travel(local(DAY, 9, 16), tick=False):
        call_command("appointments_no_show", stdout=open("/dev/null", "w"))
    assert Booking.objects.get(pk=booking.pk).state == BookingState.NO_SHOW
    job = job_get("appointments_no_show")
    assert job.hourly and job.at == (":05", ":20", ":35", ":50")
    assert not job_get("appointments_match").hourly


def test_a_walk_in_takes_the_running_slot_on_a_free_bay_or_waits_without_one(store_a, workshop, advisor):
    first = book(store_a, workshop, advisor, local(DAY, 10))  # the appointment bay, 10:00–11:00
    now = local(DAY, 10, 10)
    customer = f.CustomerFactory(store=store_a)
    walk_in = booking_walk_in(actor=advisor, store=store_a, customer=customer, vehicle=f.owned_vehicle(customer),
                              kinds=[workshop["maintenance"]], now=now)
    assert walk_in.holds_slot and walk_in.bay == workshop["bays"][1] and walk_in.start_at == local(DAY, 10)
    assert walk_in.state == BookingState.ARRIVED and walk_in.source == BookingSource.WALK_IN
    assert set(BookingSlot.objects.filter(booking=walk_in).values_list("start_at", flat=True)) == {
        local(DAY, 10), local(DAY, 10, 30)}
    other = f.CustomerFactory(store=store_a)
    waiting = booking_walk_in(actor=advisor, store=store_a, customer=other, vehicle=f.owned_vehicle(other),
                              kinds=[workshop["maintenance"]], now=now)
    assert not waiting.holds_slot and not waiting.slots.exists() and waiting.start_at == now
    board = day_board(user=advisor, store_id=store_a.pk, day=DAY, now=now)
    assert board.counts["walk_in"] == 2 and board.counts["late"] == 1  # the 10:00 appointment, 10 min late
    assert first.pk in [b.pk for b in board.rows]


def test_walk_ins_do_not_count_against_the_days_appointment_cap(store_a, workshop, advisor):
    from aftercare.appointments.availability import availability

    OpeningHours.objects.filter(store=store_a).update(daily_cap=1)
    customer = f.CustomerFactory(store=store_a)
    booking_walk_in(actor=advisor, store=store_a, customer=customer, vehicle=f.owned_vehicle(customer),
                    kinds=[workshop["estimate"]], now=local(DAY, 8, 40))
    day = availability(store_id=store_a.pk, start=DAY, end=DAY, kinds=[workshop["maintenance"]],
                       now=local(DAY, 8, 40))[0]
    assert day.free and not day.full


def test_the_walk_in_form_finds_the_vehicle_by_plate_and_names_a_bad_one(store_a, workshop, advisor):
    customer = f.CustomerFactory(store=store_a)
    vehicle = f.owned_vehicle(customer, plate="粤A12345")
    with time_machine.travel(local(DAY, 9, 40), tick=False):
        client = client_for(advisor)
        bad = client.post("/appointments/board/walk-in/", {"store": store_a.pk, "date": DAY.isoformat(),
                                                           "vehicle": "粤Z00000", "kinds": [workshop["estimate"].pk]})
        good = client.post("/appointments/board/walk-in/", {"store": store_a.pk, "date": DAY.isoformat(),
                                                            "vehicle": "粤a12345", "kinds": [workshop["estimate"].pk]},
                           HTTP_HX_REQUEST="true")
    assert bad.status_code == 400 and "No single vehicle of this store" in bad.content.decode()
    assert good.status_code == 200 and "Walk-in" in good.content.decode()
    assert Booking.objects.get(source=BookingSource.WALK_IN).vehicle == vehicle


def test_an_unmatched_appointment_of_a_past_day_is_matched_by_hand(store_a, workshop, advisor):
    booking = book(store_a, workshop, advisor, local(DAY, 9))
    ro = f.RepairOrderFactory(store=store_a, customer=booking.customer, vehicle=booking.vehicle,
                              settled_at=local(DAY + dt.timedelta(days=9), 16), booked=False)  # outside ± 7 days
    near = f.RepairOrderFactory(store=store_a, customer=booking.customer, vehicle=booking.vehicle,
                                settled_at=local(DAY + dt.timedelta(days=2), 16), booked=False)
    somebody = f.CustomerFactory(store=store_a)
    stranger = f.RepairOrderFactory(store=store_a, customer=somebody, vehicle=f.owned_vehicle(somebody),
                                    settled_at=local(DAY, 16))
    later = DAY + dt.timedelta(days=3)
    board = day_board(user=advisor, store_id=store_a.pk, day=later, now=local(later, 9))
    [unmatched] = board.unmatched
    assert unmatched.pk == booking.pk and [r.pk for r in unmatched.candidates] == [near.pk]
    with pytest.raises(ValidationError):
        booking_match_repair_order(actor=advisor, booking=booking, repair_order=ro)
    with pytest.raises(ValidationError):
        booking_match_repair_order(actor=advisor, booking=booking, repair_order=stranger)
    with time_machine.travel(local(later, 9), tick=False):
        response = client_for(advisor).post(f"/appointments/board/{booking.pk}/match/",
                                            {"store": store_a.pk, "date": later.isoformat(), "repair_order": near.pk},
                                            HTTP_HX_REQUEST="true")
    assert response.status_code == 200, response.content.decode()
    booking.refresh_from_db()
    near.refresh_from_db()
    assert booking.repair_order == near and booking.state == BookingState.ARRIVED and near.booked
    assert not day_board(user=advisor, store_id=store_a.pk, day=later, now=local(later, 9)).unmatched
    with pytest.raises(ValidationError):  # matched once: a second match is refused, nothing is cleared
        booking_match_repair_order(actor=advisor, booking=booking, repair_order=near)
    near.refresh_from_db()
    assert near.booked


def test_it_filters_the_board_by_advisor(store_a, workshop, advisor, users):
    mine = book(store_a, workshop, advisor, local(DAY, 9), advisor=advisor)
    book(store_a, workshop, advisor, local(DAY, 10), advisor=users[Role.STORE_MANAGER])
    board = day_board(user=advisor, store_id=store_a.pk, day=DAY, advisor_id=advisor.pk, now=local(DAY, 8))
    assert [b.pk for b in board.rows] == [mine.pk]
    with time_machine.travel(local(DAY, 8), tick=False):
        html = client_for(advisor).get("/appointments/board/", {"date": DAY.isoformat(),
                                                                "advisor": advisor.pk}).content.decode()
    assert f'id="booking-{mine.pk}"' in html and html.count('id="booking-') == 1


def _board_queries(user) -> int:
    client = client_for(user)
    client.get("/appointments/board/", {"date": DAY.isoformat()})  # the session's first request
    with CaptureQueriesContext(connection) as ctx:
        assert client.get("/appointments/board/", {"date": DAY.isoformat()}).status_code == 200
    return len(ctx)


def test_the_board_reads_a_constant_number_of_queries(store_a, workshop, advisor):
    OpeningHours.objects.filter(store=store_a).update(opens_at=dt.time(7), closes_at=dt.time(22))
    for hour in (9, 10):
        b = book(store_a, workshop, advisor, local(DAY - dt.timedelta(days=1), hour), advisor=advisor)
        f.RepairOrderFactory(store=store_a, customer=b.customer, vehicle=b.vehicle, settled_at=local(DAY, 12))
        book(store_a, workshop, advisor, local(DAY, hour), advisor=advisor)
    with time_machine.travel(local(DAY, 12), tick=False):
        few = _board_queries(advisor)
    for hour in range(11, 20):
        b = book(store_a, workshop, advisor, local(DAY - dt.timedelta(days=1), hour), advisor=advisor)
        f.RepairOrderFactory(store=store_a, customer=b.customer, vehicle=b.vehicle, settled_at=local(DAY, 12))
        book(store_a, workshop, advisor, local(DAY, hour), advisor=advisor)
    with time_machine.travel(local(DAY, 12), tick=False):
        many = _board_queries(advisor)
    assert few == many


def test_it_denies_the_board_to_a_role_without_the_permission(users):
    assert client_for(users[Role.CS_SPECIALIST]).get("/appointments/board/").status_code == 403


def test_the_minutes_refresh_gets_the_board_alone(store_a, workshop, advisor):
    booking = book(store_a, workshop, advisor, local(DAY, 9))
    with time_machine.travel(local(DAY, 8), tick=False):
        response = client_for(advisor).get("/appointments/board/", {"store": store_a.pk, "date": DAY.isoformat()},
                                           HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and html.lstrip().startswith('<div id="board"')
    assert "<nav" not in html and f'id="booking-{booking.pk}" data-state="expected"' in html
