"""`seed_demo` builds a follow-up history: rules, tasks, calls, answer sheets, letters, feedback, today's queue."""

import datetime as dt
from collections import defaultdict

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.db.models import Avg, Count, F, Q

from aftercare.complaints.choices import FeedbackSource
from aftercare.complaints.models import DepartmentDesignee, EscalationTier, Feedback, FeedbackEvent
from aftercare.complaints.selectors import feedback_board, feedback_inbox
from aftercare.core.models import Notification
from aftercare.customers.models import Customer
from aftercare.followups.choices import CallOutcome, FollowupKind, TaskStatus
from aftercare.followups.models import (
    AnswerSheet,
    CallLog,
    FollowupRule,
    FollowupTask,
    LetterLog,
    StoreFollowupSettings,
)
from aftercare.followups.selectors import followup_queue, return_visit_rate
from aftercare.followups.services.scoring import questionnaire_score
from aftercare.org.models import Store

from .conftest import NOW, SHANGHAI


def _user(name):
    return get_user_model().objects.get(username=name)


@pytest.fixture
def demo(seeded_demo, db):
    return seeded_demo["output"]


def test_it_gives_every_store_rules_settings_and_a_queue_for_today(demo):
    for store in Store.objects.all():
        assert set(FollowupRule.objects.filter(store=store).values_list("code", flat=True)) == {
            "SSI", "CSI", "TRACK1", "TRACK2", "VERIFY", "FTF", "RENEWAL", "CARE", "CAMPAIGN", "RECALL"
        }
        assert StoreFollowupSettings.objects.filter(store=store).exists()
    with time_machine.travel(NOW, tick=False):
        for name in ("gz_cs", "fs_cs", "hz_cs"):
            queue = list(followup_queue(user=_user(name)))
            overdue = [t for t in queue if t.due_at < NOW]
            assert 8 <= len(queue) <= 35, (name, len(queue))
            assert 1 <= len(overdue) <= 5, (name, len(overdue))
            assert all(t.status == TaskStatus.OPEN and t.claimed_by_id is None and t.attempts == 0 for t in queue)
        assert 10 <= followup_queue(user=_user("gz_cs")).count() <= 35  # 33 since the hidden churn process (issue 18)
    _assert_complaints_today()


