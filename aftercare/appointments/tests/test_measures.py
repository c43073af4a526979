"""The appointment measures (docs/kpis.md, "Service appointments") against a store-month computed by hand: March
2027 in store A, seen on 10 April 2027 (March over, April running).

Repair orders settled in March (Shanghai): four maintenance orders, two of them booked; a mechanical order settled
31 March 23:30 (still March); an internal order (booked) and a car wash — left out. Not March: an order settled
1 April 00:30 Shanghai (31 March 16:30 UTC) and one settled 28 February 23:30. → 2 / 5 = 40.0 %.

Appointments starting in March: three arrived (made 1, 2 and 4 days ahead), one no-show (3 days), one still booked
(10 days), one cancelled. Show rate 3 / 4 = 75.0 %, no-show 25.0 %, lead time median of 1, 2, 3, 4, 10 = 3.0 days.
Bay use: five bookings of 60 minutes = 300 booked bay-minutes over 31 days × 9 hours × 2 bays = 33,480 → 0.9 %;
Tuesdays 09:00–10:00 (five Tuesdays, 2 bays: 600 open minutes) hold one booking → 10.0 %.
"""

import datetime as dt
import io
from decimal import Decimal

import pytest
import time_machine
from django.test import Client
from openpyxl import load_workbook

from aftercare.appointments import kpis
from aftercare.appointments import measures as m
from aftercare.appointments.choices import BookingSource, BookingState
from aftercare.appointments.models import Booking
from aftercare.org.calendar import business_tz
from aftercare.org.choices import KpiPeriodKind, Role
from aftercare.org.kpis import measure_get, measures
from aftercare.org.models import KpiTarget
from aftercare.testing import factories as f

pytestmark = pytest.mark.django_db
TZ = business_tz()
NOW = dt.datetime(2027, 4, 10, 11, 0, tzinfo=TZ)
MARCH = dt.date(2027, 3, 1)


def local(y, mo, d, h, mi=0):
    return dt.datetime(y, mo, d, h, mi, tzinfo=TZ)


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


def _order(store, at, *, kind="maintenance", booked=False, number=None):
    return f.RepairOrderFactory(store=store, customer=f.CustomerFactory(store=store), settled_at=at, kind=kind,
                                booked=booked, **({"ro_number": number} if number else {}))


def _booking(store, bay, start, state, lead_days):
    customer = f.CustomerFactory(store=store)
    booking = Booking.objects.create(store=store, customer=customer, vehicle=f.owned_vehicle(customer), bay=bay,
                                     start_at=start, end_at=start + dt.timedelta(hours=1), state=state,
                                     source=BookingSource.CALL)
    Booking.objects.filter(pk=booking.pk).update(created_at=start - dt.timedelta(days=lead_days))
    return booking


@pytest.fixture
def march(store_a, workshop):
    bay = workshop["bays"][0]
    for i in range(4):
        _order(store_a, local(2027, 3, 3 + i, 15), booked=i < 2, number=f"MAR{i}")
    _order(store_a, local(2027, 3, 31, 23, 30), kind="mechanical", number="MAR-LATE")
    _order(store_a, local(2027, 3, 10, 11), kind="internal", booked=True)
    _order(store_a, local(2027, 3, 10, 12), kind="wash")
    _order(store_a, local(2027, 4, 1, 0, 30), booked=True, number="APR-EARLY")
    _order(store_a, local(2027, 2, 28, 23, 30), booked=True)
    _booking(store_a, bay, local(2027, 3, 2, 9), BookingState.ARRIVED, 1)  # a Tuesday
    _booking(store_a, bay, local(2027, 3, 4, 10), BookingState.ARRIVED, 2)
    _booking(store_a, bay, local(2027, 3, 5, 14), BookingState.ARRIVED, 4)
    _booking(store_a, bay, local(2027, 3, 8, 9), BookingState.NO_SHOW, 3)
    _booking(store_a, bay, local(2027, 3, 31, 16), BookingState.BOOKED, 10)
    _booking(store_a, bay, local(2027, 3, 9, 9), BookingState.CANCELLED, 5)
    _booking(store_a, bay, local(2027, 4, 1, 9), BookingState.ARRIVED, 1)  # April
    return bay


