"""The churn-risk page (`care:churn`), the customer-360 panel and the API: who may see them, what they show,
queries bounded."""

import datetime as dt

import pytest
from django.urls import reverse

from aftercare.care.models import ChurnModel, ChurnScore
from aftercare.org.choices import Role
from aftercare.testing import factories as f
from aftercare.testing.clients import page_client


@pytest.fixture
def scored(store_a):
    rows = []
    for i in range(30):
        c = f.CustomerFactory(store=store_a, name=f"risk-{i:02d}")
        rows.append(ChurnScore.objects.create(
            store=store_a, customer=c, risk=i / 30, scored_on=dt.date(2026, 12, 6),
            reasons=["days_overdue:+", "complaints_6m:+", "books_appointments:-"]))
    ChurnModel.objects.create(trained_at="2026-12-01T02:00:00Z", cutoff=dt.date(2026, 5, 1), model=b"",
                              feature_names=[], metrics={"auc_model": 0.84, "auc_rule": 0.76, "gain": 0.08,
                                                         "test_cutoff": "2026-05-01", "test_rows": 30})
    return rows


@pytest.mark.django_db
def test_it_lists_active_customers_by_risk_for_the_cs_manager(users, scored, django_assert_max_num_queries):
    client = page_client(users[Role.CS_MANAGER])
    with django_assert_max_num_queries(12):
        response = client.get(reverse("care:churn"))
    assert response.status_code == 200
    text = response.text
    assert text.index("risk-29") < text.index("risk-28")  # highest risk first
    assert "risk-00" not in text  # page 2 (25 a page)
    assert "97%" in text and "high" in text
    assert "Days overdue against their usual interval" in text and "Does not book appointments" in text
    assert 'id="auc-model">0.84' in text and 'id="auc-rule">0.76' in text
    assert "30 active customers scored" in text
    assert "risk-00" in client.get(reverse("care:churn"), {"page": 2}).text


@pytest.mark.django_db
def test_it_refuses_the_churn_page_to_a_specialist(users, scored):
    assert page_client(users[Role.CS_SPECIALIST]).get(reverse("care:churn")).status_code == 403
    assert page_client(users[Role.CS_SPECIALIST]).get("/api/care/churn").status_code == 403


@pytest.mark.django_db
def test_it_shows_the_risk_and_top_reasons_on_the_customer_page(users, scored):
    profile = scored[-1]
    text = page_client(users[Role.CS_SPECIALIST]).get(reverse("customers:detail", args=[profile.customer_id])).text
    assert 'id="customer-churn"' in text and 'id="churn-risk">97%' in text
    assert "Complaint in the last 6 months" in text and "high" in text


@pytest.mark.django_db
def test_it_leaves_the_panel_out_for_an_unscored_customer(users, store_a):
    c = f.CustomerFactory(store=store_a)
    text = page_client(users[Role.CS_MANAGER]).get(reverse("customers:detail", args=[c.pk])).text
    assert 'id="customer-churn"' not in text


@pytest.mark.django_db
def test_it_answers_the_churn_api(users, scored, django_assert_max_num_queries):
    client = page_client(users[Role.CS_MANAGER])
    with django_assert_max_num_queries(8):
        body = client.get("/api/care/churn", {"min_risk": 0.5, "page_size": 5}).json()
    assert body["count"] == 15 and [r["customer_number"] for r in body["items"]][0] == scored[-1].customer.number
    assert body["items"][0]["band"] == "high" and body["items"][0]["reason_labels"][0].startswith("Days overdue")
    one = client.get(f"/api/care/customers/{scored[3].customer_id}/churn").json()
    assert one["churn_risk"] == pytest.approx(0.1) and one["band"] == "low"
    assert client.get("/api/care/churn", {"min_risk": 2}).status_code == 422


@pytest.mark.django_db
def test_the_churn_api_answers_null_risk_for_an_unscored_customer(users, store_a, scored):
    c = f.CustomerFactory(store=store_a)
    body = page_client(users[Role.CS_MANAGER]).get(f"/api/care/customers/{c.pk}/churn").json()
    assert body == {"customer_id": c.pk, "customer_number": c.number, "store": store_a.code, "churn_risk": None,
                    "band": "", "reasons": [], "reason_labels": [], "scored_on": None, "last_visit_at": None}
    top = page_client(users[Role.CS_MANAGER]).get("/api/care/churn", {"page_size": 1}).json()["items"][0]
    assert top == {"customer_id": scored[-1].customer_id, "customer_number": scored[-1].customer.number,
                   "store": store_a.code, "churn_risk": pytest.approx(29 / 30), "band": "high",
                   "reasons": ["days_overdue:+", "complaints_6m:+", "books_appointments:-"],
                   "reason_labels": ["Days overdue against their usual interval", "Complaint in the last 6 months",
                                     "Does not book appointments"],
                   "scored_on": "2026-12-06", "last_visit_at": None}
