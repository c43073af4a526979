"""Reading one person's file is audited (issue 14): the 360 page, the vehicle page and the API reads of one
customer / vehicle each write exactly one `view` event — who, whom, when, which route — at the cost of one
INSERT and no other query. Lists and search results write none."""

import datetime as dt
import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from aftercare.core.choices import AuditAction
from aftercare.core.models import AuditEvent
from aftercare.core.services import api_token_create
from aftercare.customers import services
from aftercare.testing import factories as f
from conftest import CANARY

NAME = "欧阳娜娜"
MOBILE = "+8613912345678"
ADDRESS = "深圳市南山区科技园8号"


@pytest.fixture
def file_(store_a):
    customer = f.CustomerFactory(store=store_a, name=NAME, mobile=MOBILE, address=ADDRESS)
    vehicle = f.owned_vehicle(customer, plate="粤A54321")
    f.RepairOrderFactory(store=store_a, customer=customer, vehicle=vehicle)
    f.SalesDeliveryFactory(store=store_a, customer=customer, vehicle=vehicle)
    f.InsurancePolicyFactory(store=store_a, customer=customer, vehicle=vehicle)
    return customer, vehicle


@pytest.fixture
def ui(client, specialist):
    client.force_login(specialist)
    return client


@pytest.fixture
def api(specialist):
    _, key = api_token_create(user=specialist, name="crm")
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


def _views():
    return list(AuditEvent.objects.filter(action=AuditAction.VIEW))


# (client fixture, URL of one customer / vehicle, object kind, route recorded, via)
ROUTES = [
    ("ui", lambda c, v: reverse("customers:detail", args=[c.pk]), "customer", "customers:detail", "ui"),
    ("api", lambda c, v: f"/api/customers/{c.pk}", "customer", "api:customer_detail", "api"),
    ("ui", lambda c, v: reverse("customers:vehicle_detail", args=[v.pk]), "vehicle", "customers:vehicle_detail", "ui"),
    ("api", lambda c, v: f"/api/vehicles/{v.pk}", "vehicle", "api:vehicle_detail", "api"),
]
IDS = ["customer-page", "customer-api", "vehicle-page", "vehicle-api"]


@pytest.mark.parametrize(("via_fixture", "url", "kind", "route", "via"), ROUTES, ids=IDS)
def test_it_records_one_view_event_per_read_of_one_file(
    request, file_, specialist, store_a, via_fixture, url, kind, route, via
):
    customer, vehicle = file_
    client = request.getfixturevalue(via_fixture)
    before = timezone.now()
    response = client.get(url(customer, vehicle))
    assert response.status_code == 200
    (event,) = _views()
    assert event.actor == specialist
    assert event.store_id == store_a.pk
    assert before - dt.timedelta(seconds=1) <= event.created_at <= timezone.now()
    if kind == "customer":
        assert (event.object_type, event.object_id) == ("customers.customer", str(customer.pk))
        assert event.detail == {"route": route, "via": via}
    else:
        assert (event.object_type, event.object_id) == ("customers.vehicle", str(vehicle.pk))
        assert event.detail == {"route": route, "via": via, "customer_ids": [customer.pk]}
    assert event.changed_fields == []
    dumped = json.dumps([event.detail, event.object_id, event.object_type, str(event)], ensure_ascii=False)
    for value in (NAME, MOBILE, MOBILE[3:], ADDRESS, "粤A54321", vehicle.vin):
        assert value not in dumped  # ids only, never the personal data read
    client.get(url(customer, vehicle))
    assert len(_views()) == 2  # every opening counts (no de-duplication, which would cost a query)


@pytest.mark.parametrize(("via_fixture", "url", "kind", "route", "via"), ROUTES, ids=IDS)
def test_it_answers_404_for_another_stores_file_and_records_nothing(
    request, other_store_rows, via_fixture, url, kind, route, via
):
    client = request.getfixturevalue(via_fixture)
    response = client.get(url(other_store_rows["customer"], other_store_rows["vehicle"]))
    assert response.status_code == 404
    assert CANARY not in response.content.decode()
    assert _views() == []


@pytest.mark.parametrize(("via_fixture", "url", "kind", "route", "via"), ROUTES, ids=IDS)
def test_it_records_nothing_for_an_id_that_does_not_exist(request, db, via_fixture, url, kind, route, via):
    client = request.getfixturevalue(via_fixture)
    missing = type("Missing", (), {"pk": 987654321})()
    assert client.get(url(missing, missing)).status_code == 404
    assert _views() == []


