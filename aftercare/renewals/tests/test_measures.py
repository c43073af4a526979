"""The renewal measures (docs/kpis.md, "Insurance renewals") against a store-month computed by hand: the monthly
table, segments, specialists, reasons for loss, targets and gaps, the running month, premiums only for
`renewal.premium`, flat query counts, the XLSX export and the API."""

import datetime as dt
import io
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from aftercare.org.choices import Role
from aftercare.org.kpis import measure_get
from aftercare.org.models import KpiTarget
from aftercare.org.permissions import ROLE_PERMISSIONS, Perm
from aftercare.renewals import kpis, measures
from aftercare.renewals.models import RenewalCase
from aftercare.testing import factories as f
from conftest import CANARY

pytestmark = pytest.mark.django_db

NOV = dt.date(2026, 11, 1)
NOW = dt.datetime(2026, 12, 15, 4, tzinfo=dt.UTC)  # December 2026 is running, November is over
TODAY = dt.date(2026, 12, 15)


def case(store, *, expiry=dt.date(2026, 11, 20), segment="new_car_first", state="open", estimated=False,
         contacts=0, holder=None, outcome_by=None, reason="", insurer="", premium=None):
    """A case as the daily run and the specialists would have left it (written directly: measures read columns)."""
    customer = f.CustomerFactory(store=store, name=CANARY if store.code == "B01" else "客户")
    vehicle = f.owned_vehicle(customer)
    return RenewalCase.objects.create(
        store=store, customer=customer, vehicle=vehicle, expiry_date=expiry, expiry_estimated=estimated,
        segment=segment, state=state, contacts_made=contacts, holder=holder, outcome_by=outcome_by,
        outcome_reason=reason, outcome_insurer=insurer, outcome_premium=premium,
        outcome="" if state in ("open", "lapsed") else state,
    )


def policy(store, start: dt.date, kind: str, premium: str, insurer="中国人保"):
    customer = f.CustomerFactory(store=store, name=CANARY if store.code == "B01" else "客户")
    return f.InsurancePolicyFactory(
        store=store, customer=customer, vehicle=f.owned_vehicle(customer), start_date=start,
        expiry_date=start.replace(year=start.year + 1), kind=kind, premium=Decimal(premium),
        insurer=CANARY if store.code == "B01" else insurer,
    )


@pytest.fixture
def specialist_r(users):
    return users[Role.RENEWAL_SPECIALIST]


@pytest.fixture
def month(store_a, store_b, users, specialist_r):
    """Store A's November 2026 (ten cases, five policies) and its neighbours; the figures below are by hand."""
    manager = users[Role.CS_MANAGER]
    s = specialist_r
    rows = [
        case(store_a, state="renewed_here", contacts=2, holder=s),  # 1 imported renewal
        case(store_a, state="renewed_here", contacts=1, holder=s, insurer="中国人保", premium=Decimal("5000")),  # 2
        case(store_a, state="not_renewed", contacts=1, holder=s, reason="price"),  # 3
        case(store_a, segment="renewed_here", state="renewed_here", contacts=1, holder=manager),  # 4
        case(store_a, segment="renewed_here", state="renewed_elsewhere", contacts=1, holder=s, reason="price",
             insurer="平安"),  # 5
        case(store_a, segment="renewed_here", holder=s),  # 6 still open
        case(store_a, segment="insured_elsewhere", estimated=True, state="renewed_here", contacts=1,
             outcome_by=manager),  # 7
        case(store_a, segment="insured_elsewhere", estimated=True, state="not_renewed", reason="sold_car"),  # 8
        case(store_a, segment="lapsed_returned", estimated=True, state="lapsed"),  # 9
        case(store_a, segment="lapsed_lost", estimated=True, state="renewed_elsewhere", contacts=1,
             holder=manager, reason="claims_experience", insurer="太平洋"),  # 10
        case(store_a, expiry=dt.date(2026, 10, 31), state="renewed_here"),  # October
        case(store_a, expiry=dt.date(2026, 12, 1)),  # December, still open
        case(store_b, state="renewed_here", insurer=CANARY),  # another store
    ]
    policy(store_a, dt.date(2026, 11, 1), "new_car", "5200")
    policy(store_a, dt.date(2026, 11, 30), "new_car", "4800")
    policy(store_a, dt.date(2026, 11, 3), "renewal", "5000")
    policy(store_a, dt.date(2026, 11, 15), "renewal", "4500", insurer="平安")
    policy(store_a, dt.date(2026, 11, 28), "renewal", "3000.50")
    policy(store_a, dt.date(2026, 10, 31), "renewal", "1000")
    policy(store_a, dt.date(2026, 12, 1), "renewal", "2000")
    policy(store_b, dt.date(2026, 11, 10), "renewal", "9999")
    return rows


