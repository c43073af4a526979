"""The start page (`/today/`, org/start.py): the landing page after log-in, cards per role from the registry, the
empty state, bounded queries, the store switcher, scoping and `GET /api/start`."""

import datetime as dt

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from aftercare.complaints.tests.test_cards import form
from aftercare.core.services import api_token_create
from aftercare.followups.services.rules import followup_rules_seed_defaults
from aftercare.followups.tests.test_cards import NOW, make_task
from aftercare.org import start
from aftercare.org.choices import Role
from aftercare.org.models import Staff
from aftercare.org.permissions import Perm
from aftercare.testing import factories as f
from conftest import CANARY

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def api_for(user) -> Client:
    _, key = api_token_create(user=user, name="start")
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}", HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture
def probe_card():
    """A card of a pretend later app, for specialists and managers, showing how many stores it was given."""
    seen = []

    def data(*, user, store_ids, now):
        seen.append(store_ids)
        return start.CardData(rows=(start.CardRow("Stores counted", len(store_ids), "/customers/", "info"),))

    start.register_card(
        start.StartCard(
            key="probe.stores",
            title="Probe",
            data=data,
            order=1,
            permission=Perm.CUSTOMER_VIEW,
            roles=(Role.CS_SPECIALIST, Role.CS_MANAGER),
        )
    )
    yield seen
    start.unregister_card("probe.stores")


def test_it_lands_on_the_start_page_after_log_in(specialist):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    response = client.post(reverse("login"), {"username": specialist.username, "password": "password"}, follow=True)
    assert response.redirect_chain[-1][0] == "/today/"
    assert response.status_code == 200
    assert client.get("/").url == "/today/"


def test_it_shows_the_cards_of_the_users_role_in_order(users, probe_card):
    html = client_for(users[Role.CS_SPECIALIST]).get("/today/").content.decode()
    assert html.index('data-card="probe.stores"') < html.index('data-card="followups.my_calls"')
    html = client_for(users[Role.CS_MANAGER]).get("/today/").content.decode()
    keys = ["probe.stores", "followups.store_calls", "complaints.store_forms"]
    assert [html.index(f'data-card="{k}"') for k in keys] == sorted(html.index(f'data-card="{k}"') for k in keys)
    html = client_for(users[Role.STORE_MANAGER]).get("/today/").content.decode()
    assert 'data-card="probe.stores"' not in html  # not one of the card's roles
    assert [start_card.key for start_card in start.cards_for(users[Role.RENEWAL_SPECIALIST])] == [
        "renewals.my_renewals",
        "reports.actions",  # everyone's own rectification actions (no rows, no card, while they have none)
    ]


def test_it_shows_an_empty_state_when_there_is_nothing_to_do(users, monkeypatch):
    monkeypatch.delitem(start._cards, "renewals.my_renewals")  # the role's only card: none left
    html = client_for(users[Role.RENEWAL_SPECIALIST]).get("/today/").content.decode()
    assert "Nothing to do today." in html and 'data-card="' not in html
    html = client_for(users[Role.CS_SPECIALIST]).get("/today/").content.decode()  # a card, all zero
    assert "Nothing to do today." in html and 'data-card="followups.my_calls"' in html


def test_it_drops_the_empty_state_when_a_number_is_not_zero(store_a, specialist):
    rules = {r.code: r for r in followup_rules_seed_defaults(store_a)}
    with time_machine.travel(NOW, tick=False):
        make_task(store_a, rules["CSI"], due_at=NOW - dt.timedelta(hours=1))
        html = client_for(specialist).get("/today/").content.decode()
    assert "Nothing to do today." not in html
    assert "text-bg-danger" in html  # the overdue number is flagged


def test_it_refreshes_the_cards_alone_over_htmx(specialist):
    response = client_for(specialist).get("/today/", headers={"HX-Request": "true"})
    html = response.content.decode()
    assert 'data-card="followups.my_calls"' in html and "<html" not in html


def _rows(store, rules, users, n: int) -> None:
    designee = users[Role.DEPARTMENT_DESIGNEE]
    for i in range(n):
        make_task(store, rules["CSI"], due_at=NOW - dt.timedelta(hours=i + 1))
        make_task(store, rules["CSI"], due_at=NOW + dt.timedelta(minutes=i + 1), claimed_by=users[Role.CS_SPECIALIST])
        form(store, assignee=designee, deadline=NOW - dt.timedelta(hours=i + 1), level=i % 2)
        form(store, status="new")


def _queries(user) -> int:
    client = client_for(user)
    client.get("/today/")  # warm the session
    with CaptureQueriesContext(connection) as ctx:
        assert client.get("/today/").status_code == 200
    return len(ctx)


