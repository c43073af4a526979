"""The call-log, letter-log and questionnaire-template XLSX are written by the one export writer: a customer name,
call note, letter text or question that looks like a formula comes back as the neutralised text, never a formula,
and the template importer reads back exactly what the exporter wrote (issue 14)."""

import datetime as dt
import io

import pytest
from django.test import Client
from openpyxl import load_workbook

from aftercare.core.exports import neutralise
from aftercare.followups.models import CallLog, LetterLog, QuestionnaireTemplate
from aftercare.followups.services.questionnaires import (
    questionnaire_template_dict_from_xlsx,
    questionnaire_template_import,
    questionnaire_template_to_dict,
)
from aftercare.org.choices import Role
from aftercare.testing import factories as f

PAYLOADS = ['=HYPERLINK("http://x","y")', "+cmd", "-1+1", "@SUM(1)", "\t=1+1", "\r=1+1"]
WHEN = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)


def browser(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def sheets(response) -> dict[str, list[list]]:
    """Each sheet's values by title, after checking the download and that no cell anywhere is a formula."""
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    wb = load_workbook(io.BytesIO(response.content))  # formulas kept: a formula cell has data_type "f"
    cells = {ws.title: [list(row) for row in ws.iter_rows()] for ws in wb.worksheets}
    assert not [c.coordinate for rows in cells.values() for row in rows for c in row if c.data_type == "f"]
    return {title: [[c.value for c in row] for row in rows] for title, rows in cells.items()}


@pytest.mark.parametrize("payload", PAYLOADS)
def test_it_exports_a_formula_like_name_and_call_note_as_text(store_a, specialist, payload):
    customer = f.CustomerFactory(store=store_a, name=payload, mobile="+8613800001111")
    call = CallLog.objects.create(
        store=store_a, customer=customer, handler=specialist, called_at=WHEN, outcome="completed", notes=payload
    )
    customer.refresh_from_db()
    call.refresh_from_db()
    (rows,) = sheets(browser(specialist).get("/followups/calls/export.xlsx")).values()
    header, row = rows
    assert (header[5], header[12]) == ("Customer", "Notes")
    assert row[5] == neutralise(customer.name) == neutralise(payload) and row[5].startswith("'")
    assert row[12] == neutralise(call.notes) == neutralise(payload)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_it_exports_a_formula_like_name_and_letter_text_as_text(store_a, specialist, payload):
    customer = f.CustomerFactory(store=store_a, name=payload)
    LetterLog.objects.create(
        store=store_a, customer=customer, handler=specialist, kind="invitation", channel="letter", text=payload
    )
    (rows,) = sheets(browser(specialist).get("/followups/letters/export.xlsx")).values()
    header, row = rows
    assert (header[7], header[10]) == ("Customer", "Text")
    assert row[7] == row[10] == neutralise(payload) and row[7].startswith("'")


def test_it_exports_control_characters_stored_directly_in_the_database(store_a, specialist):
    customer = f.CustomerFactory(store=store_a, name="王先生")
    call = CallLog.objects.create(
        store=store_a, customer=customer, handler=specialist, called_at=WHEN, outcome="completed"
    )
    CallLog.objects.filter(pk=call.pk).update(notes="\x07=1+1\x1b，回电")
    (rows,) = sheets(browser(specialist).get("/followups/calls/export.xlsx")).values()
    assert rows[1][12] == "'=1+1，回电"


def _template(payload: str) -> dict:
    question = {"type": "free_text", "weight": "1", "required": False, "dissatisfied_at_or_below": None, "choices": []}
    return {
        "code": "SAFE-1",
        "kind": "csi",
        "name_zh": payload,
        "name_en": payload,
        "dissatisfied_threshold": "0.4",
        "factors": [
            {
                "code": "F1",
                "name_zh": payload,
                "name_en": "-factor",
                "weight": "1",
                "questions": [
                    {**question, "code": "Q1", "text_zh": payload, "text_en": "'" + payload},
                    {**question, "code": "Q2", "text_zh": "@" + payload, "text_en": "plain"},
                ],
            }
        ],
    }


@pytest.mark.parametrize("payload", PAYLOADS)
def test_it_exports_a_questionnaire_template_as_text_and_imports_it_back_unchanged(users, specialist, payload):
    admin = users[Role.GROUP_ADMIN]
    template = questionnaire_template_import(actor=admin, data=_template(payload))
    stored = payload.replace("\r", "\n")
    assert template.name_zh == stored
    response = browser(specialist).get(f"/followups/templates/{template.pk}/export.xlsx")
    book = sheets(response)
    assert list(book) == ["template", "questions"]
    head = dict(book["template"])
    assert head["name_zh"] == head["name_en"] == neutralise(stored)
    header, q1, q2 = book["questions"]
    assert q1[header.index("text_zh")] == neutralise(stored) and q1[header.index("text_en")] == "''" + stored
    assert q2[header.index("text_zh")] == "'@" + stored and q1[header.index("factor_name_en")] == "'-factor"

    again = questionnaire_template_import(actor=admin, data=questionnaire_template_dict_from_xlsx(response.content))

    def content(t: QuestionnaireTemplate) -> dict:
        t = QuestionnaireTemplate.objects.get(pk=t.pk)
        return {k: v for k, v in questionnaire_template_to_dict(t).items() if k not in ("version", "status")}

    assert content(again) == content(template)
    assert again.factors.get().questions.get(code="Q1").text_en == "'" + stored


def test_it_downloads_a_template_whatever_its_typed_code_holds(users, specialist):
    """The code is typed text (a newline or a quote passes `clean_text`): it names the file but cannot break the
    header (before: `BadHeaderError`, a 500)."""
    data = {**_template("满意度"), "code": 'T"1\n2;x/../y'}
    template = questionnaire_template_import(actor=users[Role.GROUP_ADMIN], data=data)
    for fmt in ("json", "xlsx"):
        response = browser(specialist).get(f"/followups/templates/{template.pk}/export.{fmt}")
        assert response.status_code == 200
        assert response["Content-Disposition"] == f'attachment; filename="T_1_2_x_.._y-v1.{fmt}"'
