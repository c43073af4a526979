"""Complaint and first-time-fix measures per store and month (docs/kpis.md), and the CS manager's page."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from aftercare.complaints.models import Feedback, FeedbackEvent
from aftercare.complaints.selectors import complaint_measures, complaint_measures_trend, first_time_fix_rate
from aftercare.complaints.services.first_time_fix import repeat_repairs_detect
from aftercare.org.choices import Role
from aftercare.testing import factories as f
from conftest import CANARY

SH = ZoneInfo("Asia/Shanghai")
MARCH = dt.date(2026, 3, 1)
pytestmark = pytest.mark.django_db


def sh(*a):
    return dt.datetime(*a, tzinfo=SH)


def form(store, created_at, *, by, kind="complaint", source="walk_in", status="handled", **fields):
    """A complaint form as the workflow would have left it (written directly: the measures only read columns)."""
    customer = f.CustomerFactory(store=store)
    text = CANARY if store.code == "B01" else "异响没修好"
    row = Feedback.objects.create(
        store=store, customer=customer, kind=kind, source=source, category="mechanical", text=text, created_by=by,
        status=status, **fields
    )
    Feedback.objects.filter(pk=row.pk).update(created_at=created_at)
    return row


def ro(store, customer, vehicle, at, fault, kind="mechanical", **kw):
    return f.RepairOrderFactory(
        store=store, customer=customer, vehicle=vehicle, settled_at=at, kind=kind, fault_description=fault, **kw
    )


@pytest.fixture
def march(store_a, users):
    """Store A's March 2026: the numbers of every test below are computed by hand from these rows."""
    by = users[Role.CS_SPECIALIST]
    supervisor = users[Role.SUPERVISOR]
    returned = {"returned_by": users[Role.DEPARTMENT_DESIGNEE], "returned_by_role": "department_designee"}
    rows = {
        # in time, archived, verified, returned by a supervisor, from a follow-up call
        "F1": form(store_a, sh(2026, 3, 2, 9), by=by, source="followup_call", status="archived",
                   deadline_at=sh(2026, 3, 5), first_returned_at=sh(2026, 3, 4, 10), first_returned_in_time=True,
                   returned_at=sh(2026, 3, 4, 10), returned_in_time=True, returned_by=supervisor,
                   returned_by_role="supervisor", verification_result="satisfied", verified_at=sh(2026, 3, 5, 9),
                   archived_at=sh(2026, 3, 6, 9)),
        # returned late, not yet verified, taken over by a supervisor
        "F2": form(store_a, sh(2026, 3, 10, 9), by=by, deadline_at=sh(2026, 3, 13), first_returned_at=sh(2026, 3, 16),
                   first_returned_in_time=False, returned_at=sh(2026, 3, 16), returned_in_time=False, **returned),
        # never returned, deadline passed: due and missed
        "F3": form(store_a, sh(2026, 3, 20, 9), by=by, kind="grievance", source="followup_call", status="routed",
                   deadline_at=sh(2026, 3, 25)),
        # recorded in March, returned in time in April, verified
        "F4": form(store_a, sh(2026, 3, 30, 9), by=by, source="followup_call", status="verified",
                   deadline_at=sh(2026, 4, 2), first_returned_at=sh(2026, 4, 1, 9), first_returned_in_time=True,
                   returned_at=sh(2026, 4, 1, 9), returned_in_time=True, verification_result="satisfied", **returned),
        # closed without action: counts nowhere
        "F5": form(store_a, sh(2026, 3, 12, 9), by=by, source="followup_call", status="closed",
                   deadline_at=sh(2026, 3, 17)),
        # a dissatisfied call nobody routed: first-call measure only, not handled
        "F6": form(store_a, sh(2026, 3, 15, 9), by=by, kind="grievance", source="followup_call", status="new"),
        # recorded 31 March 23:30 Shanghai, clock paused: pending everywhere
        "F7": form(store_a, sh(2026, 3, 31, 23, 30), by=by, source="followup_call", status="routed",
                   deadline_at=sh(2026, 4, 3), paused_at=sh(2026, 4, 2, 9), pause_reason="waiting_parts"),
        # 1 April 00:10 Shanghai (still 31 March in UTC): April
        "F8": form(store_a, sh(2026, 4, 1, 0, 10), by=by, source="followup_call", status="routed",
                   deadline_at=sh(2026, 4, 3)),
        # a February suggestion first returned (in time) in March and verified
        "F9": form(store_a, sh(2026, 2, 25, 9), by=by, kind="suggestion", status="archived", deadline_at=sh(2026, 3, 4),
                   first_returned_at=sh(2026, 3, 3), first_returned_in_time=True, returned_at=sh(2026, 3, 3),
                   returned_in_time=True, verification_result="satisfied", archived_at=sh(2026, 3, 5), **returned),
    }
    FeedbackEvent.objects.create(store=store_a, feedback=rows["F2"], actor=supervisor, action="taken_over")
    customer = f.CustomerFactory(store=store_a)
    car, other = f.owned_vehicle(customer), f.owned_vehicle(customer)
    ro(store_a, customer, car, sh(2026, 3, 2, 10), "发动机异响", ro_number="A")
    ro(store_a, customer, car, sh(2026, 3, 10, 10), "发动机异响！", kind="warranty_claim", ro_number="B")  # repeat of A
    ro(store_a, customer, other, sh(2026, 3, 5, 10), "车门异响", kind="body", ro_number="C")
    ro(store_a, customer, other, sh(2026, 3, 6, 10), "", kind="paint", ro_number="D")  # no fault: never matched
    ro(store_a, customer, car, sh(2026, 3, 7, 10), "发动机异响", kind="maintenance", ro_number="E")  # not counted
    ro(store_a, customer, other, sh(2026, 2, 27, 10), "刹车异响", ro_number="F")  # February
    with time_machine.travel(sh(2026, 3, 21, 9), tick=False):
        assert repeat_repairs_detect() == 1  # (A, B)
    return rows


