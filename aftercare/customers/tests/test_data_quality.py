import datetime as dt
import json
import typing
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from aftercare.core.services import api_token_create
from aftercare.customers import selectors
from aftercare.customers.api import DataQualityKindCode
from aftercare.org.choices import Role
from aftercare.testing import factories as f
from conftest import CANARY

D = dt.date


def _issues(user, kind, **kwargs):
    issues = selectors.data_quality_issues(user=user, kind=kind, **kwargs)
    return list(issues[0 : issues.count()])


def _customer_sets(user, kind):
    return [{c.name for c in issue.customers} for issue in _issues(user, kind)]


def _summary(user, store):
    return next(s for s in selectors.data_quality_summary(user=user) if s.store == store)


@pytest.fixture
def api_as():
    def make(user):
        _, key = api_token_create(user=user, name="test")
        return Client(HTTP_AUTHORIZATION=f"Bearer {key}")

    return make


# ---- detection ------------------------------------------------------------------------------------------------


def test_it_groups_customers_sharing_a_mobile_in_one_store(specialist, store_a, store_b):
    f.CustomerFactory(store=store_a, name="甲1", mobile="+8613800000001")
    f.CustomerFactory(store=store_a, name="甲2", mobile="+8613800000001")
    # the second phone counts too, against the other's first phone
    f.CustomerFactory(store=store_a, name="乙1", mobile="+8613800000002")
    f.CustomerFactory(store=store_a, name="乙2", mobile="+8613900000009", mobile2="+8613800000002")
    # not duplicates: one customer with the same number twice, another store, a merged-away file, unique numbers
    f.CustomerFactory(store=store_a, name="丙", mobile="+8613800000003", mobile2="+8613800000003")
    f.CustomerFactory(store=store_b, name="丁", mobile="+8613800000001")
    f.CustomerFactory(store=store_a, name="戊", mobile="+8613800000002", is_active=False)
    f.CustomerFactory(store=store_a, name="己", mobile="")
    f.CustomerFactory(store=store_a, name="庚", mobile="")

    groups = _issues(specialist, selectors.DQ_DUPLICATE_MOBILE)

    assert [{c.name for c in g.customers} for g in groups] == [{"甲1", "甲2"}, {"乙1", "乙2"}]
    assert [g.phone for g in groups] == ["+8613800000001", "+8613800000002"]
    assert _summary(specialist, store_a).counts[selectors.DQ_DUPLICATE_MOBILE] == 2


def test_it_groups_same_named_customers_of_the_same_vehicle(specialist, store_a):
    first = f.CustomerFactory(store=store_a, name="王芳")
    second = f.CustomerFactory(store=store_a, name="王芳")
    vehicle = f.VehicleFactory(store=store_a)
    f.OwnershipFactory(customer=first, vehicle=vehicle, valid_from=D(2023, 1, 1), valid_to=D(2024, 3, 9))
    f.OwnershipFactory(customer=second, vehicle=vehicle, valid_from=D(2024, 3, 10))
    # not duplicates: a real transfer to someone else, the same name on different vehicles
    seller, buyer = f.CustomerFactory(store=store_a, name="李雷"), f.CustomerFactory(store=store_a, name="韩梅梅")
    sold = f.VehicleFactory(store=store_a)
    f.OwnershipFactory(customer=seller, vehicle=sold, valid_from=D(2023, 1, 1), valid_to=D(2024, 1, 1))
    f.OwnershipFactory(customer=buyer, vehicle=sold, valid_from=D(2024, 1, 2))
    f.owned_vehicle(f.CustomerFactory(store=store_a, name="张伟"))
    f.owned_vehicle(f.CustomerFactory(store=store_a, name="张伟"))

    groups = _issues(specialist, selectors.DQ_DUPLICATE_NAME_VEHICLE)

    assert len(groups) == 1
    assert [c.pk for c in groups[0].customers] == sorted([first.pk, second.pk], key=lambda pk: pk)
    assert groups[0].vehicle == vehicle
    assert _summary(specialist, store_a).counts[selectors.DQ_DUPLICATE_NAME_VEHICLE] == 1
    assert _summary(specialist, store_a).duplicate_customers == 2