@pytest.mark.parametrize(("via_fixture", "url", "kind", "route", "via"), ROUTES, ids=IDS)
def test_it_costs_exactly_one_insert_and_no_other_query(
    request, file_, monkeypatch, via_fixture, url, kind, route, via
):
    customer, vehicle = file_
    client = request.getfixturevalue(via_fixture)
    target = url(customer, vehicle)
    client.get(target)  # warm the session and any per-process caches
    with CaptureQueriesContext(connection) as audited:
        assert client.get(target).status_code == 200
    with monkeypatch.context() as m:
        m.setattr(services, "customer_view_record", lambda **kwargs: None)
        m.setattr(services, "vehicle_view_record", lambda **kwargs: None)
        with CaptureQueriesContext(connection) as plain:
            assert client.get(target).status_code == 200
    assert len(audited.captured_queries) == len(plain.captured_queries) + 1
    extra = [q["sql"] for q in audited.captured_queries if AuditEvent._meta.db_table in q["sql"]]
    extra = [sql for sql in extra if sql.lstrip().upper().startswith("INSERT")]
    assert len(extra) == 1
    plain_sql = [q["sql"] for q in plain.captured_queries]
    rest = [q["sql"] for q in audited.captured_queries if not q["sql"].lstrip().upper().startswith("INSERT")]
    assert len(rest) == len(plain_sql)  # the only difference is the INSERT


def test_it_records_nothing_for_lists_and_search(ui, api, file_):
    customer, vehicle = file_
    assert ui.get(reverse("customers:list")).status_code == 200
    assert ui.get(reverse("customers:list"), {"q": NAME}).status_code == 200
    assert ui.get(reverse("customers:list"), {"q": NAME}, headers={"HX-Request": "true"}).status_code == 200
    assert api.get("/api/customers", {"q": NAME}).status_code == 200
    assert api.get("/api/vehicles", {"plate": "粤A54321"}).status_code == 200
    assert api.get("/api/repair-orders", {"customer_id": customer.pk}).status_code == 200
    assert _views() == []


def test_it_audits_the_phone_reveal_fragment_as_a_reveal_not_a_view(ui, file_):
    customer, _ = file_
    response = ui.post(reverse("customers:reveal_phone", args=[customer.pk]), headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert AuditEvent.objects.filter(action=AuditAction.REVEAL).count() == 1
    assert _views() == []


def test_it_keeps_view_events_out_of_the_customer_timeline(ui, file_, manager):
    customer, _ = file_
    services.customer_update(actor=manager, customer=customer, region="南山区")
    for _ in range(3):
        response = ui.get(reverse("customers:detail", args=[customer.pk]))
    with translation.override(response.wsgi_request.LANGUAGE_CODE):
        expected = [str(AuditAction.UPDATE.label)]
    assert [e.title for e in response.context["timeline"] if e.kind == "audit"] == expected  # history, not readers
    assert len(_views()) == 3


def test_it_shows_view_events_in_the_admin_audit_list(client, file_, specialist, store_a, ui):
    from django.contrib.auth import get_user_model

    customer, vehicle = file_
    ui.get(reverse("customers:detail", args=[customer.pk]))
    ui.get(reverse("customers:vehicle_detail", args=[vehicle.pk]))
    root = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    admin = Client()
    admin.force_login(root)
    response = admin.get(reverse("admin:core_auditevent_changelist"), {"action__exact": "view"})
    body = response.content.decode()
    with translation.override(response.wsgi_request.LANGUAGE_CODE):
        label = str(AuditAction.VIEW.label)
    assert body.count(f'<td class="field-action">{label}</td>') == 2
    assert reverse("admin:customers_customer_change", args=[customer.pk]) in body
    assert reverse("admin:customers_vehicle_change", args=[vehicle.pk]) in body
    assert "ui · customers:detail" in body and "ui · customers:vehicle_detail" in body
    event = AuditEvent.objects.get(action=AuditAction.VIEW, object_type="customers.customer")
    page = admin.get(reverse("admin:core_auditevent_change", args=[event.pk]))
    assert page.status_code == 200 and "customers:detail" in page.content.decode()
    assert NAME not in body and MOBILE[3:] not in body


def test_it_records_the_edit_form_as_a_view_when_it_has_no_phone_to_reveal(client, manager, store_a):
    client.force_login(manager)
    silent = f.CustomerFactory(store=store_a, mobile="", mobile2="", contact_phone="")
    phoned = f.CustomerFactory(store=store_a, mobile=MOBILE)
    assert client.get(reverse("customers:edit", args=[silent.pk])).status_code == 200
    (event,) = _views()
    assert (event.object_id, event.actor, event.detail) == (str(silent.pk), manager, {"route": "customers:edit",
                                                                                        "via": "ui"})
    assert client.get(reverse("customers:edit", args=[phoned.pk])).status_code == 200
    assert len(_views()) == 1  # audited as a reveal instead (one event per opening, not two)
    assert AuditEvent.objects.filter(action=AuditAction.REVEAL, object_id=str(phoned.pk)).count() == 1
