"""The appointments API: availability with ISO times and offsets, bookings listed (phones masked, filters by
Shanghai day), one with its history, booked (+08:00 and Z the same, naive 422, 409 for a taken slot), moved,
cancelled, arrived; another store's booking 404."""

import datetime as dt

import pytest
import time_machine
from django.test import Client

from aftercare.appointments.models import AppointmentSettings, Booking, OpeningHours, ServiceKind
from aftercare.appointments.services.booking import booking_create
from aftercare.core.services import api_token_create
from aftercare.org.calendar import business_tz
from aftercare.org.choices import Role
from aftercare.testing import factories as f

pytestmark = pytest.mark.django_db
TZ = business_tz()
DAY = dt.date(2027, 3, 2)
NOW = dt.datetime(2027, 3, 1, 10, tzinfo=TZ)


def local(day, hour, minute=0):
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=TZ)


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def setup(store_a, workshop):
    AppointmentSettings.objects.create(store=store_a, walk_in_share=0, booking_horizon_days=365)
    customer = f.CustomerFactory(store=store_a, mobile="+8613812345678")
    return {"customer": customer, "vehicle": f.owned_vehicle(customer), **workshop}


def api(user) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {api_token_create(user=user, name='t')[1]}",
                  raise_request_exception=False)


def body(setup, start, **extra):
    return {"customer_id": setup["customer"].pk, "vehicle_id": setup["vehicle"].pk,
            "kinds": [setup["maintenance"].pk], "start_at": start, **extra}


def post(client, url, data):
    import json

    return client.post(url, json.dumps(data), content_type="application/json")


# ---- availability ----------------------------------------------------------------------------------------------


def test_it_answers_free_starts_with_the_shanghai_offset(setup, store_a, booker):
    c = api(booker)
    days = c.get("/api/appointments/availability", {"store": store_a.pk, "from": "2027-03-02", "to": "2027-03-04",
                                                     "kinds": str(setup["maintenance"].pk)}).json()
    assert [d["date"] for d in days] == ["2027-03-02", "2027-03-03"]  # `to` exclusive
    assert days[0]["free"][0] == {"start": "2027-03-02T08:30:00+08:00", "bay_id": setup["bays"][0].pk}
    assert days[0]["free"][-1]["start"] == "2027-03-02T16:30:00+08:00"  # 60 minutes before closing
    estimate = c.get("/api/appointments/availability", {"store": store_a.pk, "from": "2027-03-02", "to": "2027-03-03",
                                                         "kinds": str(setup["estimate"].pk)}).json()
    assert {s["bay_id"] for s in estimate[0]["free"]} == {setup["bays"][1].pk}  # general bay only


@pytest.mark.parametrize("query,field", [
    ({"from": "2027-03-04", "to": "2027-03-02"}, "to"),
    ({"from": "2027-03-01", "to": "2027-09-01"}, "to"),
    ({"from": "0001-01-01"}, "from"),
    ({"kinds": "999999"}, "kinds"),
    ({"kinds": "1;2"}, "query.kinds"),
    ({"from": "2027-02-30"}, "query.from"),
])
def test_it_refuses_bad_availability_queries_naming_the_field(setup, store_a, booker, query, field):
    response = api(booker).get("/api/appointments/availability", {"store": store_a.pk, **query})
    assert response.status_code == 422 and field in response.json()["errors"], response.json()


def test_another_stores_availability_is_404_and_a_role_without_booking_403(setup, store_b, store_a, users):
    assert api(users[Role.CS_SPECIALIST]).get("/api/appointments/availability",
                                              {"store": store_b.pk}).status_code == 404
    assert api(users[Role.DEPARTMENT_DESIGNEE]).get("/api/appointments/availability",
                                                    {"store": store_a.pk}).status_code == 403


# ---- booking ---------------------------------------------------------------------------------------------------


def test_plus_eight_and_z_inputs_give_the_same_booking(setup, booker):
    c = api(booker)
    first = post(c, "/api/appointments/bookings", body(setup, "2027-03-02T09:00:00+08:00"))
    assert first.status_code == 201, first.json()
    assert first.json()["start_at"] == "2027-03-02T09:00:00+08:00"
    assert first.json()["end_at"] == "2027-03-02T10:00:00+08:00"
    post(c, f"/api/appointments/bookings/{first.json()['id']}/cancel", {"reason": "test"})
    second = post(c, "/api/appointments/bookings", body(setup, "2027-03-02T01:00:00Z"))
    assert second.status_code == 201
    a, b = Booking.objects.order_by("pk")
    assert a.start_at == b.start_at == local(DAY, 9) and a.bay_id == b.bay_id
    assert second.json()["start_at"] == first.json()["start_at"] and second.json()["source"] == "api"


