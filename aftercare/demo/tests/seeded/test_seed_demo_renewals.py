"""`seed_demo` builds 18 months of renewal history: gifts, targets, cases, contacts and calls, outcomes, today's list.

The demo is seeded once for the package (`conftest.py`, one transaction rolled back at the end); every test reads it.
"""

import datetime as dt
from collections import Counter
from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.db.models import Count, Sum

from aftercare.customers.choices import LossReason
from aftercare.demo.renewals import GIFTS, RENEWAL_RATE_MEASURE
from aftercare.followups.choices import FollowupKind, SubjectType, TaskStatus
from aftercare.followups.models import CallLog, FollowupTask
from aftercare.followups.selectors import followup_queue
from aftercare.org.choices import KpiPeriodKind, Role
from aftercare.org.models import KpiTarget, Staff, Store
from aftercare.renewals.choices import CaseState, Outcome, Segment
from aftercare.renewals.models import RenewalCase, RenewalContact, RenewalGift
from aftercare.renewals.services.generation import (
    renewal_cases_generate,
    renewal_cases_match_renewals,
    renewal_contacts_plan,
)

from .conftest import NOW, TODAY

CHASE_DAYS = 30


@pytest.fixture
def demo(seeded_demo, db):
    with time_machine.travel(NOW, tick=False):
        yield


def _closed_cases():
    """Cases whose chase is over (expiry more than the chase days ago): every one of them has its final state."""
    return RenewalCase.objects.filter(expiry_date__lt=TODAY - dt.timedelta(days=CHASE_DAYS))


def _rate(rows) -> float:
    rows = list(rows)
    return sum(1 for state in rows if state == CaseState.RENEWED_HERE) / len(rows)


def test_it_renews_first_year_cars_at_least_one_and_a_half_times_as_often_as_cars_aged_four_and_more(demo):
    closed = _closed_cases()
    first_year = list(closed.filter(segment=Segment.NEW_CAR_FIRST).values_list("state", flat=True))
    old = [
        state for state, expiry, delivered in closed.values_list("state", "expiry_date", "vehicle__delivery_date")
        if delivered is not None and expiry >= delivered.replace(year=delivered.year + 4)
    ]
    assert len(first_year) >= 100 and len(old) >= 300
    assert _rate(first_year) >= 1.5 * _rate(old) > 0
    assert set(closed.values_list("state", flat=True)) == {
        CaseState.RENEWED_HERE, CaseState.RENEWED_ELSEWHERE, CaseState.NOT_RENEWED, CaseState.LAPSED
    }
    assert not closed.filter(state=CaseState.OPEN).exists()


def test_it_loses_mostly_on_price_with_a_reason_for_every_loss(demo):
    losses = RenewalCase.objects.filter(state__in=[CaseState.NOT_RENEWED, CaseState.RENEWED_ELSEWHERE])
    reasons = Counter(losses.values_list("outcome_reason", flat=True))
    total = sum(reasons.values())
    assert total >= 300
    assert reasons[LossReason.PRICE] >= 0.4 * total
    assert set(reasons) <= set(LossReason.values) and "" not in reasons
    assert not losses.filter(outcome_reason=LossReason.OTHER, outcome_reason_text="").exists()
    assert not losses.filter(state=CaseState.RENEWED_ELSEWHERE, outcome_insurer="").exists()
    # the specialist's outcome and the case's state agree; renewed here came in by the imported policy
    assert not losses.exclude(outcome=Outcome.NOT_RENEWED).filter(state=CaseState.NOT_RENEWED).exists()
    renewed = RenewalCase.objects.filter(state=CaseState.RENEWED_HERE, expiry_date__lt=TODAY)
    assert not renewed.filter(renewed_policy__isnull=True).exists()
    recorded = renewed.filter(outcome=Outcome.RENEWED_HERE)
    assert recorded.count() >= 0.8 * renewed.exclude(customer__consent_service_calls=False).count()
    for case in recorded.select_related("renewed_policy")[:50]:
        assert case.outcome_premium == case.renewed_policy.premium
        assert case.outcome_policy_number == case.renewed_policy.policy_number


def test_it_sets_renewal_rate_targets_per_store_for_every_month_of_the_year(demo):
    for store in Store.objects.all():
        targets = dict(
            KpiTarget.objects.filter(store=store, measure_code=RENEWAL_RATE_MEASURE, period_kind=KpiPeriodKind.MONTH,
                                     period_start__year=TODAY.year).values_list("period_start", "value")
        )
        assert sorted(targets) == [dt.date(TODAY.year, m, 1) for m in range(1, 13)], store.code
        assert all(Decimal(40) <= v <= Decimal(90) for v in targets.values())
        quarters = [sum(targets[dt.date(TODAY.year, m, 1)] for m in range(q * 3 + 1, q * 3 + 4)) for q in range(4)]
        assert quarters == sorted(quarters)  # the targets rise through the year
        assert KpiTarget.objects.filter(store=store, measure_code=RENEWAL_RATE_MEASURE,
                                        period_start__lt=dt.date(TODAY.year, 1, 1)).exists()