def test_it_counts_in_a_bounded_number_of_queries_that_does_not_grow_with_the_rows(store_a, users):
    rules = {r.code: r for r in followup_rules_seed_defaults(store_a)}
    # the group admin sees ten cards: the work calendar, the glance, the stores' calls, my forms, the stores' forms,
    # renewals, care's newly lost customers and running campaigns, the actions and the appointments (no rows here)
    admin = users[Role.GROUP_ADMIN]
    cache.clear()
    with time_machine.travel(NOW, tick=False):
        _rows(store_a, rules, users, 2)
        few = {role: _queries(users[role]) for role in (Role.CS_SPECIALIST, Role.CS_MANAGER, Role.GROUP_ADMIN)}
        _rows(store_a, rules, users, 12)
        many = {role: _queries(users[role]) for role in (Role.CS_SPECIALIST, Role.CS_MANAGER, Role.GROUP_ADMIN)}
    assert few == many
    # session, user, staff, stores, the switcher; one or two per card (care's reminders, newly lost and running
    # campaigns: CS manager); the managers' glance comes from the cache after the first request (org/glance.py; its
    # own queries: test_start_roles.py); 16 since the rectification-actions card and the unread-notification badge
    # joined the page (one aggregate each); the group admin 17 since the appointments card (its waitlist offers);
    # the CS manager 17 since the dealer-evaluation actions card (one aggregate)
    assert many[Role.CS_SPECIALIST] <= 16 and many[Role.CS_MANAGER] <= 17 and many[Role.GROUP_ADMIN] <= 17, many
    assert len(start.cards_for(admin)) == 10  # and care: newly lost customers, running campaigns; the glance


def test_it_narrows_to_the_store_chosen_in_the_switcher(store_a, manager, probe_card):
    other = f.StoreFactory(code="A02", name="广州番禺店", group=store_a.group, region=store_a.region)
    Staff.objects.get(user=manager).stores.add(other)
    rules_a = {r.code: r for r in followup_rules_seed_defaults(store_a)}
    rules_o = {r.code: r for r in followup_rules_seed_defaults(other)}
    client = client_for(manager)
    with time_machine.travel(NOW, tick=False):
        make_task(store_a, rules_a["CSI"], due_at=NOW - dt.timedelta(days=1))
        make_task(other, rules_o["CSI"], due_at=NOW - dt.timedelta(days=1))
        client.get("/today/")
        assert probe_card[-1] == {store_a.pk, other.pk}
        client.post(reverse("store_switch"), {"store": other.pk, "next": "/today/"})
        html = client.get("/today/").content.decode()
        assert probe_card[-1] == {other.pk}
        overdue = html.split("Overdue calls", 1)[1]
        assert 'data-count="1"' in overdue.split("</li>", 1)[0]
        assert "due=overdue" in html
        assert len(client.get("/followups/manage/?due=overdue").content.decode().split("table-danger")) == 2


def test_it_never_counts_another_stores_rows(store_a, store_b, users):
    rules_b = {r.code: r for r in followup_rules_seed_defaults(store_b)}
    with time_machine.travel(NOW, tick=False):
        b_customer = f.CustomerFactory(store=store_b, name=CANARY)
        make_task(store_b, rules_b["CSI"], due_at=NOW - dt.timedelta(days=1), customer=b_customer)
        form(store_b, status="new", text=CANARY)
        form(store_b, assignee=users[Role.DEPARTMENT_DESIGNEE], deadline=NOW - dt.timedelta(days=1), text=CANARY)
        for role in (Role.CS_SPECIALIST, Role.CS_MANAGER, Role.DEPARTMENT_DESIGNEE):
            html = client_for(users[role]).get("/today/").content.decode()
            assert CANARY not in html
            assert "Nothing to do today." in html, role
            cards = api_for(users[role]).get("/api/start").json()
            assert cards and all(row["count"] == 0 for card in cards for row in card["rows"]), role


def test_it_answers_the_same_cards_as_json(store_a, store_b, specialist):
    rules = {r.code: r for r in followup_rules_seed_defaults(store_a)}
    with time_machine.travel(NOW, tick=False):
        make_task(store_a, rules["CSI"], due_at=NOW - dt.timedelta(hours=1))
        make_task(store_a, rules["CSI"], due_at=NOW + dt.timedelta(hours=1))
        client = api_for(specialist)
        response = client.get("/api/start")
    assert response.status_code == 200
    # the specialist's first card (the appointment card follows: aftercare/appointments/cards.py)
    card = response.json()[0]
    assert card["key"] == "followups.my_calls" and card["title"] == "My calls"
    rows = {r["label"]: r for r in card["rows"]}
    assert rows["Overdue calls"] == {
        "label": "Overdue calls",
        "count": 1,
        "url": "/followups/?due=overdue",
        "severity": "danger",
        "display": "",
    }
    assert rows["Calls due today"]["count"] == 1
    assert client.get(f"/api/start?store_id={store_a.pk}").status_code == 200
    assert client.get(f"/api/start?store_id={store_b.pk}").status_code == 404  # not the caller's store
    bad = client.get("/api/start?store_id=abc")
    assert bad.status_code == 422 and "store_id" in str(bad.json()["errors"])
    assert Client().get("/api/start").status_code == 401


def test_it_rejects_a_bad_severity():
    with pytest.raises(ValueError):
        start.CardRow("x", 1, "/", "red")