@pytest.mark.parametrize("start,field", [
    ("2027-03-02T09:00:00", "start_at"),  # no offset
    ("0001-01-01T00:00:00+14:00", "start_at"),
    ("not a time", "body.payload.start_at"),
])
def test_it_refuses_a_time_without_offset_or_out_of_range(setup, booker, start, field):
    response = post(api(booker), "/api/appointments/bookings", body(setup, start))
    assert response.status_code == 422 and field in response.json()["errors"], response.json()
    assert not Booking.objects.exists()


def test_it_answers_409_when_the_slot_is_taken(setup, booker):
    c = api(booker)
    assert post(c, "/api/appointments/bookings", body(setup, "2027-03-02T09:00:00+08:00")).status_code == 201
    assert post(c, "/api/appointments/bookings", body(setup, "2027-03-02T09:00:00+08:00")).status_code == 201
    third = post(c, "/api/appointments/bookings", body(setup, "2027-03-02T09:30:00+08:00"))
    assert third.status_code == 409 and third.json()["detail"] == "The slot is no longer free."


def test_it_refuses_another_stores_customer_vehicle_kind_or_advisor_naming_the_field(
    setup, booker, users, store_b, other_store_rows
):
    c = api(users[Role.CS_SPECIALIST])
    cases = [
        ({"customer_id": other_store_rows["customer"].pk}, "customer_id"),
        ({"vehicle_id": other_store_rows["vehicle"].pk}, "vehicle_id"),
        ({"kinds": [ServiceKind.objects.create(store=store_b, code="m", name="m", duration_minutes=30,
                                               bay_kinds=["general"]).pk]}, "kinds"),
        ({"advisor_id": f.StaffFactory(group=store_b.group, role=Role.SERVICE_ADVISOR, stores=[store_b]).user.pk},
         "advisor_id"),
    ]
    for extra, field in cases:
        response = post(c, "/api/appointments/bookings", body(setup, "2027-03-02T09:00:00+08:00", **extra))
        assert response.status_code == 422 and field in response.json()["errors"], (field, response.json())
    assert not Booking.objects.exists()


def test_it_moves_cancels_and_checks_in_keeping_history(setup, booker, users):
    c = api(booker)
    made = post(c, "/api/appointments/bookings", body(setup, "2027-03-02T09:00:00+08:00", notes="n",
                                                     parts_to_prepare="机油滤芯",
                                                     advisor_id=users[Role.SERVICE_ADVISOR].pk)).json()
    url = f"/api/appointments/bookings/{made['id']}"
    assert made["parts_to_prepare"] == "机油滤芯" and made["advisor_id"] == users[Role.SERVICE_ADVISOR].pk
    moved = post(c, url + "/move", {"start_at": "2027-03-03T06:00:00Z"})
    assert moved.status_code == 200 and moved.json()["start_at"] == "2027-03-03T14:00:00+08:00"
    advisor = api(users[Role.SERVICE_ADVISOR])
    arrived = post(advisor, url + "/arrive", {"at": "2027-03-03T13:50:00+08:00"})
    assert arrived.status_code == 200 and arrived.json()["state"] == "arrived"
    assert arrived.json()["arrived_at"] == "2027-03-03T13:50:00+08:00"
    assert post(c, url + "/cancel", {}).status_code == 422  # arrived: no longer cancellable
    detail = c.get(url).json()
    assert [e["kind"] for e in detail["history"]] == ["created", "moved", "arrived"]
    assert detail["history"][0]["actor"] == booker.username
    assert detail["history"][0]["at"].endswith("+08:00")


def test_a_move_to_a_taken_slot_is_409_and_changes_nothing(setup, booker):
    c = api(booker)
    for _ in range(2):
        post(c, "/api/appointments/bookings", body(setup, "2027-03-02T11:00:00+08:00"))
    mine = post(c, "/api/appointments/bookings", body(setup, "2027-03-02T09:00:00+08:00")).json()
    response = post(c, f"/api/appointments/bookings/{mine['id']}/move", {"start_at": "2027-03-02T11:00:00+08:00"})
    assert response.status_code == 409
    assert Booking.objects.get(pk=mine["id"]).start_at == local(DAY, 9)


def test_checking_in_needs_the_board_permission(setup, booker, users):
    made = post(api(booker), "/api/appointments/bookings", body(setup, "2027-03-02T09:00:00+08:00")).json()
    response = post(api(users[Role.CS_SPECIALIST]), f"/api/appointments/bookings/{made['id']}/arrive", {})
    assert response.status_code == 403


# ---- lists -----------------------------------------------------------------------------------------------------


