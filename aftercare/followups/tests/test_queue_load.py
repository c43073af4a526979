"""The call-queue page under load (docs/benchmarks.md "Load"): its queries do not grow with the tasks in the
queue, the tasks on the page, or the calls and closed tasks its specialist's numbers count."""

import pytest
from django.utils import timezone

from aftercare.followups.choices import TaskStatus
from aftercare.followups.tests.test_views import client_for, csi_task, ssi_task

pytestmark = pytest.mark.django_db


def _queries(client, url, django_assert_max_num_queries) -> int:
    with django_assert_max_num_queries(16) as ctx:
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
