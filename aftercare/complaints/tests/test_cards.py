"""The feedback cards of the start page (complaints/cards.py): numbers, and links that list exactly those forms."""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client

from aftercare.complaints.models import Feedback
from aftercare.org.choices import DepartmentKind, Role
from aftercare.testing import factories as f
from conftest import CANARY

pytestmark = pytest.mark.django_db

SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 3, 10, 10, 0, tzinfo=SH)  # a Tuesday, 10:00 in Shanghai
TONIGHT = dt.datetime(2026, 3, 11, 0, 0, tzinfo=SH)


def form(store, *, status="routed", assignee=None, deadline=None, warn=None, paused=False, level=0, text="等太久"):
    department = f.DepartmentFactory(store=store, kind=DepartmentKind.SERVICE_MECHANICAL)
    return Feedback.objects.create(
        store=store,
        kind="complaint",
        source="walk_in",
        category="mechanical",
        department=department if status != "new" else None,
        customer=f.CustomerFactory(store=store, name=text),
        text=text,
        status=status,
        assignee=assignee,
        routed_at=NOW - dt.timedelta(days=3) if status != "new" else None,
        deadline_at=deadline,
        warn_at=warn,
        paused_at=NOW - dt.timedelta(hours=2) if paused else None,
        pause_reason="waiting_parts" if paused else "",
        escalation_level=level,
        created_by=assignee or f.UserFactory(),
    )


@pytest.fixture
def forms(users, store_a, store_b):
    designee = users[Role.DEPARTMENT_DESIGNEE]
    other = f.UserFactory(username="other_designee")
    f.StaffFactory(user=other, group=store_a.group, role=Role.DEPARTMENT_DESIGNEE, stores=[store_a])
    day = dt.timedelta(days=1)
    form(store_a, assignee=designee, deadline=NOW - dt.timedelta(hours=1))  # overdue
    form(store_a, assignee=designee, deadline=TONIGHT)  # due today
    form(store_a, assignee=designee, deadline=NOW + 2 * day, warn=NOW - dt.timedelta(hours=1))  # due soon
    form(store_a, assignee=designee, deadline=NOW + 5 * day, warn=NOW + 3 * day)  # not yet
    form(store_a, assignee=designee, deadline=NOW - day, paused=True)  # the clock stopped: not overdue
    form(store_a, assignee=designee, deadline=NOW - 2 * day, level=1)  # overdue and escalated
    form(store_a, assignee=other, deadline=NOW - day)  # someone else's overdue form
    form(store_a, status="new")
    form(store_a, status="new")
    form(store_a, status="handled", assignee=designee, deadline=NOW - day)
    b_user = f.UserFactory(username="designee_b")
    f.StaffFactory(user=b_user, group=store_b.group, role=Role.DEPARTMENT_DESIGNEE, stores=[store_b])
    form(store_b, assignee=b_user, deadline=NOW - day, level=2, text=CANARY)
    form(store_b, status="new", text=CANARY)
    form(store_b, assignee=b_user, deadline=TONIGHT, text=CANARY)
    return designee


def client_for(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def card_rows(html: str, key: str) -> dict[str, tuple[int, str]]:
    card = re.search(rf'data-card="{re.escape(key)}">(.*?)</ul>', html, re.S)
    assert card, f"no card {key}"
    rows = re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>\s*<span[^>]*data-count="(\d+)"', card.group(1))
    return {label.strip(): (int(count), url.replace("&amp;", "&")) for url, label, count in rows}


def listed(client, url: str) -> int:
    html = client.get(url).content.decode()
    assert CANARY not in html
    return len(re.findall(r'<td><a href="/complaints/\d+/">', html))


def test_it_counts_the_designees_forms_and_each_number_lists_exactly_its_rows(forms):
    client = client_for(forms)
    with time_machine.travel(NOW, tick=False):
        html = client.get("/today/").content.decode()
        rows = card_rows(html, "complaints.my_forms")
        assert {label: n for label, (n, _url) in rows.items()} == {
            "Overdue forms": 2,
            "Forms due today": 1,
            "Forms due soon, after today": 1,
            "All my open forms": 6,
        }
        for label, (count, url) in rows.items():
            assert url.startswith("/complaints/inbox/")
            assert listed(client, url) == count, label
        assert listed(client, "/complaints/inbox/?due=<script>") == 6  # unknown: the whole inbox
    assert 'data-card="complaints.store_forms"' not in html
    assert 'data-card="followups.my_calls"' not in html  # a designee makes no calls


def test_it_counts_the_stores_forms_for_the_manager_with_links_to_the_list(forms, manager):
    client = client_for(manager)
    with time_machine.travel(NOW, tick=False):
        html = client.get("/today/").content.decode()
        rows = card_rows(html, "complaints.store_forms")
        assert {label: n for label, (n, _url) in rows.items()} == {
            "Overdue forms": 3,
            "Forms not yet routed": 2,
            "Escalated forms": 1,
        }
        for label, (count, url) in rows.items():
            assert url.startswith("/complaints/?")
            assert listed(client, url) == count, label
    assert 'data-card="complaints.my_forms"' not in html  # the CS manager handles no forms


def test_it_lists_one_customers_forms_and_ignores_a_bad_customer_value(forms, manager, store_a, store_b):
    client = client_for(manager)
    fb = Feedback.objects.filter(status="new", store=store_a).first()
    assert listed(client, f"/complaints/?customer={fb.customer_id}") == 1
    foreign = Feedback.objects.filter(store=store_b).first()
    assert listed(client, f"/complaints/?customer={foreign.customer_id}") == 0
    assert client.get("/complaints/?customer=x%00").status_code == 200
