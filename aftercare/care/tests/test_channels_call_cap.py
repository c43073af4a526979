"""The weekly call cap per customer across every kind of task: care and campaign calls of a customer at the cap are
put off to next week; calls due by a deadline (return visits, renewals, recalls) never are."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from aftercare.followups.choices import CallDirection, CallOutcome, FollowupKind, SubjectType, Trigger
from aftercare.followups.models import CallLog, FollowupTask
from aftercare.followups.services.callcap import calls_cap_apply
from aftercare.followups.services.rules import followup_rule_get
from aftercare.testing import factories as f

SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 12, 9, 6, 30, tzinfo=SH)  # Wednesday morning
NEXT_MONDAY = dt.datetime(2026, 12, 14, tzinfo=SH)
_n = iter(range(1, 10_000))


def _task(customer, kind, trigger, due_days=3):
    rule = followup_rule_get(store=customer.store, trigger=trigger)
    return FollowupTask.objects.create(
        store=customer.store, rule=rule, kind=kind, subject_type=SubjectType.FOLLOWUP_TASK, subject_id=next(_n),
        customer=customer, event_at=NOW - dt.timedelta(days=1), due_at=NOW + dt.timedelta(days=due_days),
    )


def _called(customer, user, at):
    CallLog.objects.create(store=customer.store, customer=customer, handler=user, direction=CallDirection.OUTBOUND,
                           called_at=at, outcome=CallOutcome.COMPLETED)


@pytest.fixture
def customer(store_a):
    return f.CustomerFactory(store=store_a)


def test_it_puts_off_care_and_campaign_calls_of_a_customer_at_the_cap(customer, specialist, settings):
    settings.CALLS_WEEKLY_CAP = 2
    care = _task(customer, FollowupKind.CARE, Trigger.CARE_REMINDER_DUE)
    campaign = _task(customer, FollowupKind.CAMPAIGN, Trigger.CAMPAIGN_INVITATION)
    _called(customer, specialist, NOW - dt.timedelta(days=1))
    _called(customer, specialist, NOW - dt.timedelta(days=2))
    _called(customer, specialist, NOW - dt.timedelta(days=4))  # last week's Saturday: not this week
    assert calls_cap_apply(store_id=customer.store_id, now=NOW) == 2
    for task in (care, campaign):
        task.refresh_from_db()
        assert (task.next_call_at, task.status_reason) == (NEXT_MONDAY, "calls_weekly_cap")
    assert calls_cap_apply(store_id=customer.store_id, now=NOW) == 0  # rerun: nothing more


def test_it_lets_deadline_calls_go_first_and_keeps_the_room_left(customer, specialist, settings):
    settings.CALLS_WEEKLY_CAP = 2
    tracking = _task(customer, FollowupKind.RENEWAL, Trigger.RENEWAL_DUE)  # a deadline call in today's queue
    early = _task(customer, FollowupKind.CARE, Trigger.CARE_REMINDER_DUE, due_days=1)
    late = _task(customer, FollowupKind.CAMPAIGN, Trigger.CAMPAIGN_INVITATION, due_days=5)
    assert calls_cap_apply(store_id=customer.store_id, now=NOW) == 1
    for task in (tracking, early, late):
        task.refresh_from_db()
    assert tracking.next_call_at is None and early.next_call_at is None
    assert late.next_call_at == NEXT_MONDAY


def test_it_leaves_customers_under_the_cap_and_follows_a_stores_own_cap(customer, store_a, specialist):
    from aftercare.followups.models import ChannelSettings

    care = _task(customer, FollowupKind.CARE, Trigger.CARE_REMINDER_DUE)
    _called(customer, specialist, NOW - dt.timedelta(hours=5))
    assert calls_cap_apply(store_id=store_a.pk, now=NOW) == 0
    ChannelSettings.objects.create(store=store_a, quiet_start=dt.time(21), quiet_end=dt.time(8),
                                   marketing_weekly_cap=3, calls_weekly_cap=1)
    assert calls_cap_apply(store_id=store_a.pk, now=NOW) == 1
    care.refresh_from_db()
    assert care.next_call_at == NEXT_MONDAY


def test_it_runs_as_a_command(customer, specialist, settings, capsys):
    settings.CALLS_WEEKLY_CAP = 0
    _task(customer, FollowupKind.CAMPAIGN, Trigger.CAMPAIGN_INVITATION)
    call_command("calls_cap_apply")
    assert "put off 1 task\n" in capsys.readouterr().out