def _nov(table, store_id=None):
    data = table["total"] if store_id is None else table["stores"][store_id]
    return measures.with_rates(data[NOV], premiums=True)


def test_it_counts_a_store_month_as_computed_by_hand(month, store_a, specialist_r):
    table = measures.renewal_monthly_table(user=specialist_r, year=2026)
    nov = _nov(table)
    assert (nov["new_car_count"], nov["new_car_premium"]) == (2, Decimal("10000.00"))
    assert (nov["renewal_count"], nov["renewal_premium"]) == (3, Decimal("12500.50"))
    assert nov["expiring"] == 10 and nov["renewed_here"] == 4 and nov["renewal_rate"] == Decimal("40.0")
    assert (nov["renewed_elsewhere"], nov["not_renewed"], nov["lapsed"], nov["open"]) == (2, 2, 1, 1)
    assert (nov["expiring_filed"], nov["renewed_filed"], nov["renewal_rate_filed"]) == (6, 3, Decimal("50.0"))
    assert nov["effective"] == 7 and nov["effective_contact_rate"] == Decimal("70.0")
    assert table["total"][dt.date(2026, 10, 1)]["expiring"] == 1  # 31 October is October's
    assert table["total"][dt.date(2026, 12, 1)]["renewal_count"] == 1  # 1 December is December's
    assert set(table["stores"]) == {store_a.pk}  # store B is not the specialist's


def test_it_breaks_the_month_down_by_segment(month, store_a, specialist_r):
    table = measures.renewal_monthly_table(user=specialist_r, year=2026)
    rates = {seg: measures.with_rates(by_month[NOV], premiums=True)
             for (_sid, seg), by_month in table["segments"].items()}
    assert {seg: (r["expiring"], r["renewed_here"], r["renewal_rate"]) for seg, r in rates.items()} == {
        "new_car_first": (3, 2, Decimal("66.7")),
        "renewed_here": (3, 1, Decimal("33.3")),
        "insured_elsewhere": (2, 1, Decimal("50.0")),
        "lapsed_returned": (1, 0, Decimal("0.0")),
        "lapsed_lost": (1, 0, Decimal("0.0")),
    }


def test_it_gives_reasons_for_loss_with_their_shares_and_specialists(month, users, specialist_r):
    b = measures.renewal_breakdowns(user=specialist_r, month=NOV)
    assert [(r["reason"], r["renewed_elsewhere"], r["not_renewed"], r["count"], r["share"]) for r in b["reasons"]] == [
        ("price", 1, 1, 2, Decimal("50.0")),
        ("claims_experience", 1, 0, 1, Decimal("25.0")),
        ("sold_car", 0, 1, 1, Decimal("25.0")),
    ]
    assert b["lost"] == 4
    people = {r["specialist"]: r for r in b["specialists"]}
    mine, manager = people[specialist_r.pk], people[users[Role.CS_MANAGER].pk]
    assert (mine["expiring"], mine["effective"], mine["renewed_here"]) == (5, 4, 2)
    assert mine["renewal_rate"] == Decimal("40.0")
    assert mine["premium"] == Decimal("5000.00")
    assert (manager["expiring"], manager["renewed_here"], manager["renewal_rate"]) == (2, 1, Decimal("50.0"))
    assert people[None]["expiring"] == 3  # nobody holds cases 7 (the manager recorded it unheld), 8 and 9
    assert {i["insurer"]: (i["new_car_count"], i["renewal_count"]) for i in b["insurers"]} == {
        "中国人保": (2, 2), "平安": (0, 1),
    }
    assert [(r["outcome_insurer"], r["count"]) for r in b["lost_to"]] == [("太平洋", 1), ("平安", 1)]


