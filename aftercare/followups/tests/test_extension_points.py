"""What followups offers the apps above it: the call signal, `followup_task_create`, the call screen registry."""

import datetime as dt

import pytest
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from aftercare.complaints.models import Feedback
from aftercare.core.models import AuditEvent
from aftercare.followups import registry
from aftercare.followups.choices import CallOutcome, CallPurpose, SubjectType, TaskStatus, Trigger
from aftercare.followups.models import CallLog, FollowupTask
from aftercare.followups.services.attempts import followup_attempt_record
from aftercare.followups.services.claiming import followup_task_claim
from aftercare.followups.services.generation import TaskSubject, followup_task_create, followup_tasks_for_repair_order
from aftercare.followups.services.logs import call_log_inbound_create
from aftercare.followups.services.rules import followup_rule_get
from aftercare.followups.signals import call_feedback_given
from aftercare.testing import factories as f

pytestmark = pytest.mark.django_db


class Boom(Exception):
    pass


@pytest.fixture
def failing_receiver():
    seen = []

    def boom(sender, **kwargs):
        seen.append((kwargs["call"].pk, CallLog.objects.filter(pk=kwargs["call"].pk).exists(), kwargs["feedback"]))
        raise Boom

    call_feedback_given.connect(boom, dispatch_uid="test.boom")
    yield seen
    call_feedback_given.disconnect(dispatch_uid="test.boom")


def claimed_task(store, specialist) -> FollowupTask:
    ro = f.RepairOrderFactory(customer=f.CustomerFactory(store=store))
    followup_tasks_for_repair_order(repair_order=ro)
    task = FollowupTask.objects.get(subject_id=ro.pk, subject_type=SubjectType.REPAIR_ORDER)
    followup_task_claim(actor=specialist, task_id=task.pk)
    task.refresh_from_db()
    return task


def test_it_rolls_the_call_back_when_a_receiver_of_the_feedback_fails(store_a, rules_a, specialist, failing_receiver):
    task = claimed_task(store_a, specialist)
    said = {"kind": "complaint", "category": "", "text": "等了两个小时"}
    with pytest.raises(Boom):
        followup_attempt_record(actor=specialist, task=task, outcome=CallOutcome.REFUSED, feedback=said)
    # the receiver ran after the call was written, in its transaction; its failure undid the call and the feedback
    [(call_id, call_written, feedback)] = failing_receiver
    assert call_id is not None and call_written
    assert feedback["text"] == "等了两个小时" and feedback["category"] == "mechanical"  # the task's category
    assert not CallLog.objects.exists() and not Feedback.objects.exists()
    task.refresh_from_db()
    assert (task.status, task.attempts) == (TaskStatus.CLAIMED, 0)


def test_it_rolls_an_inbound_call_back_when_a_receiver_of_the_feedback_fails(store_a, specialist, failing_receiver):
    customer = f.CustomerFactory(store=store_a)
    with pytest.raises(Boom):
        call_log_inbound_create(
            actor=specialist,
            store=store_a,
            purpose=CallPurpose.COMPLAINT,
            handler=specialist,
            called_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1),
            customer=customer,
            notes="车漆有划痕",
            feedback={"kind": "complaint", "category": "paint", "text": ""},
        )
    assert failing_receiver[0][2]["text"] == "车漆有划痕"  # the notes, when nothing else was written down
    assert not CallLog.objects.exists() and not Feedback.objects.exists()


def test_it_records_the_feedback_through_the_complaints_receiver(store_a, rules_a, specialist):
    task = claimed_task(store_a, specialist)
    said = {"kind": "suggestion", "category": "", "text": "希望延长营业时间"}
    call = followup_attempt_record(actor=specialist, task=task, outcome=CallOutcome.REFUSED, feedback=said)
    feedback = Feedback.objects.get()
    assert (feedback.kind, feedback.source, feedback.category) == ("suggestion", "followup_call", "mechanical")
    assert (feedback.call_log, feedback.followup_task, feedback.vehicle) == (call, task, task.vehicle)


