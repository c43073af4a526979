"""The complaint form's life: routing, handling, return, verification call, reopen, archive — and who may act."""

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404

from aftercare.complaints.models import Feedback, FeedbackEvent
from aftercare.complaints.services import attachments, configuration, pdf, workflow
from aftercare.core.models import AuditEvent, Notification
from aftercare.followups.models import CallLog, FollowupTask
from aftercare.followups.selectors import followup_queue
from aftercare.followups.services.attempts import followup_attempt_record
from aftercare.followups.services.claiming import followup_task_claim
from aftercare.followups.services.generation import followup_tasks_for_repair_order
from aftercare.followups.services.scoring import answer_sheet_submit
from aftercare.org.choices import DepartmentKind, Role
from aftercare.testing import factories as f

from .wf import complaint, department_with_designee, setup_store, sh, staff_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def mech(store_a, users):
    return setup_store(store_a, users)


@pytest.fixture
def designee(users):
    return users[Role.DEPARTMENT_DESIGNEE]


def at(*args):
    return time_machine.travel(sh(*args), tick=False)


def actions(fb) -> list[str]:
    return list(FeedbackEvent.objects.filter(feedback=fb).values_list("action", flat=True))


def test_it_runs_the_whole_life_of_a_complaint(
    store_a, users, specialist, manager, designee, mech, django_capture_on_commit_callbacks
):
    supervisor = users[Role.SUPERVISOR]
    mail.outbox.clear()
    with at(2026, 3, 2, 10, 0), django_capture_on_commit_callbacks(execute=True):  # Monday
        fb = complaint(specialist, store_a)
    # routed at once to the department's designee, who gets an in-app notification and an e-mail
    assert (fb.status, fb.department, fb.assignee, fb.deadline_at) == ("routed", mech, designee, sh(2026, 3, 6))
    assert Notification.objects.get(recipient=designee).email_status == "sent"
    assert [m.to for m in mail.outbox] == [[designee.email]] and f"#{fb.pk}" in mail.outbox[0].subject
    assert "发动机异响" in mail.outbox[0].body

    with at(2026, 3, 4, 15, 0):
        workflow.feedback_handling_save(actor=designee, feedback=fb, actions_taken="检查")
        fb = workflow.feedback_return(
            actor=designee, feedback=fb, actions_taken="更换正时皮带", root_cause="皮带老化", result="异响消除"
        )
    assert (fb.status, fb.returned_by, fb.returned_by_role, fb.returned_in_time) == (
        "handled",
        designee,
        "department_designee",
        True,
    )
    task = fb.verification_task
    returned = FeedbackEvent.objects.get(feedback=fb, action="returned")
    assert (task.kind, task.subject_type, task.subject_id, task.status) == (
        "complaint_verification",
        "feedback_return",
        returned.pk,
        "open",
    )
    assert (task.customer_id, task.rule.code, task.due_at) == (fb.customer_id, "VERIFY", sh(2026, 3, 6))  # Thu 5
    with at(2026, 3, 4, 16, 0):
        assert task in followup_queue(user=specialist)  # the CS queue
    assert Notification.objects.filter(recipient=specialist).count() == 1  # the creator is told
    # ... with the verification call's own last day, as the call screen and the queue show it ("by the end of")
    told = Notification.objects.get(recipient=specialist)
    assert "2026-03-05" in told.body and "2026-03-06" not in told.body

    with at(2026, 3, 5, 10, 0):
        fb = workflow.feedback_verify(actor=specialist, feedback=fb, satisfied=False, notes="还是响", duration_s=95)
    assert (fb.status, fb.reopen_count, fb.escalation_level, fb.deadline_at) == ("routed", 1, 0, sh(2026, 3, 11))
    task.refresh_from_db()
    assert (task.status, task.completed_by) == ("completed", specialist)
    call = CallLog.objects.get(task=task)
    assert (call.outcome, call.handler, call.duration_s, call.notes) == ("completed", specialist, 95, "还是响")

    with at(2026, 3, 6, 10, 0):
        fb = workflow.feedback_return(
            actor=designee, feedback=fb, actions_taken="再次检修", root_cause="", result="已处理"
        )
    second_task = fb.verification_task
    assert second_task.pk != task.pk
    with at(2026, 3, 6, 14, 0):
        fb = workflow.feedback_verify(actor=specialist, feedback=fb, satisfied=False, notes="仍不满意")
    # the second reopen (store setting: 2) escalates at once to tier 1
    assert (fb.reopen_count, fb.escalation_level, fb.deadline_at) == (2, 1, sh(2026, 3, 12))
    assert fb.next_escalation_at == sh(2026, 3, 13)  # tier 2: one working day after the new due date
    escalated = FeedbackEvent.objects.get(feedback=fb, action="escalated")
    assert (escalated.detail["reason"], escalated.detail["recipients"]) == ("reopened", [supervisor.pk])
    assert Notification.objects.filter(recipient=supervisor).count() == 1

    with at(2026, 3, 9, 10, 0):
        fb = workflow.feedback_return(
            actor=designee, feedback=fb, actions_taken="更换总成", root_cause="总成缺陷", result="好了"
        )
    with at(2026, 3, 9, 15, 0):
        fb = workflow.feedback_verify(actor=specialist, feedback=fb, satisfied=True, notes="满意")
        fb = workflow.feedback_archive(actor=manager, feedback=fb)
    assert (fb.status, fb.verification_result, fb.verified_by, fb.archived_by) == (
        "archived",
        "satisfied",
        specialist,
        manager,
    )
    assert (fb.first_returned_at, fb.first_returned_in_time, fb.returned_at) == (
        sh(2026, 3, 4, 15),
        True,
        sh(2026, 3, 9, 10),
    )
    assert actions(fb) == [
        "created",
        "routed",
        "note",
        "returned",
        "verification_task",
        "reopened",
        "returned",
        "verification_task",
        "reopened",
        "escalated",
        "returned",
        "verification_task",
        "verified",
        "archived",
    ]
    audited = AuditEvent.objects.filter(object_type="complaints.feedback", object_id=str(fb.pk))
    assert {a.detail.get("event") for a in audited} >= {"routed", "returned", "reopened", "verified", "archived"}
    assert FollowupTask.objects.filter(kind="complaint_verification", status="completed").count() == 3

    # archived: read-only for everybody
    history = actions(fb)
    writes = [
        lambda: workflow.feedback_route(actor=manager, feedback=fb),
        lambda: workflow.feedback_take_over(actor=supervisor, feedback=fb),
        lambda: workflow.feedback_report_to_supervisor(actor=designee, feedback=fb, note="x"),
        lambda: workflow.feedback_handling_save(actor=supervisor, feedback=fb, result="改"),
        lambda: attachments.feedback_attachment_add(
            actor=manager, feedback=fb, upload=SimpleUploadedFile("a.txt", b"hello", "text/plain")
        ),
        lambda: workflow.feedback_pause(actor=manager, feedback=fb, reason="waiting_parts"),
        lambda: workflow.feedback_resume(actor=manager, feedback=fb),
        lambda: workflow.feedback_return(actor=supervisor, feedback=fb, actions_taken="x", root_cause="x", result="x"),
        lambda: workflow.feedback_verify(actor=specialist, feedback=fb, satisfied=True),
        lambda: workflow.feedback_archive(actor=manager, feedback=fb),
        lambda: workflow.feedback_close(actor=manager, feedback=fb, note="x"),
    ]
    for write in writes:
        with pytest.raises(ValidationError) as exc:
            write()
        assert "status" in exc.value.message_dict
    assert actions(fb) == history
    assert Feedback.objects.get(pk=fb.pk).result == "好了"