def test_the_catalogue_computes_the_store_months_rate(month, store_a, specialist_r):
    values = measure_get("renewals.renewal_rate").compute(
        user=specialist_r, store_ids=None, period_start=NOV, period_end=dt.date(2026, 12, 1)
    )
    assert [(v.store_id, v.value, v.numerator, v.denominator) for v in values] == [(store_a.pk, Decimal("40.0"), 4, 10)]
    premium = measure_get("renewals.renewal_premium").compute(
        user=specialist_r, store_ids=None, period_start=NOV, period_end=dt.date(2026, 12, 1)
    )
    assert premium[0].value == Decimal("1.25")  # ¥12,500.50 in ¥10,000


def _cell(page, key, kind, start):
    row = next(r for r in page["rows"] if r["key"] == key)
    return next(c for c in row["cells"] if c["kind"] == kind and c["start"] == start)


def test_it_judges_targets_set_by_month_and_shows_the_quarter(month, store_a, specialist_r, users):
    set_by = users[Role.CS_MANAGER]
    KpiTarget.objects.create(store=store_a, measure_code="renewals.renewal_rate", period_kind="month",
                             period_start=NOV, value=45, set_by=set_by)
    for start, value in ((dt.date(2026, 10, 1), 3), (NOV, 2), (dt.date(2026, 12, 1), 4)):
        KpiTarget.objects.create(store=store_a, measure_code="renewals.renewal_count", period_kind="month",
                                 period_start=start, value=value, set_by=set_by)
    page = kpis.renewal_measures_page(user=specialist_r, store_ids=[store_a.pk], year=2026, month=NOV, today=TODAY)
    rate = _cell(page, "renewal_rate", "month", NOV)
    assert rate["value"] == Decimal("40.0") and rate["judge"].state == "missed"
    assert rate["judge"].gap == Decimal("-5.0") and rate["judge"].target.source == "month"
    assert _cell(page, "renewal_count", "month", NOV)["judge"].state == "met"
    assert _cell(page, "renewal_count", "month", dt.date(2026, 10, 1))["judge"].state == "missed"
    q4 = _cell(page, "renewal_count", "quarter", dt.date(2026, 10, 1))
    assert q4["value"] == 5 and q4["judge"].target.value == 9 and q4["judge"].gap == -4
    assert q4["judge"].state == "running"  # the quarter is not over: running, not missed
    dec = _cell(page, "renewal_rate", "month", dt.date(2026, 12, 1))
    assert dec["value"] == Decimal("0.0") and dec["judge"].state == "running"
    assert dec["judge"].target.source == "default"
    oct_rate = _cell(page, "renewal_rate", "month", dt.date(2026, 10, 1))
    assert oct_rate["judge"].state == "met"  # 1 / 1 = 100 % against the default 60


def test_the_amount_target_is_set_in_ten_thousands_and_compared_in_yuan(month, store_a, specialist_r, users):
    KpiTarget.objects.create(store=store_a, measure_code="renewals.renewal_premium", period_kind="quarter",
                             period_start=dt.date(2026, 10, 1), value=Decimal("3.00"), set_by=users[Role.CS_MANAGER])
    page = kpis.renewal_measures_page(user=specialist_r, store_ids=[store_a.pk], year=2026, month=NOV, today=TODAY)
    nov = _cell(page, "renewal_premium", "month", NOV)
    assert nov["judge"].target.value == Decimal("10000.0000") and nov["judge"].state == "met"  # a third of ¥30,000
    q4 = _cell(page, "renewal_premium", "quarter", dt.date(2026, 10, 1))
    assert q4["value"] == Decimal("15500.50") and q4["judge"].gap == Decimal("-14499.50")