def _assert_complaints_today():
    """Complaint handling: designees and tiers configured; GZ01 has an open form at every stage today."""
    gz = Store.objects.get(code="GZ01")
    designees = dict(DepartmentDesignee.objects.filter(store=gz).values_list("department__kind", "user__username"))
    assert designees["mechanical"] == "gz_mech" and designees["sales"] == "gz_sales"
    assert {"gz_body", "gz_paint", "gz_wash", "gz_parts", "gz_ins"} <= set(designees.values())
    for store in Store.objects.all():
        assert list(EscalationTier.objects.filter(store=store).values_list("level", "role")) == [
            (1, "supervisor"), (2, "store_manager")
        ]
    with time_machine.travel(NOW, tick=False):
        inbox = list(feedback_inbox(user=_user("gz_mech")))
        assert inbox and all(fb.assignee.username == "gz_mech" for fb in inbox)
        assert inbox[0].deadline_at <= NOW  # overdue first
        assert any(fb.warn_at <= NOW < fb.deadline_at and fb.paused_at is None for fb in inbox)  # due soon
        assert any(fb.pause_reason == "waiting_parts" and fb.paused_at for fb in inbox)
        escalated = [fb for fb in feedback_inbox(user=_user("gz_supervisor")) if fb.escalation_level >= 1]
        assert escalated and all(fb.deadline_at <= NOW for fb in escalated)
        board = feedback_board(user=_user("gz_csm"))
        counts = {s["key"]: s["count"] for s in board["stages"]}
        assert all(counts[key] >= 1 for key in ("to_route", "with_department", "awaiting_verification",
                                                 "awaiting_archive")), counts
        assert board["overdue"] >= 1 and board["due_soon"] >= 1
        handled = list(Feedback.objects.filter(store=gz, status="handled"))  # today's, and any whose call is later
        queue = set(followup_queue(user=_user("gz_cs")))
        assert handled and all(form.verification_task in queue for form in handled)
        assert Feedback.objects.filter(store=gz, status="routed", reopen_count=1).exists()
        assert Notification.objects.filter(recipient__username="gz_mech", read_at__isnull=True).exists()
    # the history: mostly archived in time, a few late, some reopened; consistent with the services' rules
    forms = Feedback.objects.filter(store=gz)
    archived = forms.filter(status="archived")
    assert archived.count() >= 0.8 * forms.count()
    late = archived.filter(returned_in_time=False)
    assert 0 < late.count() < 0.2 * archived.count()
    assert all(fb.escalation_level >= 1 for fb in late)
    assert archived.filter(reopen_count=1, first_returned_at__lt=F("returned_at")).exists()
    assert forms.filter(kind="complaint", returned_by_role="supervisor").exists()
    for fb in archived.select_related("verification_task"):
        assert fb.created_at <= fb.routed_at < fb.returned_at < fb.verified_at < fb.archived_at < NOW
        assert fb.returned_in_time == (fb.returned_at < fb.deadline_at)
        task = fb.verification_task
        assert task.status == "completed" and task.event_at == fb.returned_at
        returned = FeedbackEvent.objects.get(pk=task.subject_id)
        assert (returned.feedback_id, returned.action, returned.created_at) == (fb.pk, "returned", fb.returned_at)
    for fb in forms.prefetch_related("events")[:60]:
        times = [e.created_at for e in fb.events.all()]
        assert times == sorted(times) and times[0] == fb.created_at


def test_it_runs_about_97_percent_of_calls_in_time(demo):
    admin = _user("admin")
    last_month = NOW.date().replace(day=1) - dt.timedelta(days=1)
    with time_machine.travel(NOW, tick=False):
        rows = return_visit_rate(user=admin, month=last_month)
        older = return_visit_rate(user=admin, month=dt.date(2025, 10, 1))
    assert {r["store"] for r in rows} == set(Store.objects.values_list("pk", flat=True))
    for r in rows + older:
        assert 95 <= r["rate"] <= 99, r
        assert r["due"] > 50
    assert sum(r["unreachable"] for r in rows) > 0
    assert sum(r["refused"] for r in rows) > 0


CARE_KINDS = (FollowupKind.CARE, FollowupKind.CAMPAIGN, FollowupKind.RECALL)


def test_it_keeps_the_history_consistent_with_the_services(demo):
    # the follow-up demo's own calls (the care demo's campaign tasks are closed from their targets' outcomes)
    closed = FollowupTask.objects.exclude(kind__in=CARE_KINDS).filter(
        status__in=[TaskStatus.COMPLETED, TaskStatus.REFUSED, TaskStatus.UNREACHABLE])
    calls = dict(CallLog.objects.values_list("task_id").annotate(n=Count("id")))
    for task in closed:
        assert task.attempts == calls[task.pk]
        assert task.event_at < task.claimed_at < task.completed_at < NOW
        assert task.claimed_by_id == task.completed_by_id is not None
    # the customers who refused service calls: no_consent tasks nobody calls
    refusing = Customer.objects.filter(consent_service_calls=False)
    skipped = FollowupTask.objects.filter(customer__in=refusing)
    assert skipped.exists()
    assert set(skipped.values_list("status", flat=True)) == {TaskStatus.NO_CONSENT}
    assert not CallLog.objects.filter(task_id__in=list(skipped.values_list("id", flat=True))).exists()
    # every unreachable task has its notice, every completed task with a questionnaire its sheet
    unreachable = FollowupTask.objects.exclude(kind__in=CARE_KINDS).filter(status=TaskStatus.UNREACHABLE)
    assert unreachable.exists()
    assert LetterLog.objects.filter(task__in=unreachable).count() == unreachable.count()
    assert not FollowupTask.objects.filter(status=TaskStatus.COMPLETED, template__isnull=False, sheet__isnull=True)
    assert CallLog.objects.filter(outcome=CallOutcome.COMPLETED).exclude(task__kind__in=CARE_KINDS).count() == (
        FollowupTask.objects.exclude(kind__in=CARE_KINDS).filter(status=TaskStatus.COMPLETED).count())
    # the care demo's reminder calls of the history: each completed task has its one call
    care_done = FollowupTask.objects.filter(kind=FollowupKind.CARE, status=TaskStatus.COMPLETED)
    assert care_done.exists() and CallLog.objects.filter(task__in=care_done).count() == care_done.count()
    # scores are the services' own: recompute a sample of sheets
    sheets = AnswerSheet.objects.select_related("template").prefetch_related("answers").order_by("id")
    for sheet in list(sheets.filter(dissatisfied=True)[:20]) + list(sheets[:40]):
        result = questionnaire_score(sheet.template, {a.question_id: a.value for a in sheet.answers.all()})
        assert result["total"] == sheet.score_total
        assert bool(sheet.dissatisfied_reasons) == sheet.dissatisfied
        assert any(q[1] for q in result["questions"].values()) == sheet.dissatisfied


