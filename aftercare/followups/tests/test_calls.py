import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import Http404

from aftercare.core.models import AuditEvent
from aftercare.core.sms import LocmemBackend
from aftercare.followups.choices import CallOutcome, LetterChannel, LetterStatus, TaskStatus
from aftercare.followups.models import CallLog, FollowupTask, LetterLog, StoreFollowupSettings
from aftercare.followups.selectors import followup_queue
from aftercare.followups.services.attempts import followup_attempt_record
from aftercare.followups.services.claiming import TaskAlreadyClaimed, followup_task_assign, followup_task_claim
from aftercare.followups.services.generation import followup_tasks_for_repair_order, followup_tasks_generate
from aftercare.org.choices import Role
from aftercare.testing import factories as f

SH = ZoneInfo("Asia/Shanghai")


def csi_task(store, **customer_kwargs) -> FollowupTask:
    ro = f.RepairOrderFactory(customer=f.CustomerFactory(store=store, **customer_kwargs))
    followup_tasks_for_repair_order(repair_order=ro)
    return FollowupTask.objects.get(subject_id=ro.pk, subject_type="repair_order")


@pytest.fixture
def specialist2(store_a):
    user = f.UserFactory(username="specialist2")
    f.StaffFactory(user=user, group=store_a.group, role=Role.CS_SPECIALIST, stores=[store_a])
    return user


def test_it_locks_a_claimed_task_to_one_specialist(store_a, rules_a, specialist, specialist2):
    task = csi_task(store_a)
    claimed = followup_task_claim(actor=specialist, task_id=task.pk)
    assert (claimed.status, claimed.claimed_by) == (TaskStatus.CLAIMED, specialist)
    assert followup_task_claim(actor=specialist, task_id=task.pk).claimed_by == specialist  # idempotent
    with pytest.raises(TaskAlreadyClaimed):
        followup_task_claim(actor=specialist2, task_id=task.pk)
    assert AuditEvent.objects.filter(object_type="followups.followuptask", object_id=str(task.pk)).count() == 1


def test_it_answers_404_for_another_stores_task(store_a, store_b, rules_b, specialist):
    task = csi_task(store_b)
    with pytest.raises(Http404):
        followup_task_claim(actor=specialist, task_id=task.pk)
    assert not followup_queue(user=specialist).filter(pk=task.pk).exists()


def test_it_refuses_roles_without_the_call_permission(store_a, rules_a, users):
    task = csi_task(store_a)
    with pytest.raises(PermissionDenied):
        followup_task_claim(actor=users[Role.RENEWAL_SPECIALIST], task_id=task.pk)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_lets_exactly_one_of_eight_threads_claim_a_task():
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    from aftercare.followups.services.rules import followup_rules_seed_defaults

    store = f.StoreFactory(code="T01")
    followup_rules_seed_defaults(store)
    task = csi_task(store)
    claimers = []
    for i in range(8):
        user = f.UserFactory(username=f"racer{i}")
        f.StaffFactory(user=user, group=store.group, role=Role.CS_SPECIALIST, stores=[store])
        claimers.append(user)
    barrier = threading.Barrier(8)
    results: list[str] = []

    def claim(user):
        try:
            barrier.wait()
            followup_task_claim(actor=user, task_id=task.pk)
            results.append("won")
        except TaskAlreadyClaimed:
            results.append("lost")
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(u,)) for u in claimers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["lost"] * 7 + ["won"]
    task.refresh_from_db()
    assert task.claimed_by_id in {u.pk for u in claimers}


def test_it_makes_the_claim_conditional_on_sqlite_too(store_a, rules_a, specialist, specialist2):
    task = csi_task(store_a)
    # simulate a concurrent winner between our read and our write
    FollowupTask.objects.filter(pk=task.pk).update(
        status=TaskStatus.CLAIMED, claimed_by=specialist2, claimed_at=task.created_at
    )
    with pytest.raises(TaskAlreadyClaimed):
        followup_task_claim(actor=specialist, task_id=task.pk)


