"""The integration API: auth, scoped reads, masking, filters, pagination, errors, OpenAPI."""

import datetime as dt
import io
import json
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from aftercare.core.choices import AuditAction
from aftercare.core.models import ApiToken, AuditEvent
from aftercare.core.services import api_token_create
from aftercare.customers import services as customer_services
from aftercare.org.choices import Role
from aftercare.testing import factories as f

SH = ZoneInfo("Asia/Shanghai")


def api_client(user) -> Client:
    _, key = api_token_create(user=user, name="test")
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


@pytest.fixture
def client_for(users):
    return lambda role=Role.CS_MANAGER: api_client(users[role])


@pytest.fixture
def customer(store_a):
    return f.CustomerFactory(store=store_a, name="张伟", mobile="+8613812345678", mobile2="+8613900001111")


# ---- authentication -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_answers_401_without_a_token(client):
    response = client.get("/api/customers")
    assert response.status_code == 401
    assert response.json() == {"detail": "Unauthorized"}


def test_it_answers_401_for_a_wrong_or_revoked_token(manager):
    token, key = api_token_create(user=manager, name="x")
    assert Client(HTTP_AUTHORIZATION="Bearer ac_wrong").get("/api/customers").status_code == 401
    ApiToken.objects.filter(pk=token.pk).update(revoked=True)
    assert Client(HTTP_AUTHORIZATION=f"Bearer {key}").get("/api/customers").status_code == 401


def test_it_answers_401_for_a_user_without_a_staff_record(db, client):
    outsider = f.UserFactory(username="outsider")
    assert api_client(outsider).get("/api/customers").status_code == 401
    client.force_login(outsider)
    assert client.get("/api/customers").status_code == 401


def test_it_accepts_the_browser_session(client, manager, customer):
    client.force_login(manager)
    response = client.get("/api/customers")
    assert response.status_code == 200
    assert response.json()["count"] == 1


def test_it_records_when_a_token_was_last_used(manager):
    token, key = api_token_create(user=manager, name="x")
    Client(HTTP_AUTHORIZATION=f"Bearer {key}").get("/api/customers")
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_it_creates_a_token_from_the_command_and_prints_the_key_once(manager):
    out, err = io.StringIO(), io.StringIO()
    call_command("api_token_create", manager.username, "--name", "crm", stdout=out, stderr=err)
    key = out.getvalue().strip()
    assert key.startswith("ac_")
    token = ApiToken.objects.get(user=manager, name="crm")
    assert token.key_hash == ApiToken.hash_key(key)
    assert key not in err.getvalue()
    assert Client(HTTP_AUTHORIZATION=f"Bearer {key}").get("/api/customers").status_code == 200


def test_it_takes_the_token_name_as_the_readme_shows_it(manager):
    """README: `manage.py api_token_create USERNAME "name of the integration"` (it once answered
    `unrecognized arguments`)."""
    from django.core.management.base import CommandError

    call_command("api_token_create", manager.username, "name of the integration", stdout=io.StringIO())
    call_command("api_token_create", manager.username, stdout=io.StringIO())
    assert set(ApiToken.objects.filter(user=manager).values_list("name", flat=True)) == {
        "name of the integration",
        "integration",
    }
    with pytest.raises(CommandError, match="once"):
        call_command("api_token_create", manager.username, "a", "--name", "b", stdout=io.StringIO())


