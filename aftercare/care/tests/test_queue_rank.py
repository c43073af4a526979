"""The churn risk ranks the follow-up queue (`followups.ranking`, filled by `care/queue_rank.py`): among calls with
the same deadline the higher churn risk first, unscored customers last, then the 12-month spend; an earlier deadline
still goes first. One correlated subquery, so the queue's query count does not grow with its rows."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from aftercare.care.models import CareProfile, ChurnScore
from aftercare.core.services import api_token_create
from aftercare.followups import ranking
from aftercare.followups.models import FollowupTask
from aftercare.followups.selectors import followup_queue, followup_queue_counts
from aftercare.followups.services.generation import followup_tasks_for_repair_order
from aftercare.followups.services.rules import followup_rules_seed_defaults
from aftercare.org.calendar import business_date, business_day_start
from aftercare.testing import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def rules_a(store_a):
    return {r.code: r for r in followup_rules_seed_defaults(store_a)}


def _task(store, *, due_at: dt.datetime, risk=None, profile=True, spend="680.00") -> FollowupTask:
    customer = f.CustomerFactory(store=store)
    ro = f.RepairOrderFactory(customer=customer, amount=Decimal(spend))
    followup_tasks_for_repair_order(repair_order=ro)
    task = FollowupTask.objects.get(subject_type="repair_order", subject_id=ro.pk)
    FollowupTask.objects.filter(pk=task.pk).update(due_at=due_at, next_call_at=None)
    if profile:
        CareProfile.objects.create(store=store, customer=customer)
        if risk is not None:
            ChurnScore.objects.create(store=store, customer=customer, risk=risk, scored_on=business_date())
    return task


@pytest.fixture
def deadline():
    """Tonight's deadline (tomorrow 00:00 Shanghai, half-open), and the earlier one of this morning."""
    return business_day_start(business_date() + dt.timedelta(days=1))


@pytest.fixture
def ranked(store_a, rules_a, deadline):
    """Tasks and the queue order they must come in."""
    earlier = _task(store_a, due_at=deadline - dt.timedelta(hours=20), risk=0.05)  # deadline beats any risk
    high = _task(store_a, due_at=deadline, risk=0.8, spend="100.00")
    low = _task(store_a, due_at=deadline, risk=0.2, spend="100.00")
    rich_unscored = _task(store_a, due_at=deadline, risk=None, spend="9000.00")  # profile, no score yet
    no_profile = _task(store_a, due_at=deadline, profile=False, spend="500.00")  # new customer, no profile
    later = _task(store_a, due_at=deadline + dt.timedelta(days=1), risk=0.99)
    return [earlier, high, low, rich_unscored, no_profile, later]


def test_it_is_registered_by_care():
    assert "churn_risk" in [p.name for p in ranking.queue_priorities()]


def test_it_ranks_one_deadlines_calls_by_churn_risk_unscored_last_deadline_first(ranked, specialist):
    queue = list(followup_queue(user=specialist))
    assert [t.pk for t in queue] == [t.pk for t in ranked]
    assert [t.churn_risk for t in queue] == [0.05, 0.8, 0.2, None, None, 0.99]
    # without a score the old tie-break holds: spend (9000 before 500)
    assert queue[3].customer_value > queue[4].customer_value


def test_it_reads_the_risk_in_the_queue_query_without_a_query_per_row(store_a, rules_a, deadline, specialist):
    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            rows = list(followup_queue(user=specialist))
            assert all(hasattr(t, "churn_risk") for t in rows)
        return len(ctx.captured_queries)

    for risk in (0.3, None):
        _task(store_a, due_at=deadline, risk=risk)
    count()  # the user's scope is read once and kept on the user
    few = count()
    for i in range(12):
        _task(store_a, due_at=deadline, risk=i / 20 if i % 3 else None, profile=i != 5)
    assert count() == few == 2  # the callable rules, then the queue itself
    assert followup_queue_counts(user=specialist, now=dt.datetime.now(dt.UTC))["total"] == 14


def test_the_queue_page_shows_the_risk_in_rank_order(ranked, specialist):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(specialist)
    html = client.get("/followups/").content.decode()
    assert re.findall(r'data-task="(\d+)"', html) == [str(t.pk) for t in ranked]
    assert "<th>Churn risk</th>" in html
    assert re.findall(r'data-churn-risk="([0-9.]+)"', html) == ["0.0500", "0.8000", "0.2000", "0.9900"]
    assert 'text-bg-danger" data-churn-risk="0.8000"' in html and ">80%</span>" in html


def test_the_queue_api_returns_the_risk_in_rank_order(ranked, specialist):
    token = api_token_create(user=specialist, name="t")[1]
    items = Client(HTTP_AUTHORIZATION=f"Bearer {token}").get("/api/followups/queue").json()["items"]
    assert [i["id"] for i in items] == [t.pk for t in ranked]
    assert [i["ranking"] for i in items][:4] == [
        {"churn_risk": 0.05},
        {"churn_risk": 0.8},
        {"churn_risk": 0.2},
        {"churn_risk": None},
    ]