@pytest.fixture
def manager(users):
    return users[Role.STORE_MANAGER]


def test_it_computes_each_definition_of_a_hand_computed_store_month(store_a, march, manager):
    table = m.appointment_monthly(user=manager, store_ids=[store_a.pk], since=MARCH, until=dt.date(2027, 4, 1))
    figures = m.with_rates(table[store_a.pk][MARCH])
    assert (figures["orders"], figures["orders_booked"], figures["appointment_rate"]) == (5, 2, Decimal("40.0"))
    assert (figures["arrived"], figures["no_show"], figures["open"], figures["cancelled"]) == (3, 1, 1, 1)
    assert figures["bookings"] == 5
    assert (figures["show_rate"], figures["no_show_rate"]) == (Decimal("75.0"), Decimal("25.0"))
    assert figures["lead_time_days"] == Decimal("3.0")
    use = m.bay_use(user=manager, store_ids=[store_a.pk], month=MARCH)
    assert (use["booked"], use["open"], use["rate"]) == (300, 31 * 9 * 60 * 2, Decimal("0.9"))
    assert use["grid"][(1, 9)] == {"booked": 60, "open": 600, "rate": Decimal("10.0")}
    load = m.peak_load(user=manager, store_ids=[store_a.pk], month=MARCH)
    assert load[(1, 9)]["bookings"] == 1 and load[(0, 9)]["bookings"] == 1  # Tue 2 Mar, Mon 8 Mar (no-show)
    assert load[(2, 23)]["walk_ins"] == 1  # the mechanical order, Wednesday 31 March 23:30


def test_it_counts_the_month_by_shanghai_time_at_both_edges(store_a, march, manager):
    april = m.appointment_monthly(user=manager, store_ids=[store_a.pk], since=dt.date(2027, 4, 1),
                                  until=dt.date(2027, 5, 1))[store_a.pk][dt.date(2027, 4, 1)]
    assert (april["orders"], april["orders_booked"], april["arrived"]) == (1, 1, 1)
    feb = m.appointment_monthly(user=manager, store_ids=[store_a.pk], since=dt.date(2027, 2, 1),
                                until=MARCH)[store_a.pk][dt.date(2027, 2, 1)]
    assert feb["orders"] == 1


def test_the_catalogue_computes_them_and_marks_the_running_month(store_a, march, manager):
    codes = {x.code for x in measures(app="appointments")}
    assert codes == set(kpis.CODES.values())
    rate = measure_get("appointments.appointment_rate").compute
    [march_value] = rate(user=manager, store_ids=[store_a.pk], period_start=MARCH, period_end=dt.date(2027, 4, 1))
    assert (march_value.value, march_value.numerator, march_value.denominator) == (Decimal("40.0"), 2, 5)
    assert not march_value.provisional
    [april] = rate(user=manager, store_ids=[store_a.pk], period_start=dt.date(2027, 4, 1),
                   period_end=dt.date(2027, 5, 1))
    assert april.provisional
    no_show = measure_get("appointments.no_show_rate")
    assert no_show.direction == "lower"
    [v] = no_show.compute(user=manager, store_ids=[store_a.pk], period_start=MARCH, period_end=dt.date(2027, 4, 1))
    assert (v.value, v.numerator, v.denominator) == (Decimal("25.0"), 1, 4)
    [lead] = measure_get("appointments.lead_time_days").compute(user=manager, store_ids=[store_a.pk],
                                                                 period_start=MARCH, period_end=dt.date(2027, 4, 1))
    assert lead.value == Decimal("3.0") and lead.denominator == 5
    [use] = measure_get("appointments.bay_use").compute(user=manager, store_ids=[store_a.pk], period_start=MARCH,
                                                         period_end=dt.date(2027, 4, 1))
    assert use.value == Decimal("0.9")