def test_it_finds_customers_without_vehicle_and_vehicles_without_owner(specialist, store_a):
    parts = f.CustomerFactory(store=store_a, name="配件客户", source="parts_counter")
    f.owned_vehicle(f.CustomerFactory(store=store_a, name="车主"))
    seller = f.CustomerFactory(store=store_a, name="卖车的")  # sold the car: still a real file
    orphan = f.VehicleFactory(store=store_a, plate="粤A0RPH1")
    f.OwnershipFactory(customer=seller, vehicle=orphan, valid_from=D(2023, 1, 1), valid_to=D(2024, 1, 1))
    never_owned = f.VehicleFactory(store=store_a, plate="粤A0RPH2")

    assert _customer_sets(specialist, selectors.DQ_CUSTOMER_WITHOUT_VEHICLE) == [{"配件客户"}]
    assert _issues(specialist, selectors.DQ_CUSTOMER_WITHOUT_VEHICLE)[0].customer == parts
    vehicles = {i.vehicle for i in _issues(specialist, selectors.DQ_VEHICLE_WITHOUT_OWNER)}
    assert vehicles == {orphan, never_owned}
    counts = _summary(specialist, store_a).counts
    assert counts[selectors.DQ_CUSTOMER_WITHOUT_VEHICLE] == 1
    assert counts[selectors.DQ_VEHICLE_WITHOUT_OWNER] == 2


@pytest.mark.parametrize(
    ("kind", "blank"),
    [
        (selectors.DQ_MISSING_MOBILE, {"mobile": ""}),
        (selectors.DQ_MISSING_ADDRESS, {"address": ""}),
        (selectors.DQ_MISSING_CONTACT_PERSON, {"contact_person": ""}),
        (selectors.DQ_MISSING_BIRTHDAY, {"birthday": None}),
    ],
)
def test_it_finds_each_missing_field(specialist, store_a, kind, blank):
    f.owned_vehicle(f.CustomerFactory(store=store_a, name="缺", **blank))
    f.owned_vehicle(f.CustomerFactory(store=store_a, name="全"))

    assert _customer_sets(specialist, kind) == [{"缺"}]
    summary = _summary(specialist, store_a)
    assert summary.counts[kind] == 1
    assert sum(n for code, n in summary.counts.items() if code != kind) == 0


def test_it_reports_nothing_for_a_clean_store(specialist, store_a):
    for _ in range(3):
        f.owned_vehicle(f.CustomerFactory(store=store_a))

    summary = _summary(specialist, store_a)

    assert set(summary.counts.values()) == {0}
    assert summary.score == 100.0
    for kind in selectors.DATA_QUALITY_KIND_MAP:
        assert _issues(specialist, kind) == []


def test_it_computes_the_completeness_score_by_hand(specialist, store_a):
    c1 = f.CustomerFactory(store=store_a, mobile="+8613800000001")
    f.owned_vehicle(c1)
    f.CustomerFactory(store=store_a, mobile="+8613800000001")  # duplicate of c1, and no vehicle
    f.owned_vehicle(f.CustomerFactory(store=store_a, address="", birthday=None))
    f.VehicleFactory(store=store_a)  # no owner

    s = _summary(specialist, store_a)

    # 3 customers × 4 required fields = 12, 2 missing → 10/12 = 83.3 %
    # flagged customers: c1 and its duplicate (2) + 1 vehicle without owner over 3 + 3 rows → 1 − 3/6 = 50 %
    assert (s.customers, s.vehicles, s.flagged_customers) == (3, 3, 2)
    assert s.field_score == 83.3
    assert s.mapping_score == 50.0
    assert s.score == 66.7


def test_it_scores_an_empty_store_as_unknown():
    assert selectors.data_quality_score(
        customers=0, vehicles=0, missing_fields=0, flagged_customers=0, vehicles_without_owner=0
    ) == (None, None, None)


def test_it_never_reports_another_stores_rows(specialist, store_a, other_store_rows, store_b):
    f.CustomerFactory(store=store_b, name=CANARY, mobile="", address="")
    f.VehicleFactory(store=store_b, model=CANARY)

    assert [s.store for s in selectors.data_quality_summary(user=specialist)] == [store_a]
    for kind in selectors.DATA_QUALITY_KIND_MAP:
        issues = _issues(specialist, kind)
        assert issues == [], kind
        assert _issues(specialist, kind, store_ids=[store_b.pk]) == []