def test_it_refuses_a_token_for_an_unknown_or_non_staff_user(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No user"):
        call_command("api_token_create", "nobody")
    f.UserFactory(username="plain")
    with pytest.raises(CommandError, match="no staff record"):
        call_command("api_token_create", "plain")


# ---- customers ----------------------------------------------------------------------------------------------


def test_it_lists_customers_masked_and_searchable(client_for, store_a, customer):
    f.CustomerFactory(store=store_a, name="李娜")
    api = client_for()
    body = api.get("/api/customers").json()
    assert body["count"] == 2
    row = next(item for item in body["items"] if item["id"] == customer.pk)
    assert row["mobile"] == "138****5678"
    assert row["store"] == "A01"
    assert "13812345678" not in json.dumps(body)

    by_name = api.get("/api/customers", {"q": "张伟"}).json()
    assert [item["id"] for item in by_name["items"]] == [customer.pk]
    by_digits = api.get("/api/customers", {"q": "5678"}).json()
    assert [item["id"] for item in by_digits["items"]] == [customer.pk]


def test_it_paginates(client_for, store_a):
    f.CustomerFactory.create_batch(7, store=store_a)
    api = client_for()
    first = api.get("/api/customers", {"page_size": 3}).json()
    last = api.get("/api/customers", {"page_size": 3, "page": 3}).json()
    assert first["count"] == 7 and len(first["items"]) == 3
    assert len(last["items"]) == 1
    assert api.get("/api/customers", {"page_size": 3, "page": 9}).json()["items"] == []


LIST_URLS = ("/api/customers", "/api/vehicles", "/api/repair-orders", "/api/policies", "/api/deliveries")


def _file(store):
    owner = f.CustomerFactory(store=store)
    vehicle = f.owned_vehicle(owner)
    f.RepairOrderFactory(store=store, customer=owner, vehicle=vehicle)
    f.InsurancePolicyFactory(store=store, customer=owner, vehicle=vehicle)
    f.SalesDeliveryFactory(store=store, customer=owner, vehicle=vehicle)


def _queries(api, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert api.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_it_lists_with_a_constant_number_of_queries(client_for, store_a):
    api = client_for()
    _file(store_a)
    one = {url: _queries(api, url) for url in LIST_URLS}
    for _ in range(4):
        _file(store_a)
    five = {url: _queries(api, url) for url in LIST_URLS}
    assert five == one
    assert max(one.values()) <= 8, one
    assert api.get("/api/vehicles").json()["count"] == 5


def test_it_shows_a_customer_with_current_vehicles_only(client_for, store_a, customer, manager):
    kept = f.owned_vehicle(customer, plate="粤B12345")
    sold = f.owned_vehicle(customer)
    buyer = f.CustomerFactory(store=store_a)
    customer_services.ownership_transfer(actor=manager, vehicle=sold, new_owner=buyer, on=dt.date(2026, 1, 5))
    body = client_for().get(f"/api/customers/{customer.pk}").json()
    assert [v["id"] for v in body["vehicles"]] == [kept.pk]
    assert body["vehicles"][0]["plate"] == "粤B12345"
    assert body["mobile"] == "138****5678" and body["mobile2"] == "139****1111"


def test_it_reveals_phones_to_roles_allowed_and_audits_without_the_number(client_for, customer):
    response = client_for(Role.CS_SPECIALIST).post(f"/api/customers/{customer.pk}/reveal-phone")
    assert response.status_code == 200
    assert response.json()["mobile"] == "+8613812345678"
    event = AuditEvent.objects.get(action=AuditAction.REVEAL, object_id=str(customer.pk))
    assert "13812345678" not in json.dumps([event.changed_fields, event.detail])


def test_it_refuses_reveal_to_a_role_without_the_permission(client_for, customer):
    response = client_for(Role.DEPARTMENT_DESIGNEE).post(f"/api/customers/{customer.pk}/reveal-phone")
    assert response.status_code == 403
    assert response.json()["detail"] == "Permission denied."
    assert not AuditEvent.objects.filter(action=AuditAction.REVEAL).exists()


def test_it_answers_404_json_for_another_stores_id(client_for, other_store_rows):
    api = client_for()
    for url in (
        f"/api/customers/{other_store_rows['customer'].pk}",
        f"/api/vehicles/{other_store_rows['vehicle'].pk}",
        f"/api/repair-orders/{other_store_rows['repair_order'].pk}",
        f"/api/policies/{other_store_rows['policy'].pk}",
        "/api/customers/999999999",
    ):
        response = api.get(url)
        assert response.status_code == 404, url
        assert response.json()["detail"] == "Not found."


def test_it_answers_422_naming_the_bad_parameter(client_for):
    response = client_for().get("/api/repair-orders", {"settled_from": "2024-13-45", "page": 0})
    assert response.status_code == 422
    body = response.json()
    assert body["detail"] == "Invalid input."
    assert any("settled_from" in key for key in body["errors"])
    assert any("page" in key for key in body["errors"])
    assert client_for().get("/api/customers/99999999999999999999999").status_code == 422


# ---- vehicles -----------------------------------------------------------------------------------------------


def test_it_finds_vehicles_by_plate_and_vin(client_for, customer):
    vehicle = f.owned_vehicle(customer, plate="粤B12345")
    f.owned_vehicle(customer)
    api = client_for()
    by_plate = api.get("/api/vehicles", {"plate": "粤b 12345"}).json()
    assert [v["id"] for v in by_plate["items"]] == [vehicle.pk]
    assert by_plate["items"][0]["current_owner"]["id"] == customer.pk
    by_vin = api.get("/api/vehicles", {"vin": vehicle.vin.lower()}).json()
    assert [v["id"] for v in by_vin["items"]] == [vehicle.pk]
    by_tail = api.get("/api/vehicles", {"q": vehicle.vin[-6:]}).json()
    assert [v["id"] for v in by_tail["items"]] == [vehicle.pk]
    for q in ("粤b 12345", vehicle.vin.lower()):  # a whole plate or VIN in the search box, as typed
        assert [v["id"] for v in api.get("/api/vehicles", {"q": q}).json()["items"]] == [vehicle.pk]


def test_it_shows_a_vehicles_ownership_history(client_for, store_a, customer, manager):
    vehicle = f.owned_vehicle(customer)
    buyer = f.CustomerFactory(store=store_a, name="王芳")
    customer_services.ownership_transfer(actor=manager, vehicle=vehicle, new_owner=buyer, on=dt.date(2026, 2, 1))
    body = client_for().get(f"/api/vehicles/{vehicle.pk}").json()
    assert body["current_owner"]["id"] == buyer.pk
    assert [(o["customer"]["id"], o["valid_from"], o["valid_to"]) for o in body["ownerships"]] == [
        (buyer.pk, "2026-02-01", None),
        (customer.pk, "2025-06-01", "2026-01-31"),
    ]


# ---- repair orders, deliveries, policies ---------------------------------------------------------------------


def test_it_filters_repair_orders_by_vehicle_customer_and_half_open_shanghai_days(client_for, store_a, customer):
    vehicle = f.owned_vehicle(customer)
    other_owner = f.CustomerFactory(store=store_a)
    other = f.owned_vehicle(other_owner)
    just_after_midnight = f.RepairOrderFactory(
        store=store_a, customer=customer, vehicle=vehicle, settled_at=dt.datetime(2026, 3, 1, 0, 30, tzinfo=SH)
    )
    last_minute = f.RepairOrderFactory(
        store=store_a, customer=customer, vehicle=vehicle, settled_at=dt.datetime(2026, 3, 1, 23, 59, tzinfo=SH)
    )
    f.RepairOrderFactory(  # the day before (in Shanghai)
        store=store_a, customer=customer, vehicle=vehicle, settled_at=dt.datetime(2026, 2, 28, 23, 59, tzinfo=SH)
    )
    f.RepairOrderFactory(  # the end day is excluded
        store=store_a, customer=customer, vehicle=vehicle, settled_at=dt.datetime(2026, 3, 2, 0, 0, tzinfo=SH)
    )
    f.RepairOrderFactory(
        store=store_a, customer=other_owner, vehicle=other, settled_at=dt.datetime(2026, 3, 1, 12, 0, tzinfo=SH)
    )
    api = client_for()
    body = api.get(
        "/api/repair-orders", {"vehicle_id": vehicle.pk, "settled_from": "2026-03-01", "settled_to": "2026-03-02"}
    ).json()
    assert [ro["id"] for ro in body["items"]] == [last_minute.pk, just_after_midnight.pk]
    assert api.get("/api/repair-orders", {"customer_id": customer.pk}).json()["count"] == 4
    march_first = {"settled_from": "2026-03-01", "settled_to": "2026-03-02"}
    assert api.get("/api/repair-orders", march_first).json()["count"] == 3
    detail = api.get(f"/api/repair-orders/{last_minute.pk}").json()
    assert detail["ro_number"] == last_minute.ro_number
    assert detail["amount"] in ("680.00", 680.0)


def test_it_lists_deliveries_in_a_half_open_range(client_for, store_a, customer):
    vehicle = f.owned_vehicle(customer)
    delivery = f.SalesDeliveryFactory(
        store=store_a, customer=customer, vehicle=vehicle, delivered_at=dt.datetime(2026, 1, 10, 9, tzinfo=SH)
    )
    api = client_for()
    assert [d["id"] for d in api.get("/api/deliveries", {"delivered_from": "2026-01-10"}).json()["items"]] == [
        delivery.pk
    ]
    assert api.get("/api/deliveries", {"delivered_to": "2026-01-10"}).json()["count"] == 0


def test_it_filters_policies_by_expiry_range(client_for, store_a, customer):
    vehicle = f.owned_vehicle(customer)
    march = f.InsurancePolicyFactory(
        store=store_a, customer=customer, vehicle=vehicle,
        start_date=dt.date(2025, 3, 1), expiry_date=dt.date(2026, 3, 31),
    )
    f.InsurancePolicyFactory(
        store=store_a, customer=customer, vehicle=vehicle,
        start_date=dt.date(2025, 4, 1), expiry_date=dt.date(2026, 4, 1),
    )
    api = client_for(Role.RENEWAL_SPECIALIST)
    body = api.get("/api/policies", {"expiry_from": "2026-03-01", "expiry_to": "2026-04-01"}).json()
    assert [p["id"] for p in body["items"]] == [march.pk]
    detail = api.get(f"/api/policies/{march.pk}").json()
    assert detail["policy_number"] == march.policy_number and detail["store"] == "A01"


# ---- anonymous callers, malformed bodies, server errors --------------------------------------------------------


def _operations():
    """Every (method, url) of the API's own OpenAPI document, path parameters filled with 1."""
    import re

    from aftercare.api import api as ninja_api

    paths = ninja_api.get_openapi_schema()["paths"]
    return [(m.upper(), re.sub(r"\{[^}]+\}", "1", path)) for path, ops in paths.items() for m in ops]


OPERATIONS = _operations()
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")


@pytest.mark.django_db
@pytest.mark.parametrize("method, url", OPERATIONS, ids=[f"{m} {u}" for m, u in OPERATIONS])
def test_it_answers_401_with_the_error_schema_to_an_anonymous_caller_on_every_route(method, url):
    """A browser without a session (CSRF checks on, as in real life) gets the documented 401, never the CSRF 403;
    the other unsafe methods too (405 where the path does not have them, as that leaks nothing)."""
    client = Client(enforce_csrf_checks=True)
    client.get("/accounts/login/")  # an anonymous session with a CSRF cookie, as a browser has
    response = client.generic(method, url, b"{}", content_type="application/json")
    assert response.status_code == 401, response.content
    assert response.json() == {"detail": "Unauthorized"}
    for other in ("GET", *UNSAFE):
        if other != method:
            answer = client.generic(other, url, b"{}", content_type="application/json").status_code
            assert answer in (401, 405), f"{other} {url}: {answer}"
    malformed = client.generic(method, url, b"--x\r\n", content_type="multipart/form-data")
    assert malformed.status_code == 401


def test_it_still_checks_csrf_for_a_logged_in_browser_session(manager):
    client = Client(enforce_csrf_checks=True)
    client.force_login(manager)
    response = client.post("/api/notifications/read", {"ids": [1]}, content_type="application/json")
    assert response.status_code == 403 and response.json() == {"detail": "CSRF check Failed"}
    assert client.get("/api/notifications").status_code == 200


@pytest.mark.parametrize("content_type", ["multipart/form-data", "multipart/form-data; boundary="])
def test_it_answers_422_to_a_malformed_multipart_body(manager, content_type):
    response = api_client(manager).post("/api/imports/", data=b"--x\r\n", content_type=content_type)
    assert response.status_code == 422
    assert response.json() == {"detail": "Invalid input.", "errors": {"body": ["Malformed multipart/form-data body."]}}
    session = Client()
    session.force_login(manager)  # the session's CSRF check reads the body first: the same answer
    assert session.post("/api/imports/", data=b"--x\r\n", content_type=content_type).status_code == 422


def test_it_answers_413_over_djangos_request_limits(manager, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 3
    fields = "&".join(f"f{i}=1" for i in range(10))
    response = api_client(manager).post("/api/imports/", fields, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413 and response.json() == {"detail": "Request too large."}
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10
    form = "x=" + "1" * 100
    response = api_client(manager).post("/api/imports/", form, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413


def test_it_answers_a_server_error_with_the_error_schema_and_no_details(manager, monkeypatch, settings):
    from aftercare.customers import selectors

    settings.DEBUG = True  # ninja's own handler would answer the traceback (server paths) in DEBUG

    def broken(**kwargs):
        raise RuntimeError("/srv/aftercare/var/media/secret.xlsx is broken")

    monkeypatch.setattr(selectors, "customer_list", broken)
    client = api_client(manager)
    client.raise_request_exception = False
    response = client.get("/api/customers")
    assert response.status_code == 500
    assert response.json() == {"detail": "Server error."}


# ---- OpenAPI ------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_publishes_openapi_with_every_error_response(client):
    schema = client.get("/api/openapi.json").json()
    assert schema["paths"]
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            declared = set(operation["responses"])
            expected = {"400", "401", "403", "404", "413", "422"}
            assert expected <= declared, f"{method.upper()} {path} declares {sorted(declared)}"
            assert operation.get("security"), f"{method.upper()} {path} has no authentication"
