"""Phone reveals are limited per user per hour (`Store.phone_reveals_per_hour`, default 60): beyond it 429 with a
message (UI and API), audited as refused; the CS manager sees and edits the limit on the customer settings page."""

import datetime as dt

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from aftercare.core.choices import AuditAction
from aftercare.core.models import AuditEvent
from aftercare.customers import services
from aftercare.org.choices import Role
from aftercare.org.models import Store
from aftercare.testing import factories as f
from aftercare.testing.clients import api_client

pytestmark = pytest.mark.django_db


def _customers(store, n):
    return [f.CustomerFactory(store=store, mobile=f"+86138{i:08d}") for i in range(n)]


def _set_limit(store, n):
    Store.objects.filter(pk=store.pk).update(phone_reveals_per_hour=n)
    store.refresh_from_db()


def _reveal_ui(client, customer, htmx=True):
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(reverse("customers:reveal_phone", args=[customer.pk]), headers=headers)


def test_it_defaults_to_60_reveals_per_hour(store_a):
    assert store_a.phone_reveals_per_hour == 60


def test_it_refuses_the_61st_reveal_in_an_hour_in_the_api(specialist, store_a):
    customers = _customers(store_a, 61)
    api = api_client(specialist)
    for customer in customers[:60]:
        assert api.post(f"/api/customers/{customer.pk}/reveal-phone").status_code == 200
    response = api.post(f"/api/customers/{customers[60].pk}/reveal-phone")
    assert response.status_code == 429
    body = response.json()
    assert body["detail"] == (
        "You have revealed 60 phone numbers in the last hour; the limit is 60 per hour. Try again later."
    )
    assert customers[60].mobile not in response.content.decode()
    assert AuditEvent.objects.filter(action=AuditAction.REVEAL).count() == 60
    refused = AuditEvent.objects.get(action=AuditAction.REVEAL_REFUSED)
    assert refused.actor == specialist and refused.object_id == str(customers[60].pk)
    assert refused.detail == {"count": 60, "limit": 60} and refused.store_id == store_a.pk


def test_it_refuses_beyond_the_limit_in_the_ui_with_a_429_partial_and_page(client, specialist, store_a):
    _set_limit(store_a, 2)
    one, two, three = _customers(store_a, 3)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    client.force_login(specialist)
    assert _reveal_ui(client, one).status_code == 200
    assert _reveal_ui(client, two).status_code == 200
    response = _reveal_ui(client, three)
    assert response.status_code == 429
    html = response.content.decode()
    assert 'id="customer-phones"' in html and 'data-testid="reveal-refused"' in html  # the fragment htmx swaps in
    assert "You have revealed 2 phone numbers in the last hour; the limit is 2 per hour." in html
    assert "138 0000 0002" not in html and "138****0002" in html
    page = _reveal_ui(client, three, htmx=False)  # without JavaScript: a page
    assert page.status_code == 429 and "<html" in page.content.decode() and "the limit is 2" in page.content.decode()
    # the edit form shows full numbers, so it is a reveal too
    edit = client.get(reverse("customers:edit", args=[three.pk]))
    assert edit.status_code == 429 and "+8613800000002" not in edit.content.decode()
    assert AuditEvent.objects.filter(action=AuditAction.REVEAL).count() == 2
    assert AuditEvent.objects.filter(action=AuditAction.REVEAL_REFUSED).count() == 3


def test_it_lets_htmx_swap_the_429_fragment(client, specialist):
    client.force_login(specialist)
    page = client.get(reverse("customers:list")).content.decode()
    assert '{"code": "429", "swap": true' in page


def test_it_says_so_in_chinese(client, specialist, store_a):
    _set_limit(store_a, 1)
    one, two = _customers(store_a, 2)
    client.force_login(specialist)
    _reveal_ui(client, one)
    response = client.post(
        reverse("customers:reveal_phone", args=[two.pk]), headers={"HX-Request": "true", "Accept-Language": "zh-hans"}
    )
    assert response.status_code == 429
    with translation.override("zh-hans"):
        expected = services.RevealLimitReached(count=1, limit=1).message
    assert expected in response.content.decode()


def test_it_counts_each_user_separately(client, specialist, users, store_a):
    _set_limit(store_a, 1)
    one, two = _customers(store_a, 2)
    assert api_client(specialist).post(f"/api/customers/{one.pk}/reveal-phone").status_code == 200
    assert api_client(specialist).post(f"/api/customers/{two.pk}/reveal-phone").status_code == 429
    colleague = users[Role.CS_MANAGER]
    assert api_client(colleague).post(f"/api/customers/{two.pk}/reveal-phone").status_code == 200