def test_it_counts_in_constant_queries(specialist, store_a, django_assert_num_queries):
    def make(n):
        for i in range(n):
            c = f.CustomerFactory(store=store_a, mobile=f"+86137{i % 3:08d}", address="")
            f.owned_vehicle(c)
            f.VehicleFactory(store=store_a)

    make(3)
    with django_assert_num_queries(8) as small:  # scope (2) + field counts, flags, vehicles, 2 × groups, stores
        selectors.data_quality_summary(user=specialist)
    make(20)
    specialist.__dict__.pop("_scope_cache", None)
    with django_assert_num_queries(len(small.captured_queries)):
        selectors.data_quality_summary(user=specialist)


@pytest.mark.parametrize("kind", list(selectors.DATA_QUALITY_KIND_MAP))
def test_it_pages_rows_in_constant_queries(specialist, store_a, kind, django_assert_max_num_queries):
    for i in range(30):
        a = f.CustomerFactory(store=store_a, name=f"重{i}", mobile=f"+86137{i:08d}", address="", birthday=None,
                              contact_person="")
        b = f.CustomerFactory(store=store_a, name=f"重{i}", mobile=f"+86137{i:08d}", mobile2="")
        v = f.VehicleFactory(store=store_a)
        f.OwnershipFactory(customer=a, vehicle=v, valid_from=D(2023, 1, 1), valid_to=D(2023, 12, 31))
        f.OwnershipFactory(customer=b, vehicle=v, valid_from=D(2024, 1, 1))
        f.VehicleFactory(store=store_a)
        f.CustomerFactory(store=store_a, mobile="")
    issues = selectors.data_quality_issues(user=specialist, kind=kind)
    with django_assert_max_num_queries(4):
        assert issues.count() >= 25
        page = issues[0:25]
    assert len(page) == 25


def test_it_rejects_an_unknown_kind(specialist):
    with pytest.raises(ValueError):
        selectors.data_quality_issues(user=specialist, kind="nonsense")


def test_the_api_kinds_match_the_selector_kinds():
    assert set(typing.get_args(DataQualityKindCode)) == set(selectors.DATA_QUALITY_KIND_MAP)


# ---- page -----------------------------------------------------------------------------------------------------


@pytest.fixture
def messy_store(store_a):
    keep = f.CustomerFactory(store=store_a, name="周杰", mobile="+8613811112222", number="A0000001")
    dup = f.CustomerFactory(store=store_a, name="周杰", mobile="+8613811112222", number="A0000002")
    f.owned_vehicle(keep)
    orphan = f.VehicleFactory(store=store_a, plate="粤A77777")
    parts = f.CustomerFactory(store=store_a, name="配件散客", source="parts_counter", address="")
    return {"keep": keep, "dup": dup, "orphan": orphan, "parts": parts}


def test_it_shows_counts_per_store_and_duplicates_with_a_merge_action(client, manager, messy_store, store_a):
    client.force_login(manager)
    response = client.get(reverse("customers:data_quality"))
    body = response.content.decode()

    assert response.status_code == 200
    summary = response.context["summaries"][0]
    assert summary.counts[selectors.DQ_DUPLICATE_MOBILE] == 1
    assert f'href="?kind=duplicate_mobile&amp;store={store_a.pk}#dq-rows">1</a>' in body
    keep, dup = messy_store["keep"], messy_store["dup"]
    assert reverse("customers:merge", args=[keep.pk, dup.pk]) in body
    assert reverse("customers:edit", args=[dup.pk]) in body
    assert "138****2222" in body and "13811112222" not in body