def test_it_scores_like_the_seed_and_turns_dissatisfied_sheets_into_feedback(demo):
    by_kind = {r["template__kind"]: r for r in AnswerSheet.objects.values("template__kind").annotate(
        avg=Avg("score_total"), n=Count("id"), bad=Count("id", filter=Q(dissatisfied=True))
    )}
    assert 969 <= by_kind["ssi"]["avg"] <= 983
    assert 955 <= by_kind["csi"]["avg"] <= 980
    sheets = by_kind["ssi"]["n"] + by_kind["csi"]["n"]
    assert 0.01 <= (by_kind["ssi"]["bad"] + by_kind["csi"]["bad"]) / sheets <= 0.03
    monthly = defaultdict(list)
    for sheet in AnswerSheet.objects.filter(template__kind="ssi").values("store_id", "answered_at", "score_total"):
        local = sheet["answered_at"].astimezone(SHANGHAI)
        monthly[(sheet["store_id"], local.year, local.month)].append(sheet["score_total"])
    for key, scores in monthly.items():
        if len(scores) >= 10:
            assert 955 <= sum(scores) / len(scores) <= 995, key
    for store in Store.objects.all():
        assert Feedback.objects.filter(store=store).exists()
    dissatisfied = AnswerSheet.objects.filter(dissatisfied=True)
    assert Feedback.objects.filter(answer_sheet__in=dissatisfied).count() == dissatisfied.count()
    for fb in Feedback.objects.filter(followup_task__isnull=False).select_related("call_log", "followup_task"):
        assert fb.source == FeedbackSource.FOLLOWUP_CALL
        assert fb.call_log.task_id == fb.followup_task_id
        assert fb.customer_id == fb.followup_task.customer_id and fb.department_id and fb.text
        assert fb.created_at == fb.call_log.called_at


def test_it_has_a_few_repeat_repairs_each_with_its_call(demo):
    from aftercare.complaints.models import RepeatRepair
    from aftercare.complaints.selectors import complaint_measures_range

    admin = _user("admin")
    repeats = RepeatRepair.objects.select_related("followup_task")
    assert repeats.count() >= 5
    assert all(r.followup_task is not None and r.followup_task.kind == "repeat_repair" for r in repeats)
    with time_machine.travel(NOW, tick=False):
        rows = [
            r["first_time_fix"]
            for r in complaint_measures_range(
                user=admin, since_month=dt.date(2025, 6, 1), until_month=dt.date(2026, 1, 1)
            )
        ]
    num, den = sum(r["numerator"] for r in rows), sum(r["denominator"] for r in rows)
    assert den > 100 and 95 <= 100 * num / den < 100