@pytest.fixture
def store_b_march(store_b, other_store_rows):
    """Store B: everything in March below target, so any leak into store A's numbers shows."""
    by = f.UserFactory(username="b_specialist")
    for day in (3, 4):
        form(store_b, sh(2026, 3, day, 9), by=by, source="followup_call", status="routed", deadline_at=sh(2026, 3, 9))
    form(store_b, sh(2026, 3, 5, 9), by=by, deadline_at=sh(2026, 3, 9), first_returned_at=sh(2026, 3, 12),
         first_returned_in_time=False, returned_at=sh(2026, 3, 12), returned_by_role="department_designee")
    customer, vehicle = other_store_rows["customer"], other_store_rows["vehicle"]
    ro(store_b, customer, vehicle, sh(2026, 3, 2, 10), CANARY)
    ro(store_b, customer, vehicle, sh(2026, 3, 9, 10), CANARY)
    with time_machine.travel(sh(2026, 3, 21, 9), tick=False):
        repeat_repairs_detect(store_id=store_b.pk)


def summary(row):
    names = ("timeliness", "verification", "supervisor", "first_call", "first_time_fix")
    return {n: (row[n]["numerator"], row[n]["denominator"], row[n]["rate"], row[n]["provisional"]) for n in names}


@time_machine.travel(sh(2026, 4, 20, 9), tick=False)
def test_it_computes_the_measures_of_a_month_by_hand(store_a, march, manager):
    [row] = complaint_measures(user=manager, month=dt.date(2026, 3, 17))
    assert row["store"] == store_a and row["month"] == MARCH
    assert summary(row) == {
        "timeliness": (2, 4, Decimal("50.0"), True),  # F1, F4 in time of F1–F4; F7 paused (pending)
        "verification": (2, 3, Decimal("66.7"), True),  # F1, F9 verified of F1, F2, F9; F2 awaits its call
        "supervisor": (2, 2, Decimal("100.0"), False),  # F1 returned by a supervisor, F2 taken over
        "first_call": (2, 4, Decimal("50.0"), True),  # F1 archived, F4 in time; F3 late, F6 unrouted; F7 pending
        "first_time_fix": (3, 4, Decimal("75.0"), True),  # A, B, C, D; A was repaired again (B)
    }
    assert (row["timeliness"]["pending"], row["verification"]["pending"], row["first_call"]["pending"]) == (1, 1, 1)
    assert row["no_fault_description"] == 1
    assert row["timeliness"]["below_target"] and not row["supervisor"]["below_target"]
    assert row["first_time_fix"]["target"] == Decimal(98) and row["first_time_fix"]["below_target"]


def test_it_marks_first_time_fix_provisional_until_the_window_has_passed(store_a, march, manager):
    with time_machine.travel(sh(2026, 4, 30, 23, 59), tick=False):  # 31 March + 30 days
        assert first_time_fix_rate(user=manager, month=MARCH)[0]["provisional"] is True
    with time_machine.travel(sh(2026, 5, 1, 0, 0), tick=False):
        [rate] = first_time_fix_rate(user=manager, month=MARCH)
    assert (rate["store_id"], rate["numerator"], rate["denominator"], rate["rate"], rate["provisional"]) == (
        store_a.pk, 3, 4, Decimal("75.0"), False
    )


