"""The renewals' start-page cards (each number lists exactly its cases), the customer-360 panel and the call
screen's case card: contents, scoping and query counts."""

import datetime as dt
import re
from urllib.parse import urlsplit

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from aftercare.core.services import api_token_create
from aftercare.followups.models import FollowupTask
from aftercare.org.choices import Role
from aftercare.renewals import cards, panels
from aftercare.renewals.call_screen import renewal_call_context
from aftercare.renewals.models import RenewalCase
from aftercare.renewals.services.claims import claim_assist_open
from aftercare.renewals.services.generation import renewals_daily
from aftercare.renewals.services.work import renewal_case_claim, renewal_contact_record
from aftercare.testing import factories as f
from conftest import CANARY

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 16)
NOW = dt.datetime(2026, 11, 16, 2, tzinfo=dt.UTC)  # 10:00 in Shanghai


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


def _policy(store, expiry: dt.date, name="客户"):
    customer = f.CustomerFactory(store=store, name=name)
    vehicle = f.owned_vehicle(customer, model=name)
    return f.InsurancePolicyFactory(store=store, customer=customer, vehicle=vehicle, kind="renewal",
                                    start_date=expiry - dt.timedelta(days=364), expiry_date=expiry, insurer=name)


@pytest.fixture
def other_specialist(store_a):
    user = f.UserFactory(username="renewal_other")
    f.StaffFactory(user=user, group=store_a.group, role=Role.RENEWAL_SPECIALIST, stores=[store_a])
    return user


@pytest.fixture
def work(store_a, store_b, renewal_user, other_specialist):
    """Due today: `today` (free) and `theirs` (held by another specialist); overdue: `late` (free) and `held`
    (the user's). Store B's overdue case carries the canary."""
    today = _policy(store_a, dt.date(2026, 12, 31))
    late = _policy(store_a, dt.date(2026, 12, 20))  # contact due 5 November: its call's deadline passed
    held = _policy(store_a, dt.date(2026, 12, 25))
    theirs = _policy(store_a, dt.date(2026, 12, 31))
    _policy(store_b, dt.date(2026, 12, 20), name=CANARY)
    renewals_daily(today=TODAY)
    case = {p: RenewalCase.objects.get(policy=p) for p in (today, late, held, theirs)}
    renewal_case_claim(actor=renewal_user, case=case[held])
    renewal_case_claim(actor=other_specialist, case=case[theirs])
    claim_assist_open(actor=renewal_user, policy=today, reported_on=dt.date(2026, 11, 12), description="追尾")
    return {"today": case[today], "late": case[late], "held": case[held], "theirs": case[theirs]}


def card_rows(html: str, key: str) -> dict[str, tuple[int, str]]:
    card = re.search(rf'data-card="{re.escape(key)}">(.*?)</ul>', html, re.S)
    assert card, f"no card {key}"
    rows = re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>\s*<span[^>]*data-count="(\d+)"', card.group(1))
    return {label.strip(): (int(count), url.replace("&amp;", "&")) for url, label, count in rows}


def listed(user, url: str) -> int:
    """How many cases the list at `url` shows — on the list page, and through the API with the same filters."""
    parts = urlsplit(url)
    assert parts.path == "/renewals/"
    client = Client(HTTP_AUTHORIZATION=f"Bearer {api_token_create(user=user, name='t')[1]}")
    response = client.get(f"/api/renewals/cases?{parts.query}")
    assert response.status_code == 200, response.json()
    html = page(user, url)
    assert html.count('<tr data-case="') == response.json()["count"], "the list page and the API disagree"
    return response.json()["count"]


def page(user, url: str) -> str:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_it_counts_the_specialists_due_and_overdue_cases_and_claim_assistance(work, renewal_user):
    html = page(renewal_user, "/today/")
    rows = card_rows(html, "renewals.my_renewals")
    assert {label: n for label, (n, _url) in rows.items()} == {
        "Renewal cases to call today": 3,  # today's and the two overdue ones; not the one another holds
        "Overdue renewal contacts": 2,
        "Cases with open claim assistance": 1,
    }
    for label, (count, url) in rows.items():
        assert listed(renewal_user, url) == count, label
    assert 'data-card="renewals.unclaimed"' not in html
    assert CANARY not in html