def test_it_leaves_about_ten_calls_due_today_for_gz_renewal(demo):
    user = get_user_model().objects.get(username="gz_renewal")
    queue = followup_queue(user=user, kind=FollowupKind.RENEWAL)
    assert 8 <= queue.count() <= 14
    contacts = RenewalContact.objects.filter(task__in=queue).select_related("case")
    assert contacts.count() == queue.count()
    assert all(k.due_on <= TODAY and k.case.state == CaseState.OPEN for k in contacts)
    assert {t.store.code for t in queue} == {"GZ01"}
    assert {t.claimed_by_id for t in queue} <= {None, user.pk}
    for code, name in (("FS01", "fs_renewal"), ("HZ01", "hz_renewal")):
        other = followup_queue(user=get_user_model().objects.get(username=name), kind=FollowupKind.RENEWAL)
        assert 4 <= other.count() <= 14, code


def test_it_keeps_the_history_consistent_with_the_services(demo):
    tasks = FollowupTask.objects.filter(subject_type=SubjectType.RENEWAL_CONTACT)
    contacts = RenewalContact.objects.all()
    assert contacts.count() >= 2000
    assert contacts.filter(task__isnull=True).count() == 0
    assert tasks.count() == contacts.count()
    assert set(tasks.values_list("rule__code", flat=True)) == {"RENEWAL"}
    # every call in the one call log, by a renewal specialist or the CS manager
    calls = CallLog.objects.filter(task__in=tasks)
    assert calls.count() == tasks.aggregate(n=Sum("attempts"))["n"]
    assert calls.count() == RenewalCase.objects.aggregate(n=Sum("attempts"))["n"]
    roles = set(Staff.objects.filter(user__in=calls.values("handler")).values_list("role", flat=True))
    assert roles == {Role.RENEWAL_SPECIALIST, Role.CS_MANAGER}
    closed_tasks = tasks.exclude(status__in=[TaskStatus.OPEN, TaskStatus.CLAIMED])
    assert not contacts.filter(task__in=closed_tasks, call__isnull=True).exists()
    assert not contacts.exclude(task__in=closed_tasks).filter(call__isnull=False).exists()  # today's: not called
    assert set(closed_tasks.values_list("status", flat=True)) == {TaskStatus.COMPLETED, TaskStatus.UNREACHABLE}
    assert not contacts.filter(effective=True, task__status=TaskStatus.UNREACHABLE).exists()
    # quotes and gifts from the store's list, at its cost
    for store in Store.objects.all():
        gifts = dict(RenewalGift.objects.filter(store=store).values_list("name", "cost"))
        assert gifts == dict(GIFTS)
    given = contacts.filter(gift__isnull=False).select_related("gift")
    assert given.count() >= 100 and all(k.gift_cost == k.gift.cost and k.gift.store_id == k.store_id for k in given)
    assert contacts.filter(quote_premium__isnull=False).count() >= 500
    # the effective contacts and attempts the cases count are their contacts'
    counted = dict(contacts.filter(effective=True).values_list("case").annotate(n=Count("id")))
    for case_id, made in RenewalCase.objects.filter(contacts_made__gt=0).values_list("id", "contacts_made")[:300]:
        assert counted[case_id] == made
    # outcomes by the case's holder, closed when recorded
    outcomes = RenewalCase.objects.exclude(outcome="")
    assert not outcomes.filter(outcome_by__isnull=True).exists()
    assert not outcomes.filter(closed_at__isnull=True).exists()
    assert not RenewalCase.objects.exclude(state=CaseState.OPEN).filter(closed_at__isnull=True).exists()
    assert set(RenewalCase.objects.values_list("segment", flat=True)) >= {
        Segment.NEW_CAR_FIRST, Segment.RENEWED_HERE, Segment.INSURED_ELSEWHERE, Segment.LAPSED_RETURNED
    }


def test_it_is_what_the_daily_job_would_leave_so_a_rerun_makes_nothing(demo):
    for store in Store.objects.all():
        assert renewal_cases_generate(store_id=store.pk, today=TODAY) == 0
        assert renewal_cases_match_renewals(store_id=store.pk) == 0
        assert renewal_contacts_plan(store_id=store.pk, today=TODAY) == 0

