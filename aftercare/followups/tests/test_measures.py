import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import time_machine
from django.core.management import call_command

from aftercare.followups.choices import RateTreatment, TaskStatus
from aftercare.followups.models import FollowupTask, StoreFollowupSettings
from aftercare.followups.selectors import return_visit_rate, specialist_workload
from aftercare.followups.services.attempts import followup_attempt_record
from aftercare.followups.services.claiming import followup_task_claim
from aftercare.followups.services.generation import followup_tasks_generate
from aftercare.testing import factories as f

SH = ZoneInfo("Asia/Shanghai")


def sh(*a):
    return dt.datetime(*a, tzinfo=SH)


def _month_of_tasks(store, n):
    customer = f.CustomerFactory(store=store)
    for i in range(n):
        f.RepairOrderFactory(customer=customer, settled_at=sh(2026, 3, 2, 9, i))  # due before 6 March 00:00
    followup_tasks_generate(store_id=store.pk)
    return list(FollowupTask.objects.filter(store=store).order_by("id"))


def test_it_computes_the_return_visit_rate_with_the_stores_treatment(store_a, rules_a, specialist, manager):
    tasks = _month_of_tasks(store_a, 5)
    with time_machine.travel(sh(2026, 3, 3, 10, 0)):
        for task in tasks[:4]:
            followup_task_claim(actor=specialist, task_id=task.pk)
        followup_attempt_record(actor=specialist, task=tasks[0], outcome="completed")
        followup_attempt_record(actor=specialist, task=tasks[1], outcome="refused")
        followup_attempt_record(actor=specialist, task=tasks[2], outcome="wrong_number")
    with time_machine.travel(sh(2026, 3, 6, 0, 0)):  # exactly at the deadline: late (half-open)
        followup_attempt_record(actor=specialist, task=tasks[3], outcome="completed")
    # tasks[4] is still open after its deadline
    with time_machine.travel(sh(2026, 4, 1, 9, 0)):
        defaults = return_visit_rate(user=manager, month=dt.date(2026, 3, 1))
        # refused counts as done, unreachable as missed: (completed + refused) / 5
        assert defaults == [
            {"store": store_a.pk, "due": 5, "in_time": 2, "unreachable": 1, "refused": 1, "rate": Decimal("40.0")}
        ]
        StoreFollowupSettings.objects.filter(store=store_a).update(
            unreachable_counts_as=RateTreatment.EXCLUDED, refused_counts_as=RateTreatment.MISSED
        )
        assert return_visit_rate(user=manager, month=dt.date(2026, 3, 1))[0]["rate"] == Decimal("25.0")
        by_specialist = return_visit_rate(user=manager, month=dt.date(2026, 3, 1), by="specialist")
        assert {r["specialist"] for r in by_specialist} == {specialist.pk, None}
        assert return_visit_rate(user=manager, month=dt.date(2026, 2, 1)) == []


def test_it_leaves_tasks_not_yet_due_out_of_the_rate(store_a, rules_a, manager):
    _month_of_tasks(store_a, 2)
    with time_machine.travel(sh(2026, 3, 4, 9, 0)):
        assert return_visit_rate(user=manager, month=dt.date(2026, 3, 1)) == []


def test_it_counts_specialist_workload_per_day(store_a, rules_a, specialist, manager):
    tasks = _month_of_tasks(store_a, 3)
    with time_machine.travel(sh(2026, 3, 3, 23, 50)):
        for task in tasks:
            followup_task_claim(actor=specialist, task_id=task.pk)
        followup_attempt_record(actor=specialist, task=tasks[0], outcome="no_answer")
        followup_attempt_record(actor=specialist, task=tasks[0], outcome="completed")
    with time_machine.travel(sh(2026, 3, 4, 0, 10)):  # the next Shanghai day (still 3 March in UTC)
        followup_attempt_record(actor=specialist, task=tasks[1], outcome="busy")
    rows = specialist_workload(user=manager, since=dt.date(2026, 3, 1), until=dt.date(2026, 4, 1))
    assert [(r["period"], r["calls"], r["reached"], r["closed"], r["in_time"]) for r in rows] == [
        (dt.date(2026, 3, 3), 2, 1, 1, 1),
        (dt.date(2026, 3, 4), 1, 0, 0, 0),
    ]
    assert rows[0]["reach_rate"] == Decimal("50.0") and rows[0]["on_time_rate"] == Decimal("100.0")
    month = specialist_workload(user=manager, since=dt.date(2026, 3, 1), until=dt.date(2026, 4, 1), period="month")
    assert [(r["period"], r["calls"]) for r in month] == [(dt.date(2026, 3, 1), 3)]


def test_it_counts_lateness_against_who_held_the_task_when_it_fell_due(store_a, rules_a, specialist, manager, users):
    from aftercare.followups.services.claiming import followup_task_release
    from aftercare.org.choices import Role

    other = f.StaffFactory(role=Role.CS_SPECIALIST, group=store_a.group, stores=[store_a]).user
    tasks = _month_of_tasks(store_a, 3)  # due before 6 March 00:00
    with time_machine.travel(sh(2026, 3, 3, 10, 0)):
        followup_task_claim(actor=specialist, task_id=tasks[0].pk)  # held by `specialist` when it falls due
        followup_task_claim(actor=other, task_id=tasks[2].pk)  # held and closed late by `other` itself
    with time_machine.travel(sh(2026, 3, 6, 9, 0)):  # overdue now
        followup_task_release(actor=specialist, task=FollowupTask.objects.get(pk=tasks[0].pk))
        followup_task_claim(actor=other, task_id=tasks[0].pk)  # `other` takes it over, overdue
        followup_attempt_record(actor=other, task=tasks[0], outcome="completed")
        followup_task_claim(actor=other, task_id=tasks[1].pk)  # sat in the pool: late for nobody
        followup_attempt_record(actor=other, task=tasks[1], outcome="completed")
        followup_attempt_record(actor=other, task=tasks[2], outcome="completed")
    tasks[0].refresh_from_db()
    assert tasks[0].late_holder == specialist
    month = {
        r["user_id"]: r
        for r in specialist_workload(user=manager, since=dt.date(2026, 3, 1), until=dt.date(2026, 4, 1), period="month")
    }
    # `other` closed three, all late, but only tasks[2] fell due in its hands: 0 of 1 on time
    assert (month[other.pk]["closed"], month[other.pk]["late"], month[other.pk]["on_time_rate"]) == (3, 1, Decimal(0))
    # `specialist` closed nothing, yet tasks[0] fell due while it held it: 0 of 1
    assert (month[specialist.pk]["closed"], month[specialist.pk]["late"]) == (0, 1)
    assert month[specialist.pk]["on_time_rate"] == Decimal(0)


def test_it_seeds_rules_from_the_command(store_a):
    with time_machine.travel(sh(2026, 3, 3, 2, 0)):
        f.RepairOrderFactory(customer=f.CustomerFactory(store=store_a), settled_at=sh(2026, 3, 2, 9, 0))
        call_command("followups_generate", "--seed-rules", "--store", "A01")
    assert FollowupTask.objects.get().status == TaskStatus.OPEN


def test_renewal_contacts_are_calls_but_not_return_visits(store_a, rules_a, manager):
    tasks = _month_of_tasks(store_a, 2)
    FollowupTask.objects.filter(pk=tasks[0].pk).update(kind="renewal")  # a renewal contact left undone
    with time_machine.travel(sh(2026, 4, 1, 9, 0)):
        assert return_visit_rate(user=manager, month=dt.date(2026, 3, 1))[0]["due"] == 1