def test_the_list_masks_phones_filters_and_hides_other_stores(setup, booker, users, store_b, other_store_rows):
    from aftercare.appointments.tests.canary import plant

    rows = plant(store_b, "CANARY-ap")
    c = api(booker)
    post(c, "/api/appointments/bookings", body(setup, "2027-03-02T09:00:00+08:00"))
    specialist = api(users[Role.CS_SPECIALIST])
    page = specialist.get("/api/appointments/bookings").json()
    assert page["count"] == 1 and page["items"][0]["customer_mobile"] == "138****5678"
    assert "CANARY" not in str(page)
    other = rows["booking"]
    assert specialist.get(f"/api/appointments/bookings/{other.pk}").status_code == 404
    assert post(specialist, f"/api/appointments/bookings/{other.pk}/cancel", {}).status_code == 404
    assert specialist.get("/api/appointments/bookings", {"store": store_b.pk}).status_code == 404
    assert specialist.get("/api/appointments/bookings", {"state": "cancelled"}).json()["count"] == 0
    assert specialist.get("/api/appointments/bookings", {"customer": setup["customer"].pk}).json()["count"] == 1


def test_the_list_keeps_its_query_count_as_rows_grow(setup, booker):
    c = api(booker)

    def count_queries(n_before):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            assert c.get("/api/appointments/bookings").json()["count"] == n_before
        return len(ctx.captured_queries)

    post(c, "/api/appointments/bookings", body(setup, "2027-03-02T09:00:00+08:00"))
    few = count_queries(1)
    for hour in (10, 11, 12, 13, 14):
        post(c, "/api/appointments/bookings", body(setup, f"2027-03-02T{hour}:00:00+08:00"))
    assert count_queries(6) == few


# ---- 23:30 and 00:30 in Shanghai -------------------------------------------------------------------------------


@pytest.fixture
def night(store_a, booker):
    """A store open round the clock in 10-minute slots, one bay, a 10-minute wash."""
    from aftercare.appointments.models import Bay

    AppointmentSettings.objects.create(store=store_a, slot_minutes=10, walk_in_share=0, booking_horizon_days=365)
    Bay.objects.create(store=store_a, name="洗车位", kind="express")
    for weekday in range(7):
        OpeningHours.objects.create(store=store_a, weekday=weekday, opens_at=dt.time(0, 0), closes_at=dt.time(23, 59))
    wash = ServiceKind.objects.create(store=store_a, code="wash", name="洗车", duration_minutes=10,
                                      bay_kinds=["express"])
    customer = f.CustomerFactory(store=store_a)
    return {"customer": customer, "vehicle": f.owned_vehicle(customer), "maintenance": wash}


def test_a_start_at_00_30_shanghai_belongs_to_that_shanghai_day_and_23_30_to_its_own(night, store_a, booker):
    c = api(booker)
    late = post(c, "/api/appointments/bookings", body(night, "2027-03-02T23:30:00+08:00"))
    early = post(c, "/api/appointments/bookings", body(night, "2027-03-02T16:30:00Z"))  # 00:30 on the 3rd
    assert late.status_code == early.status_code == 201
    assert early.json()["start_at"] == "2027-03-03T00:30:00+08:00"

    def listed(day_from, day_to):
        return [b["start_at"] for b in c.get("/api/appointments/bookings", {"from": day_from, "to": day_to}).json()[
            "items"]]

    assert listed("2027-03-02", "2027-03-03") == ["2027-03-02T23:30:00+08:00"]
    assert listed("2027-03-03", "2027-03-04") == ["2027-03-03T00:30:00+08:00"]
    days = c.get("/api/appointments/availability", {"store": store_a.pk, "from": "2027-03-02", "to": "2027-03-04",
                                                     "kinds": str(night["maintenance"].pk)}).json()
    second, third = ({s["start"] for s in d["free"]} for d in days)
    assert "2027-03-02T23:20:00+08:00" in second and "2027-03-02T23:30:00+08:00" not in second
    assert "2027-03-03T00:20:00+08:00" in third and "2027-03-03T00:30:00+08:00" not in third
    assert all(s.startswith("2027-03-02T") for s in second) and all(s.startswith("2027-03-03T") for s in third)
    assert (days[0]["booked"], days[1]["booked"]) == (1, 1)


def test_the_service_books_through_the_same_code_the_api_uses(setup, store_a, booker):
    booking = booking_create(actor=booker, store=store_a, customer=setup["customer"], vehicle=setup["vehicle"],
                             kinds=[setup["maintenance"]], start_at=local(DAY, 9))
    detail = api(booker).get(f"/api/appointments/bookings/{booking.pk}").json()
    assert detail["kinds"] == [{"id": setup["maintenance"].pk, "code": "maintenance", "name": "常规保养"}]