def test_a_role_without_the_board_counts_nothing(store_a, march, users):
    specialist = users[Role.CS_SPECIALIST]
    assert m.appointment_monthly(user=specialist, store_ids=[store_a.pk], since=MARCH, until=dt.date(2027, 4, 1)) == {}
    assert Client().get("/appointments/measures/").status_code == 302
    client = Client()
    client.force_login(specialist)
    assert client.get("/appointments/measures/").status_code == 403


def _get(client, url, **params):
    return client.get(url, params, HTTP_ACCEPT_LANGUAGE="en")


def test_the_page_shows_the_month_against_its_target_with_a_constant_number_of_queries(
    store_a, march, manager, django_assert_max_num_queries
):
    KpiTarget.objects.create(store=store_a, measure_code="appointments.appointment_rate",
                             period_kind=KpiPeriodKind.MONTH, period_start=MARCH, value=Decimal(35))
    client = Client()
    client.force_login(manager)
    with django_assert_max_num_queries(30):
        response = _get(client, "/appointments/measures/", year=2027, month="2027-03")
    assert response.status_code == 200
    page = response.context["page"]
    rate_row = next(r for r in page["rows"] if r["key"] == "appointment_rate")
    march_cell, april_cell = rate_row["cells"][2], rate_row["cells"][3]
    assert march_cell["value"] == Decimal("40.0") and march_cell["judge"].state == "met"
    assert march_cell["judge"].target.value == Decimal(35)
    assert april_cell["running"] and april_cell["judge"].running  # 1 / 1 booked: met so far, not final
    assert rate_row["cells"][4]["future"] and rate_row["cells"][4]["url"] is None
    chart = response.context["chart_rate"]
    assert chart["series"][0]["values"][2] == 40.0 and chart["series"][-1]["target"]
    load = response.context["chart_load"]
    assert {s["label"] for s in load["series"]} == {"Appointments", "Walk-ins"}
    assert b'id="appointment-rate-chart"' in response.content and b'id="peak-load-chart"' in response.content
    assert b'data-month="2027-04"' in response.content and b"running" in response.content

    # more data, more stores in scope: the same number of queries
    for i in range(10):
        _order(store_a, local(2027, 3, 12, 10 + i % 5), booked=i % 2 == 0)
        _booking(store_a, march, local(2027, 3, 15 + i, 11), BookingState.ARRIVED, 2)
    with django_assert_max_num_queries(30):
        assert _get(client, "/appointments/measures/", year=2027, month="2027-03").status_code == 200


def test_every_figure_drills_down_to_its_rows(store_a, march, manager):
    client = Client()
    client.force_login(manager)
    page = _get(client, "/appointments/measures/", year=2027, month="2027-03").context["page"]
    rows = {r["key"]: r["cells"][2]["url"] for r in page["rows"]}
    booked = client.get(rows["orders_booked"])
    assert booked.status_code == 200
    assert {r.ro_number for r in booked.context["page"]} == {"MAR0", "MAR1"}
    all_orders = client.get(rows["orders"])
    assert all_orders.context["page"].paginator.count == 5
    assert client.get(rows["no_show"]).context["page"].paginator.count == 1
    assert client.get(rows["show_rate"]).context["page"].paginator.count == 4
    assert client.get(rows["cancelled"]).context["page"].paginator.count == 1
    cell = page["grid"][1]["cells"][page["hours"].index(9)]  # Tuesday 09:00
    assert client.get(cell["url"]).context["page"].paginator.count == 1
    assert client.get("/appointments/measures/orders/", {"month": "2027-13"}).status_code == 400