def test_it_marks_the_task_unreachable_after_the_stores_maximum_and_sends_an_sms(
    store_a, rules_a, specialist, settings, django_capture_on_commit_callbacks
):
    settings.SMS_BACKEND = "aftercare.core.sms.LocmemBackend"
    LocmemBackend.outbox.clear()
    StoreFollowupSettings.objects.filter(store=store_a).update(max_attempts=3)
    task = csi_task(store_a)
    followup_task_claim(actor=specialist, task_id=task.pk)
    with django_capture_on_commit_callbacks(execute=True):
        followup_attempt_record(actor=specialist, task=task, outcome=CallOutcome.NO_ANSWER, duration_s=30)
        followup_attempt_record(actor=specialist, task=task, outcome=CallOutcome.BUSY)
        task.refresh_from_db()
        assert task.status == TaskStatus.CLAIMED and task.attempts == 2
        followup_attempt_record(actor=specialist, task=task, outcome=CallOutcome.NO_ANSWER, notes="关机")
    task.refresh_from_db()
    assert task.status == TaskStatus.UNREACHABLE and task.attempts == 3
    assert CallLog.objects.filter(task=task).count() == 3
    letter = LetterLog.objects.get(task=task)
    assert (letter.channel, letter.status) == (LetterChannel.SMS, LetterStatus.SENT)
    assert LocmemBackend.outbox[-1]["to"] == task.customer.mobile
    with pytest.raises(ValidationError):
        followup_attempt_record(actor=specialist, task=task, outcome=CallOutcome.NO_ANSWER)


def test_it_writes_a_letter_when_an_unreachable_customer_has_no_mobile(store_a, rules_a, specialist):
    task = csi_task(store_a, mobile="")
    followup_task_claim(actor=specialist, task_id=task.pk)
    followup_attempt_record(actor=specialist, task=task, outcome=CallOutcome.WRONG_NUMBER)
    task.refresh_from_db()
    assert task.status == TaskStatus.UNREACHABLE
    assert LetterLog.objects.get(task=task).channel == LetterChannel.LETTER


def test_it_reschedules_a_call_back(store_a, rules_a, specialist):
    task = csi_task(store_a)
    followup_task_claim(actor=specialist, task_id=task.pk)
    later = dt.datetime.now(SH) + dt.timedelta(days=2)
    followup_attempt_record(actor=specialist, task=task, outcome=CallOutcome.CALL_BACK, call_back_at=later)
    task.refresh_from_db()
    assert task.status == TaskStatus.CLAIMED and task.next_call_at == later
    assert not followup_queue(user=specialist).filter(pk=task.pk).exists()  # not today any more
    with pytest.raises(ValidationError) as exc:
        followup_attempt_record(actor=specialist, task=task, outcome=CallOutcome.CALL_BACK)
    assert "call_back_at" in exc.value.message_dict


def test_it_requires_a_claim_before_calling(store_a, rules_a, specialist):
    task = csi_task(store_a)
    with pytest.raises(ValidationError) as exc:
        followup_attempt_record(actor=specialist, task=task, outcome=CallOutcome.COMPLETED)
    assert "task" in exc.value.message_dict
    assert not CallLog.objects.exists()


def test_it_lists_the_queue_by_deadline_then_customer_value(store_a, rules_a, specialist, specialist2):
    with time_machine.travel(dt.datetime(2026, 3, 10, 9, 0, tzinfo=SH)):
        poor = f.CustomerFactory(store=store_a)
        rich = f.CustomerFactory(store=store_a)
        settled = dt.datetime(2026, 3, 9, 10, 0, tzinfo=SH)
        f.RepairOrderFactory(customer=poor, settled_at=settled, amount=100)
        f.RepairOrderFactory(customer=rich, settled_at=settled, amount=5000)
        f.RepairOrderFactory(customer=rich, settled_at=dt.datetime(2026, 1, 5, tzinfo=SH), kind="internal", amount=3000)
        early = f.RepairOrderFactory(customer=poor, settled_at=dt.datetime(2026, 3, 5, 10, 0, tzinfo=SH), amount=1)
        followup_tasks_generate(store_id=store_a.pk)
        other = FollowupTask.objects.get(subject_id=early.pk)
        followup_task_claim(actor=specialist2, task_id=other.pk)
        queue = list(followup_queue(user=specialist))
        assert [t.customer_id for t in queue] == [rich.pk, poor.pk]  # the claimed one belongs to specialist2
        assert queue[0].customer_value == 8000
        manager_queue = list(followup_queue(user=_manager(store_a)))
        assert manager_queue[0].pk == other.pk  # overdue first


def _manager(store):
    user = f.UserFactory(username="mgr_q")
    f.StaffFactory(user=user, group=store.group, role=Role.CS_MANAGER, stores=[store])
    return user


def test_it_lets_a_manager_reassign(store_a, rules_a, specialist, specialist2, manager):
    task = csi_task(store_a)
    followup_task_claim(actor=specialist, task_id=task.pk)
    moved = followup_task_assign(actor=manager, task_id=task.pk, to_user=specialist2)
    assert moved.claimed_by == specialist2 and moved.assigned_to == specialist2
    with pytest.raises(PermissionDenied):
        followup_task_assign(actor=specialist, task_id=task.pk, to_user=specialist)
