"""The follow-up pages through the Django test client: queue, claim, call screen, sheet, outcomes, manager,
rules and settings, call and letter logs with their XLSX exports."""

import datetime as dt
import io
import json
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.contrib.staticfiles import finders
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from aftercare.complaints.models import Feedback
from aftercare.core.models import AuditEvent
from aftercare.followups.choices import CallDirection, CallOutcome, LetterKind, TaskStatus
from aftercare.followups.models import AnswerSheet, CallLog, FollowupTask, LetterLog, Question, StoreFollowupSettings
from aftercare.followups.services.attempts import followup_attempt_record
from aftercare.followups.services.claiming import followup_task_claim
from aftercare.followups.services.generation import followup_tasks_for_delivery, followup_tasks_for_repair_order
from aftercare.org.choices import DepartmentKind, Role
from aftercare.testing import factories as f

SH = ZoneInfo("Asia/Shanghai")


def csi_task(store, **customer_kwargs) -> FollowupTask:
    ro = f.RepairOrderFactory(customer=f.CustomerFactory(store=store, **customer_kwargs))
    followup_tasks_for_repair_order(repair_order=ro)
    return FollowupTask.objects.get(subject_id=ro.pk, subject_type="repair_order", kind="csi")


def ssi_task(store, **customer_kwargs) -> FollowupTask:
    customer = f.CustomerFactory(store=store, **customer_kwargs)
    delivery = f.SalesDeliveryFactory(customer=customer, vehicle=f.owned_vehicle(customer))
    followup_tasks_for_delivery(delivery=delivery)
    return FollowupTask.objects.get(subject_id=delivery.pk, subject_type="delivery")


def client_for(user) -> Client:
    """A logged-in client reading the pages in English (messages are asserted in English)."""
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def full_answers(task, low_code: str | None = None) -> dict:
    """A POST body answering every question well (scale top, yes, first choice); `low_code` gets the worst."""
    data = {}
    for q in Question.objects.filter(factor__template=task.template_id):
        if q.type == "scale_5":
            value = "5"
        elif q.type == "scale_10":
            value = "10"
        elif q.type == "yes_no":
            value = "yes"
        elif q.type == "single_choice":
            value = q.choices[0]["value"]
        else:
            value = "好"
        if q.code == low_code:
            value = "1" if q.type.startswith("scale") else "no"
        data[f"q_{q.pk}"] = value
    return data


@pytest.fixture
def specialist2(store_a):
    user = f.UserFactory(username="specialist2")
    f.StaffFactory(user=user, group=store_a.group, role=Role.CS_SPECIALIST, stores=[store_a], display_name="李四")
    return user


@pytest.fixture
def sales_dept(store_a):
    return f.DepartmentFactory(store=store_a, kind=DepartmentKind.SALES, name="销售部")


# ---- queue and claim -------------------------------------------------------------------------------------------


def test_it_shows_the_queue_most_urgent_first_with_the_specialists_numbers(
    store_a, rules_a, specialist, django_assert_max_num_queries
):
    later = csi_task(store_a, name="王后来")
    sooner = ssi_task(store_a, name="张先急")
    assert sooner.due_at < later.due_at
    for _ in range(8):
        csi_task(store_a)
    client = client_for(specialist)
    with django_assert_max_num_queries(16):
        response = client.get("/followups/")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.index("张先急") < html.index("王后来")
    assert 'id="my-rate"' in html
    assert "+86" not in html  # phones masked