def test_it_exports_the_tables_as_xlsx(store_a, march, manager):
    client = Client()
    client.force_login(manager)
    response = _get(client, "/appointments/measures/export.xlsx", year=2027, store=store_a.pk)
    assert response.status_code == 200 and "A01" in response["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.content))
    table = book.worksheets[0]
    rows = {r[0].value: [c.value for c in r[1:]] for r in table.iter_rows(min_row=2)}
    assert rows["Appointment rate"][2] == 40 and rows["Repair orders (internal and washes left out)"][2] == 5
    assert len(book.worksheets) == 3


def test_the_api_answers_the_same_figures_and_refuses_bad_input(store_a, store_b, march, manager):
    client = Client()
    client.force_login(manager)
    response = client.get("/api/appointments/measures", {"year": 2027, "month": "2027-03", "store": store_a.pk})
    assert response.status_code == 200, response.content
    body = response.json()
    march_row = body["months"][2]
    assert march_row["appointment_rate"] == "40.0" and march_row["orders"] == 5 and not march_row["running"]
    assert march_row["show_rate"] == "75.0" and march_row["lead_time_days"] == "3.0"
    assert body["months"][3]["running"] and body["bay_use"] == "0.9"
    assert any(c["weekday"] == 1 and c["hour"] == 9 and c["bookings"] == 1 for c in body["load"])
    assert client.get("/api/appointments/measures", {"store": store_b.pk}).status_code == 404
    bad = client.get("/api/appointments/measures", {"year": 2027, "month": "2026-03"})
    assert bad.status_code == 422 and "month" in bad.json()["errors"]
    assert client.get("/api/appointments/measures", {"month": "March"}).status_code == 422


def test_the_page_refuses_another_stores_id_and_bad_input(store_a, store_b, march, manager):
    client = Client()
    client.force_login(manager)
    assert client.get("/appointments/measures/", {"store": store_b.pk}).status_code == 404
    assert client.get("/appointments/measures/export.xlsx", {"store": store_b.pk}).status_code == 404
    assert client.get("/appointments/measures/bookings/", {"month": "2027-03", "store": store_b.pk}).status_code == 404
    response = _get(client, "/appointments/measures/", year="x", month="2026-03")
    assert response.status_code == 200 and b"is-invalid" in response.content


def test_two_stores_are_judged_against_their_targets_weighted_by_orders(store_a, store_b, march):
    """Store A: 5 orders of March (2 booked), target 20 %; store B: 15 orders (3 booked), target 30 %. Without a
    `store` filter the page and the API pool them (5 / 20 = 25.0 %) against the orders-weighted target
    (20 × 5 + 30 × 15) / 20 = 27.5 % — missed, where the plain mean of the targets (25 %) would call it met."""
    for i in range(15):
        _order(store_b, local(2027, 3, 2 + i, 10), booked=i < 3)
    for store, value in ((store_a, 20), (store_b, 30)):
        KpiTarget.objects.create(store=store, measure_code="appointments.appointment_rate",
                                 period_kind=KpiPeriodKind.MONTH, period_start=MARCH, value=Decimal(value))
    both = f.StaffFactory(group=store_a.group, role=Role.CS_MANAGER, stores=[store_a, store_b]).user
    client = Client()
    client.force_login(both)
    page = _get(client, "/appointments/measures/", year=2027, month="2027-03").context["page"]
    assert page["store_ids"] == sorted([store_a.pk, store_b.pk])
    march_cell = next(r for r in page["rows"] if r["key"] == "appointment_rate")["cells"][2]
    assert march_cell["value"] == Decimal("25.0")
    assert march_cell["judge"].target.value == Decimal("27.5") and march_cell["judge"].state == "missed"
    assert page["rate_target"].value == Decimal("27.5")
    body = client.get("/api/appointments/measures", {"year": 2027, "month": "2027-03"}).json()
    assert body["store_ids"] == sorted([store_a.pk, store_b.pk])
    march_row = body["months"][2]
    assert march_row["orders"] == 20 and march_row["orders_booked"] == 5 and march_row["appointment_rate"] == "25.0"
    assert march_row["target"] == "27.5" and march_row["target_state"] == "missed"


def test_the_api_without_a_month_answers_december_of_a_past_year_and_january_of_a_future_one(store_a, manager):
    """Today is 10 April 2027: without `month`, 2026 shows its last month, 2028 its first, 2027 this month."""
    client = Client()
    client.force_login(manager)
    for year, month in ((2026, "2026-12-01"), (2028, "2028-01-01"), (2027, "2027-04-01")):
        response = client.get("/api/appointments/measures", {"year": year})
        assert response.status_code == 200, response.content
        assert response.json()["year"] == year and response.json()["month"] == month