def test_it_leaves_a_form_new_without_a_designee_until_cs_routes_it(store_a, users, specialist, manager):
    body = f.DepartmentFactory(store=store_a, kind=DepartmentKind.SERVICE_BODY, name="钣金")
    fb = complaint(specialist, store_a, category="body")
    assert (fb.status, fb.department, fb.deadline_at, fb.assignee) == ("new", body, None, None)
    with pytest.raises(ValidationError) as exc:
        workflow.feedback_route(actor=specialist, feedback=fb)
    assert "assignee" in exc.value.message_dict
    fb = workflow.feedback_route(actor=specialist, feedback=fb, assignee=users[Role.DEPARTMENT_DESIGNEE], note="请处理")
    assert (fb.status, fb.assignee) == ("routed", users[Role.DEPARTMENT_DESIGNEE])
    assert fb.deadline_at is not None
    with pytest.raises(ValidationError) as exc:
        workflow.feedback_route(actor=specialist, feedback=fb, assignee=users[Role.DEPARTMENT_DESIGNEE])
    assert "assignee" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:  # a CS specialist cannot handle complaint forms
        workflow.feedback_route(actor=manager, feedback=fb, assignee=specialist)
    assert "assignee" in exc.value.message_dict
    deadline = fb.deadline_at
    fb = workflow.feedback_route(actor=manager, feedback=fb, assignee=users[Role.SUPERVISOR])
    assert (fb.assignee, fb.deadline_at) == (users[Role.SUPERVISOR], deadline)  # reassigning keeps the clock
    assert actions(fb) == ["created", "routed", "reassigned"]