def _subject(customer, n=1, **over):
    values = {
        "subject_type": SubjectType.REPEAT_REPAIR,
        "subject_id": n,
        "customer_id": customer.pk,
        "vehicle_id": None,
        "event_at": dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC),
    }
    return TaskSubject(**(values | over))


def test_it_creates_audits_and_never_repeats_a_one_by_one_task(store_a, rules_a, manager):
    rule = followup_rule_get(store=store_a, trigger=Trigger.FEEDBACK_RETURNED)
    customer = f.CustomerFactory(store=store_a)
    refused = f.CustomerFactory(store=store_a, consent_service_calls=False)
    subject = _subject(customer, subject_type=SubjectType.FEEDBACK_RETURN)
    [task] = followup_task_create(actor=manager, rule=rule, subjects=[subject], detail={"feedback": 7})
    assert (task.store_id, task.kind, task.status, task.template_id) == (
        store_a.pk,
        rule.kind,
        TaskStatus.OPEN,
        rule.template_id,
    )
    assert task.due_at > subject.event_at
    event = AuditEvent.objects.get(object_type="followups.followuptask", object_id=str(task.pk))
    assert (event.actor, event.detail) == (manager, {"feedback": 7})
    # made once: a second run (or a racing one) adds nothing
    assert followup_task_create(actor=manager, rule=rule, subjects=[subject]) == []
    two = [_subject(refused, 2, subject_type=SubjectType.FEEDBACK_RETURN), subject]
    [made] = followup_task_create(actor=None, rule=rule, subjects=two)
    assert (made.subject_id, made.status, made.status_reason) == (2, TaskStatus.NO_CONSENT, "consent_service_calls")
    assert FollowupTask.objects.filter(rule=rule).count() == 2


def test_it_validates_a_one_by_one_task_and_writes_nothing_when_it_is_bad(store_a, store_b, rules_a, manager):
    rule = followup_rule_get(store=store_a, code="FTF")
    other = f.CustomerFactory(store=store_b)
    mine = f.CustomerFactory(store=store_a)
    with pytest.raises(ValidationError) as err:
        followup_task_create(actor=None, rule=rule, subjects=[_subject(mine), _subject(other, 2)])
    assert "customer" in err.value.message_dict
    with pytest.raises(ValidationError) as err:
        followup_task_create(actor=None, rule=rule, subjects=[_subject(mine, subject_type="nonsense")])
    assert "subject_type" in err.value.message_dict
    assert not FollowupTask.objects.filter(rule=rule).exists() and not AuditEvent.objects.filter(
        object_type="followups.followuptask"
    ).exists()


def test_it_creates_many_one_by_one_tasks_in_a_constant_number_of_queries(store_a, rules_a):
    rule = followup_rule_get(store=store_a, code="FTF")
    counts = []
    for start, n in ((0, 2), (100, 12)):
        subjects = [_subject(f.CustomerFactory(store=store_a), start + i) for i in range(n)]
        with CaptureQueriesContext(connection) as ctx:
            assert len(followup_task_create(actor=None, rule=rule, subjects=subjects)) == n
        counts.append(len(ctx))
    assert counts[0] == counts[1], counts


def test_it_shows_the_registered_call_panels_that_have_something_to_say(monkeypatch, store_a, specialist):
    monkeypatch.setattr(registry, "_call_panels", {})
    registry.call_panel_register(registry.CallPanel("a", "a.html", lambda *, user, task: {"x": task}))
    registry.call_panel_register(registry.CallPanel("b", "b.html", lambda *, user, task: None))
    registry.call_panel_register(registry.CallPanel("a", "a2.html", lambda *, user, task: {"x": user}))
    assert registry.call_panels(user=specialist, task=None) == [{"template": "a2.html", "x": specialist}]


def test_it_says_which_app_is_missing_when_nobody_offers_the_feedback_choices(monkeypatch):
    assert registry.feedback_options().complaint_kind == "complaint"  # the complaints app registered them
    monkeypatch.setattr(registry, "_feedback", [])
    with pytest.raises(ImproperlyConfigured, match="complaints"):
        registry.feedback_options()
