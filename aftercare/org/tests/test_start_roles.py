"""Every role's start page, complete (issue 19): what each role must do today from every app, the managers' store
at a glance (KPIs against target), every number a link that answers 200, and bounded queries per role."""

import datetime as dt
import re

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from aftercare.core.services import api_token_create
from aftercare.followups.tests.test_cards import NOW
from aftercare.org import start
from aftercare.org.choices import Role

from .start_world import plant

pytestmark = pytest.mark.django_db

# the cards each role must see (more may follow from later apps); "org.kpi_glance" is the managers' glance
EXPECTED = {
    Role.CS_SPECIALIST: {"followups.my_calls", "appointments.today", "care.reminders_due", "care.campaign_calls"},
    Role.CS_MANAGER: {"org.kpi_glance", "followups.store_calls", "complaints.store_forms", "renewals.unclaimed",
                      "appointments.today"},
    Role.RENEWAL_SPECIALIST: {"renewals.my_renewals"},
    Role.DEPARTMENT_DESIGNEE: {"complaints.my_forms"},
    Role.SUPERVISOR: {"complaints.my_forms"},
    Role.SERVICE_ADVISOR: {"appointments.today"},
    Role.STORE_MANAGER: {"org.kpi_glance", "followups.store_calls", "complaints.store_forms", "renewals.unclaimed",
                         "appointments.today"},
    Role.GROUP_ADMIN: {"org.kpi_glance", "followups.store_calls", "complaints.store_forms", "renewals.unclaimed",
                       "appointments.today"},
    Role.QUALITY_ENGINEER: {"quality.alarms", "quality.reports"},
    Role.ITINERANT_SERVICE: {"quality.reports"},
}
# a number each role must see above zero on the planted work: (card, label)
NONZERO = {
    Role.CS_SPECIALIST: [("followups.my_calls", "Verification calls"), ("followups.my_calls", "Overdue calls")],
    Role.CS_MANAGER: [("followups.store_calls", "Unclaimed tasks"), ("complaints.store_forms", "Escalated forms")],
    Role.RENEWAL_SPECIALIST: [("renewals.my_renewals", "Renewal cases to call today")],
    Role.DEPARTMENT_DESIGNEE: [("complaints.my_forms", "Overdue forms")],
    Role.SUPERVISOR: [("complaints.my_forms", "Forms due today")],
    Role.SERVICE_ADVISOR: [],
    Role.STORE_MANAGER: [("complaints.store_forms", "Forms not yet routed"),
                         ("appointments.today", "Appointments today")],
    Role.GROUP_ADMIN: [("followups.store_calls", "Overdue calls"), ("appointments.today", "Appointments today")],
    Role.QUALITY_ENGINEER: [],
    Role.ITINERANT_SERVICE: [],
}
HREF = re.compile(r'<a href="([^"]+)"')


