"""The month summary of the class flows (`ClassFlowMonth`, docs/care.md "Classes and churn"): written by the daily
classification, equal to the figures read from the class history the former way (the oracle,
`selectors.class_flows_by_store_months_history`) for every month, store and scope; unchanged by a same-day rerun;
right after a killed run and after a backfill; the classes page reads it, not the history."""

import datetime as dt
import importlib
import random
from unittest import mock

import pytest
import time_machine
from django.apps import apps as django_apps
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from aftercare.care import selectors
from aftercare.care.classes_hooks import CHURN_RATE, LOYAL_SHARE
from aftercare.care.models import ClassChange, ClassFlowMonth
from aftercare.care.services import classes as svc
from aftercare.care.services.classes import class_flow_months_rebuild, customers_classify
from aftercare.org.calendar import month_add
from aftercare.org.choices import Role

from .classes_helpers import customer, delivered, visit

pytestmark = pytest.mark.django_db
FIRST = dt.date(2025, 3, 1)  # months before the first run: nobody
MONTHS = 20  # … to 2026-10: months after the last run carry its end
LAST_RUN = dt.date(2026, 7, 20)


def _run_days() -> list[dt.date]:
    """Month-ends from June 2025 to June 2026 but November (a month without a run), two mid-month days, the last."""
    ends = [month_add(dt.date(2025, 7, 1), k) - dt.timedelta(days=1) for k in range(13)]
    days = [d for d in ends if d.month != 11] + [dt.date(2026, 3, 10), dt.date(2026, 3, 20), LAST_RUN]
    return sorted(days)


def _customers(store, rng: random.Random, n: int) -> None:
    """Customers whose classes move over the year: deliveries and visits at random days of 2023-07 … 2026-07."""
    start = dt.date(2023, 7, 1)
    for _ in range(n):
        c = customer(store)
        delivered(c, f"{start + dt.timedelta(days=rng.randrange(0, 900))}")
        for _ in range(rng.randrange(0, 6)):
            day = start + dt.timedelta(days=rng.randrange(0, 1100))
            visit(c, f"{day}", amount=rng.choice(["0", "680.00", "1200.00"]))


@pytest.fixture
def history(store_a, store_b):
    rng = random.Random(18)
    _customers(store_a, rng, 14)
    _customers(store_b, rng, 10)
    for day in _run_days():
        with time_machine.travel(dt.datetime.combine(day, dt.time(2)).replace(tzinfo=dt.UTC), tick=False):
            customers_classify(today=day)
    return _run_days()


def _rows() -> list[tuple]:
    return list(ClassFlowMonth.objects.order_by("store_id", "month", "from_class", "to_class")
                .values_list("store_id", "month", "from_class", "to_class", "customers"))


def _scopes(users, store_a, store_b):
    admin, manager = users[Role.GROUP_ADMIN], users[Role.CS_MANAGER]
    return [(admin, None), (admin, [store_b.pk]), (admin, [store_a.pk]), (manager, None), (manager, [store_b.pk]),
            (users[Role.CS_SPECIALIST], None)]


def _assert_as_the_history(users, store_a, store_b):
    """Every month × store × scope, the summary's figures against the history's (the page's, the API's and the
    KPI measures' reads go through `class_flows_by_store_months`)."""
    got = selectors.class_flows_by_store_months(store_ids={store_a.pk, store_b.pk}, first=FIRST, count=MONTHS)
    want = selectors.class_flows_by_store_months_history(store_ids={store_a.pk, store_b.pk}, first=FIRST,
                                                         count=MONTHS)
    for k, (g, w) in enumerate(zip(got, want, strict=True)):
        for sid in (store_a.pk, store_b.pk):
            flows = {key: n for key, n in g[sid]["flows"].items() if n}
            assert flows == {key: n for key, n in w[sid]["flows"].items() if n}, (month_add(FIRST, k), sid)
            for key in ("start", "end"):
                assert {c: n for c, n in g[sid][key].items() if n} == {c: n for c, n in w[sid][key].items() if n}
            for key in ("base", "churned", "churn_rate", "loyal", "end_base", "loyal_share"):
                assert g[sid][key] == w[sid][key], (month_add(FIRST, k), sid, key)
    for user, asked in _scopes(users, store_a, store_b):
        ours = selectors.class_flows_months(user=user, first=FIRST, count=MONTHS, store_ids=asked)
        kpis = [m.compute(user=user, store_ids=asked, period_start=dt.date(2025, 6, 1),
                          period_end=dt.date(2026, 8, 1)) for m in (CHURN_RATE, LOYAL_SHARE)]
        with mock.patch.object(selectors, "class_flows_by_store_months",
                               selectors.class_flows_by_store_months_history):
            assert ours == selectors.class_flows_months(user=user, first=FIRST, count=MONTHS, store_ids=asked)
            assert kpis == [m.compute(user=user, store_ids=asked, period_start=dt.date(2025, 6, 1),
                                      period_end=dt.date(2026, 8, 1)) for m in (CHURN_RATE, LOYAL_SHARE)]
    return got


