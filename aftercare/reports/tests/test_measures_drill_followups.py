"""The follow-up measures drill down to their rows (docs/reports.md, "Measures"): the return-visit rate's tasks as
the store's setting for unreachable and refused calls counts them, the satisfaction rate's and the SSI / CSI
scores' answer sheets; same store, same half-open months, another store's rows never; bad filters answer 400."""

import datetime as dt
import re
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from aftercare.followups.choices import FollowupKind, QuestionnaireKind, RateTreatment, TaskStatus
from aftercare.followups.models import AnswerSheet, FollowupTask, QuestionnaireTemplate, StoreFollowupSettings
from aftercare.followups.services.generation import followup_tasks_generate
from aftercare.followups.services.rules import followup_rules_seed_defaults
from aftercare.org.choices import Role
from aftercare.testing import factories as f

SH = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 12, 7, 10, 0, tzinfo=SH)

pytestmark = pytest.mark.django_db


def sh(*a):
    return dt.datetime(*a, tzinfo=SH)


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


def _tasks(store, n: int) -> list[FollowupTask]:
    """`n` CSI tasks of `store` (every other generated task cancelled: never counted)."""
    followup_rules_seed_defaults(store)
    customer = f.CustomerFactory(store=store)
    for i in range(n):
        f.RepairOrderFactory(store=store, customer=customer, settled_at=sh(2026, 10, 20, 9, i))
    followup_tasks_generate(store_id=store.pk)
    tasks = list(FollowupTask.objects.filter(store=store, kind=FollowupKind.CSI).order_by("id"))[:n]
    FollowupTask.objects.filter(store=store).exclude(pk__in=[t.pk for t in tasks]).update(
        status=TaskStatus.CANCELLED
    )
    assert len(tasks) == n
    return tasks


def _set(task, *, due, status, closed=None):
    FollowupTask.objects.filter(pk=task.pk).update(due_at=due, status=status, completed_at=closed)


@pytest.fixture
def world(store_a, store_b, users):
    """Store A, November 2026: unreachable calls count as done, refused ones are left out. Tasks due in November:
    completed in time, completed late, unreachable in time, refused, still open, cancelled (rate 2 / 4), and one
    due on 31 October, one on 1 December; answer sheets: SSI 960, CSI 900 dissatisfied, CSI without score
    (satisfaction 2 / 3, SSI 1 sheet, CSI 1 sheet). Store B: two tasks in time, one dissatisfied SSI sheet."""
    StoreFollowupSettings.objects.update_or_create(store=store_a, defaults={
        "unreachable_counts_as": RateTreatment.DONE, "refused_counts_as": RateTreatment.EXCLUDED})
    a = _tasks(store_a, 8)
    due = sh(2026, 11, 10, 12, 0)
    before = due - dt.timedelta(hours=2)
    _set(a[0], due=due, status=TaskStatus.COMPLETED, closed=before)
    _set(a[1], due=due, status=TaskStatus.COMPLETED, closed=due + dt.timedelta(hours=1))
    _set(a[2], due=due, status=TaskStatus.UNREACHABLE, closed=before)
    _set(a[3], due=due, status=TaskStatus.REFUSED, closed=before)
    _set(a[4], due=sh(2026, 11, 30, 23, 59), status=TaskStatus.OPEN)
    _set(a[5], due=due, status=TaskStatus.CANCELLED)
    _set(a[6], due=sh(2026, 10, 31, 23, 59), status=TaskStatus.COMPLETED, closed=sh(2026, 10, 31, 9, 0))
    _set(a[7], due=sh(2026, 12, 1, 0, 0), status=TaskStatus.COMPLETED, closed=sh(2026, 11, 30, 9, 0))
    b = _tasks(store_b, 2)
    for task in b:
        _set(task, due=due, status=TaskStatus.COMPLETED, closed=before)
    ssi, csi = (QuestionnaireTemplate.objects.create(code=f"T-{k}", kind=k, name_zh=k, status="active")
                for k in (QuestionnaireKind.SSI, QuestionnaireKind.CSI))
    user = users[Role.CS_SPECIALIST]
    for task, template, at, score, bad in ((a[0], ssi, sh(2026, 11, 1, 0, 0), "960", False),
                                           (a[1], csi, sh(2026, 11, 15, 10), "900", True),
                                           (a[2], csi, sh(2026, 11, 30, 23, 59), None, False),
                                           (a[3], ssi, sh(2026, 12, 1, 0, 0), "100", False),  # December
                                           (b[0], ssi, sh(2026, 11, 5, 10), "10", True)):
        AnswerSheet.objects.create(store=task.store, task=task, template=template, answered_by=user, answered_at=at,
                                   score_total=Decimal(score) if score else None, dissatisfied=bad)
    return store_a, store_b


CODES = ("followups.return_visit_rate", "followups.satisfaction_rate", "followups.ssi_score",
         "followups.csi_score")


def _links(html: str, code: str) -> dict[str, str]:
    row = html.split(f'href="/reports/measures/{code}/', 1)[1].split("</tr>", 1)[0]
    return {kind: url.replace("&amp;", "&") for url, kind in
            re.findall(r'<a href="([^"]+)" data-drill="(numerator|denominator)"', row)}