@time_machine.travel(NOW)
def test_the_page_shows_the_table_with_links_to_the_cases_and_marks_the_running_month(month, store_a, specialist_r):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(specialist_r)
    response = client.get("/renewals/measures/", {"year": 2026, "store": store_a.pk, "month": "2026-11"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Renewal measures" in html and "12,500.50" in html and "40.0 %" in html
    assert f"/renewals/?month=2026-11&amp;state=renewed_here&amp;store={store_a.pk}" in html
    assert f"/renewals/?month=2026-11&amp;segment=lapsed_lost&amp;store={store_a.pk}" in html
    lost = f"/renewals/?month=2026-11&amp;segment=lapsed_lost&amp;state=renewed_elsewhere&amp;store={store_a.pk}"
    assert lost in html
    assert f"holder={specialist_r.pk}" in html and "holder=none" in html
    assert 'data-period="2026-12-month">2026-12 <span class="badge text-bg-secondary">running' in html
    assert "Price" in html and "50.0 %" in html  # a reason and its share
    assert 'id="renewal-rate-segments"' in html and CANARY not in html


@time_machine.travel(NOW)
def test_it_hides_premiums_from_roles_without_renewal_premium(month, store_a, specialist_r, monkeypatch):
    monkeypatch.setitem(ROLE_PERMISSIONS, Role.RENEWAL_SPECIALIST,
                        ROLE_PERMISSIONS[Role.RENEWAL_SPECIALIST] - {Perm.RENEWAL_PREMIUM})
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(specialist_r)
    html = client.get("/renewals/measures/", {"year": 2026, "month": "2026-11"}).content.decode()
    assert "40.0 %" in html and "12,500.50" not in html and "Renewal premium" not in html
    data = client.get("/api/renewals/measures", {"year": 2026, "month": "2026-11"}).json()
    assert data["premiums"] is False and "renewal_premium" not in [r["key"] for r in data["rows"]]
    assert all(s["premium"] is None for s in data["specialists"])
    assert measures.renewal_monthly_table(user=specialist_r, year=2026)["total"][NOV]["renewal_premium"] is not None
    assert measures.with_rates(measures.empty_figures(), premiums=False)["renewal_premium"] is None
    assert measure_get("renewals.renewal_premium").compute(
        user=specialist_r, store_ids=None, period_start=NOV, period_end=dt.date(2026, 12, 1)) == []


def test_it_refuses_roles_that_do_not_work_renewals(month, users):
    client = Client()
    client.force_login(users[Role.CS_SPECIALIST])
    assert client.get("/renewals/measures/").status_code == 403
    assert client.get("/api/renewals/measures").status_code == 403


def _more(store, n):
    for i in range(n):
        case(store, expiry=dt.date(2026, 1 + (i + 10) % 12, 10), segment=["new_car_first", "lapsed_lost"][i % 2],
             state=["renewed_here", "not_renewed"][i % 2], reason="" if i % 2 == 0 else "price",
             holder=f.StaffFactory(role=Role.RENEWAL_SPECIALIST, group=store.group, stores=[store]).user)
        policy(store, dt.date(2026, 1 + (i + 10) % 12, 5), "renewal", "100", insurer=f"保险{i}")


@time_machine.travel(NOW)
def test_the_page_export_and_api_make_as_many_queries_for_many_rows(store_a, store_b, specialist_r):
    client = Client()
    client.force_login(specialist_r)
    urls = ["/renewals/measures/?month=2026-11", "/renewals/measures/export.xlsx?month=2026-11",
            "/api/renewals/measures?month=2026-11"]

    def counts():
        out = []
        for url in urls:
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(url).status_code == 200
            out.append(len(ctx))
        return out

    _more(store_a, 2)
    few = counts()
    _more(store_a, 24)
    assert counts() == few


@time_machine.travel(NOW)
def test_it_exports_every_table_to_xlsx(month, store_a, specialist_r):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(specialist_r)
    response = client.get("/renewals/measures/export.xlsx", {"year": 2026, "store": store_a.pk, "month": "2026-11"})
    assert response.status_code == 200 and "renewal-measures-2026-A01.xlsx" in response["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["Monthly table 2026", "Segments 2026-11", "Specialists 2026-11", "Insurers 2026-11",
                               "Lost to 2026-11", "Loss reasons 2026-11", "Rate trend 2026"]
    table = list(book["Monthly table 2026"].values)
    head = table[0]
    nov = head.index("2026-11")
    rows = {r[0]: r for r in table[1:]}
    assert rows["Renewal rate"][nov] == 40 and rows["Renewals sold (单数)"][nov] == 3
    assert rows["Renewal premium (金额, ¥)"][nov] == 12500.5
    assert rows["Renewals sold (单数)"][head.index("2026 Q4")] == 5
    reasons = list(book["Loss reasons 2026-11"].values)
    assert reasons[1] == ("Price", 1, 1, 2, 50)


@time_machine.travel(NOW)
def test_the_api_answers_the_table_and_refuses_another_store(month, store_a, store_b, specialist_r):
    client = Client()
    client.force_login(specialist_r)
    data = client.get("/api/renewals/measures", {"year": 2026, "store": store_a.pk, "month": "2026-11"}).json()
    rate = next(r for r in data["rows"] if r["key"] == "renewal_rate")
    nov = next(c for c in rate["cells"] if c["period"] == "month" and c["start"] == "2026-11-01")
    assert nov["value"] == "40.0" or float(nov["value"]) == 40.0
    assert nov["numerator"] == 4 and nov["denominator"] == 10 and nov["judge"]["state"] == "missed"
    dec = next(c for c in rate["cells"] if c["period"] == "month" and c["start"] == "2026-12-01")
    assert dec["running"] is True and dec["judge"]["state"] == "running"
    assert [r["reason"] for r in data["reasons"]] == ["price", "claims_experience", "sold_car"]
    assert client.get("/api/renewals/measures", {"store": store_b.pk}).status_code == 404
    bad = client.get("/api/renewals/measures", {"year": 2026, "month": "2025-11"})
    assert bad.status_code == 422 and "month" in bad.json()["errors"]
    assert client.get("/api/renewals/measures", {"year": "x"}).status_code == 422


@time_machine.travel(NOW)
def test_the_page_shows_bad_input_next_to_the_field_and_404s_another_store(month, store_b, specialist_r):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(specialist_r)
    response = client.get("/renewals/measures/", {"year": "zz", "month": "2026-13"})
    assert response.status_code == 200 and "Enter a whole number." in response.content.decode()
    assert client.get("/renewals/measures/", {"store": store_b.pk}).status_code == 404
    assert client.get("/renewals/measures/export.xlsx", {"store": store_b.pk}).status_code == 404
    assert client.get("/renewals/measures/", {"store": "99999999999999999999999"}).status_code == 200


@time_machine.travel(NOW)
def test_a_figure_of_policies_sold_opens_exactly_its_policies(month, store_a, store_b, specialist_r, monkeypatch):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(specialist_r)
    html = client.get("/renewals/measures/", {"store": store_a.pk, "month": "2026-11"}).content.decode()
    url = f"/renewals/measures/policies/?month=2026-11&amp;kind=renewal&amp;store={store_a.pk}"
    assert url in html
    page = client.get(url.replace("&amp;", "&")).content.decode()
    assert "3 policies" in page and "3,000.50" in page and "2,000.00" not in page and CANARY not in page
    by_insurer = client.get("/renewals/measures/policies/", {"month": "2026-11", "insurer": "平安"}).content.decode()
    assert "1 policy" in by_insurer and "4,500.00" in by_insurer
    assert client.get("/renewals/measures/policies/", {"month": "2026-11", "store": store_b.pk}).status_code == 404
    bad = client.get("/renewals/measures/policies/", {"month": "11/2026", "kind": "x"})
    assert bad.status_code == 200 and "Enter a valid date." in bad.content.decode()
    monkeypatch.setitem(ROLE_PERMISSIONS, Role.RENEWAL_SPECIALIST,
                        ROLE_PERMISSIONS[Role.RENEWAL_SPECIALIST] - {Perm.RENEWAL_PREMIUM})
    hidden = client.get(url.replace("&amp;", "&")).content.decode()
    assert "3 policies" in hidden and "3,000.50" not in hidden


@time_machine.travel(NOW)
def test_the_policies_page_makes_as_many_queries_for_many_rows(store_a, specialist_r):
    client = Client()
    client.force_login(specialist_r)

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/renewals/measures/policies/", {"month": "2026-11"}).status_code == 200
        return len(ctx)

    _more(store_a, 1)
    few = count()
    _more(store_a, 36)
    assert count() == few