def test_it_keeps_designees_to_their_store_and_their_forms(store_a, store_b, users, specialist, designee, mech):
    supervisor = users[Role.SUPERVISOR]
    specialist_b = staff_user(Role.CS_SPECIALIST, store_b, "cs_b")
    designee_b = staff_user(Role.DEPARTMENT_DESIGNEE, store_b, "mech_b")
    manager_b = staff_user(Role.CS_MANAGER, store_b, "csm_b")
    department_with_designee(store_b, DepartmentKind.SERVICE_MECHANICAL, designee_b, manager=manager_b)
    theirs = complaint(specialist_b, store_b)
    assert theirs.assignee == designee_b
    for write in [
        lambda: workflow.feedback_return(actor=designee, feedback=theirs, actions_taken="x", root_cause="", result="x"),
        lambda: workflow.feedback_handling_save(actor=designee, feedback=theirs, result="x"),
        lambda: workflow.feedback_pause(actor=designee, feedback=theirs, reason="waiting_parts"),
        lambda: workflow.feedback_take_over(actor=supervisor, feedback=theirs),
        lambda: workflow.feedback_route(actor=specialist, feedback=theirs, assignee=designee),
        lambda: pdf.feedback_pdf(actor=designee, feedback=theirs),
    ]:
        with pytest.raises(Http404):
            write()

    mine = complaint(specialist, store_a)
    body_designee = staff_user(Role.DEPARTMENT_DESIGNEE, store_a, "body_a")
    for write in [
        lambda: workflow.feedback_return(
            actor=body_designee, feedback=mine, actions_taken="x", root_cause="", result="x"
        ),
        lambda: workflow.feedback_handling_save(actor=body_designee, feedback=mine, result="x"),
        lambda: workflow.feedback_report_to_supervisor(actor=body_designee, feedback=mine, note="x"),
        lambda: workflow.feedback_take_over(actor=designee, feedback=mine),  # not supervisor level
        lambda: workflow.feedback_return(actor=specialist, feedback=mine, actions_taken="x", root_cause="", result="x"),
        lambda: workflow.feedback_verify(actor=designee, feedback=mine, satisfied=True),
        lambda: workflow.feedback_archive(actor=designee, feedback=mine),
    ]:
        with pytest.raises(PermissionDenied):
            write()
    assert actions(mine) == ["created", "routed"]

    mine = workflow.feedback_take_over(actor=supervisor, feedback=mine)
    assert mine.assignee == supervisor and actions(mine)[-1] == "taken_over"
    mine = workflow.feedback_return(
        actor=supervisor, feedback=mine, actions_taken="亲自处理", root_cause="", result="解决"
    )
    assert (mine.status, mine.returned_by_role) == ("handled", "supervisor")


def test_it_reports_a_form_the_handler_cannot_solve_to_the_supervisors(store_a, users, specialist, designee, mech):
    fb = complaint(specialist, store_a)
    with pytest.raises(ValidationError) as exc:
        workflow.feedback_report_to_supervisor(actor=designee, feedback=fb, note="  ")
    assert "note" in exc.value.message_dict
    workflow.feedback_report_to_supervisor(actor=designee, feedback=fb, note="需要厂家技术支持")
    event = FeedbackEvent.objects.get(feedback=fb, action="reported")
    assert (event.actor, event.note, event.detail["recipients"]) == (
        designee,
        "需要厂家技术支持",
        [users[Role.SUPERVISOR].pk],
    )
    assert Notification.objects.filter(recipient=users[Role.SUPERVISOR]).count() == 1