def test_it_allows_reveals_again_after_an_hour(specialist, store_a):
    _set_limit(store_a, 2)
    customers = _customers(store_a, 3)
    api = api_client(specialist)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for customer in customers[:2]:
            assert api.post(f"/api/customers/{customer.pk}/reveal-phone").status_code == 200
    with time_machine.travel(start + dt.timedelta(minutes=59), tick=False):
        assert api.post(f"/api/customers/{customers[2].pk}/reveal-phone").status_code == 429
    with time_machine.travel(start + dt.timedelta(minutes=60, seconds=1), tick=False):
        assert api.post(f"/api/customers/{customers[2].pk}/reveal-phone").status_code == 200


def test_it_counts_in_one_query_on_the_audit_index(specialist, store_a):
    customer = _customers(store_a, 1)[0]
    with CaptureQueriesContext(connection) as queries:
        services.customer_phone_reveal(actor=specialist, customer=customer)
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert len(counts) == 1 and "core_auditevent" in counts[0]
    if connection.vendor == "postgresql":
        # a realistic table: many other events of the same user (page views), statistics up to date
        AuditEvent.objects.bulk_create(
            AuditEvent(actor=specialist, action=AuditAction.VIEW, object_type="customers.customer", object_id=str(i))
            for i in range(5000)
        )
        with connection.cursor() as cur:
            cur.execute("ANALYZE core_auditevent")
            cur.execute(
                "EXPLAIN SELECT COUNT(*) FROM core_auditevent WHERE actor_id = %s AND action = 'reveal' "
                "AND created_at >= now() - interval '1 hour'",
                [specialist.pk],
            )
            plan = "\n".join(row[0] for row in cur.fetchall())
        assert "audit_actor_action_idx" in plan, plan


def test_it_keeps_the_limit_in_range_in_the_database(store_a):
    for bad in (0, 10_001):
        with pytest.raises(IntegrityError), transaction.atomic():
            Store.objects.filter(pk=store_a.pk).update(phone_reveals_per_hour=bad)


# ---- the CS manager's settings page --------------------------------------------------------------------------------


def test_it_shows_and_edits_the_limit_on_the_managers_page(client, manager, store_a):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    client.force_login(manager)
    assert reverse("customers:settings") in client.get(reverse("customers:list")).content.decode()  # in the menu
    page = client.get(reverse("customers:settings"))
    assert page.status_code == 200
    assert "Current limit: 60 phone reveals per user per hour." in page.content.decode()
    response = client.post(reverse("customers:settings_edit", args=[store_a.pk]), {"phone_reveals_per_hour": "25"})
    assert response.status_code == 302
    store_a.refresh_from_db()
    assert store_a.phone_reveals_per_hour == 25
    assert "Current limit: 25 phone reveals" in client.get(reverse("customers:settings")).content.decode()
    event = AuditEvent.objects.get(action=AuditAction.UPDATE, object_type="org.store")
    assert event.actor == manager and event.changed_fields == ["phone_reveals_per_hour"]
    assert event.detail == {"before": 60, "after": 25}


@pytest.mark.parametrize("value", ["0", "-1", "abc", "", "10001", "1e3"])
def test_it_refuses_a_bad_limit_naming_the_field(client, manager, store_a, value):
    client.force_login(manager)
    response = client.post(reverse("customers:settings_edit", args=[store_a.pk]), {"phone_reveals_per_hour": value})
    assert response.status_code == 400
    assert 'id="field-phone_reveals_per_hour"' in response.content.decode() and "invalid-feedback" in (
        response.content.decode()
    )
    store_a.refresh_from_db()
    assert store_a.phone_reveals_per_hour == 60


def test_it_answers_404_for_another_stores_settings(client, store_a, store_b):
    manager_b = f.UserFactory(username="csm_b")
    f.StaffFactory(user=manager_b, group=store_b.group, role=Role.CS_MANAGER, stores=[store_b])
    client.force_login(manager_b)
    response = client.post(reverse("customers:settings_edit", args=[store_a.pk]), {"phone_reveals_per_hour": "1"})
    assert response.status_code == 404
    assert store_a.name not in client.get(reverse("customers:settings")).content.decode()
    store_a.refresh_from_db()
    assert store_a.phone_reveals_per_hour == 60


@pytest.mark.parametrize("role", [Role.CS_SPECIALIST, Role.RENEWAL_SPECIALIST, Role.DEPARTMENT_DESIGNEE])
def test_it_refuses_the_settings_page_to_roles_without_the_permission(client, users, store_a, role):
    client.force_login(users[role])
    assert client.get(reverse("customers:settings")).status_code == 403
    response = client.post(reverse("customers:settings_edit", args=[store_a.pk]), {"phone_reveals_per_hour": "1"})
    assert response.status_code == 403