def _figure(html: str, code: str) -> tuple[int | None, int]:
    row = html.split(f'href="/reports/measures/{code}/', 1)[1].split("</tr>", 1)[0]
    both = re.search(r'data-drill="numerator"[^>]*>(\d+)</a> / <a [^>]*data-drill="denominator"[^>]*>(\d+)', row)
    if both:
        return int(both.group(1)), int(both.group(2))
    return None, int(re.search(r'data-drill="denominator"[^>]*>(\d+)', row).group(1))


def _rows(html: str) -> int:
    body = html.split('id="drill-table"', 1)[1].split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return len(re.findall(r"<tr><td>(?!.*colspan)", body))


@pytest.mark.parametrize("period,start", [("month", "2026-11"), ("quarter", "2026-10")])
def test_it_links_each_follow_up_figure_to_exactly_the_rows_it_counts(client, users, world, period, start):
    store_a, store_b = world
    client.force_login(users[Role.CS_MANAGER])
    html = client.get("/reports/measures/", {"level": "store", "store": store_a.pk, "period": period,
                                             "start": start}).content.decode()
    for code in CODES:
        links = _links(html, code)
        assert "denominator" in links, code
        figure = dict(zip(("numerator", "denominator"), _figure(html, code), strict=True))
        for kind, url in links.items():
            assert f"store={store_a.pk}" in url, url
            assert ("until=2027-01" in url) == (period == "quarter"), url
            page = client.get(url)
            assert page.status_code == 200, url
            body = page.content.decode()
            assert store_b.code not in body.split("<tbody>", 1)[-1], (code, url)
            assert _rows(body) == figure[kind], (code, kind, url)
    if period == "month":  # the hand-counted store-month
        assert _figure(html, "followups.return_visit_rate") == (2, 4)
        assert _figure(html, "followups.satisfaction_rate") == (2, 3)
        assert _figure(html, "followups.ssi_score") == (None, 1)
        assert _figure(html, "followups.csi_score") == (None, 1)
    else:  # the quarter adds the tasks due on 31 October and 1 December (both in time)
        assert _figure(html, "followups.return_visit_rate") == (4, 6)


def test_it_follows_the_stores_setting_when_it_changes(client, users, world):
    store_a, _store_b = world
    StoreFollowupSettings.objects.filter(store=store_a).update(unreachable_counts_as=RateTreatment.EXCLUDED,
                                                               refused_counts_as=RateTreatment.MISSED)
    client.force_login(users[Role.CS_MANAGER])
    html = client.get("/reports/measures/", {"level": "store", "store": store_a.pk, "period": "month",
                                             "start": "2026-11"}).content.decode()
    assert _figure(html, "followups.return_visit_rate") == (1, 4)
    links = _links(html, "followups.return_visit_rate")
    assert _rows(client.get(links["numerator"]).content.decode()) == 1
    assert _rows(client.get(links["denominator"]).content.decode()) == 4


def test_it_never_lists_another_stores_rows(client, users, world):
    store_a, store_b = world
    client.force_login(users[Role.CS_MANAGER])
    for url, counted in (("/followups/measures/tasks/", "due"), ("/followups/measures/sheets/", "answered")):
        response = client.get(url, {"store": store_b.pk, "month": "2026-11", "counted": counted})
        assert response.status_code == 404, url
        body = client.get(url, {"month": "2026-11", "counted": counted}).content.decode()  # the user's stores
        assert client.get(url, {"month": "2026-11", "counted": counted}).status_code == 200
        assert store_b.code not in body.split("<tbody>", 1)[-1], url


@pytest.mark.parametrize("query", [
    "month=2026-11&until=2026-13&counted=due",
    "month=2026-11&until=2026-11&counted=due",
    "month=9999-12&counted=due",
    "month=zz&counted=due",
    "month=2026-11&counted=everything",
    "month=2026-11&store=abc&counted=due",
    "month=2026-11&store=99999999999999999999&counted=due",
])
def test_it_refuses_a_bad_filter_with_a_named_error_never_a_500(client, users, world, query):
    client.force_login(users[Role.CS_MANAGER])
    for url in ("/followups/measures/tasks/", "/followups/measures/sheets/"):
        if "counted=due" in query and "sheets" in url:
            query = query.replace("counted=due", "kind=nps")
        response = client.get(f"{url}?{query}", HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 400, (url, query)
        assert "invalid-feedback" in response.content.decode(), (url, query)


def test_it_lists_in_a_fixed_number_of_queries(client, users, world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    store_a, _store_b = world
    client.force_login(users[Role.CS_MANAGER])
    counts = []
    for url, query in (("/followups/measures/tasks/", "counted=due&month=2026-11"),  # 4 tasks
                       ("/followups/measures/tasks/", "counted=due&month=2026-10&until=2027-01"),  # 6 tasks
                       ("/followups/measures/sheets/", "month=2026-11"),  # 3 sheets
                       ("/followups/measures/sheets/", "month=2026-10&until=2027-01")):  # 4 sheets
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(f"{url}?{query}&store={store_a.pk}").status_code == 200
        counts.append(len(ctx))
    assert counts[0] == counts[1] and counts[2] == counts[3] and max(counts) <= 15, counts