def test_it_lists_each_kind_with_its_fix_action(client, manager, messy_store):
    client.force_login(manager)
    url = reverse("customers:data_quality")

    body = client.get(url, {"kind": "vehicle_without_owner"}).content.decode()
    assert reverse("customers:vehicle_detail", args=[messy_store["orphan"].pk]) in body
    assert reverse("customers:vehicle_transfer", args=[messy_store["orphan"].pk]) in body

    body = client.get(url, {"kind": "missing_address"}).content.decode()
    assert reverse("customers:edit", args=[messy_store["parts"].pk]) in body
    assert "周杰" not in body

    response = client.get(url, {"kind": "customer_without_vehicle"}, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert "<html" not in body and 'id="dq-table"' in body
    assert "配件散客" in body and reverse("customers:vehicle_create", args=[messy_store["parts"].pk]) in body


def test_it_hides_merge_from_roles_without_the_permission(client, specialist, messy_store):
    client.force_login(specialist)
    body = client.get(reverse("customers:data_quality")).content.decode()
    assert "周杰" in body
    assert "/customers/merge/" not in body


def test_it_paginates_the_rows(client, specialist, store_a):
    f.CustomerFactory.create_batch(30, store=store_a, address="")
    client.force_login(specialist)
    url = reverse("customers:data_quality")
    first = client.get(url, {"kind": "missing_address"}).context["page"]
    second = client.get(url, {"kind": "missing_address", "page": 2}).context["page"]
    assert first.paginator.count == 30 and len(first) == 25 and len(second) == 5


def test_it_loads_the_page_in_constant_queries(client, specialist, store_a, django_assert_max_num_queries):
    client.force_login(specialist)
    url = reverse("customers:data_quality")
    for _ in range(5):
        f.CustomerFactory(store=store_a, mobile="+8613800000001", address="")
    with django_assert_max_num_queries(25) as small:
        client.get(url)
    for _ in range(20):
        f.owned_vehicle(f.CustomerFactory(store=store_a, mobile="+8613800000001", address=""))
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get(url)


def test_it_answers_403_without_the_permission(client, users):
    client.force_login(users[Role.RENEWAL_SPECIALIST])
    assert client.get(reverse("customers:data_quality")).status_code == 403


def test_it_ignores_another_stores_id_in_the_page(client, specialist, other_store_rows, store_b):
    client.force_login(specialist)
    response = client.get(reverse("customers:data_quality"), {"kind": "missing_birthday", "store": store_b.pk})
    assert response.status_code == 200
    assert CANARY not in response.content.decode()


# ---- API ------------------------------------------------------------------------------------------------------


def test_the_api_gives_the_summary_and_issues(api_as, manager, messy_store, store_a):
    client = api_as(manager)
    summary = client.get("/api/data-quality/summary").json()
    assert summary[0]["store"] == store_a.code
    assert summary[0]["counts"]["duplicate_mobile"] == 1
    assert summary[0]["score"] is not None

    page = client.get("/api/data-quality/issues", {"kind": "duplicate_mobile"}).json()
    assert page["count"] == 1
    item = page["items"][0]
    assert item["customer_ids"] == [messy_store["keep"].pk, messy_store["dup"].pk]
    assert item["mobile"] == "138****2222"

    page = client.get("/api/data-quality/issues", {"kind": "vehicle_without_owner", "page_size": 1}).json()
    assert page["items"][0]["vin"] == messy_store["orphan"].vin


def test_the_api_refuses_bad_kind_other_store_and_missing_permission(api_as, manager, users, other_store_rows,
                                                                      store_b):
    client = api_as(manager)
    response = client.get("/api/data-quality/issues", {"kind": "bogus"})
    assert response.status_code == 422 and "kind" in json.dumps(response.json()["errors"])
    params = {"kind": "missing_address", "store_id": store_b.pk}
    assert client.get("/api/data-quality/issues", params).status_code == 404
    assert client.get("/api/data-quality/summary", {"store_id": store_b.pk}).status_code == 404
    renewal = api_as(users[Role.RENEWAL_SPECIALIST])
    assert renewal.get("/api/data-quality/summary").status_code == 403
    assert renewal.get("/api/data-quality/issues", {"kind": "missing_address"}).status_code == 403


# ---- management command ---------------------------------------------------------------------------------------


def test_the_report_prints_counts_per_store_and_is_repeatable(messy_store, store_a, store_b):
    def run(*args):
        out = StringIO()
        call_command("data_quality_report", *args, stdout=out)
        return out.getvalue()

    first = run()
    assert first == run()
    lines = first.splitlines()
    assert lines[0].split()[:3] == ["store", "customers", "vehicles"]
    row_a = next(line.split() for line in lines if line.startswith(store_a.code))
    assert row_a[1:5] == ["3", "2", "1", "0"]  # customers, vehicles, duplicate mobile groups, name+vehicle groups
    data = json.loads(run("--json", "--store", store_a.code))
    assert [row["store"] for row in data] == [store_a.code]
    assert data[0]["customer_without_vehicle"] == 2 and data[0]["vehicle_without_owner"] == 1
