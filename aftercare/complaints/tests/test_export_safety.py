"""The feedback XLSX (`/complaints/export.xlsx`) is written by the one export writer: a customer name or feedback
text that looks like a formula comes back as the neutralised text, never a formula; a control character typed
into the API is not stored, and one stored by any other way does not break the export (issue 14)."""

import io

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from aftercare.complaints.models import Feedback
from aftercare.complaints.services.configuration import department_designee_set
from aftercare.complaints.services.workflow import feedback_create
from aftercare.core.exports import neutralise
from aftercare.core.services import api_token_create
from aftercare.core.text import clean_text
from aftercare.org.choices import DepartmentKind, Role
from aftercare.testing import factories as f

PAYLOADS = ['=HYPERLINK("http://x","y")', "+cmd", "-1+1", "@SUM(1)", "\t=1+1", "\r=1+1", "说明\n=1+1"]
NAME_COL, TEXT_COL = 9, 19  # "Customer", "What the customer said"


@pytest.fixture
def mech(store_a, users):
    department = f.DepartmentFactory(store=store_a, kind=DepartmentKind.SERVICE_MECHANICAL, name="机修车间")
    department_designee_set(actor=users[Role.CS_MANAGER], department=department, user=users[Role.DEPARTMENT_DESIGNEE])
    return department


def browser(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def api(user) -> Client:
    _, key = api_token_create(user=user, name="test")
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}", HTTP_ACCEPT_LANGUAGE="en")


def export_rows(user) -> list[list]:
    """The export through its real URL, every cell checked not to be a formula; the values of each row."""
    response = browser(user).get("/complaints/export.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active  # formulas kept: a formula cell has data_type "f"
    cells = [[cell for cell in row] for row in sheet.iter_rows()]
    assert not [c.coordinate for row in cells for c in row if c.data_type == "f"]
    return [[c.value for c in row] for row in cells]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_it_exports_a_formula_like_customer_name_and_text_as_text(store_a, specialist, mech, payload):
    customer = f.CustomerFactory(store=store_a, name=payload[:100])
    fb = feedback_create(
        actor=specialist, customer=customer, kind="complaint", source="walk_in", category="mechanical", text=payload
    )
    customer.refresh_from_db()
    fb.refresh_from_db()
    header, row = export_rows(specialist)
    assert (header[NAME_COL], header[TEXT_COL]) == ("Customer", "What the customer said")
    assert row[NAME_COL] == neutralise(customer.name) and row[TEXT_COL] == neutralise(fb.text)
    formula_like = not payload.startswith("说明")
    assert row[NAME_COL].startswith("'") == row[TEXT_COL].startswith("'") == formula_like


def test_it_exports_control_characters_stored_directly_in_the_database(store_a, specialist, mech):
    """Written around every service (an old row, a script, a restore): the export drops what XML cannot hold."""
    customer = f.CustomerFactory(store=store_a, name="王先生")
    fb = feedback_create(
        actor=specialist, customer=customer, kind="complaint", source="walk_in", category="mechanical", text="异响"
    )
    Feedback.objects.filter(pk=fb.pk).update(text="异\x07响\x1b，\r=1+1\ufffe")
    customer.__class__.objects.filter(pk=customer.pk).update(name="\x07=王\x08先生")
    header, row = export_rows(specialist)
    assert row[TEXT_COL] == "异响，\n=1+1"
    assert row[NAME_COL] == "'=王先生"


def test_it_stores_feedback_posted_with_a_control_character_without_it_and_still_exports(
    store_a, specialist, mech
):
    customer = f.CustomerFactory(store=store_a, name="王先生")
    body = {"customer_id": customer.pk, "kind": "complaint", "source": "walk_in", "category": "mechanical"}
    response = api(specialist).post(
        "/api/complaints/feedback",
        {**body, "text": "发动机\x07异响\r\n三次", "person_concerned": "李\x00师傅"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    fb = Feedback.objects.get(pk=response.json()["id"])
    assert (fb.text, fb.person_concerned) == ("发动机异响\n三次", "李师傅")
    only_controls = api(specialist).post(
        "/api/complaints/feedback", {**body, "text": "\x07\x08"}, content_type="application/json"
    )
    assert only_controls.status_code == 422 and "body.payload.text" in only_controls.json()["errors"]
    assert export_rows(specialist)[1][TEXT_COL] == "发动机异响\n三次"


def test_it_stores_feedback_typed_into_the_form_without_control_characters(store_a, specialist, mech):
    customer = f.CustomerFactory(store=store_a, name="王先生")
    response = browser(specialist).post(
        "/complaints/new/",
        {
            "customer_number": customer.number,
            "kind": "complaint",
            "source": "walk_in",
            "severity": "normal",
            "category": "mechanical",
            "person_concerned": "李\x1b师傅",
            "text": "=1+1\x07 异响\r\n第二行",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    fb = Feedback.objects.get()
    assert (fb.text, fb.person_concerned) == ("=1+1 异响\n第二行", "李师傅")
    assert export_rows(specialist)[1][TEXT_COL] == "'=1+1 异响\n第二行"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(min_size=1, max_size=60))
def test_it_takes_any_text_through_the_api_and_the_export(store_a, specialist, mech, text):
    """Arbitrary text (control characters included) posted as feedback: stored clean or refused with 422 (never
    500), and the store's export still answers 200 with no formula in it."""
    customer = f.CustomerFactory(store=store_a)
    response = api(specialist).post(
        "/api/complaints/feedback",
        {"customer_id": customer.pk, "kind": "complaint", "source": "walk_in", "category": "mechanical", "text": text},
        content_type="application/json",
    )
    expected = clean_text(text).strip()
    if expected:
        assert response.status_code == 200, response.content
        assert Feedback.objects.get(pk=response.json()["id"]).text == expected
    else:
        assert response.status_code == 422
    rows = export_rows(specialist)
    if expected:
        assert neutralise(expected) in [row[TEXT_COL] for row in rows[1:]]
