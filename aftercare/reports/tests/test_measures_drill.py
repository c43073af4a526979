"""Every figure of the measures pages drills down to its rows (docs/reports.md, "Measures"): a store's numerator
and denominator link to the app's list of exactly the rows they count, for the same store and half-open period;
another store's rows never appear."""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine

from aftercare.appointments.choices import BayKind, BookingSource, BookingState
from aftercare.appointments.models import Bay, Booking
from aftercare.org.choices import Role
from aftercare.org.kpis import Drill, drill_for, measure_get, measures
from aftercare.renewals.tests.test_measures import case, policy
from aftercare.testing import factories as f

SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 12, 7, 10, 0, tzinfo=SH)
NOVEMBER = dt.date(2026, 11, 1)
DECEMBER = dt.date(2026, 12, 1)
OCTOBER = dt.date(2026, 10, 1)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


def _orders(store, day: dt.date, booked: int, walk_in: int):
    at = dt.datetime(day.year, day.month, day.day, 12, 0, tzinfo=SH)
    for i in range(booked + walk_in):
        f.RepairOrderFactory(store=store, customer=f.CustomerFactory(store=store), settled_at=at, kind="maintenance",
                             booked=i < booked)


def _bookings(store, day: dt.date, states):
    bay = Bay.objects.create(store=store, name=f"工位{store.code}{day:%m%d}", kind=BayKind.APPOINTMENT)
    for i, state in enumerate(states):
        customer = f.CustomerFactory(store=store)
        start = dt.datetime(day.year, day.month, day.day, 9 + i, 0, tzinfo=SH)
        Booking.objects.create(store=store, customer=customer, vehicle=f.owned_vehicle(customer), bay=bay,
                               start_at=start, end_at=start + dt.timedelta(hours=1), state=state,
                               source=BookingSource.PHONE_IN)


@pytest.fixture
def world(store_a, store_b):
    """Store A, November 2026 (and its edges: 31 October, 1 December): orders, appointments, renewal cases and
    policies; store B the same month with other counts."""
    _orders(store_a, dt.date(2026, 11, 1), 2, 3)
    _orders(store_a, dt.date(2026, 11, 30), 1, 1)
    _orders(store_a, dt.date(2026, 10, 31), 4, 0)  # the month before: never counted
    _orders(store_a, dt.date(2026, 12, 1), 5, 0)  # the month after
    _orders(store_b, dt.date(2026, 11, 15), 6, 1)
    _bookings(store_a, dt.date(2026, 11, 3), [BookingState.ARRIVED, BookingState.ARRIVED, BookingState.NO_SHOW,
                                              BookingState.CANCELLED])
    _bookings(store_a, dt.date(2026, 12, 1), [BookingState.ARRIVED])
    _bookings(store_b, dt.date(2026, 11, 3), [BookingState.ARRIVED, BookingState.NO_SHOW, BookingState.NO_SHOW])
    for state, contacts, estimated in (("renewed_here", 2, False), ("renewed_here", 1, True),
                                       ("renewed_elsewhere", 1, False), ("open", 0, False), ("lapsed", 0, True)):
        case(store_a, expiry=dt.date(2026, 11, 20), state=state, contacts=contacts, estimated=estimated)
    case(store_a, expiry=dt.date(2026, 12, 2), state="renewed_here", contacts=1)
    case(store_b, expiry=dt.date(2026, 11, 20), state="renewed_here", contacts=1)
    case(store_b, expiry=dt.date(2026, 11, 21), state="open")
    policy(store_a, dt.date(2026, 11, 5), "new_car", "5000")
    policy(store_a, dt.date(2026, 11, 6), "renewal", "4000")
    policy(store_b, dt.date(2026, 11, 7), "new_car", "6000")
    return store_a, store_b


DRILLED = ("appointments.appointment_rate", "appointments.show_rate", "appointments.no_show_rate",
           "renewals.renewal_rate", "renewals.renewal_rate_filed", "renewals.renewal_effective_contact_rate",
           "renewals.new_car_policy_count", "renewals.renewal_count")


def _rows(html: str) -> int:
    """The rows of a drill list (the appointment and policy lists' rows, the renewal list's cases)."""
    if "data-case=" in html:
        return html.count("<tr data-case=")
    body = html.split('id="drill-table"', 1)[-1] if 'id="drill-table"' in html else html.split("<tbody>", 1)[1]
    body = body.split("</tbody>", 1)[0] if "<tbody>" in body else body
    return len(re.findall(r"<tr><td>(?!.*colspan)", body))