def test_it_archives_a_form_whose_verification_call_could_not_reach_the_customer(
    store_a, specialist, manager, designee, mech
):
    fb = complaint(specialist, store_a)
    fb = workflow.feedback_return(actor=designee, feedback=fb, actions_taken="处理", root_cause="", result="完成")
    with pytest.raises(ValidationError) as exc:
        workflow.feedback_archive(actor=manager, feedback=fb, note="打不通")
    assert "status" in exc.value.message_dict  # the call is still to be made
    task = followup_task_claim(actor=specialist, task_id=fb.verification_task_id)
    followup_attempt_record(actor=specialist, task=task, outcome="wrong_number")
    with pytest.raises(ValidationError) as exc:
        workflow.feedback_archive(actor=manager, feedback=fb)
    assert "note" in exc.value.message_dict
    fb = workflow.feedback_archive(actor=manager, feedback=fb, note="号码错误，无法回访")
    assert (fb.status, fb.verification_result) == ("archived", "")


def test_it_closes_a_form_without_action_with_a_reason(store_a, specialist, manager):
    fb = complaint(specialist, store_a, kind="suggestion")
    with pytest.raises(ValidationError) as exc:
        workflow.feedback_close(actor=manager, feedback=fb, note="")
    assert "note" in exc.value.message_dict
    with pytest.raises(PermissionDenied):
        workflow.feedback_close(actor=specialist, feedback=fb, note="重复")
    fb = workflow.feedback_close(actor=manager, feedback=fb, note="重复记录")
    assert fb.status == "closed" and actions(fb) == ["created", "closed"]


def test_it_checks_who_can_be_a_designee(store_a, store_b, users, manager):
    department = f.DepartmentFactory(store=store_a, kind=DepartmentKind.PARTS, name="配件")
    for user in (users[Role.CS_SPECIALIST], staff_user(Role.DEPARTMENT_DESIGNEE, store_b, "parts_b")):
        with pytest.raises(ValidationError) as exc:
            configuration.department_designee_set(actor=manager, department=department, user=user)
        assert "user" in exc.value.message_dict
    with pytest.raises(PermissionDenied):
        configuration.department_designee_set(actor=users[Role.CS_SPECIALIST], department=department, user=None)
    other = f.DepartmentFactory(store=store_b, kind=DepartmentKind.PARTS, name="配件B")
    with pytest.raises(Http404):
        configuration.department_designee_set(actor=manager, department=other, user=None)
    designee = users[Role.DEPARTMENT_DESIGNEE]
    row = configuration.department_designee_set(actor=manager, department=department, user=designee)
    assert row.user == users[Role.DEPARTMENT_DESIGNEE]
    assert configuration.department_designee_set(actor=manager, department=department, user=None) is None


def test_it_routes_what_a_follow_up_call_hears_to_the_designee(store_a, rules_a, specialist, designee, mech):
    ro = f.RepairOrderFactory(customer=f.CustomerFactory(store=store_a))
    followup_tasks_for_repair_order(repair_order=ro)
    task = followup_task_claim(actor=specialist, task_id=FollowupTask.objects.get(subject_id=ro.pk).pk)
    followup_attempt_record(
        actor=specialist,
        task=task,
        outcome="completed",
        feedback={"kind": "complaint", "text": "保养后漏油", "severity": "high"},
    )
    fb = Feedback.objects.get()
    assert (fb.source, fb.severity, fb.category, fb.status, fb.assignee) == (
        "followup_call",
        "high",
        "mechanical",
        "routed",
        designee,
    )
    assert fb.followup_task_id == task.pk and fb.call_log is not None


def test_it_routes_a_dissatisfied_answer_sheet_as_a_grievance(store_a, rules_a, specialist, designee, mech):
    from aftercare.followups.models import Question

    ro = f.RepairOrderFactory(customer=f.CustomerFactory(store=store_a))
    followup_tasks_for_repair_order(repair_order=ro)
    task = followup_task_claim(actor=specialist, task_id=FollowupTask.objects.get(subject_id=ro.pk).pk)
    required = Question.objects.filter(factor__template=task.template, required=True)
    answers = {}
    for q in required:
        answers[q.pk] = {"scale_5": 5, "scale_10": 10, "yes_no": "yes", "free_text": "好"}.get(
            q.type, (q.choices or [{}])[0].get("value")
        )
    answer_sheet_submit(actor=specialist, task=task, answers=answers, dissatisfied=True)
    fb = Feedback.objects.get()
    assert (fb.kind, fb.status, fb.assignee, fb.answer_sheet.task_id) == ("grievance", "routed", designee, task.pk)
