"""The follow-up cards of the start page (followups/cards.py): numbers, and links that list exactly those rows."""

import datetime as dt
import itertools
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client

from aftercare.followups.choices import FollowupKind, TaskStatus
from aftercare.followups.models import FollowupTask
from aftercare.org.choices import Role
from aftercare.testing import factories as f
from conftest import CANARY

pytestmark = pytest.mark.django_db

SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 3, 10, 10, 0, tzinfo=SH)  # a Tuesday, 10:00 in Shanghai
_subject = itertools.count(1)


def make_task(store, rule, *, due_at, kind=None, claimed_by=None, status=None, next_call_at=None, customer=None):
    customer = customer or f.CustomerFactory(store=store)
    return FollowupTask.objects.create(
        store=store,
        rule=rule,
        kind=kind or rule.kind,
        subject_type="repair_order",
        subject_id=next(_subject),
        customer=customer,
        event_at=NOW - dt.timedelta(days=2),
        due_at=due_at,
        status=status or (TaskStatus.CLAIMED if claimed_by else TaskStatus.OPEN),
        claimed_by=claimed_by,
        claimed_at=NOW - dt.timedelta(hours=1) if claimed_by else None,
        next_call_at=next_call_at,
    )


@pytest.fixture
def other_specialist(store_a):
    user = f.UserFactory(username="specialist_other")
    f.StaffFactory(user=user, group=store_a.group, role=Role.CS_SPECIALIST, stores=[store_a], display_name="王五")
    return user


@pytest.fixture
def queue_rows(store_a, store_b, rules_a, rules_b, specialist, other_specialist):
    """Store A: tasks due today, overdue, later, verification, claimed by others, closed; store B: canaries."""
    csi, verify = rules_a["CSI"], rules_a["VERIFY"]
    tonight = dt.datetime(2026, 3, 11, 0, 0, tzinfo=SH)  # due "by 10 March": still today
    make_task(store_a, csi, due_at=NOW + dt.timedelta(hours=3))  # today
    make_task(store_a, csi, due_at=tonight)  # today (the last instant of the day)
    make_task(store_a, csi, due_at=NOW, claimed_by=specialist)  # overdue (due_at <= now), mine
    make_task(store_a, csi, due_at=NOW - dt.timedelta(days=1))  # overdue
    make_task(store_a, csi, due_at=tonight + dt.timedelta(seconds=1))  # tomorrow: in the queue, neither
    make_task(store_a, verify, due_at=NOW + dt.timedelta(days=2), kind=FollowupKind.COMPLAINT_VERIFICATION)
    make_task(store_a, csi, due_at=NOW - dt.timedelta(days=3), claimed_by=other_specialist)  # someone else's
    make_task(store_a, csi, due_at=NOW - dt.timedelta(days=3), status=TaskStatus.COMPLETED)  # closed
    make_task(  # a call back planned for later: not in today's queue
        store_a, csi, due_at=NOW - dt.timedelta(days=1), next_call_at=NOW + dt.timedelta(days=3)
    )
    canary_customer = f.CustomerFactory(store=store_b, name=CANARY)
    for due in (NOW - dt.timedelta(days=1), NOW + dt.timedelta(hours=1)):
        make_task(store_b, rules_b["CSI"], due_at=due, customer=canary_customer)
    make_task(store_b, rules_b["VERIFY"], due_at=NOW, kind=FollowupKind.COMPLAINT_VERIFICATION)


def client_for(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def card_rows(html: str, key: str) -> dict[str, tuple[int, str]]:
    """{label: (count, url)} of one card on the start page."""
    card = re.search(rf'data-card="{re.escape(key)}">(.*?)</ul>', html, re.S)
    assert card, f"no card {key}"
    rows = re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>\s*<span[^>]*data-count="(\d+)"', card.group(1))
    return {label.strip(): (int(count), url.replace("&amp;", "&")) for url, label, count in rows}


def listed(client, url: str, table_id: str) -> int:
    html = client.get(url).content.decode()
    table = re.search(rf'id="{table_id}">(.*?)</table>', html, re.S).group(1)
    assert CANARY not in html
    return len(re.findall(r"<tr class=", table))


def test_it_counts_the_specialists_queue_and_each_number_lists_exactly_its_rows(queue_rows, specialist):
    client = client_for(specialist)
    with time_machine.travel(NOW, tick=False):
        html = client.get("/today/").content.decode()
        rows = card_rows(html, "followups.my_calls")
        assert {label: n for label, (n, _url) in rows.items()} == {
            "Calls due today": 2,
            "Overdue calls": 2,
            "Verification calls": 1,
            "All calls in my queue": 6,
        }
        for label, (count, url) in rows.items():
            assert url.startswith("/followups/")
            assert listed(client, url, "queue-table") == count, label
    assert 'data-card="followups.store_calls"' not in html  # a specialist sees no manager card


def test_it_counts_everyones_queue_for_the_manager_with_links_to_the_manage_page(queue_rows, manager):
    client = client_for(manager)
    with time_machine.travel(NOW, tick=False):
        html = client.get("/today/").content.decode()
        rows = card_rows(html, "followups.store_calls")
        assert {label: n for label, (n, _url) in rows.items()} == {
            "Overdue calls": 3,
            "Unclaimed tasks": 5,
            "Calls due today": 2,
        }
        for label, (count, url) in rows.items():
            assert url.startswith("/followups/manage/")
            assert listed(client, url, "manage-table") == count, label
    assert 'data-card="followups.my_calls"' not in html  # the specialist's card is the specialist's


def test_it_narrows_the_queue_by_deadline_and_ignores_a_bad_value(queue_rows, specialist):
    client = client_for(specialist)
    with time_machine.travel(NOW, tick=False):
        assert listed(client, "/followups/?due=overdue", "queue-table") == 2
        assert client.get("/followups/?due=yesterday").status_code == 200  # invalid: the whole queue
        assert listed(client, "/followups/?due=yesterday", "queue-table") == 6


def test_it_lists_one_customers_calls_in_the_call_log(store_a, rules_a, specialist):
    from aftercare.followups.models import CallLog

    one, other = f.CustomerFactory(store=store_a, name="黄志强"), f.CustomerFactory(store=store_a, name="林小梅")
    for customer in (one, other, one):
        CallLog.objects.create(
            store=store_a, customer=customer, handler=specialist, called_at=NOW, outcome="completed", notes="x"
        )
    client = client_for(specialist)
    html = client.get(f"/followups/calls/?customer={one.pk}").content.decode()
    assert "黄志强" in html and "林小梅" not in html
    assert client.get("/followups/calls/?customer=abc").status_code == 200  # ignored, not a 500
