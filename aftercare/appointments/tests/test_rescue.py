"""Roadside rescue: the log page (form and list), the order of its times, and the monthly arrival time (median
and 90th percentile, minutes from report to arrival)."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import Client

from aftercare.appointments.models import RescueCall
from aftercare.appointments.selectors import rescue_arrival_minutes
from aftercare.appointments.services.rescue import rescue_call_create, rescue_call_update
from aftercare.org.calendar import business_tz
from aftercare.org.choices import Role
from aftercare.org.kpis import measure_get
from aftercare.testing import factories as f

pytestmark = pytest.mark.django_db
TZ = business_tz()
NOW = dt.datetime(2027, 3, 20, 12, tzinfo=TZ)


@pytest.fixture
def advisor(users):
    return users[Role.SERVICE_ADVISOR]


def client_for(user):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def _call(store, reported, minutes, **kw):
    return RescueCall.objects.create(store=store, reported_at=reported, place="广园快速路", what_happened="爆胎",
                                     dispatched_at=reported + dt.timedelta(minutes=min(5, minutes or 5)),
                                     arrived_at=reported + dt.timedelta(minutes=minutes) if minutes else None, **kw)


def test_it_logs_a_rescue_call_from_the_page_with_the_vehicle_and_the_staff_sent(store_a, advisor, users):
    customer = f.CustomerFactory(store=store_a)
    vehicle = f.owned_vehicle(customer, plate="粤A55555")
    technician = users[Role.STORE_MANAGER]
    with time_machine.travel(NOW, tick=False):
        response = client_for(advisor).post("/appointments/rescue/", {
            "vehicle": "粤A55555", "reported_at": "2027-03-20T10:00", "place": "华南快速 K12",
            "what_happened": "电瓶亏电",
            "dispatched_at": "2027-03-20T10:10", "dispatched_user": technician.pk, "arrived_at": "2027-03-20T10:50",
            "outcome": "fixed_on_site"})
        page = client_for(advisor).get("/appointments/rescue/")
    assert response.status_code == 302, response.content.decode()
    call = RescueCall.objects.get()
    assert (call.vehicle, call.customer, call.dispatched_user) == (vehicle, customer, technician)
    assert call.dispatched_to == technician.staff.display_name and call.created_by == advisor
    assert call.arrived_at - call.reported_at == dt.timedelta(minutes=50)
    html = page.content.decode()
    assert "华南快速 K12" in html and "median 50.0 min" in html


def test_it_refuses_times_out_of_order_naming_the_field(store_a, advisor):
    base = {"reported_at": "2027-03-20T10:00", "place": "x", "what_happened": "x"}
    with time_machine.travel(NOW, tick=False):
        client = client_for(advisor)
        early = client.post("/appointments/rescue/", base | {"dispatched_at": "2027-03-20T09:00"})
        no_dispatch = client.post("/appointments/rescue/", base | {"arrived_at": "2027-03-20T11:00"})
        before = client.post("/appointments/rescue/", base | {"dispatched_at": "2027-03-20T10:30",
                                                              "arrived_at": "2027-03-20T10:20"})
        future = client.post("/appointments/rescue/", base | {"reported_at": "2027-03-21T10:00"})
        garbage = client.post("/appointments/rescue/", base | {"reported_at": "yesterday", "vehicle": "粤Z"})
    assert early.status_code == 400 and "Dispatched cannot be before" in early.content.decode()
    assert no_dispatch.status_code == 400 and "dispatched before when it arrived" in no_dispatch.content.decode()
    assert before.status_code == 400 and "Arrived cannot be before" in before.content.decode()
    assert future.status_code == 400 and "in the future" in future.content.decode()
    assert garbage.status_code == 400 and not RescueCall.objects.exists()
    with pytest.raises(ValidationError) as e, time_machine.travel(NOW, tick=False):
        rescue_call_create(actor=advisor, store=store_a, reported_at=NOW - dt.timedelta(hours=1), place="x",
                           what_happened="x", arrived_at=NOW)
    assert list(e.value.message_dict) == ["arrived_at"]
    with pytest.raises(IntegrityError), transaction.atomic():  # the database holds the order too
        RescueCall.objects.create(store=store_a, reported_at=NOW, place="x", what_happened="x",
                                  dispatched_at=NOW - dt.timedelta(minutes=1))


def test_the_dispatch_and_arrival_are_recorded_later_on_the_calls_page(store_a, advisor):
    with time_machine.travel(NOW, tick=False):
        call = rescue_call_create(actor=advisor, store=store_a, reported_at=NOW - dt.timedelta(minutes=40),
                                  place="白云机场高速", what_happened="无法启动")
        response = client_for(advisor).post(f"/appointments/rescue/{call.pk}/", {
            "reported_at": "2027-03-20T11:20", "place": "白云机场高速", "what_happened": "无法启动",
            "dispatched_at": "2027-03-20T11:25", "dispatched_to": "拖车公司 王师傅", "arrived_at": "2027-03-20T11:55",
            "outcome": "towed_here"})
        assert response.status_code == 302
        call.refresh_from_db()
        assert call.dispatched_to == "拖车公司 王师傅" and call.outcome == "towed_here"
        rescue_call_update(actor=advisor, call=call, outcome_note="已进厂")
    assert RescueCall.objects.get().outcome_note == "已进厂"


def test_the_monthly_arrival_time_is_the_median_and_90th_percentile_of_the_users_stores(store_a, store_b, advisor):
    march = dt.datetime(2027, 3, 5, 10, tzinfo=TZ)
    for minutes in (20, 30, 40, 50, 60, 70, 80, 90, 100, 200):
        _call(store_a, march, minutes)
    _call(store_a, march, None)  # not arrived: not counted
    _call(store_a, dt.datetime(2027, 2, 28, 23, 50, tzinfo=TZ), 15)  # February in Shanghai
    _call(store_b, march, 1)  # another store: not the user's
    result = rescue_arrival_minutes(user=advisor, store_ids=[store_a.pk, store_b.pk], month=dt.date(2027, 3, 1))
    assert result == {"median": 65.0, "p90": 110.0, "count": 10}
    assert rescue_arrival_minutes(user=advisor, store_ids=[store_a.pk], month=dt.date(2027, 2, 1)) == {
        "median": 15.0, "p90": 15.0, "count": 1}
    assert rescue_arrival_minutes(user=advisor, store_ids=[store_b.pk], month=dt.date(2027, 3, 1))["count"] == 0


def test_the_rescue_log_is_for_the_board_roles(users):
    assert client_for(users[Role.CS_SPECIALIST]).get("/appointments/rescue/").status_code == 403


def test_the_catalogue_gives_each_store_its_arrival_time_over_the_period(store_a, store_b, advisor):
    march = dt.datetime(2027, 3, 5, 10, tzinfo=TZ)
    for minutes in (20, 30, 40, 50, 60, 70, 80, 90, 100, 200):
        _call(store_a, march, minutes)
    _call(store_a, dt.datetime(2027, 4, 2, 10, tzinfo=TZ), 500)  # April: not in the quarter's March only
    median = measure_get("appointments.rescue_arrival_median")
    p90 = measure_get("appointments.rescue_arrival_p90")
    assert median.direction == "lower" and median.unit == "minutes"
    [value] = median.compute(user=advisor, store_ids=[store_a.pk, store_b.pk], period_start=dt.date(2027, 3, 1),
                             period_end=dt.date(2027, 4, 1))
    assert (value.store_id, value.value, value.denominator) == (store_a.pk, Decimal("65.0"), 10)
    [value] = p90.compute(user=advisor, store_ids=[store_a.pk], period_start=dt.date(2027, 3, 1),
                          period_end=dt.date(2027, 4, 1))
    assert value.value == Decimal("110.0")
    [quarter] = median.compute(user=advisor, store_ids=[store_a.pk], period_start=dt.date(2027, 1, 1),
                               period_end=dt.date(2027, 7, 1))
    assert quarter.denominator == 11
    assert median.compute(user=advisor, store_ids=[store_b.pk], period_start=dt.date(2027, 3, 1),
                          period_end=dt.date(2027, 4, 1)) == []
