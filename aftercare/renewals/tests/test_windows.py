"""Windows and deadlines in Asia/Shanghai: month ends, Shanghai midnight, the Spring Festival; the daily run twice
and after a run killed midway."""

import datetime as dt
from unittest import mock

import pytest
import time_machine
from django.core.management import call_command

from aftercare.followups.models import FollowupTask
from aftercare.org.calendar import business_day_start
from aftercare.renewals.models import RenewalCase, RenewalContact
from aftercare.renewals.services import generation
from aftercare.renewals.services.generation import renewal_cases_generate, renewals_daily
from aftercare.testing import factories as f

pytestmark = pytest.mark.django_db


def _policy(store, expiry: dt.date):
    customer = f.CustomerFactory(store=store)
    return f.InsurancePolicyFactory(store=store, customer=customer, vehicle=f.owned_vehicle(customer),
                                    start_date=expiry.replace(year=expiry.year - 1) + dt.timedelta(days=1),
                                    expiry_date=expiry)


def test_it_opens_the_list_90_days_ahead_by_the_shanghai_day_across_a_month_end(store_a):
    in_window = _policy(store_a, dt.date(2026, 5, 2))  # 90 days after 1 February
    beyond = _policy(store_a, dt.date(2026, 5, 3))
    with time_machine.travel(dt.datetime(2026, 1, 31, 15, 59, tzinfo=dt.UTC), tick=False):  # 23:59 Shanghai
        renewals_daily(store_id=store_a.pk)
        assert not RenewalCase.objects.filter(policy=in_window).exists()
    with time_machine.travel(dt.datetime(2026, 1, 31, 16, 0, tzinfo=dt.UTC), tick=False):  # 00:00 on 1 February
        renewals_daily(store_id=store_a.pk)
    assert RenewalCase.objects.filter(policy=in_window).exists()
    assert not RenewalCase.objects.filter(policy=beyond).exists()


def test_it_chases_a_lapsed_policy_30_days_then_lets_it_lapse(store_a):
    policy = _policy(store_a, dt.date(2026, 1, 31))
    renewal_cases_generate(store_id=store_a.pk, today=dt.date(2026, 3, 2))  # 30 days after: still chased
    case = RenewalCase.objects.get(policy=policy)
    renewals_daily(store_id=store_a.pk, today=dt.date(2026, 3, 2))
    case.refresh_from_db()
    assert case.state == "open"
    renewals_daily(store_id=store_a.pk, today=dt.date(2026, 3, 3))
    case.refresh_from_db()
    assert case.state == "lapsed"


def test_a_contact_due_in_the_spring_festival_is_due_after_the_holiday(store_a):
    # 2026-03-27 − 33 days = 22 February 2026, inside the Spring Festival holiday (15–23 February)
    policy = _policy(store_a, dt.date(2026, 3, 27))
    with time_machine.travel(dt.datetime(2026, 2, 10, 2, tzinfo=dt.UTC), tick=False):
        renewals_daily(store_id=store_a.pk)
        first = RenewalContact.objects.get(case__policy=policy)
        assert first.due_on == dt.date(2026, 2, 10)
        # the renewal rule's deadline is two working days: 11 and 12 February
        assert first.task.due_at == business_day_start(dt.date(2026, 2, 13))
        FollowupTask.objects.filter(pk=first.task_id).update(status="completed", completed_at=first.task.event_at)
    with time_machine.travel(dt.datetime(2026, 2, 22, 2, tzinfo=dt.UTC), tick=False):
        renewals_daily(store_id=store_a.pk)
    second = RenewalContact.objects.get(case__policy=policy, number=2)
    assert second.due_on == dt.date(2026, 2, 22)
    assert second.task.due_at == business_day_start(dt.date(2026, 2, 26))  # 24 and 25 February are the two days


def test_the_daily_command_twice_makes_nothing_twice(store_a, policy_due):
    with time_machine.travel(dt.datetime(2026, 11, 16, 2, tzinfo=dt.UTC), tick=False):
        call_command("renewals_generate", stdout=mock.MagicMock())
        first = (RenewalCase.objects.count(), RenewalContact.objects.count(), FollowupTask.objects.count())
        call_command("renewals_generate", stdout=mock.MagicMock())
    assert first == (1, 1, 1)
    assert (RenewalCase.objects.count(), RenewalContact.objects.count(), FollowupTask.objects.count()) == first


def test_a_run_killed_midway_and_rerun_is_one_clean_run(store_a, policy_due):
    _policy(store_a, dt.date(2026, 12, 20))
    with time_machine.travel(dt.datetime(2026, 11, 16, 2, tzinfo=dt.UTC), tick=False):
        with mock.patch.object(generation, "followup_task_create", side_effect=RuntimeError("killed")):
            with pytest.raises(RuntimeError):
                renewals_daily(store_id=store_a.pk)
        assert RenewalCase.objects.count() == 2 and RenewalContact.objects.count() == 0  # contacts rolled back
        renewals_daily(store_id=store_a.pk)
        renewals_daily(store_id=store_a.pk)
    assert RenewalContact.objects.count() == 2 and FollowupTask.objects.count() == 2
    assert set(RenewalContact.objects.values_list("task__subject_id", flat=True)) == set(
        RenewalContact.objects.values_list("pk", flat=True)
    )