def test_it_summarizes_the_months_as_the_class_history_says(history, users, store_a, store_b):
    got = _assert_as_the_history(users, store_a, store_b)
    # not a trivial history: customers changed class, some became lost from the base, months were carried
    assert sum(m[sid]["churned"] for m in got for sid in m) > 0
    assert sum(1 for m in got for sid in m if m[sid]["flows"].get((selectors.NONE, "lost"))) > 0
    months = set(ClassFlowMonth.objects.values_list("month", flat=True))
    assert min(months) == dt.date(2025, 6, 1) and max(months) == dt.date(2026, 7, 1)
    assert dt.date(2025, 11, 1) in months  # the month without a run was written by the next run, carried
    assert ClassChange.objects.filter(on_date__month=11, on_date__year=2025).count() == 0


def test_it_leaves_the_rows_alone_on_a_same_day_rerun(history, store_a):
    before = list(ClassFlowMonth.objects.order_by("pk").values_list("pk", "store_id", "month", "from_class",
                                                                     "to_class", "customers", "updated_at"))
    assert sum(customers_classify(today=LAST_RUN).values()) == 0
    after = list(ClassFlowMonth.objects.order_by("pk").values_list("pk", "store_id", "month", "from_class",
                                                                    "to_class", "customers", "updated_at"))
    assert after == before


def test_it_is_right_after_a_killed_run_and_equals_a_rebuild_from_the_history(history, users, store_a, store_b):
    day = dt.date(2026, 8, 31)  # a new month: classes change (the months since the last visits pass)
    real = svc._flow_months_refresh

    def killed(cursor, *, store_id, **kw):
        real(cursor, store_id=store_id, **kw)
        if store_id == store_b.pk:
            raise RuntimeError("killed")

    with mock.patch.object(svc, "_flow_months_refresh", killed), pytest.raises(RuntimeError):
        customers_classify(today=day)
    assert not ClassChange.objects.filter(store=store_b, on_date=day).exists()  # store B rolled back whole
    assert not ClassFlowMonth.objects.filter(store=store_b, month=dt.date(2026, 8, 1)).exists()
    assert sum(customers_classify(today=day).values()) > 0  # store B again
    incremental = _rows()
    assert ClassFlowMonth.objects.filter(store=store_b, month=dt.date(2026, 8, 1)).exists()
    _assert_as_the_history(users, store_a, store_b)
    class_flow_months_rebuild()
    assert _rows() == incremental


def test_it_backfills_the_months_from_the_history(history, users, store_a, store_b):
    """A database whose class history predates the summary: its migration, and (without it) the first run."""
    want = _rows()
    ClassFlowMonth.objects.all().delete()
    migration = importlib.import_module("aftercare.care.migrations.0007_class_flow_month")
    migration.backfill(django_apps, None)
    assert _rows() == want
    ClassFlowMonth.objects.all().delete()
    customers_classify(today=LAST_RUN)  # no change of class: the summary still written, from the whole history
    assert _rows() == want
    _assert_as_the_history(users, store_a, store_b)


def test_it_shows_the_classes_page_from_the_summary_in_a_fixed_number_of_queries(history, users):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(users[Role.CS_MANAGER])
    counts = []
    for month in ("2026-07", "2025-12", "2025-04"):
        with CaptureQueriesContext(connection) as ctx:
            response = client.get("/care/classes/", {"month": month})
        assert response.status_code == 200
        sql = [q["sql"] for q in ctx.captured_queries]
        assert not [s for s in sql if ClassChange._meta.db_table in s]  # the history is not read
        assert sum(1 for s in sql if ClassFlowMonth._meta.db_table in s) == 1  # the 12 months: one query
        counts.append(len(sql))
    assert len(set(counts)) == 1 and counts[0] <= 12