def _links(html: str, code: str) -> dict[str, str]:
    row = html.split(f'href="/reports/measures/{code}/', 1)[1].split("</tr>", 1)[0]
    return {kind: url.replace("&amp;", "&") for url, kind in
            re.findall(r'<a href="([^"]+)" data-drill="(numerator|denominator)"', row)}


def _figure(html: str, code: str) -> tuple[int | None, int | None]:
    row = html.split(f'href="/reports/measures/{code}/', 1)[1].split("</tr>", 1)[0]
    found = re.search(r'data-drill="numerator"[^>]*>(\d+)</a> / <a [^>]*data-drill="denominator"[^>]*>(\d+)', row)
    if found:
        return int(found.group(1)), int(found.group(2))
    return None, None


@pytest.mark.parametrize("period,start", [("month", "2026-11"), ("quarter", "2026-10")])
def test_it_links_each_figure_to_exactly_the_rows_it_counts_of_its_store_and_period(client, users, world, period,
                                                                                   start):
    store_a, store_b = world
    client.force_login(users[Role.CS_MANAGER])
    html = client.get("/reports/measures/", {"level": "store", "store": store_a.pk, "period": period,
                                             "start": start}).content.decode()
    for code in DRILLED:
        links = _links(html, code)
        assert links, code
        numerator, denominator = _figure(html, code)
        for kind, url in links.items():
            assert f"store={store_a.pk}" in url and "month=2026-" in url, url
            if period == "quarter":
                assert "until=2027-01" in url, url
            listed = client.get(url)
            assert listed.status_code == 200, url
            page = listed.content.decode()
            assert store_b.code not in page.split("<tbody>", 1)[-1], (code, url)  # another store's rows: never
            expected = {"numerator": numerator, "denominator": denominator}[kind]
            if expected is not None:
                assert _rows(page) == expected, (code, kind, url)
    if period == "month":  # the hand-counted store-month
        assert _figure(html, "appointments.appointment_rate") == (3, 7)
        assert _figure(html, "appointments.show_rate") == (2, 3)
        assert _figure(html, "renewals.renewal_rate") == (2, 5)
        assert _figure(html, "renewals.renewal_rate_filed") == (1, 3)
        assert _figure(html, "renewals.renewal_effective_contact_rate") == (3, 5)
        for code in ("renewals.new_car_policy_count", "renewals.renewal_count"):  # a count: its rows, one each
            assert _rows(client.get(_links(html, code)["numerator"]).content.decode()) == 1, code


def test_it_gives_each_store_of_the_group_its_own_rows(client, users, world):
    store_a, store_b = world
    client.force_login(users[Role.GROUP_ADMIN])
    html = client.get("/reports/measures/", {"level": "group", "period": "month", "start": "2026-11"}).content.decode()
    urls = set(re.findall(r'<a href="([^"]+)" data-drill="numerator"', html))
    assert any(f"store={store_a.pk}" in u for u in urls) and any(f"store={store_b.pk}" in u for u in urls)
    url = next(u for u in urls if "booked=1" in u and f"store={store_b.pk}" in u).replace("&amp;", "&")
    assert _rows(client.get(url).content.decode()) == 6  # store B's six booked orders, none of A's


def test_it_drills_only_whole_months_and_every_catalogue_drill_answers_a_drill():
    for measure in measures():
        drill = drill_for(measure, store_id=1, start=NOVEMBER, end=DECEMBER)
        assert isinstance(drill, Drill)
        assert drill_for(measure, store_id=1, start=dt.date(2026, 11, 3), end=dt.date(2026, 11, 4)) == Drill()
    assert drill_for(measure_get("appointments.bay_use"), store_id=1, start=NOVEMBER, end=DECEMBER) == Drill()


@pytest.mark.parametrize("url", [
    "/appointments/measures/orders/?month=2026-11&until=2026-13",
    "/appointments/measures/orders/?month=2026-11&until=2026-10",
    "/appointments/measures/bookings/?month=2026-11&until=zz",
    "/renewals/measures/policies/?month=2026-11&until=2026-11",
    "/renewals/?month=2026-11&until=2026-99",
    "/renewals/?until=2026-12",
])
def test_it_refuses_a_bad_period_end_without_a_500(client, users, world, url):
    client.force_login(users[Role.CS_MANAGER])
    response = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code in (200, 400), url
    assert "invalid-feedback" in response.content.decode() or response.status_code == 400 or \
        "Give" in response.content.decode(), url