def test_it_filters_the_queue_by_kind_with_an_htmx_partial(store_a, rules_a, specialist):
    csi_task(store_a, name="王维修")
    ssi_task(store_a, name="张新车")
    response = client_for(specialist).get("/followups/?kind=ssi", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert "张新车" in html and "王维修" not in html
    assert "<html" not in html


def test_it_claims_a_task_and_opens_the_call_screen(store_a, rules_a, specialist):
    task = csi_task(store_a)
    response = client_for(specialist).post(f"/followups/tasks/{task.pk}/claim/")
    assert response.status_code == 302 and response.url == f"/followups/tasks/{task.pk}/"
    task.refresh_from_db()
    assert (task.status, task.claimed_by) == (TaskStatus.CLAIMED, specialist)


def test_it_tells_the_specialist_who_lost_the_claim_race(store_a, rules_a, specialist, specialist2):
    task = csi_task(store_a)
    followup_task_claim(actor=specialist2, task_id=task.pk)
    response = client_for(specialist).post(f"/followups/tasks/{task.pk}/claim/")
    assert response.status_code == 302 and response.url == "/followups/"
    assert any("Another specialist claimed this task first" in m for m in messages_of(response))
    task.refresh_from_db()
    assert task.claimed_by == specialist2


@pytest.mark.parametrize(
    "url,method",
    [
        ("/followups/", "get"),
        ("/followups/tasks/{pk}/", "get"),
        ("/followups/tasks/{pk}/claim/", "post"),
        ("/followups/tasks/{pk}/sheet/", "post"),
        ("/followups/tasks/{pk}/attempt/", "post"),
        ("/followups/calls/new/", "get"),
        ("/followups/letters/new/", "get"),
    ],
)
def test_it_forbids_roles_that_make_no_calls(store_a, rules_a, users, url, method):
    task = csi_task(store_a)
    client = client_for(users[Role.DEPARTMENT_DESIGNEE])
    assert getattr(client, method)(url.format(pk=task.pk)).status_code == 403


def test_it_shows_a_store_manager_the_call_read_only_with_what_it_follows_up(store_a, rules_a, users):
    task = csi_task(store_a)
    client = client_for(users[Role.STORE_MANAGER])  # follows the figures down to their tasks, makes no calls
    body = client.get(f"/followups/tasks/{task.pk}/").content.decode()
    assert 'id="read-only"' in body and 'id="call-trigger"' in body
    ro_number = task.customer.repair_orders.get().ro_number
    trigger = body.split('id="call-trigger"', 1)[1].split("</div>\n    </div>", 1)[0]
    assert ro_number in trigger  # the repair order that made the call
    assert "/claim/" not in body and 'id="attempt-form"' not in body and 'href="/followups/manage/"' in body
    assert client.post(f"/followups/tasks/{task.pk}/claim/").status_code == 403  # still no calling
    # the API reads the task the same way, and still refuses the claim
    assert client.get(f"/api/followups/tasks/{task.pk}").json()["id"] == task.pk
    assert client.post(f"/api/followups/tasks/{task.pk}/claim").status_code == 403
    assert client_for(users[Role.DEPARTMENT_DESIGNEE]).get(f"/api/followups/tasks/{task.pk}").status_code == 403


def test_it_shows_one_feedback_box_with_a_questionnaire(store_a, rules_a, specialist):
    task = followup_task_claim(actor=specialist, task_id=csi_task(store_a).pk)
    body = client_for(specialist).get(f"/followups/tasks/{task.pk}/").content.decode()
    before_fold = body.split('id="attempt-feedback"', 1)[0]
    assert before_fold.count("feedback-box") == 1  # the questionnaire's; the outcome form's stays folded


@pytest.mark.parametrize(
    "url,method",
    [
        ("/followups/manage/", "get"),
        ("/followups/tasks/{pk}/assign/", "post"),
        ("/followups/rules/", "get"),
        ("/followups/rules/{rule}/edit/", "get"),
        ("/followups/settings/{store}/", "get"),
    ],
)
def test_it_keeps_manager_pages_from_specialists(store_a, rules_a, specialist, url, method):
    task = csi_task(store_a)
    path = url.format(pk=task.pk, rule=rules_a["CSI"].pk, store=store_a.pk)
    assert getattr(client_for(specialist), method)(path).status_code == 403


@pytest.mark.parametrize(
    "url,method",
    [
        ("/followups/tasks/{pk}/", "get"),
        ("/followups/tasks/{pk}/claim/", "post"),
        ("/followups/tasks/{pk}/release/", "post"),
        ("/followups/tasks/{pk}/assign/", "post"),
        ("/followups/tasks/{pk}/sheet/", "post"),
        ("/followups/tasks/{pk}/attempt/", "post"),
        ("/followups/rules/{rule}/edit/", "get"),
        ("/followups/settings/{store}/", "get"),
    ],
)
def test_it_answers_404_for_another_stores_ids(store_a, store_b, rules_b, manager, url, method):
    task = csi_task(store_b)
    path = url.format(pk=task.pk, rule=rules_b["CSI"].pk, store=store_b.pk)
    assert getattr(client_for(manager), method)(path).status_code == 404


# ---- call screen ---------------------------------------------------------------------------------------------


def test_it_shows_the_call_screen_masked_with_bounded_queries(
    store_a, rules_a, specialist, django_assert_max_num_queries
):
    task = ssi_task(store_a, name="黄志强", mobile="+8613926081234")
    for _ in range(3):
        f.RepairOrderFactory(store=store_a, customer=task.customer, vehicle=task.vehicle)
    followup_task_claim(actor=specialist, task_id=task.pk)
    client = client_for(specialist)
    with django_assert_max_num_queries(24):
        response = client.get(f"/followups/tasks/{task.pk}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "139****1234" in html and "13926081234" not in html
    assert 'id="questionnaire"' in html and html.count('class="mb-2 question"') == 24
    trigger = html.split('id="call-trigger"', 1)[1].split("</div>\n    </div>", 1)[0]
    assert "Sales delivery" in trigger and str(task.vehicle) in trigger  # what the call follows up, inside the bound
    # The reveal button is the customer page's, audited there.
    reveal = client.post(f"/customers/{task.customer_id}/reveal-phone/")
    assert "139 2608 1234" in reveal.content.decode()
    assert AuditEvent.objects.filter(action="reveal", object_id=str(task.customer_id)).count() == 1


def test_it_saves_a_dissatisfied_sheet_and_creates_the_feedback_in_one_go(store_a, rules_a, specialist, sales_dept):
    task = ssi_task(store_a)
    followup_task_claim(actor=specialist, task_id=task.pk)
    data = full_answers(task, low_code="S13") | {"notes": "销售顾问态度差"}
    response = client_for(specialist).post(f"/followups/tasks/{task.pk}/sheet/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    sheet = AnswerSheet.objects.get(task=task)
    assert sheet.dissatisfied and "S13" in sheet.dissatisfied_reasons
    feedback = Feedback.objects.get(answer_sheet=sheet)
    assert (feedback.kind, feedback.source, feedback.category) == ("grievance", "followup_call", "sales")
    assert feedback.department == sales_dept
    assert feedback.followup_task == task and feedback.call_log.task == task
    assert "S13" in feedback.text and "销售顾问态度差" in feedback.text
    task.refresh_from_db()
    assert task.status == TaskStatus.COMPLETED


def test_it_saves_a_satisfied_sheet_without_feedback(store_a, rules_a, specialist):
    task = ssi_task(store_a)
    followup_task_claim(actor=specialist, task_id=task.pk)
    response = client_for(specialist).post(f"/followups/tasks/{task.pk}/sheet/", full_answers(task))
    assert response.status_code == 302
    assert AnswerSheet.objects.get(task=task).score_total == 1000
    assert not Feedback.objects.exists()


def test_it_records_a_complaint_said_on_a_satisfied_call(store_a, rules_a, specialist):
    task = csi_task(store_a)
    followup_task_claim(actor=specialist, task_id=task.pk)
    data = full_answers(task) | {
        "feedback_kind": "suggestion",
        "feedback_category": "facilities",
        "feedback_text": "休息区需要更多充电口",
    }
    assert client_for(specialist).post(f"/followups/tasks/{task.pk}/sheet/", data).status_code == 302
    feedback = Feedback.objects.get()
    assert (feedback.kind, feedback.category, feedback.text) == ("suggestion", "facilities", "休息区需要更多充电口")
    assert feedback.answer_sheet == AnswerSheet.objects.get(task=task)


def test_it_shows_per_question_errors_and_saves_nothing(store_a, rules_a, specialist):
    task = ssi_task(store_a)
    followup_task_claim(actor=specialist, task_id=task.pk)
    data = full_answers(task)
    first = next(iter(data))
    del data[first]
    response = client_for(specialist).post(f"/followups/tasks/{task.pk}/sheet/", data)
    assert response.status_code == 400
    html = response.content.decode()
    block = html.split(f'id="question-{first}"', 1)[1].split('class="mb-2 question"', 1)[0]
    assert "invalid-feedback" in block
    assert not AnswerSheet.objects.exists() and not CallLog.objects.exists()
    task.refresh_from_db()
    assert task.status == TaskStatus.CLAIMED


def test_it_keeps_the_sheet_unsaved_when_the_feedback_is_incomplete(store_a, rules_a, specialist):
    task = ssi_task(store_a)
    followup_task_claim(actor=specialist, task_id=task.pk)
    data = full_answers(task) | {"feedback_kind": "complaint", "feedback_text": ""}
    response = client_for(specialist).post(f"/followups/tasks/{task.pk}/sheet/", data)
    assert response.status_code == 400
    assert not AnswerSheet.objects.exists() and not Feedback.objects.exists()


def test_it_logs_a_refusal_with_a_complaint_said_on_the_call(store_a, rules_a, specialist):
    task = csi_task(store_a)
    followup_task_claim(actor=specialist, task_id=task.pk)
    data = {
        "outcome": "refused",
        "feedback_kind": "complaint",
        "feedback_category": "",
        "feedback_text": "修了三次没修好",
    }
    response = client_for(specialist).post(f"/followups/tasks/{task.pk}/attempt/", data)
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.status == TaskStatus.REFUSED
    feedback = Feedback.objects.get()
    assert (feedback.kind, feedback.category) == ("complaint", "mechanical")  # a maintenance order
    assert feedback.call_log == CallLog.objects.get(task=task)


def test_it_reschedules_a_call_back_and_requires_its_time(store_a, rules_a, specialist):
    task = csi_task(store_a)
    followup_task_claim(actor=specialist, task_id=task.pk)
    client = client_for(specialist)
    missing = client.post(f"/followups/tasks/{task.pk}/attempt/", {"outcome": "call_back"})
    assert missing.status_code == 400 and CallLog.objects.count() == 0
    when = (timezone.localtime() + dt.timedelta(hours=3)).replace(second=0, microsecond=0)
    response = client.post(
        f"/followups/tasks/{task.pk}/attempt/",
        {"outcome": "call_back", "call_back_at": when.strftime("%Y-%m-%dT%H:%M")},
    )
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.next_call_at == when and task.status == TaskStatus.CLAIMED


def test_it_refuses_an_outcome_on_a_task_not_held(store_a, rules_a, specialist):
    task = csi_task(store_a)
    response = client_for(specialist).post(f"/followups/tasks/{task.pk}/attempt/", {"outcome": "busy"})
    assert response.status_code == 400
    assert "Claim the task before calling" in response.content.decode()


# ---- manager -------------------------------------------------------------------------------------------------


def test_it_shows_the_manager_everyone_and_the_rates(store_a, rules_a, manager, specialist, specialist2):
    mine = csi_task(store_a, name="甲客户")
    followup_task_claim(actor=specialist2, task_id=mine.pk)
    done = csi_task(store_a)
    followup_task_claim(actor=specialist, task_id=done.pk)
    followup_attempt_record(actor=specialist, task=done, outcome=CallOutcome.COMPLETED)
    client = client_for(manager)
    response = client.get("/followups/manage/")
    html = response.content.decode()
    assert response.status_code == 200 and "甲客户" in html
    assert 'id="rate-table"' in html and "core/vendor/chartjs/chart.umd.min.js" in html
    # the card the complaints app registered (followups.registry.manage_link_register), given the page's month
    assert 'id="complaint-measures-link"' in html and "/complaints/measures/?month=" in html
    for by in ("kind", "specialist", "store"):
        assert client.get(f"/followups/manage/?by={by}").status_code == 200


def test_it_draws_the_return_visit_chart_with_the_chart_helper_under_1_mb_of_script(
    store_a, rules_a, manager, specialist
):
    """The trend per store and month is a spec of aftercare.core.charts (a JSON data block beside a canvas) with the
    target line; every script the page loads adds up to less than 1 MB (the Plotly bundle alone was 4.8 MB)."""
    with time_machine.travel(dt.datetime(2026, 3, 10, 9, 0, tzinfo=SH)):
        done = csi_task(store_a)
        followup_task_claim(actor=specialist, task_id=done.pk)
        followup_attempt_record(actor=specialist, task=done, outcome=CallOutcome.COMPLETED)
        html = client_for(manager).get("/followups/manage/").content.decode()
    figure = re.search(r'<figure class="chart[^"]*" data-chart id="rate-chart">(.*?)</figure>', html, re.S).group(1)
    assert "<canvas" in figure
    spec = json.loads(re.search(r'<script type="application/json">(.*?)</script>', figure, re.S).group(1))
    assert spec["title"] == "Return-visit rate per store and month"
    assert spec["labels"] == ["2025-10", "2025-11", "2025-12", "2026-01", "2026-02", "2026-03"]
    line, target = spec["series"]
    assert (line["label"], line["values"]) == (store_a.name, [None, None, None, None, None, 100.0])
    assert target["target"] is True and target["values"] == [95.0] * 6
    assert spec["y"]["max"] == 100 and 0 < spec["y"]["min"] <= 95  # scaled to the data and the target
    scripts = re.findall(r'<script\b[^>]*\bsrc="([^"]+)"', html)
    assert "/static/core/charts.js" in scripts and "plotly" not in html.lower()
    sizes = {src: Path(finders.find(src.removeprefix("/static/"))).stat().st_size for src in scripts}
    assert sum(sizes.values()) < 1_000_000, sizes


def test_it_lets_a_manager_reassign_and_release(store_a, rules_a, manager, specialist, specialist2):
    task = csi_task(store_a)
    followup_task_claim(actor=specialist, task_id=task.pk)
    client = client_for(manager)
    assert client.post(f"/followups/tasks/{task.pk}/assign/", {"to_user": specialist2.pk}).status_code == 302
    task.refresh_from_db()
    assert task.claimed_by == specialist2
    client.post(f"/followups/tasks/{task.pk}/release/", {"next": "/followups/manage/"})
    task.refresh_from_db()
    assert (task.status, task.claimed_by) == (TaskStatus.OPEN, None)


# ---- rules and settings --------------------------------------------------------------------------------------


def test_it_lets_a_cs_manager_edit_a_rule_and_the_store_settings(store_a, rules_a, manager):
    client = client_for(manager)
    rule = rules_a["CSI"]
    assert client.get("/followups/rules/").status_code == 200
    response = client.post(
        f"/followups/rules/{rule.pk}/edit/",
        {
            "name": "售后回访",
            "delay_hours": "2",
            "deadline_amount": "2",
            "deadline_unit": "working_days",
            "template": rule.template_id,
            "allowed_roles": ["cs_specialist"],
            "excluded_repair_kinds": ["internal", "wash"],
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.deadline_amount, rule.deadline_unit, rule.excluded_repair_kinds) == (
        2,
        "working_days",
        ["internal", "wash"],
    )
    response = client.post(
        f"/followups/settings/{store_a.pk}/",
        {
            "max_attempts": "5",
            "repair_deadline_unit": "working_days",
            "unreachable_counts_as": "excluded",
            "refused_counts_as": "done",
        },
    )
    assert response.status_code == 302
    assert StoreFollowupSettings.objects.get(store=store_a).max_attempts == 5
    bad = client.post(
        f"/followups/settings/{store_a.pk}/",
        {
            "max_attempts": "0",
            "repair_deadline_unit": "working_days",
            "unreachable_counts_as": "excluded",
            "refused_counts_as": "done",
        },
    )
    assert bad.status_code == 200 and "is-invalid" in bad.content.decode()
    assert StoreFollowupSettings.objects.get(store=store_a).max_attempts == 5


# ---- call log and letter log ---------------------------------------------------------------------------------


def _at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SH)


def test_it_logs_an_inbound_complaint_call_with_its_feedback(store_a, specialist):
    customer = f.CustomerFactory(store=store_a, number="GZ0000042", name="刘投诉")
    client = client_for(specialist)
    assert client.get("/followups/calls/new/").status_code == 200
    response = client.post(
        "/followups/calls/new/",
        {
            "store": store_a.pk,
            "purpose": "complaint",
            "customer_number": "gz0000042",
            "handler": specialist.pk,
            "called_at": "2026-03-02T10:15",
            "duration_s": "240",
            "notes": "喷漆有色差",
            "feedback_kind": "",
            "feedback_category": "paint",
            "feedback_text": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    call = CallLog.objects.get()
    assert (call.direction, call.purpose, call.customer, call.duration_s) == (
        CallDirection.INBOUND,
        "complaint",
        customer,
        240,
    )
    assert call.called_at == _at(2026, 3, 2, 10, 15)
    feedback = Feedback.objects.get()
    assert (feedback.kind, feedback.source, feedback.category, feedback.text, feedback.call_log) == (
        "complaint",
        "inbound_call",
        "paint",
        "喷漆有色差",
        call,
    )


def test_it_names_the_bad_field_of_an_inbound_call(store_a, specialist):
    response = client_for(specialist).post(
        "/followups/calls/new/",
        {
            "store": store_a.pk,
            "purpose": "complaint",
            "customer_number": "NOPE",
            "handler": specialist.pk,
            "called_at": "2026-03-02T10:15",
            "feedback_category": "paint",
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "No customer with this number" in html and "Write down what the customer said" in html
    assert not CallLog.objects.exists()


@pytest.fixture
def calls(store_a, store_b, specialist, specialist2):
    wang = f.CustomerFactory(store=store_a, name="王小明", mobile="+8613800001111")
    li = f.CustomerFactory(store=store_a, name="李大华", mobile="+8613900002222")
    rows = [
        (wang, specialist, _at(2026, 3, 1, 0, 0), "completed"),  # first instant of the range
        (wang, specialist2, _at(2026, 3, 4, 23, 59), "no_answer"),
        (li, specialist, _at(2026, 3, 5, 0, 0), "busy"),  # the end day: excluded
        (li, specialist, _at(2026, 2, 28, 23, 59), "completed"),
    ]
    for customer, handler, at, outcome in rows:
        CallLog.objects.create(store=store_a, customer=customer, handler=handler, called_at=at, outcome=outcome)
    other = f.CustomerFactory(store=store_b, name="王小明")
    CallLog.objects.create(
        store=store_b, customer=other, handler=specialist2, called_at=_at(2026, 3, 2), outcome="busy"
    )
    return rows


def test_it_searches_the_call_log_half_open_by_phone_handler_outcome(store_a, calls, specialist, specialist2):
    client = client_for(specialist)
    page = client.get("/followups/calls/?since=2026-03-01&until=2026-03-05", HTTP_HX_REQUEST="true")
    assert page.content.decode().count("<tr>") == 1 + 2  # header + the two calls inside [1 Mar, 5 Mar)
    assert "2 calls" in page.content.decode()
    by_phone = client.get("/followups/calls/?q=2222").content.decode()
    assert "李大华" in by_phone and "王小明" not in by_phone
    by_handler = client.get(f"/followups/calls/?handler={specialist2.pk}").content.decode()
    assert by_handler.count("王小明") == 1 and "李大华" not in by_handler
    by_outcome = client.get("/followups/calls/?outcome=busy").content.decode()
    assert "李大华" in by_outcome and "王小明" not in by_outcome  # store B's busy call is not shown


def test_it_exports_the_filtered_call_log_as_xlsx_and_audits_it(store_a, calls, specialist):
    response = client_for(specialist).get("/followups/calls/export.xlsx?since=2026-03-01&until=2026-03-05")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = list(load_workbook(io.BytesIO(response.content), read_only=True).active.iter_rows(values_only=True))
    assert len(rows) == 1 + 2
    assert {r[5] for r in rows[1:]} == {"王小明"}
    assert {r[6] for r in rows[1:]} == {"138****1111"}
    assert rows[1][0] == dt.datetime(2026, 3, 4, 23, 59)  # newest first, Shanghai wall time
    event = AuditEvent.objects.get(action="export", object_type="followups.calllog")
    assert event.actor == specialist and event.detail["rows"] == 2 and event.detail["since"] == "2026-03-01"


def test_it_logs_a_letter_by_hand_searches_and_exports_it(store_a, specialist):
    customer = f.CustomerFactory(store=store_a, number="GZ0000077", name="周邀请")
    f.CustomerFactory(store=store_a, name="别人")
    client = client_for(specialist)
    assert client.get("/followups/letters/new/").status_code == 200
    response = client.post(
        "/followups/letters/new/",
        {
            "store": store_a.pk,
            "customer_number": "GZ0000077",
            "kind": "invitation",
            "channel": "letter",
            "handler": specialist.pk,
            "sent_on": "2026-03-02",
            "text": "免费检测周邀请函",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    letter = LetterLog.objects.get()
    assert (letter.kind, letter.customer, letter.handler, letter.status) == (
        LetterKind.INVITATION,
        customer,
        specialist,
        "sent",
    )
    assert "周邀请" in client.get("/followups/letters/?kind=invitation").content.decode()
    assert "周邀请" not in client.get("/followups/letters/?kind=reply").content.decode()
    export = client.get("/followups/letters/export.xlsx?kind=invitation")
    rows = list(load_workbook(io.BytesIO(export.content), read_only=True).active.iter_rows(values_only=True))
    assert len(rows) == 2 and rows[1][7] == "周邀请" and rows[1][10] == "免费检测周邀请函"
    assert AuditEvent.objects.filter(action="export", object_type="followups.letterlog").count() == 1


def test_it_lets_a_store_manager_read_but_not_write_the_logs(store_a, users):
    client = client_for(users[Role.STORE_MANAGER])
    assert client.get("/followups/calls/").status_code == 200
    assert client.get("/followups/letters/").status_code == 200
    assert client.get("/followups/calls/new/").status_code == 403
    assert client_for(users[Role.DEPARTMENT_DESIGNEE]).get("/followups/calls/").status_code == 403


def test_it_records_feedback_sent_with_the_api_sheet(store_a, rules_a, specialist):
    from aftercare.core.services import api_token_create

    task = csi_task(store_a)
    followup_task_claim(actor=specialist, task_id=task.pk)
    types = dict(Question.objects.filter(factor__template=task.template_id).values_list("pk", "type"))
    answers = {}
    for name, value in full_answers(task).items():
        qtype = types[int(name[2:])]
        answers[name[2:]] = (
            int(value) if qtype.startswith("scale") else (value == "yes") if qtype == "yes_no" else value
        )
    _, key = api_token_create(user=specialist, name="t")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    body = {"answers": answers, "feedback": {"kind": "grievance", "text": "等待时间太长"}}
    response = api.post(f"/api/followups/tasks/{task.pk}/sheet", body, content_type="application/json")
    assert response.status_code == 200, response.json()
    feedback = Feedback.objects.get()
    assert (feedback.kind, feedback.category, feedback.text) == ("grievance", "mechanical", "等待时间太长")


def test_it_answers_an_empty_post_of_the_log_forms_with_the_errors(store_a, specialist):
    client = client_for(specialist)
    for url in ("/followups/calls/new/", "/followups/letters/new/"):
        response = client.post(url)
        assert response.status_code == 200 and "This field is required" in response.content.decode()


def test_it_never_releases_to_a_foreign_next_url(store_a, rules_a, specialist):
    task = csi_task(store_a)
    followup_task_claim(actor=specialist, task_id=task.pk)
    response = client_for(specialist).post(f"/followups/tasks/{task.pk}/release/", {"next": "https://evil.example/"})
    assert response.url == "/followups/"
