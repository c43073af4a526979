"""The measures pages (docs/reports.md, "Measures"): figures, targets, scoping, the running month, XLSX, queries."""

import datetime as dt
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from aftercare.core.services import api_token_create
from aftercare.org.choices import Role
from aftercare.org.kpis import Level, Rollup, measure_get
from aftercare.org.models import KpiTarget
from aftercare.reports import measures as m
from aftercare.testing import factories as f

SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 12, 7, 10, 0, tzinfo=SH)
NOVEMBER = dt.date(2026, 11, 1)
RATE = "appointments.appointment_rate"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


def _orders(store, month: dt.date, booked: int, walk_in: int):
    at = dt.datetime(month.year, month.month, 10, 12, 0, tzinfo=SH)
    for i in range(booked + walk_in):
        f.RepairOrderFactory(store=store, customer=f.CustomerFactory(store=store), settled_at=at, kind="maintenance",
                             booked=i < booked)


def _staff(role, stores, username):
    user = f.UserFactory(username=username)
    f.StaffFactory(user=user, group=stores[0].group, role=role, stores=stores, display_name=username)
    return user


@pytest.fixture
def admin(users):
    return users[Role.GROUP_ADMIN]


@pytest.fixture
def two_stores(store_a, store_b):
    """November 2026: store A 1 booked of 4 (25.0 %), store B 3 of 4 (75.0 %); the group 4 of 8 (50.0 %)."""
    _orders(store_a, NOVEMBER, 1, 3)
    _orders(store_b, NOVEMBER, 3, 1)
    return store_a, store_b


def _row(table, code):
    return next(r for r in table["rows"] if r.measure.code == code)


def test_it_shows_each_measure_as_its_compute_gives_it_for_a_hand_built_store_month(client, manager, two_stores):
    store_a, _b = two_stores
    scope = m.measures_scope(user=manager, level=Level.STORE, store_id=store_a.pk)
    table = m.measures_table(user=manager, scope=scope, kind="month", start=NOVEMBER, today=NOW.date())
    assert table["running"] is False
    assert [r.measure.code for r in table["rows"]] == [x.code for x in m.report_measures()]
    for row in table["rows"]:
        expected = row.measure.compute(user=manager, store_ids=[store_a.pk], period_start=NOVEMBER,
                                       period_end=dt.date(2026, 12, 1))
        mine = [v for v in expected if v.store_id == store_a.pk]
        assert row.total.value == (mine[0].value if mine else None), row.measure.code
    rate = _row(table, RATE).total
    assert (rate.value, rate.numerator, rate.denominator) == (Decimal("25.0"), 1, 4)
    assert rate.judgement.state == "met"  # default target 25
    client.force_login(manager)
    page = client.get("/reports/measures/", {"store": store_a.pk, "start": "2026-11"})
    assert page.status_code == 200
    html = page.content.decode()
    assert f'data-measure="{RATE}" data-store="" data-state="met"' in html
    assert f"/reports/measures/{RATE}/?level=store&amp;store={store_a.pk}&amp;period=month&amp;start=2026-11" in html


def test_it_colours_a_missed_target_red_by_the_measures_direction(client, manager, two_stores):
    store_a, _b = two_stores
    KpiTarget.objects.create(store=store_a, measure_code=RATE, period_kind="month", period_start=NOVEMBER,
                             value=Decimal(30))
    KpiTarget.objects.create(store=store_a, measure_code="appointments.no_show_rate", period_kind="year",
                             period_start=dt.date(2026, 1, 1), value=Decimal(5))
    scope = m.measures_scope(user=manager, level=Level.STORE, store_id=store_a.pk)
    table = m.measures_table(user=manager, scope=scope, kind="month", start=NOVEMBER, today=NOW.date())
    rate = _row(table, RATE).total
    assert (rate.target, rate.judgement.state, rate.judgement.gap) == (Decimal(30), "missed", Decimal("-5.0"))
    client.force_login(manager)
    html = client.get("/reports/measures/", {"start": "2026-11"}).content.decode()
    assert f'data-measure="{RATE}" data-store="" data-state="missed"' in html
    assert "table-danger" in html


def test_it_marks_the_running_month_running_not_missed(client, manager, store_a):
    _orders(store_a, dt.date(2026, 12, 1), 1, 9)  # 10.0 % so far, target 25
    scope = m.measures_scope(user=manager, level=Level.STORE)
    table = m.measures_table(user=manager, scope=scope, kind="month", start=NOW.date(), today=NOW.date())
    rate = _row(table, RATE).total
    assert table["running"] and rate.value == Decimal("10.0")
    assert rate.judgement.state == "running" and rate.provisional
    client.force_login(manager)
    html = client.get("/reports/measures/").content.decode()  # default: the running month
    assert 'id="period-running"' in html and "2026-12" in html
    assert f'data-measure="{RATE}" data-store="" data-state="running"' in html


