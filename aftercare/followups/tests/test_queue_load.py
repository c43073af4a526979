"""The call-queue page under load (docs/benchmarks.md "Load"): its queries do not grow with the tasks in the
queue, the tasks on the page, or the calls and closed tasks its specialist's numbers count."""

import pytest
from django.utils import timezone

from aftercare.followups.choices import TaskStatus
from aftercare.followups.tests.test_views import client_for, csi_task, ssi_task
from aftercare.org.choices import Role
from aftercare.testing import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def specialist2(store_a):
    user = f.UserFactory(username="specialist2")
    f.StaffFactory(user=user, group=store_a.group, role=Role.CS_SPECIALIST, stores=[store_a])
    return user


def _queries(client, url, django_assert_max_num_queries) -> int:
    # 17: the specialist's on-time rate also counts the late tasks handed on from them (`late_holder`), one more
    # grouped query of `specialist_workload`
    with django_assert_max_num_queries(17) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def _close(tasks, specialist) -> None:
    """Closed today by the specialist: the month's and today's numbers and the return-visit rate have rows."""
    for task in tasks:
        task.status, task.completed_at, task.completed_by = TaskStatus.COMPLETED, timezone.now(), specialist
        task.save()


def test_it_loads_the_queue_in_the_same_queries_for_two_tasks_and_for_forty(
    store_a, rules_a, specialist, django_assert_max_num_queries
):
    client = client_for(specialist)
    _close([csi_task(store_a)], specialist)
    csi_task(store_a)
    ssi_task(store_a)
    client.get("/followups/")  # the session
    few = _queries(client, "/followups/", django_assert_max_num_queries)
    _close([csi_task(store_a) for _ in range(10)], specialist)
    for _ in range(30):
        csi_task(store_a)
    many = _queries(client, "/followups/", django_assert_max_num_queries)
    assert many == few
    assert _queries(client, "/followups/?page=2", django_assert_max_num_queries) == few
    assert _queries(client, "/followups/?kind=csi", django_assert_max_num_queries) == few


def test_it_counts_the_queues_own_numbers_over_the_specialists_rows_only(store_a, rules_a, specialist, specialist2):
    """The queue asks for its specialist's rate and workload with `specialist_id`: the same figures as that
    specialist's row of the whole store's, without reading the others' tasks."""
    import datetime as dt

    from aftercare.followups import selectors
    from aftercare.org.calendar import business_date, month_start

    _close([csi_task(store_a) for _ in range(3)], specialist)
    _close([csi_task(store_a) for _ in range(2)], specialist2)
    held = csi_task(store_a)
    held.claimed_by, held.claimed_at, held.status = specialist, timezone.now(), TaskStatus.CLAIMED
    held.due_at = timezone.now() - dt.timedelta(hours=1)
    held.save()
    today = business_date()
    month = month_start(today)
    everyone = selectors.return_visit_rate(user=specialist, month=month, by="specialist")
    mine = selectors.return_visit_rate(user=specialist, month=month, by="specialist", specialist_id=specialist.pk)
    assert mine == [r for r in everyone if r["specialist"] == specialist.pk] and mine[0]["due"] >= 3
    for since, until, period in [(month, today + dt.timedelta(days=1), "month"), (today, today, "day")]:
        until = until if period == "month" else today + dt.timedelta(days=1)
        everyone = selectors.specialist_workload(user=specialist, since=since, until=until, period=period)
        mine = selectors.specialist_workload(
            user=specialist, since=since, until=until, period=period, specialist_id=specialist.pk
        )
        assert mine == [w for w in everyone if w["user_id"] == specialist.pk] and mine[0]["closed"] == 3
        assert any(w["user_id"] == specialist2.pk for w in everyone)
