"""The renewals API: lists filtered and scoped, phones masked, premiums only with `renewal.premium`, claim (409 for a
lost one), release, assignment, contacts, outcomes, gifts and claim assistance; bad input is 422 naming the field."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from aftercare.core.services import api_token_create
from aftercare.followups.choices import TaskStatus
from aftercare.followups.models import CallLog
from aftercare.org.choices import Role
from aftercare.renewals.choices import CaseState, ClaimAssistState
from aftercare.renewals.models import ClaimAssist, RenewalCase, RenewalContact, RenewalGift
from aftercare.renewals.services.generation import renewals_daily
from aftercare.testing import factories as f

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 16)  # 45 days before 2026-12-31: the first contact is due
NOW = dt.datetime(2026, 11, 16, 2, tzinfo=dt.UTC)  # 10:00 in Shanghai


def api(user) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {api_token_create(user=user, name='t')[1]}")


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def case(store_a, policy_due) -> RenewalCase:
    renewals_daily(store_id=store_a.pk, today=TODAY)
    return RenewalCase.objects.get(policy=policy_due)


@pytest.fixture
def specialist2(store_a):
    user = f.UserFactory(username="renewal2")
    f.StaffFactory(user=user, group=store_a.group, role=Role.RENEWAL_SPECIALIST, stores=[store_a])
    return user


def test_it_lists_the_cases_with_masked_phones_and_filters(case, renewal_user, store_a):
    other = f.CustomerFactory(store=store_a)
    f.InsurancePolicyFactory(store=store_a, customer=other, vehicle=f.owned_vehicle(other), kind="renewal",
                             start_date=dt.date(2026, 1, 20), expiry_date=dt.date(2027, 1, 19))
    renewals_daily(store_id=store_a.pk, today=TODAY)
    client = api(renewal_user)
    body = client.get("/api/renewals/cases").json()
    assert body["count"] == 2
    first = body["items"][0]
    assert first["id"] == case.pk and first["expiry_date"] == "2026-12-31"
    assert "****" in first["customer_mobile"] and case.customer.mobile not in str(body)
    assert first["previous_premium"] == "5200.00" and first["segment"] == "new_car_first"
    assert [c["id"] for c in client.get("/api/renewals/cases?month=2026-12").json()["items"]] == [case.pk]
    assert client.get("/api/renewals/cases?month=2027-01").json()["count"] == 1
    assert client.get("/api/renewals/cases?segment=renewed_here").json()["count"] == 1
    assert client.get("/api/renewals/cases?state=renewed_here").json()["count"] == 0
    assert [c["id"] for c in client.get("/api/renewals/cases?due=today").json()["items"]] == [case.pk]
    assert client.get("/api/renewals/cases?due=overdue").json()["count"] == 0
    assert client.get("/api/renewals/cases?store=B01").json()["count"] == 0
    assert client.get("/api/renewals/cases?month=2026-13").status_code == 422
    assert "month" in str(client.get("/api/renewals/cases?month=2026-13").json()["errors"])


def test_it_lists_in_a_fixed_number_of_queries(case, renewal_user, store_a):
    client = api(renewal_user)
    client.get("/api/renewals/cases")  # warm the token's last-used write path
    with CaptureQueriesContext(connection) as few:
        client.get("/api/renewals/cases")
    for _ in range(5):
        c = f.CustomerFactory(store=store_a)
        f.InsurancePolicyFactory(store=store_a, customer=c, vehicle=f.owned_vehicle(c), kind="renewal",
                                 start_date=dt.date(2026, 1, 1), expiry_date=dt.date(2026, 12, 31))
    renewals_daily(store_id=store_a.pk, today=TODAY)
    with CaptureQueriesContext(connection) as many:
        assert client.get("/api/renewals/cases").json()["count"] == 6
    assert len(many) == len(few)


def test_it_hides_premiums_from_roles_without_the_premium_permission(case, renewal_user, monkeypatch):
    monkeypatch.setattr("aftercare.renewals.selectors.may_see_premiums", lambda user: False)
    RenewalGift.objects.create(store=case.store, name="玻璃险", cost=Decimal("300.00"))
    client = api(renewal_user)
    item = client.get("/api/renewals/cases").json()["items"][0]
    assert item["previous_premium"] is None
    assert client.get("/api/renewals/gifts").json()[0]["cost"] is None
    monkeypatch.undo()
    assert client.get("/api/renewals/gifts").json()[0]["cost"] == "300.00"


def test_it_answers_404_for_another_stores_case_and_403_without_the_permission(case, users, store_b):
    foreign = f.CustomerFactory(store=store_b)
    policy = f.InsurancePolicyFactory(store=store_b, customer=foreign, vehicle=f.owned_vehicle(foreign),
                                      start_date=dt.date(2026, 1, 1), expiry_date=dt.date(2026, 12, 31))
    renewals_daily(store_id=store_b.pk, today=TODAY)
    other = RenewalCase.objects.get(policy=policy)
    client = api(users[Role.RENEWAL_SPECIALIST])
    assert client.get(f"/api/renewals/cases/{other.pk}").status_code == 404
    assert client.post(f"/api/renewals/cases/{other.pk}/claim").status_code == 404
    assert api(users[Role.CS_SPECIALIST]).get("/api/renewals/cases").status_code == 403
    assert api(users[Role.CS_SPECIALIST]).post(f"/api/renewals/cases/{case.pk}/claim").status_code == 403


def test_it_claims_once_and_answers_409_to_the_second_specialist(case, renewal_user, specialist2):
    first = api(renewal_user).post(f"/api/renewals/cases/{case.pk}/claim")
    assert first.status_code == 200
    body = first.json()
    assert body["holder"] == renewal_user.get_username()
    assert body["contacts"][0]["task_status"] == TaskStatus.CLAIMED
    second = api(specialist2).post(f"/api/renewals/cases/{case.pk}/claim")
    assert second.status_code == 409 and second.json()["detail"]
    assert api(renewal_user).post(f"/api/renewals/cases/{case.pk}/claim").status_code == 200  # idempotent
    # the holder releases; then the other one may claim
    assert api(renewal_user).post(f"/api/renewals/cases/{case.pk}/release").json()["holder"] is None
    assert api(specialist2).post(f"/api/renewals/cases/{case.pk}/claim").status_code == 200


def test_it_lets_a_manager_assign_and_names_a_bad_user(case, manager, renewal_user, users):
    client = api(manager)
    response = client.post(f"/api/renewals/cases/{case.pk}/assign", {"user_id": renewal_user.pk},
                           content_type="application/json")
    assert response.status_code == 200 and response.json()["holder_id"] == renewal_user.pk
    bad = client.post(f"/api/renewals/cases/{case.pk}/assign", {"user_id": users[Role.SUPERVISOR].pk},
                      content_type="application/json")
    assert bad.status_code == 422 and "user_id" in bad.json()["errors"]
    refused = api(renewal_user).post(f"/api/renewals/cases/{case.pk}/assign", {"user_id": renewal_user.pk},
                                     content_type="application/json")
    assert refused.status_code == 403


def test_it_records_contacts_into_the_call_log_and_the_outcome(case, renewal_user):
    gift = RenewalGift.objects.create(store=case.store, name="机油保养一次", cost=Decimal("260.00"))
    client = api(renewal_user)
    url = f"/api/renewals/cases/{case.pk}"
    unclaimed = client.post(f"{url}/contacts", {"result": "no_answer"}, content_type="application/json")
    assert unclaimed.status_code == 422 and "case" in unclaimed.json()["errors"]
    client.post(f"{url}/claim")
    attempt = client.post(f"{url}/contacts", {"result": "no_answer"}, content_type="application/json")
    assert attempt.status_code == 200 and attempt.json()["effective"] is False
    bad_quote = client.post(f"{url}/contacts", {"result": "busy", "quote_insurer": "平安"},
                            content_type="application/json")
    assert bad_quote.status_code == 422 and "result" in bad_quote.json()["errors"]
    bad_gift = client.post(f"{url}/contacts", {"result": "interested", "gift_id": 999999},
                           content_type="application/json")
    assert bad_gift.status_code == 422 and "gift_id" in bad_gift.json()["errors"]
    answered = client.post(
        f"{url}/contacts",
        {"result": "interested", "quote_insurer": "中国人保", "quote_premium": "4980.00", "quote_discount": "5",
         "gift_id": gift.pk, "next_step": "周五到店签单"},
        content_type="application/json",
    )
    assert answered.status_code == 200, answered.json()
    contact = answered.json()
    assert contact["effective"] and contact["gift"] == "机油保养一次" and contact["gift_cost"] == "260.00"
    assert CallLog.objects.filter(task__renewal_contact__case=case).count() == 2
    missing = client.post(f"{url}/outcome", {"outcome": "renewed_here", "insurer": "中国人保"},
                          content_type="application/json")
    assert missing.status_code == 422 and {"premium", "policy_number"} <= set(missing.json()["errors"])
    done = client.post(f"{url}/outcome", {"outcome": "renewed_here", "insurer": "中国人保", "premium": "4980.00",
                                          "policy_number": "PDAA2027000001"}, content_type="application/json")
    assert done.status_code == 200
    assert done.json()["state"] == CaseState.RENEWED_HERE and done.json()["contacts_made"] == 1
    other = client.post(f"{url}/outcome", {"outcome": "not_renewed", "reason": "other"},
                        content_type="application/json")
    assert other.status_code == 422 and "reason_text" in other.json()["errors"]


def test_it_rejects_bad_input_with_422_naming_the_field(case, renewal_user):
    client = api(renewal_user)
    url = f"/api/renewals/cases/{case.pk}"
    client.post(f"{url}/claim")
    for body, field in (
        ({"result": "maybe"}, "result"),
        ({"result": "interested", "quote_premium": "-1"}, "quote_premium"),
        ({"result": "interested", "quote_discount": "101"}, "quote_discount"),
        ({"result": "call_back"}, "call_back_at"),
        ({"result": "call_back", "call_back_at": "2026-11-17T10:00:00"}, "call_back_at"),
    ):
        response = client.post(f"{url}/contacts", body, content_type="application/json")
        assert response.status_code == 422, body
        assert any(field in key for key in response.json()["errors"]), (body, response.json())
    assert client.post(f"{url}/contacts", "{", content_type="application/json").status_code == 422
    assert RenewalContact.objects.get(case=case).call_id is None


def test_it_opens_and_closes_claim_assistance_on_a_case(case, renewal_user, store_a):
    client = api(renewal_user)
    url = f"/api/renewals/cases/{case.pk}/claim-assists"
    opened = client.post(url, {"reported_on": "2026-11-10", "description": "追尾，后保险杠受损"},
                         content_type="application/json")
    assert opened.status_code == 200, opened.json()
    item = opened.json()
    assert item["case_id"] == case.pk and item["policy_id"] == case.policy_id and item["state"] == "open"
    outside = client.post(url, {"reported_on": "2025-11-10", "description": "x"}, content_type="application/json")
    assert outside.status_code == 422 and "policy_id" in outside.json()["errors"]
    future = client.post(url, {"reported_on": "2026-11-20", "description": "x"}, content_type="application/json")
    assert future.status_code == 422 and "reported_on" in str(future.json()["errors"])
    detail = client.get(f"/api/renewals/cases/{case.pk}").json()
    assert [c["id"] for c in detail["claim_assists"]] == [item["id"]]
    assert client.get("/api/renewals/claim-assists?state=open").json()["count"] == 1
    close = f"/api/renewals/claim-assists/{item['id']}/close"
    assert client.post(close, {"reason": ""}, content_type="application/json").status_code == 422
    closed = client.post(close, {"reason": "客户在外修理"}, content_type="application/json")
    assert closed.status_code == 200 and closed.json()["state"] == ClaimAssistState.CLOSED
    again = client.post(close, {"reason": "again"}, content_type="application/json")
    assert again.status_code == 422 and "state" in again.json()["errors"]
    assert ClaimAssist.objects.get().state == ClaimAssistState.CLOSED


def test_it_filters_the_cases_by_a_months_range_filed_and_contacted_as_the_list_page(case, renewal_user, store_a):
    other = f.CustomerFactory(store=store_a)
    f.InsurancePolicyFactory(store=store_a, customer=other, vehicle=f.owned_vehicle(other), kind="renewal",
                             start_date=dt.date(2026, 1, 20), expiry_date=dt.date(2027, 1, 19))
    renewals_daily(store_id=store_a.pk, today=TODAY)
    client = api(renewal_user)
    assert client.get("/api/renewals/cases?month=2026-12&until=2027-02").json()["count"] == 2
    assert [c["id"] for c in client.get("/api/renewals/cases?month=2026-12&until=2027-01").json()["items"]] == [
        case.pk
    ]
    filed = RenewalCase.objects.filter(store=store_a, expiry_estimated=False).count()
    assert client.get("/api/renewals/cases?month=2026-12&until=2027-02&filed=true").json()["count"] == filed
    RenewalCase.objects.filter(pk=case.pk).update(contacts_made=1)
    assert [c["id"] for c in client.get("/api/renewals/cases?contacted=true").json()["items"]] == [case.pk]
    for query in ("until=2027-01", "month=2026-12&until=2026-12", "month=2026-12&until=2026-13",
                  "month=2026-12&until=x"):
        response = client.get(f"/api/renewals/cases?{query}")
        assert response.status_code == 422, query
        assert "until" in str(response.json()["errors"]), query
