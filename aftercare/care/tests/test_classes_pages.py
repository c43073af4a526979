"""Churn rate and flows (hand-computed), churn reasons, the classes pages, win-back list, settings, customer panel,
call-screen card, start card, KPI measures and the API of the classes part."""

import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest
import time_machine

from aftercare.care import selectors
from aftercare.care.classes_hooks import CHURN_RATE, LOYAL_SHARE
from aftercare.care.models import CareProfile, ChurnReason, ClassChange, ClassSettings
from aftercare.care.services.classes import churn_reason_record, class_flow_months_rebuild
from aftercare.org.choices import Role
from aftercare.testing.clients import api_client, page_client

from .classes_helpers import care_task, customer

pytestmark = pytest.mark.django_db
JUNE = dt.date(2026, 6, 1)
NOW = dt.datetime(2026, 7, 10, 2, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


def _history(store, changes, *, cls, spend="0"):
    c = customer(store)
    for on, c0, c1 in changes:
        ClassChange.objects.create(store=store, customer=c, from_class=c0, to_class=c1, on_date=dt.date(*on),
                                   rule="no_visit" if c1 == "lost" else "")
    CareProfile.objects.create(store=store, customer=c, customer_class=cls, classified_on=dt.date(2026, 7, 1),
                               class_since=dt.date(2026, 6, 30), spend_12m=Decimal(spend),
                               lost_rule="no_visit" if cls == "lost" else "")
    return c


@pytest.fixture
def june(store_a, store_b):
    """Seven customers of store A (hand-computed June: base 4, churned 1 → 25.0 %) and one of store B."""
    p = {
        "churned": _history(store_a, [((2026, 5, 31), "", "regular"), ((2026, 6, 30), "regular", "lost")],
                            cls="lost", spend="900"),
        "loyal": _history(store_a, [((2026, 5, 31), "", "loyal")], cls="loyal"),
        "grew": _history(store_a, [((2026, 5, 31), "", "new"), ((2026, 6, 15), "new", "regular")], cls="regular"),
        "was_lost": _history(store_a, [((2026, 5, 31), "", "lost")], cls="lost", spend="100"),
        "joined": _history(store_a, [((2026, 6, 10), "", "regular")], cls="regular"),
        "back": _history(store_a, [((2026, 5, 31), "", "loyal"), ((2026, 6, 5), "loyal", "lost"),
                                   ((2026, 6, 20), "lost", "regular")], cls="regular"),
        "july": _history(store_a, [((2026, 7, 1), "", "regular")], cls="regular"),
        "other": _history(store_b, [((2026, 5, 31), "", "regular"), ((2026, 6, 2), "regular", "lost")], cls="lost",
                          spend="5000"),
    }
    class_flow_months_rebuild()  # the history is planted by hand: its month summary from it, as the migration does
    return p


def test_it_computes_the_churn_rate_and_flows_as_by_hand(june, users, store_a):
    got = selectors.class_flows(user=users[Role.CS_MANAGER], month=JUNE)
    assert (got["base"], got["churned"], got["churn_rate"], got["loyal_share"]) == (4, 1, Decimal("25.0"),
                                                                                 Decimal("25.0"))
    assert {k: v for k, v in got["flows"].items() if v} == {
        ("regular", "lost"): 1, ("loyal", "loyal"): 1, ("new", "regular"): 1, ("lost", "lost"): 1,
        ("none", "regular"): 1, ("loyal", "regular"): 1,
    }
    assert got["start"] == {"new": 1, "loyal": 2, "regular": 1, "lost": 1}
    # the group admin sees store B's churned customer too
    both = selectors.class_flows(user=users[Role.GROUP_ADMIN], month=JUNE)
    assert (both["base"], both["churned"]) == (5, 2)
    # without care.manage: nothing
    assert selectors.class_flows(user=users[Role.CS_SPECIALIST], month=JUNE)["base"] == 0


def test_it_reads_the_flows_of_twelve_months_in_one_query_as_the_month_by_month_subqueries(
        june, users, store_a, django_assert_num_queries):
    manager = users[Role.GROUP_ADMIN]
    first = dt.date(2025, 9, 1)
    with django_assert_num_queries(1):
        months = selectors.class_flows_by_store_months(store_ids={store_a.pk, june["other"].store_id}, first=first,
                                                       count=12)
    history = selectors.class_flows_by_store_months_history(store_ids={store_a.pk, june["other"].store_id},
                                                            first=first, count=12)
    assert months == history  # the month summary's figures are the class history's
    for k, got in enumerate(months):
        month = dt.date(2025 + (8 + k) // 12, (8 + k) % 12 + 1, 1)
        for sid, cell in got.items():
            # the definition, month by month: each profile's latest change before the month's start and end
            want = {}
            for p in selectors.class_month_profiles(store_ids=[sid], month=month):
                key = (p.c0 or selectors.NONE, p.c1)
                want[key] = want.get(key, 0) + 1
            assert {key: n for key, n in cell["flows"].items() if n} == want, (month, sid)
    june_cells = months[9]
    assert (june_cells[store_a.pk]["base"], june_cells[store_a.pk]["churned"]) == (4, 1)
    assert selectors.class_flows_months(user=manager, first=first, count=12)[9]["churned"] == 2
    july = selectors.class_flows_months(user=manager, first=first, count=12)[10]
    assert {key: n for key, n in july["flows"].items() if n} == {
        ("lost", "lost"): 3, ("regular", "regular"): 3, ("loyal", "loyal"): 1, ("none", "regular"): 1}


def test_it_measures_churn_rate_and_loyal_share_per_store_and_month(june, users, store_a):
    manager = users[Role.CS_MANAGER]
    [value] = CHURN_RATE.compute(user=manager, store_ids=None, period_start=JUNE, period_end=dt.date(2026, 7, 1))
    assert (value.store_id, value.value, value.numerator, value.denominator, value.provisional) == (
        store_a.pk, Decimal("25.0"), 1, 4, False)
    [share] = LOYAL_SHARE.compute(user=manager, store_ids=None, period_start=JUNE, period_end=dt.date(2026, 7, 1))
    assert (share.numerator, share.denominator) == (1, 4)


def test_it_shows_the_classes_page_with_its_drill_downs(june, users, django_assert_max_num_queries):
    client = page_client(users[Role.CS_MANAGER])
    with django_assert_max_num_queries(14):  # the 12 months of flows: one query
        response = client.get("/care/classes/", {"month": "2026-06"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="churn-rate">25.0%' in html and "Churn rate by month" in html
    assert "/care/classes/flow/?month=2026-06&amp;from=regular&amp;to=lost" in html
    flow = client.get("/care/classes/flow/", {"month": "2026-06", "from": "regular", "to": "lost"})
    assert flow.status_code == 200
    assert june["churned"].name in flow.content.decode()
    assert june["back"].name not in flow.content.decode() and june["other"].name not in flow.content.decode()
    joined = client.get("/care/classes/flow/", {"month": "2026-06", "from": "none", "to": "regular"})
    assert june["joined"].name in joined.content.decode()
    assert client.get("/care/classes/flow/", {"month": "2026-06", "from": "x", "to": "lost"}).status_code == 400
    assert client.get("/care/classes/", {"month": "junk"}).status_code == 200
    assert page_client(users[Role.CS_SPECIALIST]).get("/care/classes/").status_code == 403


def test_it_drills_the_churn_rate_and_loyal_share_down_to_their_customers(june, users, store_a, store_b):
    """Each store-month figure of the two measures links to exactly the customers it counts (drill_for)."""
    import re

    from aftercare.org.kpis import Drill, drill_for

    manager, july = users[Role.GROUP_ADMIN], dt.date(2026, 7, 1)
    client = page_client(manager)
    for measure in (CHURN_RATE, LOYAL_SHARE):
        [value] = [v for v in measure.compute(user=manager, store_ids=None, period_start=JUNE, period_end=july)
                   if v.store_id == store_a.pk]
        drill = drill_for(measure, store_id=store_a.pk, start=JUNE, end=july)
        for url, expected in ((drill.numerator, value.numerator), (drill.denominator, value.denominator)):
            response = client.get(url)
            assert response.status_code == 200, url
            rows = re.findall(r'<tr data-customer="(\d+)"', response.content.decode())
            assert len(rows) == expected, (measure.code, url)
            assert str(june["other"].pk) not in rows  # store B's customer, though the group admin sees store B
        assert drill_for(measure, store_id=store_a.pk, start=JUNE, end=dt.date(2026, 9, 1)) == Drill()  # a month
    churned = client.get(drill_for(CHURN_RATE, store_id=store_a.pk, start=JUNE, end=july).numerator)
    assert june["churned"].name in churned.content.decode()
    # another store's id: 404 for a manager of store A only; a bad store: 400
    specialist_manager = page_client(users[Role.CS_MANAGER])
    query = {"month": "2026-06", "from": "base", "to": "lost"}
    assert specialist_manager.get("/care/classes/flow/", {**query, "store": store_b.pk}).status_code == 404
    assert specialist_manager.get("/care/classes/flow/", {**query, "store": "x"}).status_code == 400
    assert specialist_manager.get("/care/classes/flow/", {**query, "to": "everyone"}).status_code == 400


def _flow_customers_former(*, store_ids, month, from_class, to_class):
    """The drill-down's former definition, the reference: two correlated subqueries a profile."""
    qs = selectors.class_month_profiles(store_ids=store_ids, month=month).filter(c1=to_class)
    qs = qs.filter(c0__isnull=True) if from_class == selectors.NONE else qs.filter(c0=from_class)
    return list(qs.order_by("-spend_12m", "customer_id").values_list("customer_id", flat=True))


def test_it_drills_down_every_flow_cell_to_the_same_customers_as_the_former_subqueries(
        june, users, store_a, store_b, django_assert_num_queries):
    # more histories over May–August in both stores: a change on a month's first day, two changes the same day
    # (the later id wins), changes only after the month, a history without a profile, equal spends
    _history(store_a, [((2026, 5, 1), "", "new"), ((2026, 6, 1), "new", "loyal"), ((2026, 7, 1), "loyal", "lost")],
             cls="lost", spend="900")
    _history(store_a, [((2026, 6, 30), "", "new"), ((2026, 6, 30), "new", "lost")], cls="lost")
    _history(store_a, [((2026, 4, 30), "", "loyal"), ((2026, 5, 31), "loyal", "loyal"),
                       ((2026, 5, 31), "loyal", "regular"), ((2026, 7, 31), "regular", "new")], cls="new")
    _history(store_b, [((2026, 8, 1), "", "regular")], cls="regular")
    _history(store_b, [((2026, 5, 15), "", "lost"), ((2026, 6, 15), "lost", "new"), ((2026, 6, 16), "new", "lost"),
                       ((2026, 7, 2), "lost", "loyal")], cls="loyal", spend="900")
    orphan = customer(store_b)
    ClassChange.objects.create(store=store_b, customer=orphan, to_class="regular", on_date=dt.date(2026, 5, 2))
    admin, manager = users[Role.GROUP_ADMIN], users[Role.CS_MANAGER]
    scopes = [(admin, None, [store_a.pk, store_b.pk]), (admin, [store_b.pk], [store_b.pk]),
              (manager, None, [store_a.pk]), (manager, [store_b.pk], [])]
    nonempty = set()
    for month in (dt.date(2026, 5, 1), JUNE, dt.date(2026, 7, 1), dt.date(2026, 8, 1)):
        for c0 in (selectors.NONE, *selectors.CLASS_ORDER):
            for c1 in selectors.CLASS_ORDER:
                for user, asked, scope in scopes:
                    want = _flow_customers_former(store_ids=scope, month=month, from_class=c0, to_class=c1)
                    got = list(selectors.class_flow_customers(user=user, month=month, from_class=c0, to_class=c1,
                                                              store_ids=asked).values_list("customer_id", flat=True))
                    assert got == want, (month, c0, c1, user.username, asked)
                    if want:
                        nonempty.add((month, c0, c1))
    assert len(nonempty) >= 20  # the history reaches many cells
    assert orphan.pk not in {p.customer_id for p in selectors.class_month_profiles(store_ids=[store_b.pk],
                                                                                    month=JUNE)}
    # the page: its customers with their store, in a fixed number of queries, however many rows
    client = page_client(admin)
    client.get("/care/classes/flow/", {"month": "2026-07", "from": "lost", "to": "lost"})  # session warmed
    with django_assert_num_queries(8) as ctx:
        response = client.get("/care/classes/flow/", {"month": "2026-07", "from": "lost", "to": "lost"})
    assert response.status_code == 200
    html = response.content.decode()
    want = _flow_customers_former(store_ids=[store_a.pk, store_b.pk], month=dt.date(2026, 7, 1), from_class="lost",
                                  to_class="lost")
    assert len(want) >= 3 and [html.count(f'data-customer="{pk}"') for pk in want] == [1] * len(want)
    assert html.index(f'data-customer="{want[0]}"') < html.index(f'data-customer="{want[-1]}"')
    assert sum(q["sql"].count("ROW_NUMBER") for q in ctx.captured_queries) == 2  # the count and the page


def test_it_reports_churn_reasons_with_their_shares(june, users, store_a):
    manager = users[Role.CS_MANAGER]
    a, b, c = customer(store_a), customer(store_a), customer(store_a)
    with time_machine.travel(dt.datetime(2026, 5, 3, 2, tzinfo=dt.UTC), tick=False):
        churn_reason_record(actor=manager, customer=a, reason="moved")  # replaced by the later one
    churn_reason_record(actor=manager, customer=a, reason="price")
    churn_reason_record(actor=manager, customer=b, reason="price", note="太贵")
    churn_reason_record(actor=manager, customer=c, reason="another_dealer")
    got = selectors.churn_reason_shares(user=manager, since=dt.date(2025, 8, 1), until=dt.date(2026, 8, 1))
    assert [(r["reason"], r["n"], r["share"]) for r in got] == [("price", 2, Decimal("66.7")),
                                                               ("another_dealer", 1, Decimal("33.3"))]
    html = page_client(manager).get("/care/classes/", {"month": "2026-07"}).content.decode()
    assert 'data-reason="price"' in html and "66.7%" in html


def test_it_lists_lost_customers_to_win_back_and_exports_them(june, users, store_a, django_assert_max_num_queries):
    manager = users[Role.CS_MANAGER]
    churn_reason_record(actor=manager, customer=june["churned"], reason="sold_car", note="卖车了")
    client = page_client(manager)
    with django_assert_max_num_queries(12):
        response = client.get("/care/winback/")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.index(june["churned"].name) < html.index(june["was_lost"].name)  # 900 before 100
    assert june["other"].name not in html and june["loyal"].name not in html
    assert "Sold the car" in html and "/care/campaigns/new/?segment=lost" in html
    export = client.get("/care/winback/export/")
    assert export.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(export.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert [r[2] for r in rows[1:]] == [june["churned"].name, june["was_lost"].name]
    assert rows[1][8] == "Sold the car" and rows[1][9] == "卖车了"


def test_it_saves_the_class_settings_and_names_a_bad_field(users, store_a):
    client = page_client(users[Role.CS_MANAGER])
    assert client.get("/care/classes/settings/").status_code == 200
    data = {"store": store_a.pk, "lost_after_months": 9, "once_a_year_max_visits": 1, "reminded_min": 4,
            "loyal_min_visits": 3, "lost_when_only_inspections": ""}
    assert client.post("/care/classes/settings/", data).status_code == 302
    row = ClassSettings.objects.get(store=store_a)
    assert (row.lost_after_months, row.reminded_min, row.loyal_min_visits, row.lost_when_only_inspections) == (
        9, 4, 3, False)
    bad = client.post("/care/classes/settings/", {**data, "lost_after_months": "99"})
    assert bad.status_code == 400 and "is-invalid" in bad.content.decode()
    assert ClassSettings.objects.get(store=store_a).lost_after_months == 9
    assert page_client(users[Role.CS_SPECIALIST]).get("/care/classes/settings/").status_code == 403


def test_it_shows_the_class_on_the_customer_page_and_records_a_reason(june, users, store_b):
    specialist = users[Role.CS_SPECIALIST]
    client = page_client(specialist)
    c = june["churned"]
    html = client.get(f"/customers/{c.pk}/").content.decode()
    assert 'id="customer-class"' in html and 'data-class="lost"' in html and 'id="class-history"' in html
    assert "No maintenance or repair for 6+ months" in html
    response = client.post(f"/care/customers/{c.pk}/churn-reason/", {"reason": "moved", "note": "搬到深圳"})
    assert response.status_code == 302
    assert ChurnReason.objects.get(customer=c).reason == "moved"
    assert client.post(f"/care/customers/{c.pk}/churn-reason/", {"reason": "nonsense"}).status_code == 302
    assert ChurnReason.objects.filter(customer=c).count() == 1
    other = june["other"]
    assert client.post(f"/care/customers/{other.pk}/churn-reason/", {"reason": "moved"}).status_code == 404
    assert not ChurnReason.objects.filter(customer=other).exists()


def test_it_offers_the_reason_on_the_call_screen_of_a_lost_customer(june, users):
    manager = users[Role.CS_MANAGER]
    task = care_task(june["churned"], "2026-07-09")
    html = page_client(manager).get(f"/followups/tasks/{task.pk}/").content.decode()
    assert 'id="care-class-card"' in html and f'name="task" value="{task.pk}"' in html
    loyal_task = care_task(june["loyal"], "2026-07-09")
    assert 'id="care-class-card"' not in page_client(manager).get(f"/followups/tasks/{loyal_task.pk}/").content.decode()
    response = page_client(manager).post(f"/care/customers/{june['churned'].pk}/churn-reason/",
                                     {"reason": "service", "task": task.pk, "next": f"/followups/tasks/{task.pk}/"})
    assert response["Location"] == f"/followups/tasks/{task.pk}/"
    assert ChurnReason.objects.get(customer=june["churned"]).task_id == task.pk


def test_a_churn_reason_does_not_redirect_to_an_outside_next(june, users):
    c = june["churned"]
    response = page_client(users[Role.CS_SPECIALIST]).post(
        f"/care/customers/{c.pk}/churn-reason/", {"reason": "moved", "next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == f"/customers/{c.pk}/"
    assert ChurnReason.objects.get(customer=c).reason == "moved"


def test_it_shows_the_newly_lost_on_the_managers_start_page(june, users):
    ClassChange.objects.create(store=june["loyal"].store, customer=june["loyal"], from_class="loyal",
                               to_class="lost", rule="no_visit", on_date=dt.date(2026, 7, 3))
    html = page_client(users[Role.CS_MANAGER]).get("/today/").content.decode()
    assert "Became lost this month" in html and "Lost customers to win back" in html


def test_it_answers_the_class_api(june, users):
    manager = api_client(users[Role.CS_MANAGER])
    body = manager.get("/api/care/classes", {"month": "2026-06"}).json()
    assert (body["base"], body["churned"], body["churn_rate"]) == (4, 1, "25.0")
    assert {"from_class": "regular", "to_class": "lost", "customers": 1} in body["flows"]
    assert manager.get("/api/care/classes", {"month": "2026-13"}).status_code == 422
    c = june["churned"]
    got = manager.get(f"/api/care/customers/{c.pk}/class").json()
    assert got["customer_class"] == "lost" and [h["to_class"] for h in got["history"]] == ["lost", "regular"]
    assert manager.get(f"/api/care/customers/{june['other'].pk}/class").status_code == 404
    assert api_client(users[Role.SERVICE_ADVISOR]).get(f"/api/care/customers/{c.pk}/class").status_code == 403
    assert api_client(users[Role.CS_SPECIALIST]).get("/api/care/classes").status_code == 403