@time_machine.travel(sh(2026, 4, 20, 9), tick=False)
def test_it_gives_every_store_a_row_and_none_for_empty_measures(store_a, manager):
    [row] = complaint_measures(user=manager, month=MARCH)
    assert row["store"] == store_a
    assert all(row[n]["rate"] is None and not row[n]["below_target"] for n in ("timeliness", "first_time_fix"))


@time_machine.travel(sh(2026, 4, 20, 9), tick=False)
def test_it_never_counts_another_stores_rows(store_a, store_b, march, store_b_march, users, manager):
    mine = complaint_measures(user=manager, month=MARCH)
    assert [r["store"] for r in mine] == [store_a]
    assert complaint_measures(user=manager, store_ids=[store_b.pk], month=MARCH) == []
    assert summary(mine[0])["timeliness"] == (2, 4, Decimal("50.0"), True)
    group = {r["store"].code: summary(r) for r in complaint_measures(user=users[Role.GROUP_ADMIN], month=MARCH)}
    assert group["A01"] == summary(mine[0])
    assert group["B01"]["timeliness"] == (0, 3, Decimal("0.0"), False)
    assert group["B01"]["first_time_fix"] == (1, 2, Decimal("50.0"), True)
    # roles without feedback.view get nothing
    assert complaint_measures(user=users[Role.RENEWAL_SPECIALIST], month=MARCH) == []


@time_machine.travel(sh(2026, 4, 20, 9), tick=False)
def test_it_shows_a_six_month_trend(store_a, march, manager):
    trend = complaint_measures_trend(user=manager, month=MARCH)
    assert trend["months"] == [dt.date(2025, 10, 1), dt.date(2025, 11, 1), dt.date(2025, 12, 1), dt.date(2026, 1, 1),
                               dt.date(2026, 2, 1), MARCH]
    [store] = trend["stores"]
    assert [r["month"] for r in store["rows"]] == trend["months"]
    february, mar = store["rows"][-2:]
    assert summary(mar) == summary(complaint_measures(user=manager, month=MARCH)[0])
    assert summary(february)["timeliness"] == (1, 1, Decimal("100.0"), False)  # F9, recorded in February
    assert summary(february)["first_time_fix"][:3] == (1, 1, Decimal("100.0"))  # F
    assert store["rows"][0]["timeliness"]["rate"] is None


def test_it_reads_a_constant_number_of_queries_whatever_the_rows(store_a, manager, users):
    def month_of(n):
        for i in range(n):
            form(store_a, sh(2026, 3, 2 + i % 20, 9), by=manager, deadline_at=sh(2026, 3, 25),
                 first_returned_at=sh(2026, 3, 24), first_returned_in_time=True, returned_by_role="supervisor")
            customer = f.CustomerFactory(store=store_a)
            vehicle = f.owned_vehicle(customer)
            ro(store_a, customer, vehicle, sh(2026, 3, 2, 10), f"故障{i}")
            ro(store_a, customer, vehicle, sh(2026, 3, 9, 10), f"故障{i}")
        with time_machine.travel(sh(2026, 3, 21, 9), tick=False):
            repeat_repairs_detect()

    counts = []
    for n in (1, 15):
        month_of(n)
        manager = type(manager).objects.get(pk=manager.pk)  # a fresh user: no cached scope
        with time_machine.travel(sh(2026, 4, 20, 9), tick=False), CaptureQueriesContext(connection) as ctx:
            complaint_measures(user=manager, month=MARCH)
            complaint_measures_trend(user=manager, month=MARCH)
        counts.append(len(ctx))
    assert counts[0] == counts[1] <= 14


def client_for(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


@time_machine.travel(sh(2026, 4, 20, 9), tick=False)
def test_it_shows_the_measures_page_to_the_cs_manager_only(store_a, march, store_b_march, users, manager):
    page = client_for(manager).get("/complaints/measures/", {"month": "2026-03"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "Complaint measures" in html and "广州天河店" in html
    for text in ("50.0 %", "66.7 %", "100.0 %", "75.0 %", "2 / 4", "3 / 4", "provisional", "table-danger"):
        assert text in html, text
    assert CANARY not in html and "深圳南山店" not in html
    for role in (Role.CS_SPECIALIST, Role.DEPARTMENT_DESIGNEE, Role.SUPERVISOR):
        assert client_for(users[role]).get("/complaints/measures/").status_code == 403
    assert client_for(users[Role.STORE_MANAGER]).get("/complaints/measures/").status_code == 200
    bad = client_for(manager).get("/complaints/measures/", {"month": "2026-13"})
    assert bad.status_code == 200 and "invalid-feedback" in bad.content.decode()
    manage = client_for(manager).get("/followups/manage/", {"month": "2026-03"})
    assert "/complaints/measures/?month=2026-03" in manage.content.decode()