def test_it_ranks_the_stores_of_the_group_and_adds_their_figures_up(client, admin, two_stores):
    store_a, store_b = two_stores
    scope = m.measures_scope(user=admin, level=Level.GROUP)
    row = _row(m.measures_table(user=admin, scope=scope, kind="quarter", start=NOVEMBER, today=NOW.date()), RATE)
    assert (row.total.value, row.total.numerator, row.total.denominator) == (Decimal("50.0"), 4, 8)
    assert [(s.store.code, s.value, s.rank) for s in row.stores] == [
        ("A01", Decimal("25.0"), 2), ("B01", Decimal("75.0"), 1)]
    assert row.total.target == Decimal("25.00")  # each store's default, weighted by its orders
    lead = _row(m.measures_table(user=admin, scope=scope, kind="month", start=NOVEMBER, today=NOW.date()),
                "appointments.lead_time_days")
    assert lead.measure.rollup == Rollup.NONE and lead.total.value is None  # a median does not add up
    client.force_login(admin)
    html = client.get("/reports/measures/", {"level": "group", "start": "2026-11"}).content.decode()
    assert f'data-measure="{RATE}" data-store="B01"' in html
    assert "排名" in html and "预约率" in html  # zh-Hans, the default language
    region = client.get("/reports/measures/", {"level": "region", "region": store_a.region_id, "start": "2026-11"})
    assert region.status_code == 200


def test_it_answers_404_for_a_store_or_region_outside_the_scope(client, manager, two_stores):
    _a, store_b = two_stores
    other = f.StoreFactory(code="Z01", region=f.RegionFactory(code="N", group=f.DealerGroupFactory(name="别的集团")))
    client.force_login(manager)
    for query in ({"store": store_b.pk}, {"level": "region"}, {"level": "group"},
                  {"level": "region", "region": other.region_id}):
        assert client.get("/reports/measures/", query).status_code == 404, query
        assert client.get(f"/reports/measures/{RATE}/", query).status_code == 404, query
        assert client.get(f"/reports/measures/{RATE}/export/", query).status_code == 404, query
    assert client.get("/reports/measures/nope.nope/").status_code == 404
    assert client.get("/reports/measures/followups.calls_made/").status_code == 404  # a staff measure
    assert client.get("/reports/measures/", {"start": "garbage", "period": "decade"}).status_code == 200


def test_it_refuses_roles_without_reports_view(client, specialist):
    client.force_login(specialist)
    assert client.get("/reports/measures/").status_code == 403
    assert b'id="nav-measures"' not in client.get("/today/").content


def test_it_shows_one_measure_with_its_trend_and_the_stores_compared(client, admin, two_stores):
    client.force_login(admin)
    page = client.get(f"/reports/measures/{RATE}/", {"level": "group", "start": "2026-11"})
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="measure-trend"' in html and 'id="measure-stores"' in html
    assert 'data-month="2026-11" data-state="met"' in html and 'data-month="2025-12"' in html
    assert b'id="nav-measures"' in client.get("/today/").content


def test_it_exports_the_figures_of_one_measure_as_xlsx(client, admin, two_stores):
    client.force_login(admin)
    response = client.get(f"/reports/measures/{RATE}/export/", {"level": "group", "start": "2026-11"})
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(response.content))
    period, trend = (list(sheet.iter_rows(values_only=True)) for sheet in book.worksheets)
    assert [r[:3] + r[5:8] + r[9:10] for r in period[1:]] == [
        ("合计", "2026-11", 50, 25, 25, "达成", None),  # zh-Hans, the default language
        ("A01", "2026-11", 25, 25, 0, "达成", 2),
        ("B01", "2026-11", 75, 25, 50, "达成", 1),
    ]
    assert len(trend) == 13 and trend[-1][1] == "2026-11" and trend[-1][2] == 50


def test_it_answers_the_same_figures_through_the_api(client, admin, manager, two_stores):
    store_a, store_b = two_stores
    _, key = api_token_create(user=admin, name="t")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    body = client.get("/api/reports/measures", {"level": "group", "start": "2026-11-01"}, **auth).json()
    rate = next(r for r in body["measures"] if r["code"] == RATE)
    assert (rate["total"]["value"], rate["total"]["state"], body["running"]) == ("50.0", "met", False)
    assert [(s["store_code"], s["rank"]) for s in rate["stores"]] == [("A01", 2), ("B01", 1)]
    _, key = api_token_create(user=manager, name="t")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    assert client.get("/api/reports/measures", {"store": store_b.pk}, **auth).status_code == 404
    assert client.get("/api/reports/measures", {"level": "group"}, **auth).status_code == 404
    assert client.get("/api/reports/measures", {"period": "decade"}, **auth).status_code == 422
    assert client.get("/api/reports/measures").status_code == 401


def test_it_reads_a_bounded_number_of_queries_whatever_the_stores(admin, store_a, store_b):
    """One compute per measure (each measure's own queries), one stores and one targets query: the count does not
    grow with the stores (measured: 2 and 5 stores read the same number)."""

    def count():
        scope = m.measures_scope(user=admin, level=Level.GROUP)
        admin.__dict__.pop("_scope_cache", None)
        with CaptureQueriesContext(connection) as ctx:
            m.measures_table(user=admin, scope=scope, kind="month", start=NOVEMBER, today=NOW.date())
        return len(ctx)

    _orders(store_a, NOVEMBER, 1, 1)
    two = count()
    for i in range(3):
        extra = f.StoreFactory(code=f"C0{i}", region=store_a.region)
        _orders(extra, NOVEMBER, 1, 1)
    assert count() == two


def test_it_describes_the_grains_of_each_measure():
    assert measure_get(RATE).grain_levels == ("store", "region", "group")
    assert ("group", "year") in measure_get(RATE).grains
    assert measure_get("appointments.lead_time_days").grain_levels == ("store",)
    assert measure_get("followups.calls_made").grains == (("staff", "day"), ("staff", "month"))
