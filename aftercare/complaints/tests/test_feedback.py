"""Feedback records: the service's checks, the scoped list and detail pages and the API."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client

from aftercare.complaints.models import Feedback
from aftercare.complaints.services.workflow import feedback_create
from aftercare.core.models import AuditEvent
from aftercare.core.services import api_token_create
from aftercare.org.choices import DepartmentKind, Role
from aftercare.testing import factories as f
from conftest import CANARY


def client_for(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


@pytest.fixture
def paint_dept(store_a):
    return f.DepartmentFactory(store=store_a, kind=DepartmentKind.SERVICE_PAINT, name="喷漆车间")


def test_it_records_feedback_routed_by_category_and_audits_it(store_a, specialist, paint_dept):
    customer = f.CustomerFactory(store=store_a)
    feedback = feedback_create(
        actor=specialist, customer=customer, kind="complaint", source="walk_in", category="paint", text=" 色差 "
    )
    assert (feedback.department, feedback.status, feedback.text, feedback.store) == (paint_dept, "new", "色差", store_a)
    assert feedback.deadline_at is None  # the complaint workflow sets it later
    assert AuditEvent.objects.filter(action="create", object_type="complaints.feedback").count() == 1


def test_it_names_every_bad_field_and_stores_nothing(store_a, store_b, specialist):
    customer = f.CustomerFactory(store=store_a)
    other_dept = f.DepartmentFactory(store=store_b, kind=DepartmentKind.SALES)
    with pytest.raises(ValidationError) as exc:
        feedback_create(
            actor=specialist,
            customer=customer,
            kind="rant",
            source="pigeon",
            category="",
            text="  ",
            department=other_dept,
        )
    assert set(exc.value.message_dict) == {"kind", "source", "category", "text", "department"}
    assert not Feedback.objects.exists()


def test_it_refuses_feedback_for_another_stores_customer(store_b, specialist):
    with pytest.raises(PermissionDenied):
        feedback_create(
            actor=specialist,
            customer=f.CustomerFactory(store=store_b),
            kind="complaint",
            source="walk_in",
            category="sales",
            text="x",
        )


@pytest.fixture
def records(store_a, store_b, specialist):
    mine = [
        feedback_create(
            actor=specialist,
            customer=f.CustomerFactory(store=store_a, name=name),
            kind=kind,
            source="inbound_call",
            category="sales",
            text=text,
        )
        for name, kind, text in [("赵投诉", "complaint", "交车太慢"), ("钱建议", "suggestion", "多设充电桩")]
    ]
    other = Feedback.objects.create(
        store=store_b,
        kind="complaint",
        source="walk_in",
        category="sales",
        customer=f.CustomerFactory(store=store_b, name=CANARY),
        text=CANARY,
        created_by=specialist,
    )
    return mine, other


def test_it_lists_the_stores_feedback_with_filters(records, specialist, django_assert_max_num_queries):
    client = client_for(specialist)
    with django_assert_max_num_queries(10):
        html = client.get("/complaints/").content.decode()
    assert "赵投诉" in html and "钱建议" in html and CANARY not in html
    filtered = client.get("/complaints/?kind=suggestion", HTTP_HX_REQUEST="true").content.decode()
    assert "钱建议" in filtered and "赵投诉" not in filtered and "<html" not in filtered
    assert "赵投诉" in client.get("/complaints/?q=交车").content.decode()


def test_it_shows_a_record_and_hides_other_stores_records(records, specialist):
    (mine, _), other = records
    client = client_for(specialist)
    page = client.get(f"/complaints/{mine.pk}/")
    assert page.status_code == 200 and "交车太慢" in page.content.decode()
    assert client.get(f"/complaints/{other.pk}/").status_code == 404


@pytest.mark.parametrize("role", [Role.RENEWAL_SPECIALIST])
def test_it_forbids_roles_without_the_feedback_permission(records, users, role):
    (mine, _), _other = records
    client = client_for(users[role])
    assert client.get("/complaints/").status_code == 403
    assert client.get(f"/complaints/{mine.pk}/").status_code == 403


def test_it_lets_department_designees_read_feedback(records, users):
    assert client_for(users[Role.DEPARTMENT_DESIGNEE]).get("/complaints/").status_code == 200


def test_it_serves_feedback_through_the_api_scoped(records, specialist):
    (mine, _), other = records
    _, key = api_token_create(user=specialist, name="t")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    listing = api.get("/api/complaints/feedback?kind=complaint").json()
    assert [r["id"] for r in listing["items"]] == [mine.pk]
    assert api.get(f"/api/complaints/feedback/{mine.pk}").json()["text"] == "交车太慢"
    assert api.get(f"/api/complaints/feedback/{other.pk}").status_code == 404
