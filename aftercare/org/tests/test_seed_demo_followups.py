"""`seed_demo` builds a follow-up history: rules, tasks, calls, answer sheets, letters, feedback, today's queue."""

import datetime as dt
import io
from collections import defaultdict
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Avg, Count, Q

from aftercare.complaints.choices import FeedbackSource
from aftercare.complaints.models import Feedback
from aftercare.customers.models import Customer
from aftercare.followups.choices import CallOutcome, TaskStatus
from aftercare.followups.models import (
    Answer,
    AnswerSheet,
    CallLog,
    FollowupRule,
    FollowupTask,
    LetterLog,
    StoreFollowupSettings,
)
from aftercare.followups.selectors import followup_queue, return_visit_rate
from aftercare.followups.services import questionnaire_score
from aftercare.org.models import Store

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 3, 18, 15, 30, tzinfo=SHANGHAI)
MODELS = (FollowupRule, StoreFollowupSettings, FollowupTask, CallLog, AnswerSheet, Answer, LetterLog, Feedback)


def _seed(**options) -> str:
    out = io.StringIO()
    with time_machine.travel(NOW, tick=False):
        call_command("seed_demo", stdout=out, **options)
    return out.getvalue()


def _counts() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in MODELS}


def _user(name):
    return get_user_model().objects.get(username=name)


@pytest.fixture
def demo(db):
    return _seed()


def test_it_gives_every_store_rules_settings_and_a_queue_for_today(demo):
    for store in Store.objects.all():
        assert set(FollowupRule.objects.filter(store=store).values_list("code", flat=True)) == {
            "SSI", "CSI", "TRACK1", "TRACK2"
        }
        assert StoreFollowupSettings.objects.filter(store=store).exists()
    with time_machine.travel(NOW, tick=False):
        for name in ("gz_cs", "fs_cs", "hz_cs"):
            queue = list(followup_queue(user=_user(name)))
            overdue = [t for t in queue if t.due_at < NOW]
            assert 8 <= len(queue) <= 35, (name, len(queue))
            assert 1 <= len(overdue) <= 5, (name, len(overdue))
            assert all(t.status == TaskStatus.OPEN and t.claimed_by_id is None and t.attempts == 0 for t in queue)
        assert 10 <= followup_queue(user=_user("gz_cs")).count() <= 30


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


def test_it_keeps_the_history_consistent_with_the_services(demo):
    closed = FollowupTask.objects.filter(status__in=[TaskStatus.COMPLETED, TaskStatus.REFUSED, TaskStatus.UNREACHABLE])
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
    unreachable = FollowupTask.objects.filter(status=TaskStatus.UNREACHABLE)
    assert unreachable.exists()
    assert LetterLog.objects.filter(task__in=unreachable).count() == unreachable.count()
    assert not FollowupTask.objects.filter(status=TaskStatus.COMPLETED, template__isnull=False, sheet__isnull=True)
    assert CallLog.objects.filter(outcome=CallOutcome.COMPLETED).count() == FollowupTask.objects.filter(
        status=TaskStatus.COMPLETED
    ).count()
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
    for fb in Feedback.objects.select_related("call_log", "followup_task"):
        assert fb.source == FeedbackSource.FOLLOWUP_CALL
        assert fb.call_log.task_id == fb.followup_task_id
        assert fb.customer_id == fb.followup_task.customer_id and fb.department_id and fb.text
        assert fb.created_at == fb.call_log.called_at


def test_it_changes_nothing_when_run_again_and_rebuilds_the_same_with_reset(db):
    _seed(customers=300)
    before = _counts()
    assert before["FollowupTask"] > 500 and before["Answer"] > 0
    assert "nothing changed" in _seed(customers=300)
    assert _counts() == before
    _seed(customers=300, reset=True)
    assert _counts() == before


def test_it_adds_the_history_to_a_demo_seeded_before_followups(db, monkeypatch):
    from aftercare.org.management.commands import seed_demo

    monkeypatch.setattr(seed_demo, "demo_followups_create", lambda **kw: {})
    _seed(customers=200)
    assert not FollowupTask.objects.exists()
    monkeypatch.undo()
    assert "Added the follow-up history" in _seed(customers=200)
    assert FollowupTask.objects.exists() and AnswerSheet.objects.exists()
    after = _counts()
    assert "nothing changed" in _seed(customers=200)
    assert _counts() == after