def client_for(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


@pytest.fixture
def world(store_a, users):
    cache.clear()  # the glance is cached per stores and day (org/glance.py); ids repeat from test to test
    with time_machine.travel(NOW, tick=False):
        plant(store_a, users, NOW)
        yield users


def _cards(html: str) -> dict[str, str]:
    parts = re.split(r'(?=<div class="card h-100")', html)
    return {m.group(1): part for part in parts if (m := re.search(r'data-card="([^"]+)"', part))}


@pytest.mark.parametrize("role", Role.values)
def test_it_shows_each_role_its_work_and_every_number_opens_its_rows(world, role):
    client = client_for(world[role])
    html = client.get("/today/").content.decode()
    cards = _cards(html)
    assert EXPECTED[role] <= set(cards), (role, sorted(cards))
    for key, label in NONZERO[role]:
        row = cards[key].split(label, 1)[1].split("</li>", 1)[0]
        assert 'data-count="0"' not in row, (role, key, label)
    links = {href.replace("&amp;", "&") for part in cards.values() for href in HREF.findall(part)}
    assert links
    for href in sorted(links):
        assert client.get(href).status_code == 200, (role, href)


def test_it_shows_managers_the_kpis_against_target_with_the_month_running(world):
    html = client_for(world[Role.STORE_MANAGER]).get("/today/").content.decode()
    glance = _cards(html)["org.kpi_glance"]
    for name in ("Return-visit rate, this month", "Calls made, today"):
        assert name in glance
    assert 'data-state="running"' in glance or 'data-state="met"' in glance
    assert 'data-state="missed"' not in glance  # the month is not over: never missed yet
    assert "kpi-gap" in glance  # a target beside the figure
    assert "org.kpi_glance" not in {c.key for c in start.cards_for(world[Role.CS_SPECIALIST])}
    _, key = api_token_create(user=world[Role.STORE_MANAGER], name="glance")
    cards = Client(HTTP_AUTHORIZATION=f"Bearer {key}", HTTP_ACCEPT_LANGUAGE="en").get("/api/start").json()
    rows = next(c["rows"] for c in cards if c["key"] == "org.kpi_glance")
    assert rows and all(r["display"] and r["count"] == 0 for r in rows)  # the figure, not a count


# session, user, staff, stores, the switcher, then one or a few aggregates per card; a manager's glance computes each
# key KPI of the month (and today's calls) through the catalogue when it is not cached (org/glance.py): ~20 queries.
# The store manager and the group admin see the appointments card too (two queries: the bookings' aggregate and the
# waitlist offers), one more than the CS manager's page as each has one card query more than his
# the CS and store managers +1 since the dealer-evaluation actions card (one aggregate: quality/cards.py)
QUERY_BOUND = {
    Role.CS_SPECIALIST: 15, Role.CS_MANAGER: 17, Role.RENEWAL_SPECIALIST: 10, Role.DEPARTMENT_DESIGNEE: 10,
    Role.SUPERVISOR: 10, Role.SERVICE_ADVISOR: 10, Role.STORE_MANAGER: 18, Role.GROUP_ADMIN: 17,
    Role.QUALITY_ENGINEER: 10, Role.ITINERANT_SERVICE: 10,
}
GLANCE_BOUND = 22


def _queries(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get("/today/").status_code == 200
    return len(ctx)


@pytest.mark.parametrize("role", Role.values)
def test_it_answers_each_roles_start_page_in_a_bounded_number_of_queries(world, role):
    client = client_for(world[role])
    client.get("/today/")  # warm the session (and the glance)
    warm = _queries(client)
    assert warm <= QUERY_BOUND[role], (role, warm)
    cache.clear()
    cold = _queries(client)
    assert cold - warm <= (GLANCE_BOUND if role in (Role.CS_MANAGER, Role.STORE_MANAGER, Role.GROUP_ADMIN) else 0), (
        role, warm, cold)


def test_it_keeps_the_glance_per_stores_and_day_and_language(world):
    store_manager = client_for(world[Role.STORE_MANAGER])
    store_manager.get("/today/")
    cs_manager = client_for(world[Role.CS_MANAGER])
    assert _queries(cs_manager) <= QUERY_BOUND[Role.CS_MANAGER]  # the same store: the glance is shared
    chinese = client_for(world[Role.CS_MANAGER])
    chinese.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"
    assert "（本月）" in chinese.get("/today/").content.decode()  # not the English rows cached above


def _count(html: str, card: str, label: str) -> int:
    row = _cards(html)[card].split(label, 1)[1].split("</li>", 1)[0]
    return int(re.search(r'data-count="(\d+)"', row).group(1))


def test_it_shows_the_store_manager_his_stores_appointments_and_the_group_admin_every_stores(world, store_a):
    from aftercare.org.tests.start_world import appointment
    from aftercare.testing import factories as f

    store_b = f.StoreFactory(code="B01", group=store_a.group)
    appointment(store_b, start_at=NOW + dt.timedelta(hours=3))
    manager, admin = client_for(world[Role.STORE_MANAGER]), client_for(world[Role.GROUP_ADMIN])
    assert _count(manager.get("/today/").content.decode(), "appointments.today", "Appointments today") == 1
    assert _count(admin.get("/today/").content.decode(), "appointments.today", "Appointments today") == 2
    href = HREF.findall(_cards(manager.get("/today/").content.decode())["appointments.today"])[0]
    html = manager.get(href.replace("&amp;", "&")).content.decode()
    assert html.count("data-booking=") == 1  # store A's appointment, never store B's