def test_it_counts_the_unclaimed_cases_due_for_the_manager(work, manager):
    html = page(manager, "/today/")
    rows = card_rows(html, "renewals.unclaimed")
    assert {label: n for label, (n, _url) in rows.items()} == {
        "Unclaimed cases, contact overdue": 1,
        "Unclaimed cases to call today": 2,
    }
    for label, (count, url) in rows.items():
        assert listed(manager, url) == count, label
    assert 'data-card="renewals.my_renewals"' not in html


def test_the_cards_count_in_a_fixed_number_of_queries(work, store_a, renewal_user, manager):
    ids = frozenset([store_a.pk])
    with CaptureQueriesContext(connection) as few:
        cards.my_renewals(user=renewal_user, store_ids=ids, now=NOW)
    for i in range(4):
        _policy(store_a, dt.date(2026, 12, 10 + i))
    renewals_daily(store_id=store_a.pk, today=TODAY)
    with CaptureQueriesContext(connection) as many:
        data = cards.my_renewals(user=renewal_user, store_ids=ids, now=NOW)
    assert data.rows[1].count == 6 and len(many) == len(few) <= 3
    with CaptureQueriesContext(connection) as ctx:
        cards.unclaimed_renewals(user=manager, store_ids=ids, now=NOW)
    assert len(ctx) <= 3


def test_the_customer_panel_shows_the_cases_and_open_claim_assistance(work, renewal_user, users):
    case = work["today"]
    html = page(renewal_user, f"/customers/{case.customer_id}/")
    panel = re.search(r'data-panel="renewals.cases">(.*?)</table>(.*?)</div>\s*</div>', html, re.S)
    assert panel, "no renewal panel"
    assert f'href="/renewals/{case.pk}/"' in html and "2026-12-31" in panel.group(1)
    assert "Serviced here" not in panel.group(1) and "Renewed here last year" in panel.group(1)
    assert 'data-claim-assist="' in html and "追尾" in html
    assert 'data-panel="renewals.cases"' not in page(users[Role.DEPARTMENT_DESIGNEE], f"/customers/{case.customer_id}/")


def test_the_customer_panel_reads_in_a_fixed_number_of_queries(work, store_a, renewal_user):
    customer = work["today"].customer
    with CaptureQueriesContext(connection) as few:
        panels.renewals_context(user=renewal_user, customer=customer)
    for year in range(2021, 2026):
        RenewalCase.objects.create(store=store_a, customer=customer, vehicle=work["today"].vehicle,
                                   expiry_date=dt.date(year, 12, 31), segment="renewed_here", state="lapsed")
    with CaptureQueriesContext(connection) as many:
        context = panels.renewals_context(user=renewal_user, customer=customer)
    assert len(context["rows"]) == 6 and len(context["claims"]) == 1
    assert len(many) == len(few) <= 3


def test_the_call_screen_shows_the_case_and_links_to_it(work, renewal_user):
    case = work["held"]
    renewal_contact_record(actor=renewal_user, case=case, result="no_answer", notes="")
    task = FollowupTask.objects.get(renewal_contact__case=case)
    html = page(renewal_user, f"/followups/tasks/{task.pk}/")
    card = re.search(r'id="renewal-case-card"(.*?)id="renewal-case-link"', html, re.S)
    assert card, "no renewal card on the call screen"
    assert "2026-12-25" in card.group(1) and "0 effective, 1 attempt" in card.group(1)
    assert "No answer" in card.group(1)
    assert f'href="/renewals/{case.pk}/" id="renewal-case-link"' in html
    with CaptureQueriesContext(connection) as ctx:
        context = renewal_call_context(user=renewal_user, task=task)
    assert context["case"].pk == case.pk and len(ctx) <= 3


def test_the_call_screen_card_is_left_out_of_other_tasks_and_other_stores(work, renewal_user, store_b):
    foreign = FollowupTask.objects.filter(store=store_b, kind="renewal").first()
    assert foreign is not None
    assert renewal_call_context(user=renewal_user, task=foreign) is None
    other = FollowupTask(kind="csi")
    assert renewal_call_context(user=renewal_user, task=other) is None
