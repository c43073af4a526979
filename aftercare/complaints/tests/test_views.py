"""The complaint pages through the Django test client: list with filters and export, recording, the complaint
form with its action panels, inbox, board, settings, PDF and documents; scoping and query counts."""

import datetime as dt
import io

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from aftercare.complaints.models import Feedback, FeedbackAttachment, FeedbackEvent
from aftercare.core.models import AuditEvent
from aftercare.org.choices import DepartmentKind, Role
from aftercare.testing import factories as f
from conftest import CANARY

NOW = timezone.now()


def client_for(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def make_form(store, *, created_by, status="routed", assignee=None, deadline_in_h=48, **kwargs) -> Feedback:
    """A form in a given stage, written directly (the read pages are the point, not the workflow)."""
    customer = kwargs.pop("customer", None) or f.CustomerFactory(store=store, name=kwargs.pop("name", "客户"))
    values = {
        "kind": "complaint",
        "source": "inbound_call",
        "category": "mechanical",
        "text": "维修后异响",
        "severity": "normal",
    }
    values.update(kwargs)
    if status == "routed":
        values.setdefault("deadline_at", NOW + dt.timedelta(hours=deadline_in_h))
        values.setdefault("warn_at", values["deadline_at"] - dt.timedelta(hours=24))
        values.setdefault("routed_at", NOW - dt.timedelta(hours=1))
    if status == "archived":
        values.setdefault("archived_at", NOW)
    return Feedback.objects.create(
        store=store, customer=customer, created_by=created_by, status=status, assignee=assignee, **values
    )


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def mech(store_a):
    return f.DepartmentFactory(store=store_a, kind=DepartmentKind.SERVICE_MECHANICAL, name="机修车间")


@pytest.fixture
def designee(users, mech):
    user = users[Role.DEPARTMENT_DESIGNEE]
    user.staff.department = mech
    user.staff.save()
    return user


@pytest.fixture
def other_form(store_b):
    user = f.UserFactory(username="b_user")
    return make_form(store_b, created_by=user, name=CANARY, text=CANARY)


# ---- list ------------------------------------------------------------------------------------------------------


def test_it_filters_the_list_by_stage_severity_department_and_overdue(store_a, specialist, designee, mech, other_form):
    late = make_form(store_a, created_by=specialist, assignee=designee, name="迟到", deadline_in_h=-2, department=mech)
    soon = make_form(store_a, created_by=specialist, assignee=designee, name="将到", deadline_in_h=5, severity="high")
    make_form(store_a, created_by=specialist, status="new", name="新的", kind="suggestion")
    client = client_for(specialist)
    html = client.get("/complaints/").content.decode()
    assert all(name in html for name in ("迟到", "将到", "新的")) and CANARY not in html
    assert "overdue" in html and "due soon" in html

    def names(query):
        body = client.get(f"/complaints/?{query}", HTTP_HX_REQUEST="true").content.decode()
        assert "<html" not in body
        return {n for n in ("迟到", "将到", "新的") if n in body}

    assert names("overdue=on") == {"迟到"}
    assert names("status=new") == {"新的"}
    assert names("status=open") == {"迟到", "将到", "新的"}
    assert names("severity=high") == {"将到"}
    assert names(f"department={mech.pk}") == {"迟到"}
    assert late.pk != soon.pk


def test_it_offers_new_feedback_only_with_the_create_permission(store_a, specialist, designee):
    assert "/complaints/new/" in client_for(specialist).get("/complaints/").content.decode()
    assert "/complaints/new/" not in client_for(designee).get("/complaints/").content.decode()


def test_it_lists_many_forms_in_constant_queries(store_a, specialist, designee, django_assert_max_num_queries):
    client = client_for(specialist)
    make_form(store_a, created_by=specialist, assignee=designee)
    with django_assert_max_num_queries(14) as small:
        client.get("/complaints/")
    for i in range(8):
        make_form(store_a, created_by=specialist, assignee=designee, name=f"客户{i}", vehicle=None)
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert client.get("/complaints/").status_code == 200


def test_it_exports_the_filtered_list_scoped_and_audited(store_a, specialist, designee, other_form):
    make_form(store_a, created_by=specialist, assignee=designee, name="导出甲", severity="high")
    make_form(store_a, created_by=specialist, assignee=designee, name="导出乙")
    response = client_for(specialist).get("/complaints/export.xlsx?severity=high")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    flat = " ".join(str(c) for row in rows for c in row if c is not None)
    assert len(rows) == 2 and "导出甲" in flat and "导出乙" not in flat and CANARY not in flat
    event = AuditEvent.objects.get(action="export", object_type="complaints.feedback")
    assert event.actor == specialist and event.detail["rows"] == 1


# ---- recording -------------------------------------------------------------------------------------------------


def test_it_names_bad_fields_on_the_new_feedback_form_and_keeps_nothing(store_a, specialist, other_form):
    client = client_for(specialist)
    assert client.get("/complaints/new/").status_code == 200
    response = client.post(
        "/complaints/new/",
        {
            "customer_number": other_form.customer.number,  # another store's customer
            "kind": "complaint",
            "source": "walk_in",
            "severity": "normal",
            "category": "sales",
            "text": "",
        },
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert "customer_number" in form.errors
    assert CANARY not in response.content.decode()
    assert Feedback.objects.filter(store=store_a).count() == 0


def test_it_finds_customers_of_own_stores_for_the_form(store_a, specialist, other_form):
    f.CustomerFactory(store=store_a, name="孙找到")
    client = client_for(specialist)
    body = client.get("/complaints/new/customers/?q=孙找", HTTP_HX_REQUEST="true").content.decode()
    assert "孙找到" in body
    assert CANARY not in client.get(f"/complaints/new/customers/?q={CANARY[:6]}").content.decode()


def test_it_forbids_recording_without_the_permission(designee):
    assert client_for(designee).get("/complaints/new/").status_code == 403


# ---- detail ----------------------------------------------------------------------------------------------------


def test_it_shows_panels_by_stage_and_permission(store_a, specialist, manager, designee, users):
    new = make_form(store_a, created_by=specialist, status="new")
    routed = make_form(store_a, created_by=specialist, assignee=designee)
    handled = make_form(store_a, created_by=specialist, status="handled", actions_taken="换件", result="已修复")
    verified = make_form(store_a, created_by=specialist, status="verified")

    def panels(user, form):
        return client_for(user).get(f"/complaints/{form.pk}/").context["panels"]

    assert {k for k, v in panels(specialist, new).items() if v} == {"route"}
    assert {k for k, v in panels(manager, new).items() if v} == {"route", "close"}
    designee_panels = {k for k, v in panels(designee, routed).items() if v}
    assert {"pause", "handling", "attachment", "return", "report"} <= designee_panels
    assert "route" not in designee_panels and "take_over" not in designee_panels
    assert panels(users[Role.SUPERVISOR], routed)["take_over"]
    assert {k for k, v in panels(specialist, handled).items() if v} == {"verify"}
    assert {k for k, v in panels(manager, verified).items() if v} == {"archive"}
    assert not any(panels(designee, new).values())


def test_it_shows_the_handling_fields_once_with_draft_and_return(store_a, specialist, designee):
    routed = make_form(store_a, created_by=specialist, assignee=designee)
    body = client_for(designee).get(f"/complaints/{routed.pk}/").content.decode()
    assert body.count('name="actions_taken"') == 1 and body.count('name="result"') == 1
    assert 'id="do-return"' in body and f'formaction="/complaints/{routed.pk}/handling/"' in body


def test_it_shows_an_archived_form_read_only(store_a, specialist, manager):
    archived = make_form(store_a, created_by=specialist, status="archived")
    page = client_for(manager).get(f"/complaints/{archived.pk}/")
    html = page.content.decode()
    assert page.context["panels"] == {} and 'id="read-only"' in html and "action-panel" not in html
    assert client_for(manager).post(f"/complaints/{archived.pk}/close/", {"note": "x"}).status_code == 400
    assert Feedback.objects.get(pk=archived.pk).status == "archived"


def test_it_answers_404_for_another_stores_form_everywhere(specialist, manager, other_form):
    client = client_for(manager)
    pk = other_form.pk
    for url in (f"/complaints/{pk}/", f"/complaints/{pk}/pdf/"):
        assert client.get(url).status_code == 404
    for url in (f"/complaints/{pk}/route/", f"/complaints/{pk}/archive/", f"/complaints/{pk}/verify/"):
        assert client.post(url, {"note": "x", "satisfied": "yes"}).status_code == 404
    assert client.get(f"/complaints/settings/?store={other_form.store_id}").status_code == 404


def test_it_loads_the_form_in_constant_queries(store_a, specialist, designee, django_assert_max_num_queries):
    form = make_form(store_a, created_by=specialist, assignee=designee)
    client = client_for(designee)
    with django_assert_max_num_queries(25) as small:
        client.get(f"/complaints/{form.pk}/")
    for i in range(6):
        FeedbackEvent.objects.create(
            store=store_a, feedback=form, actor=[specialist, designee][i % 2], action="note", note=f"n{i}"
        )
        FeedbackAttachment.objects.create(
            store=store_a,
            feedback=form,
            file=f"complaints/x/{i}",
            name=f"f{i}.pdf",
            content_type="application/pdf",
            size=10,
            uploaded_by=[specialist, designee][i % 2],
        )
    with django_assert_max_num_queries(len(small.captured_queries)):
        html = client.get(f"/complaints/{form.pk}/").content.decode()
    assert "f5.pdf" in html and "n5" in html


# ---- inbox and board -------------------------------------------------------------------------------------------


def test_it_puts_overdue_forms_on_top_of_the_designees_inbox(store_a, specialist, designee, users, other_form):
    later = make_form(store_a, created_by=specialist, assignee=designee, name="后到期", deadline_in_h=72)
    overdue = make_form(store_a, created_by=specialist, assignee=designee, name="已超期", deadline_in_h=-3)
    soon = make_form(store_a, created_by=specialist, assignee=designee, name="快到期", deadline_in_h=3)
    make_form(store_a, created_by=specialist, assignee=users[Role.SUPERVISOR], name="别人的", kind="grievance")
    page = client_for(designee).get("/complaints/inbox/")
    assert [fb.pk for fb in page.context["page"]] == [overdue.pk, soon.pk, later.pk]
    html = page.content.decode()
    assert "别人的" not in html and CANARY not in html


def test_it_shows_escalated_forms_to_the_store_manager(store_a, specialist, designee, users):
    make_form(store_a, created_by=specialist, assignee=designee, name="一级", deadline_in_h=-30, escalation_level=1)
    make_form(store_a, created_by=specialist, assignee=designee, name="二级", deadline_in_h=-60, escalation_level=2)
    html = client_for(users[Role.STORE_MANAGER]).get("/complaints/inbox/").content.decode()
    assert "二级" in html and "一级" not in html  # default tiers: 1 supervisor, 2 store manager
    sup = client_for(users[Role.SUPERVISOR]).get("/complaints/inbox/").content.decode()
    assert "一级" in sup and "二级" in sup


def test_it_loads_the_inbox_in_constant_queries(store_a, specialist, designee, django_assert_max_num_queries):
    client = client_for(designee)
    make_form(store_a, created_by=specialist, assignee=designee)
    with django_assert_max_num_queries(14) as small:
        client.get("/complaints/inbox/")
    for i in range(8):
        make_form(store_a, created_by=specialist, assignee=designee, name=f"客户{i}", deadline_in_h=i * 10 - 30)
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert len(client.get("/complaints/inbox/").context["page"]) == 9


def test_it_counts_the_board_by_stage_and_filters_by_store(
    store_a, store_b, specialist, designee, django_assert_max_num_queries
):
    group_admin = f.UserFactory(username="ga")
    f.StaffFactory(user=group_admin, group=store_a.group, role=Role.GROUP_ADMIN, stores=[store_a])
    store_b.group = store_a.group
    store_b.save()
    make_form(store_a, created_by=specialist, status="new", name="待分派")
    make_form(store_a, created_by=specialist, assignee=designee, name="超期甲", deadline_in_h=-1)
    make_form(store_a, created_by=specialist, assignee=designee, name="快到乙", deadline_in_h=2)
    make_form(store_a, created_by=specialist, status="handled", name="待回访")
    make_form(store_a, created_by=specialist, status="archived", name="已归档")
    make_form(store_b, created_by=specialist, status="verified", name="B店待归档")
    client = client_for(group_admin)
    with django_assert_max_num_queries(20):
        page = client.get("/complaints/board/")
    board = page.context["board"]
    assert [s["count"] for s in board["stages"]] == [1, 2, 1, 1]
    assert (board["total"], board["overdue"], board["due_soon"]) == (5, 1, 1)
    assert "已归档" not in page.content.decode()
    partial = client.get(f"/complaints/board/?store={store_a.pk}", HTTP_HX_REQUEST="true")
    body = partial.content.decode()
    assert "<html" not in body and "B店待归档" not in body and "待分派" in body
    assert partial.context["board"]["total"] == 4


def test_it_keeps_the_board_to_the_users_stores(store_a, specialist, manager, other_form):
    make_form(store_a, created_by=specialist, status="new", name="本店")
    page = client_for(manager).get(f"/complaints/board/?store={other_form.store_id}")
    assert page.context["board"]["total"] == 1 and CANARY not in page.content.decode()


def test_it_forbids_the_board_to_designees(designee):
    assert client_for(designee).get("/complaints/board/").status_code == 403


# ---- actions through the pages (the workflow services) -----------------------------------------------------------

PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def routed_setup(store_a, manager, designee, mech, rules_a):
    from aftercare.complaints.services.configuration import department_designee_set

    department_designee_set(actor=manager, department=mech, user=designee)
    return f.CustomerFactory(store=store_a, name="周先生")


def _record(client, customer, mech, text="机油渗漏，修了两次还漏"):
    return client.post(
        "/complaints/new/",
        {
            "customer_number": customer.number,
            "kind": "complaint",
            "source": "inbound_call",
            "severity": "high",
            "category": "mechanical",
            "department": mech.pk,
            "text": text,
        },
    )


def test_it_walks_a_complaint_through_the_pages(store_a, specialist, manager, designee, mech, routed_setup):
    from aftercare.core.models import Notification

    cs, dept, mgr = client_for(specialist), client_for(designee), client_for(manager)
    response = _record(cs, routed_setup, mech)
    fb = Feedback.objects.get(customer=routed_setup)
    assert response.status_code == 302 and response["Location"] == f"/complaints/{fb.pk}/"
    assert (fb.status, fb.assignee, fb.department) == ("routed", designee, mech) and fb.deadline_at
    assert Notification.objects.filter(recipient=designee).exists()
    assert fb.pk in [x.pk for x in dept.get("/complaints/inbox/").context["page"]]

    # the department: draft, document, pause/resume, return
    draft = {"actions_taken": "更换油封", "root_cause": "", "result": ""}
    assert dept.post(f"/complaints/{fb.pk}/handling/", draft).status_code == 302
    upload = SimpleUploadedFile("检测报告.pdf", PDF_BYTES, content_type="application/pdf")
    assert dept.post(f"/complaints/{fb.pk}/attachment/", {"file": upload}).status_code == 302
    attachment = FeedbackAttachment.objects.get(feedback=fb)
    download = cs.get(f"/complaints/attachments/{attachment.pk}/")
    assert download.status_code == 200 and download["X-Content-Type-Options"] == "nosniff"
    assert "attachment" in download["Content-Disposition"] and b"".join(download.streaming_content) == PDF_BYTES
    assert dept.post(f"/complaints/{fb.pk}/pause/", {"reason": "waiting_parts", "note": "等油封"}).status_code == 302
    assert Feedback.objects.get(pk=fb.pk).paused_at is not None
    assert "clock paused" in dept.get(f"/complaints/{fb.pk}/").content.decode()
    assert dept.post(f"/complaints/{fb.pk}/resume/", {"note": ""}).status_code == 302
    missing = dept.post(f"/complaints/{fb.pk}/return/", {"actions_taken": "", "root_cause": "", "result": ""})
    assert missing.status_code == 400 and missing.context["forms"]["return"].errors
    done = {"actions_taken": "更换油封", "root_cause": "油封老化", "result": "已不漏油"}
    assert dept.post(f"/complaints/{fb.pk}/return/", done).status_code == 302
    fb.refresh_from_db()
    assert fb.status == "handled" and fb.verification_task_id

    # CS: not satisfied on the form → back to the department, reopened
    assert cs.post(f"/complaints/{fb.pk}/verify/", {"satisfied": "no", "notes": "还在漏"}).status_code == 302
    fb.refresh_from_db()
    assert (fb.status, fb.reopen_count) == ("routed", 1)
    assert dept.post(f"/complaints/{fb.pk}/return/", done).status_code == 302
    fb.refresh_from_db()

    # the verification call screen shows the complaint and answers satisfied
    call = cs.get(f"/followups/tasks/{fb.verification_task_id}/")
    html = call.content.decode()
    assert call.status_code == 200 and "机油渗漏" in html and "已不漏油" in html and 'id="verify-satisfied"' in html
    answer = cs.post(
        f"/complaints/{fb.pk}/verify/", {"satisfied": "yes", "notes": "满意", "from_call": "1", "next": "/followups/"}
    )
    assert answer.status_code == 302 and answer["Location"] == "/followups/"
    fb.refresh_from_db()
    assert fb.status == "verified"

    # the CS manager archives; the form is read-only and prints
    assert mgr.post(f"/complaints/{fb.pk}/archive/", {"note": ""}).status_code == 302
    page = mgr.get(f"/complaints/{fb.pk}/")
    assert page.context["read_only"] and "action-panel" not in page.content.decode()
    pdf = mgr.get(f"/complaints/{fb.pk}/pdf/")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert "inline" in pdf["Content-Disposition"]
    actions = list(FeedbackEvent.objects.filter(feedback=fb).values_list("action", flat=True))
    assert {"created", "routed", "paused", "resumed", "returned", "reopened", "verified", "archived"} <= set(actions)


def test_it_shows_service_errors_next_to_the_field(store_a, specialist, manager, designee, mech, routed_setup):
    dept = client_for(designee)
    _record(client_for(specialist), routed_setup, mech)
    fb = Feedback.objects.get(customer=routed_setup)
    bad = SimpleUploadedFile("run.exe", b"MZ\x90\x00binary", content_type="application/octet-stream")
    response = dept.post(f"/complaints/{fb.pk}/attachment/", {"file": bad})
    assert response.status_code == 400 and response.context["forms"]["attachment"].errors["file"]
    assert 'class="invalid-feedback d-block"' in response.content.decode()
    assert not FeedbackAttachment.objects.exists()
    report = dept.post(f"/complaints/{fb.pk}/report/", {"note": ""})
    assert report.status_code == 400 and report.context["forms"]["report"].errors["note"]


def test_it_routes_a_new_form_and_names_a_missing_designee(store_a, specialist, designee, mech, rules_a):
    body = f.DepartmentFactory(store=store_a, kind=DepartmentKind.SERVICE_BODY, name="钣金车间")
    fb = make_form(store_a, created_by=specialist, status="new", department=body)
    cs = client_for(specialist)
    response = cs.post(f"/complaints/{fb.pk}/route/", {"department": body.pk, "assignee": "", "note": ""})
    assert response.status_code == 400 and "assignee" in response.context["forms"]["route"].errors
    ok = cs.post(f"/complaints/{fb.pk}/route/", {"department": mech.pk, "assignee": designee.pk, "note": "转机修"})
    assert ok.status_code == 302 and "Form sent to the department." in messages_of(ok)
    fb.refresh_from_db()
    assert (fb.status, fb.department, fb.assignee) == ("routed", mech, designee)


def test_it_lets_a_supervisor_take_over(store_a, specialist, designee, users, rules_a):
    supervisor = users[Role.SUPERVISOR]
    fb = make_form(store_a, created_by=specialist, assignee=designee)
    assert client_for(supervisor).post(f"/complaints/{fb.pk}/take_over/", {"note": ""}).status_code == 302
    fb.refresh_from_db()
    assert fb.assignee == supervisor


def test_it_closes_a_new_form_with_a_note(store_a, specialist, manager):
    fb = make_form(store_a, created_by=specialist, status="new", kind="suggestion")
    client = client_for(manager)
    assert client.post(f"/complaints/{fb.pk}/close/", {"note": ""}).status_code == 400
    assert client.post(f"/complaints/{fb.pk}/close/", {"note": "已转达"}).status_code == 302
    assert Feedback.objects.get(pk=fb.pk).status == "closed"


def test_it_rejects_unknown_actions(store_a, specialist):
    fb = make_form(store_a, created_by=specialist, status="new")
    assert client_for(specialist).post(f"/complaints/{fb.pk}/explode/").status_code == 404


def test_it_hides_another_stores_document(store_b, manager):
    other_user = f.UserFactory(username="b2")
    form = make_form(store_b, created_by=other_user, name=CANARY)
    a = FeedbackAttachment.objects.create(
        store=store_b,
        feedback=form,
        file="complaints/x/1",
        name="x.pdf",
        content_type="application/pdf",
        size=1,
        uploaded_by=other_user,
    )
    assert client_for(manager).get(f"/complaints/attachments/{a.pk}/").status_code == 404


# ---- settings --------------------------------------------------------------------------------------------------


def test_it_saves_the_store_settings_section_by_section(store_a, manager, designee, mech):
    client = client_for(manager)
    page = client.get("/complaints/settings/")
    assert page.status_code == 200 and page.context["store"] == store_a
    ok = client.post(
        "/complaints/settings/", {"section": "designees", "store": store_a.pk, f"d-dept_{mech.pk}": designee.pk}
    )
    assert ok.status_code == 302
    from aftercare.complaints.models import DeadlinePolicy, DepartmentDesignee, EscalationTier

    assert DepartmentDesignee.objects.get(department=mech).user == designee
    grid = {"section": "deadlines", "store": store_a.pk, "t-days_complaint_critical": "1"}
    assert client.post("/complaints/settings/", grid).status_code == 302
    assert DeadlinePolicy.objects.get(store=store_a, kind="complaint", severity="critical").working_days == 1
    bad = client.post("/complaints/settings/", grid | {"t-days_complaint_high": "99"})
    assert bad.status_code == 400 and "days_complaint_high" in bad.context["forms"]["deadlines"].errors
    tiers = {
        "section": "tiers",
        "store": store_a.pk,
        "e-role_1": "supervisor",
        "e-days_1": "0",
        "e-role_3": "store_manager",
        "e-days_3": "2",
    }
    assert client.post("/complaints/settings/", tiers).status_code == 302
    assert list(EscalationTier.objects.filter(store=store_a).values_list("level", "role", "working_days_after")) == [
        (1, "supervisor", 0),
        (2, "store_manager", 2),
    ]
    general = {
        "section": "general",
        "store": store_a.pk,
        "g-warn_hours": "8",
        "g-reopen_escalation_count": "3",
        "g-repeat_repair_window_days": "45",
    }
    assert client.post("/complaints/settings/", general).status_code == 302
    from aftercare.complaints.models import ComplaintSettings

    assert ComplaintSettings.objects.get(store=store_a).warn_hours == 8


def test_it_refuses_a_designee_without_the_handle_permission(store_a, manager, specialist, mech):
    client = client_for(manager)
    response = client.post(
        "/complaints/settings/", {"section": "designees", "store": store_a.pk, f"d-dept_{mech.pk}": specialist.pk}
    )
    assert response.status_code == 400 and response.context["forms"]["designees"].errors


def test_it_forbids_the_settings_without_the_permission(specialist):
    assert client_for(specialist).get("/complaints/settings/").status_code == 403
