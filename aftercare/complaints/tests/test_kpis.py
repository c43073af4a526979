"""The complaint measures in the KPI catalogue (complaints/kpis.py) and their page beside each store's targets."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from aftercare.complaints.models import Feedback
from aftercare.org.choices import Role
from aftercare.org.kpis import measure_get
from aftercare.org.models import KpiTarget
from aftercare.testing import factories as f
from conftest import CANARY

SH = ZoneInfo("Asia/Shanghai")
TIMELINESS = "complaints.timeliness"
pytestmark = pytest.mark.django_db


def sh(*a):
    return dt.datetime(*a, tzinfo=SH)


def form(store, created_at, *, by, **fields):
    row = Feedback.objects.create(
        store=store, customer=f.CustomerFactory(store=store), kind="complaint", source="walk_in",
        category="mechanical", text=CANARY if store.code == "B01" else "异响", created_by=by, **fields
    )
    Feedback.objects.filter(pk=row.pk).update(created_at=created_at)
    return row


@pytest.fixture
def half_in_time(store_a, store_b, users):
    """March 2026 in store A: one form returned in time, one past its deadline (timeliness 1 / 2 = 50 %);
    store B: a form in time and a canary target."""
    by = users[Role.CS_SPECIALIST]
    form(store_a, sh(2026, 3, 2, 9), by=by, status="handled", deadline_at=sh(2026, 3, 5),
         first_returned_at=sh(2026, 3, 4), first_returned_in_time=True)
    form(store_a, sh(2026, 3, 9, 9), by=by, status="routed", deadline_at=sh(2026, 3, 12))
    form(store_b, sh(2026, 3, 2, 9), by=by, status="handled", deadline_at=sh(2026, 3, 5),
         first_returned_at=sh(2026, 3, 4), first_returned_in_time=True)
    KpiTarget.objects.create(store=store_b, measure_code=TIMELINESS, period_kind="month",
                             period_start=dt.date(2026, 3, 1), value=Decimal("11.11"), note=CANARY)


def client_for(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


@time_machine.travel(sh(2026, 4, 20, 9), tick=False)
def test_it_computes_a_measure_through_the_catalogue_hook(store_a, half_in_time, users):
    measure = measure_get(TIMELINESS)
    [value] = measure.compute(user=users[Role.CS_MANAGER], store_ids=None, period_start=dt.date(2026, 1, 1),
                              period_end=dt.date(2026, 4, 1))
    assert (value.store_id, value.numerator, value.denominator, value.value) == (store_a.pk, 1, 2, Decimal("50.0"))
    admin = measure.compute(user=users[Role.GROUP_ADMIN], store_ids=None, period_start=dt.date(2026, 3, 1),
                            period_end=dt.date(2026, 4, 1))
    assert [v.value for v in admin] == [Decimal("50.0"), Decimal("100.0")]  # A01, B01


@time_machine.travel(sh(2026, 4, 20, 9), tick=False)
def test_it_reads_only_the_counts_a_catalogue_measure_needs(store_a, half_in_time, users):
    """Timeliness does not scan the repair orders (first-time fix's query, the costly one at 10 M orders), and
    first-time fix reads no complaint form and no fault description."""
    def tables(code):
        with CaptureQueriesContext(connection) as queries:
            measure_get(code).compute(user=users[Role.CS_MANAGER], store_ids=None, period_start=dt.date(2026, 3, 1),
                                      period_end=dt.date(2026, 4, 1))
        return " ".join(q["sql"] for q in queries.captured_queries)

    timeliness = tables(TIMELINESS)
    assert "complaints_feedback" in timeliness and "customers_repairorder" not in timeliness
    first_time_fix = tables("complaints.first_time_fix_rate")
    assert "complaints_feedback" not in first_time_fix
    # nor the fault descriptions (the measures page's note): what it reads, the covering index holds
    assert "customers_repairorder" in first_time_fix and "fault_description" not in first_time_fix


@time_machine.travel(sh(2026, 4, 20, 9), tick=False)
def test_it_shows_each_stores_target_and_gap_on_the_measures_page(store_a, half_in_time, manager):
    page = client_for(manager).get("/complaints/measures/", {"month": "2026-03"})
    html = page.content.decode()
    # the catalogue's name and definition; the default target (100) missed by 50 points
    assert "Complaint timeliness" in html and "returned before their deadline the first time" in html
    assert "target 100" in html and "-50.0" in html and 'data-state="missed"' in html
    assert CANARY not in html and "11.11" not in html
    KpiTarget.objects.create(store=store_a, measure_code=TIMELINESS, period_kind="quarter",
                             period_start=dt.date(2026, 1, 1), value=Decimal(40))
    html = client_for(manager).get("/complaints/measures/", {"month": "2026-03"}).content.decode()
    assert "target 40" in html and "+10.0" in html and 'data-state="met"' in html and "table-success" in html


@time_machine.travel(sh(2026, 3, 20, 9), tick=False)
def test_it_marks_the_running_month_as_running_not_missed(store_a, half_in_time, manager):
    client = client_for(manager)
    with CaptureQueriesContext(connection) as ctx:
        html = client.get("/complaints/measures/").content.decode()
    assert "target 100" in html and 'data-state="running"' in html and "running" in html
    assert 'data-state="missed"' not in html.split('id="measures-table"')[1].split("</table>")[0]
    assert sum("org_kpitarget" in q["sql"] for q in ctx.captured_queries) == 1  # every store, measure and month
    assert len(ctx) <= 17
