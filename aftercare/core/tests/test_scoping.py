"""Store scoping, tested from the outside: every URL and every API route, as every role, with another store's ids.

The walker is generic: routes added later are covered without editing this file. Path parameters are filled
with ids of rows planted in a foreign store (each carrying `CANARY`); every such request must answer 403 / 404
(405 for a method the route does not accept, 422 for an API body that fails validation first) and no response
may ever contain the canary. Pages without parameters (lists) are fetched too and must not contain it.

The group admin (and the quality engineer, for parts quality) covers the whole dealer group, so for those roles the
canary lives in a store of another group.

An app plants its own store-owned rows by adding `aftercare/<app>/tests/canary.py` with
`plant(store, canary) -> dict[str, Model]`; keys named like URL parameters (e.g. `task_id`) get those ids.
"""

import functools
import importlib
import itertools
import json
import re
from dataclasses import dataclass

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from aftercare.api import api
from aftercare.core.services import api_token_create
from aftercare.org.choices import Role, SharedResource
from aftercare.org.models import StoreSharing
from aftercare.testing import factories as f
from aftercare.testing.clients import api_client
from conftest import CANARY

# URL prefixes not walked: Django's own apps, static/media files, auth pages, and the API (walked by its schema).
SKIP_PREFIXES = ("admin/", "i18n/", "static/", "media/", "login/", "logout/", "api/", "__debug__/")

# Parameterised routes that legitimately answer 200 for a foreign id (the canary check still applies).
ALLOW_200: set[str] = {
    "/api/followups/templates/{template_id}",  # questionnaire templates are group-wide, not store-owned
}

FORBIDDEN_STATUSES = {403, 404, 405}
# Parameter name → which planted row's id to use. `pk`, `id` and unknown names try every planted row.
ID_PARAMS = {
    "customer_id": ("customer",),
    "customer": ("customer",),
    "other_id": ("customer",),
    "other_pk": ("customer",),
    "target_id": ("customer",),
    "source_id": ("customer",),
    "keep_id": ("customer",),
    "merge_id": ("customer",),
    "vehicle_id": ("vehicle",),
    "vehicle": ("vehicle",),
    "repair_order_id": ("repair_order",),
    "ro_id": ("repair_order",),
    "delivery_id": ("delivery",),
    "policy_id": ("policy",),
    "batch_id": ("batch",),
    "import_id": ("batch",),
    "batch": ("batch",),
    "campaign_id": ("launched_campaign", "draft_campaign"),  # a draft can be edited, a launched one launched again
}
# Query / body fields holding a store's primary key.
STORE_ID_PARAMS = {"store_id"}
STORE_PARAMS = {"store", "code", "store_code"}
MAX_COMBINATIONS = 30


def _app_planters():
    """`plant(store, canary) -> {name: row}` of every app that has `aftercare/<app>/tests/canary.py`.

    An app adds its own store-owned rows to the walk that way; a key that is also a URL parameter name
    (e.g. `task_id`) gets that row's id, and `pk` / unknown names try every planted row.
    """
    from django.apps import apps

    planters = []
    for config in apps.get_app_configs():
        if config.name.startswith("aftercare."):
            try:
                module = importlib.import_module(f"{config.name}.tests.canary")
            except ModuleNotFoundError:
                continue
            planters.append(module.plant)
    return planters


def plant_rows(store) -> dict:
    """Rows of `store`, each with the canary somewhere in its data."""
    from aftercare.dms.models import ImportBatch, ImportRowError

    customer = f.CustomerFactory(store=store, name=CANARY, address=CANARY)
    f.CustomerFactory(store=store, name=f"{CANARY}-2", mobile="+8613700000001")  # no vehicle: a data-quality hit
    vehicle = f.owned_vehicle(customer, model=CANARY)
    batch = ImportBatch.objects.create(store=store, kind="customers", filename=f"{CANARY}.csv")
    ImportRowError.objects.create(batch=batch, row=2, column="name", reason=CANARY, raw=CANARY)
    rows = {
        "store": store,
        "customer": customer,
        "vehicle": vehicle,
        "repair_order": f.RepairOrderFactory(store=store, customer=customer, vehicle=vehicle, fault_description=CANARY),
        "delivery": f.SalesDeliveryFactory(store=store, customer=customer, vehicle=vehicle, sales_consultant=CANARY),
        "policy": f.InsurancePolicyFactory(store=store, customer=customer, vehicle=vehicle, insurer=CANARY),
        "batch": batch,
    }
    for plant in _app_planters():
        rows.update(plant(store, CANARY))
    return rows


# Roles that read some rows of every store of their group (the group admin everything, the quality engineer the
# parts-quality reports and alarms): their canary lives in a store of another group.
GROUP_WIDE_ROLES = (Role.GROUP_ADMIN, Role.QUALITY_ENGINEER)


@pytest.fixture
def other_group_store(db):
    group = f.DealerGroupFactory(code="G2", name="另一集团")
    region = f.RegionFactory(group=group, code="N", name="华北大区")
    return f.StoreFactory(code="X01", name="北京朝阳店", group=group, region=region)


@pytest.fixture
def foreign_rows(request, users, store_b):
    """Canary rows the given role must not see: store B for store roles, another group for the group admin."""
    role = request.param
    if role in GROUP_WIDE_ROLES:
        store = request.getfixturevalue("other_group_store")
    else:
        store = store_b
    rows = plant_rows(store)
    rows["user"] = users[role]
    return rows


# ---- building requests -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    template: str  # e.g. "customers/<int:pk>/" or "/api/customers/{customer_id}"
    params: tuple[str, ...]
    methods: tuple[str, ...]
    has_body: bool = False
    body_schemas: tuple[tuple[str, dict], ...] = ()  # (method, JSON schema of the request body)


_DJANGO_PARAM = re.compile(r"<(?:(?P<conv>[^>:]+):)?(?P<name>[^>]+)>")
_REGEX_PARAM = re.compile(r"\(\?P<(?P<name>\w+)>[^)]*\)")
_API_PARAM = re.compile(r"\{(?P<name>\w+)\}")


def _pattern_text(pattern) -> str:
    text = str(pattern.pattern)
    if hasattr(pattern.pattern, "regex") and not hasattr(pattern.pattern, "_route"):  # a RegexPattern
        text = text.lstrip("^").rstrip("$").replace("\\", "")
    return text


@functools.cache
def openapi() -> dict:
    return api.get_openapi_schema()


def django_routes() -> list[Route]:
    routes = []

    def walk(patterns, prefix):
        for p in patterns:
            text = prefix + _pattern_text(p)
            if text.startswith(SKIP_PREFIXES):
                continue
            if isinstance(p, URLResolver):
                walk(p.url_patterns, text)
            elif isinstance(p, URLPattern):
                names = [m["name"] for m in _DJANGO_PARAM.finditer(text)] + [
                    m["name"] for m in _REGEX_PARAM.finditer(text)
                ]
                routes.append(Route(text, tuple(names), ("get", "post")))

    walk(get_resolver().url_patterns, "")
    return routes


def api_routes() -> list[Route]:
    routes = []
    for path, operations in openapi()["paths"].items():
        methods = tuple(m for m in operations if m in {"get", "post", "put", "patch", "delete"})
        bodies = []
        for m in methods:
            content = operations[m].get("requestBody", {}).get("content", {})
            if "application/json" in content:
                bodies.append((m, content["application/json"]["schema"]))
        has_body = any("requestBody" in operations[m] for m in methods)
        params = tuple(m["name"] for m in _API_PARAM.finditer(path))
        routes.append(Route(path, params, methods, has_body, tuple(bodies)))
    return routes


def _resolve(schema: dict) -> dict:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = openapi()["components"]["schemas"][name]
    return schema


def example_body(schema: dict, rows: dict) -> dict:
    """A body with every required property filled: ids from the foreign rows, anything plausible otherwise."""
    schema = _resolve(schema)
    body = {}
    for name in schema.get("required", []):
        prop = _resolve(schema.get("properties", {}).get(name, {}))
        kind = prop.get("type") or next((s.get("type") for s in prop.get("anyOf", []) if s.get("type")), "string")
        if "enum" in prop:
            body[name] = prop["enum"][0]
        elif kind == "integer":
            body[name] = int(_candidates(name, rows)[0]) if name not in STORE_PARAMS else rows["store"].pk
        elif kind == "string":
            body[name] = _candidates(name, rows)[0] if name in STORE_PARAMS else "x"
        elif kind == "boolean":
            body[name] = True
        elif kind == "array":
            body[name] = []
        elif kind == "object":
            body[name] = {}
        else:
            body[name] = 1
    return body


def _candidates(name: str, rows: dict) -> list[str]:
    if name in STORE_ID_PARAMS:
        return [str(rows["store"].pk)]
    if name in STORE_PARAMS:
        return [rows["store"].code]
    if name in rows and name != "store":
        return [str(rows[name].pk)]
    keys = ID_PARAMS.get(name) or [key for key in rows if key not in {"store", "user"}]
    # rows of different tables often share an id: each distinct id is requested once (the same URL otherwise)
    return list(dict.fromkeys(str(rows[key].pk) for key in keys))


def fill(route: Route, rows: dict) -> list[str]:
    """Every URL of `route` with its parameters replaced by the foreign rows' ids (bounded)."""
    choices = [_candidates(name, rows) for name in route.params]
    urls = []
    for combo in itertools.islice(itertools.product(*choices), MAX_COMBINATIONS):
        values = dict(zip(route.params, combo, strict=True))
        url = route.template
        for pattern in (_DJANGO_PARAM, _REGEX_PARAM, _API_PARAM):
            url = pattern.sub(lambda m, values=values: values[m["name"]], url)
        urls.append(url if url.startswith("/") else "/" + url)
    return urls


def _call(client: Client, method: str, url: str, body: dict | None = None):
    if method == "get":
        return client.get(url)
    if body is None and method == "post":
        return client.post(url)  # an empty form post
    return getattr(client, method)(url, data=json.dumps(body or {}), content_type="application/json")


def _leaks(response) -> bool:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return CANARY.encode() in content or CANARY.encode("unicode_escape") in content


# ---- the walk ------------------------------------------------------------------------------------------------


def walk_pages(user, rows: dict, prefix: str = "") -> list[str]:
    """Every page (whose route starts with `prefix`: the checks that the walk notices a hole walk only the app
    they open one in), as `user` (browser session), with `rows`' ids; returns what went wrong."""
    client = Client(raise_request_exception=False)
    client.force_login(user)
    problems = []
    routes = [r for r in django_routes() if r.template.startswith(prefix)]
    assert any(r.params for r in routes), "the walker found no parameterised page"
    for route in routes:
        for method in route.methods:
            urls = fill(route, rows) if route.params else ["/" + route.template]
            for url in urls:
                response = _call(client, method, url)
                if _leaks(response):
                    problems.append(f"{method.upper()} {url} → {response.status_code} shows the canary")
                elif response.status_code >= 500:
                    problems.append(f"{method.upper()} {url} → {response.status_code}")
                elif route.params and route.template not in ALLOW_200 and (
                    response.status_code not in FORBIDDEN_STATUSES
                ):
                    problems.append(f"{method.upper()} {url} → {response.status_code}, expected 403/404/405")
    return problems


def walk_api(user, rows: dict, prefix: str = "") -> list[str]:
    """Every API route and method (whose route starts with `prefix`), as `user` (Bearer token), with `rows`' ids;
    returns what went wrong."""
    _, key = api_token_create(user=user, name="scoping")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}", raise_request_exception=False)
    problems = []
    routes = [r for r in api_routes() if r.template.startswith(prefix)]
    assert any(r.params for r in routes), "the walker found no parameterised API route"
    for route in routes:
        urls = fill(route, rows) if route.params else [route.template]
        bodies = dict(route.body_schemas)
        for method in ("get", "post", "put", "patch", "delete"):
            payload = example_body(bodies[method], rows) if method in bodies else {}
            for url in urls:
                response = _call(client, method, url, None if method == "get" else payload)
                allowed = method in route.methods
                status = response.status_code
                if _leaks(response):
                    problems.append(f"{method.upper()} {url} → {status} shows the canary")
                elif status >= 500:
                    problems.append(f"{method.upper()} {url} → {status}")
                elif not allowed and status not in {404, 405}:
                    problems.append(f"{method.upper()} {url} → {status}, expected 405")
                elif allowed and route.params and route.template not in ALLOW_200:
                    expected = FORBIDDEN_STATUSES | ({422} if method != "get" and route.has_body else set())
                    if status not in expected:
                        problems.append(f"{method.upper()} {url} → {status}, expected 403/404")
                if allowed and 400 <= status < 500 and "detail" not in response.json():
                    problems.append(f"{method.upper()} {url} → {status} error without `detail`")
        # List routes filtered by the foreign rows' ids must not leak either.
        if not route.params and "get" in route.methods:
            query = _foreign_query(route.template, rows)
            if query:
                response = client.get(route.template, query)
                if _leaks(response) or response.status_code >= 500:
                    problems.append(f"GET {route.template}?{query} → {response.status_code} leaks or fails")
    return problems


ROLES = list(Role.values)


@pytest.mark.parametrize("foreign_rows", ROLES, indirect=True, ids=ROLES)
def test_it_never_shows_another_stores_rows_on_any_page(foreign_rows):
    problems = walk_pages(foreign_rows["user"], foreign_rows)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("foreign_rows", ROLES, indirect=True, ids=ROLES)
def test_it_never_shows_another_stores_rows_through_the_api(foreign_rows):
    problems = walk_api(foreign_rows["user"], foreign_rows)
    assert not problems, "\n".join(problems)


def test_it_notices_a_scoping_hole(monkeypatch, specialist, store_b):
    """The walkers themselves work: with scoping switched off they report the canary."""
    from aftercare.org.models import Store

    rows = plant_rows(store_b)
    monkeypatch.setattr(
        "aftercare.customers.selectors.visible_store_ids",
        lambda user, resource=None: frozenset(Store.objects.values_list("id", flat=True)),
    )
    api_problems = walk_api(specialist, rows, prefix="/api/customers")
    page_problems = walk_pages(specialist, rows, prefix="customers/")
    assert any("GET /api/customers/" in p and "shows the canary" in p for p in api_problems), api_problems
    assert any("GET /api/customers →" in p for p in api_problems), api_problems
    assert any("GET /customers/" in p and "shows the canary" in p for p in page_problems), page_problems


def _foreign_query(path: str, rows: dict) -> dict:
    operation = openapi()["paths"][path]["get"]
    query = {}
    for parameter in operation.get("parameters", []):
        name = parameter["name"]
        if parameter["in"] == "query" and (name in ID_PARAMS or name in STORE_PARAMS or name in STORE_ID_PARAMS):
            query[name] = _candidates(name, rows)[0]
    return query


def test_it_denies_anonymous_access_to_every_api_route(store_b):
    rows = plant_rows(store_b)
    client = Client(raise_request_exception=False)
    for route in api_routes():
        for url in fill(route, rows) if route.params else [route.template]:
            for method in route.methods:
                response = _call(client, method, url)
                assert response.status_code == 401, f"{method.upper()} {url} → {response.status_code}"


def test_it_sends_anonymous_visitors_of_pages_to_login(store_b):
    rows = plant_rows(store_b)
    client = Client(raise_request_exception=False)
    for route in django_routes():
        for url in fill(route, rows) if route.params else ["/" + route.template]:
            response = client.get(url)
            assert not _leaks(response), url
            assert response.status_code in {302, 401, 403, 404, 405}, f"GET {url} → {response.status_code}"


# ---- store sharing ---------------------------------------------------------------------------------------------


def test_it_shows_shared_customers_but_not_policies_until_shared(specialist, store_a, store_b, other_store_rows):
    StoreSharing.objects.create(from_store=store_b, to_store=store_a, resource=SharedResource.CUSTOMERS)
    client = api_client(specialist)
    customers = client.get("/api/customers").json()
    assert other_store_rows["customer"].pk in [c["id"] for c in customers["items"]]
    assert client.get(f"/api/customers/{other_store_rows['customer'].pk}").status_code == 200
    assert client.get(f"/api/vehicles/{other_store_rows['vehicle'].pk}").status_code == 200
    page = Client()
    page.force_login(specialist)
    assert CANARY in page.get("/customers/").content.decode()

    policy = other_store_rows["policy"]
    assert client.get("/api/policies").json()["count"] == 0
    assert client.get(f"/api/policies/{policy.pk}").status_code == 404

    StoreSharing.objects.create(from_store=store_b, to_store=store_a, resource=SharedResource.POLICIES)
    client = api_client(specialist)  # the scope is cached per request user; a fresh request sees the new share
    assert [p["id"] for p in client.get("/api/policies").json()["items"]] == [policy.pk]
    assert client.get(f"/api/policies/{policy.pk}").status_code == 200


def test_it_does_not_share_in_the_other_direction(specialist, store_a, store_b, other_store_rows):
    StoreSharing.objects.create(from_store=store_a, to_store=store_b, resource=SharedResource.CUSTOMERS)
    client = api_client(specialist)
    assert client.get("/api/customers").json()["count"] == 0
    assert client.get(f"/api/customers/{other_store_rows['customer'].pk}").status_code == 404


def test_it_lets_the_group_admin_see_every_store_of_the_group(users, other_store_rows):
    client = api_client(users[Role.GROUP_ADMIN])
    assert client.get(f"/api/customers/{other_store_rows['customer'].pk}").status_code == 200
    assert client.get(f"/api/policies/{other_store_rows['policy'].pk}").status_code == 200


# ---- renewals: the follow-up sheet's export and import (zipped XLSX: read back, not searched as bytes) ----------


def _plant_renewal_case(store, canary: str, plate: str):
    from aftercare.renewals.models import RenewalCase, RenewalContact

    customer = f.CustomerFactory(store=store, name=canary)
    vehicle = f.owned_vehicle(customer, model=canary, plate=plate)
    case = RenewalCase.objects.create(
        store=store, customer=customer, vehicle=vehicle, expiry_date="2026-12-31", segment="renewed_here",
        outcome_reason_text=canary,
    )
    RenewalContact.objects.create(store=store, case=case, number=1, due_on="2026-11-16", result="thinking",
                                  effective=True, notes=canary, quote_insurer=canary)
    return case


@pytest.mark.parametrize("foreign_rows", ROLES, indirect=True, ids=ROLES)
def test_it_never_exports_or_imports_another_stores_renewal_cases(foreign_rows, store_a):
    import io

    from openpyxl import Workbook, load_workbook

    from aftercare.renewals.models import RenewalCase, RenewalContact

    user, foreign = foreign_rows["user"], foreign_rows["store"]
    _plant_renewal_case(foreign, CANARY, "粤Z99999")
    _plant_renewal_case(store_a, "own", "粤A99999")
    client = Client(raise_request_exception=False)
    client.force_login(user)

    response = client.get("/renewals/export.xlsx")
    assert response.status_code in {200, 403}
    if response.status_code == 200:
        ws = load_workbook(io.BytesIO(response.content)).worksheets[0]
        cells = [str(c.value) for row in ws.iter_rows() for c in row if c.value is not None]
        assert "own" in cells and not [c for c in cells if CANARY in c]
    assert client.get("/renewals/export.xlsx", {"store": foreign.pk}).status_code in {403, 404}

    def upload():
        wb = Workbook()
        wb.active.append(["客户姓名", "车牌", "保险到期日", "第1次联系", "是否续保"])
        wb.active.append(["x", "粤Z99999", "2026-12-31", "11/16 未接", "否"])
        out = io.BytesIO()
        wb.save(out)
        out.seek(0)
        out.name = "sheet.xlsx"
        return out

    before = (RenewalCase.objects.count(), RenewalContact.objects.count())
    for store_id in (foreign.pk, store_a.pk):
        response = client.post("/renewals/import/", {"store": store_id, "file": upload()})
        assert response.status_code in {200, 400, 403} and not _leaks(response)
    assert (RenewalCase.objects.count(), RenewalContact.objects.count()) == before
    assert not RenewalCase.objects.filter(store=foreign).exclude(outcome="").exists()

# ---- renewals: the list, case and settings pages (their store-B rows: aftercare/renewals/tests/canary.py) ---------

RENEWAL_PAGES = {
    "renewals/",
    "renewals/settings/",
    "renewals/settings/gifts/<int:gift_id>/",
    "renewals/<int:case_id>/",
    "renewals/<int:case_id>/claim/",
    "renewals/<int:case_id>/release/",
    "renewals/<int:case_id>/assign/",
    "renewals/<int:case_id>/contact/",
    "renewals/<int:case_id>/outcome/",
}


def test_it_walks_the_renewal_pages_with_a_canary_case_of_store_b(monkeypatch, users, store_b):
    """The renewal pages are in the walk, their ids are the planted store-B case and gift, and the walk would
    notice a renewal selector that forgot the scope."""
    from aftercare.org.models import Store

    assert RENEWAL_PAGES <= {r.template for r in django_routes()}
    rows = plant_rows(store_b)
    assert rows["case_id"].store_id == store_b.pk and rows["gift_id"].store_id == store_b.pk
    for route in django_routes():
        if route.template in RENEWAL_PAGES and route.params:
            assert fill(route, rows) in ([f"/renewals/{rows['case_id'].pk}/" + route.template.split("/", 2)[2]],
                                         [f"/renewals/settings/gifts/{rows['gift_id'].pk}/"]), route.template
    specialist = users[Role.RENEWAL_SPECIALIST]
    client = Client()
    client.force_login(specialist)
    assert client.get(f"/renewals/{rows['case_id'].pk}/").status_code == 404
    monkeypatch.setattr(
        "aftercare.renewals.selectors.visible_store_ids",
        lambda user, resource=None: frozenset(Store.objects.values_list("id", flat=True)),
    )
    problems = walk_pages(specialist, rows, prefix="renewals/")
    assert any(p.startswith(f"GET /renewals/{rows['case_id'].pk}/ ") and "canary" in p for p in problems), problems


# ---- renewal measures (renewals:measures, renewals:measures_export, GET /api/renewals/measures) ----------------

RENEWAL_MEASURE_URLS = ("/renewals/measures/", "/renewals/measures/export.xlsx", "/renewals/measures/policies/",
                        "/api/renewals/measures")


def plant_renewal_measures(store) -> None:
    """Cases and policies of `store` whose insurer, reason text and holder's name carry the canary, in this
    month (the page's default year and breakdown month)."""
    import datetime as dt

    from aftercare.renewals.models import RenewalCase

    today = dt.date.today()
    holder = f.StaffFactory(group=store.group, role=Role.RENEWAL_SPECIALIST, stores=[store], display_name=CANARY).user
    customer = f.CustomerFactory(store=store, name=CANARY)
    vehicle = f.owned_vehicle(customer, model=CANARY)
    f.InsurancePolicyFactory(store=store, customer=customer, vehicle=vehicle, insurer=CANARY, kind="renewal",
                             start_date=today.replace(day=1), expiry_date=today.replace(day=1, year=today.year + 1))
    RenewalCase.objects.create(
        store=store, customer=customer, vehicle=vehicle, expiry_date=today.replace(day=1), segment="renewed_here",
        state="renewed_elsewhere", outcome="renewed_elsewhere", outcome_insurer=CANARY, outcome_reason="other",
        outcome_reason_text=CANARY, holder=holder,
    )


def walk_renewal_measures(user, store) -> list[str]:
    """The measures page, its export and its API as `user`: for `store` (another store: 403/404) and without a
    store (no canary)."""
    import datetime as dt

    client = Client(raise_request_exception=False)
    client.force_login(user)
    problems = []
    month = dt.date.today().strftime("%Y-%m")
    for url in RENEWAL_MEASURE_URLS:
        for query in ({"store": store.pk, "month": month}, {"store": store.pk}, {"month": month}):
            response = client.get(url, query)
            if _leaks(response):
                problems.append(f"GET {url}?{query} → {response.status_code} shows the canary")
            elif response.status_code >= 500:
                problems.append(f"GET {url}?{query} → {response.status_code}")
            elif "store" in query and response.status_code not in {403, 404}:
                problems.append(f"GET {url}?{query} → {response.status_code}, expected 403/404")
    return problems


@pytest.mark.parametrize("foreign_rows", ROLES, indirect=True, ids=ROLES)
def test_it_never_shows_another_stores_renewal_measures(foreign_rows):
    plant_renewal_measures(foreign_rows["store"])
    problems = walk_renewal_measures(foreign_rows["user"], foreign_rows["store"])
    assert not problems, "\n".join(problems)


def test_it_notices_a_renewal_measures_scoping_hole(monkeypatch, users, store_b):
    """The walk works: with the renewal selectors' scoping switched off, it reports the canary."""
    from aftercare.org.models import Store

    plant_renewal_measures(store_b)
    monkeypatch.setattr(
        "aftercare.renewals.selectors.visible_store_ids",
        lambda user, resource=None: frozenset(Store.objects.values_list("id", flat=True)),
    )
    monkeypatch.setattr(
        "aftercare.renewals.views.current_store_ids",
        lambda user, request=None, resource=None: frozenset(Store.objects.values_list("id", flat=True)),
    )
    monkeypatch.setattr(
        "aftercare.renewals.views.narrowed_store_ids",
        lambda user, store_id, resource=None, request=None: (
            frozenset({store_id}) if store_id else frozenset(Store.objects.values_list("id", flat=True))),
    )
    problems = walk_renewal_measures(users[Role.RENEWAL_SPECIALIST], store_b)
    assert any("/renewals/measures/?{'store'" in p and "shows the canary" in p for p in problems), problems
    assert any("/renewals/measures/policies/?{'store'" in p and "shows the canary" in p for p in problems), problems


# ---- appointments: capacity settings, day board, open-bookings import, rescue (aday part; store-B rows:
# aftercare/appointments/tests/canary.py) ------------------------------------------------------------------------------

APPOINTMENT_DAY_PAGES = {
    "appointments/settings/",
    "appointments/settings/bays/<int:bay_id>/",
    "appointments/settings/kinds/<int:kind_id>/",
    "appointments/settings/overrides/<int:override_id>/delete/",
    "appointments/board/",
    "appointments/board/walk-in/",
    "appointments/board/<int:booking_id>/arrive/",
    "appointments/board/<int:booking_id>/no-show/",
    "appointments/board/<int:booking_id>/match/",
    "appointments/import/",
    "appointments/rescue/",
    "appointments/rescue/<int:rescue_id>/",
}


def test_it_walks_the_appointment_day_pages_with_canary_rows_of_store_b(monkeypatch, users, store_b):
    """The settings, board, import and rescue pages are in the walk with the planted store-B ids; a store-B id in
    the query answers 404; and the walk would notice a board selector that forgot the scope."""
    from aftercare.org.models import Store

    assert APPOINTMENT_DAY_PAGES <= {r.template for r in django_routes()}
    rows = plant_rows(store_b)
    for route in django_routes():
        if route.template in APPOINTMENT_DAY_PAGES and route.params:
            name = route.params[0]
            assert rows[name].store_id == store_b.pk and fill(route, rows) == [
                "/" + route.template.replace(f"<int:{name}>", str(rows[name].pk))], route.template
    advisor = users[Role.SERVICE_ADVISOR]
    manager = users[Role.STORE_MANAGER]
    client = Client()
    client.force_login(advisor)
    assert client.get("/appointments/board/", {"store": store_b.pk}).status_code == 404
    assert client.get(f"/appointments/rescue/{rows['rescue_id'].pk}/").status_code == 404
    assert CANARY not in client.get("/appointments/rescue/").content.decode()
    client.force_login(manager)
    assert client.get("/appointments/settings/", {"store": store_b.pk}).status_code == 404
    assert client.post("/appointments/board/walk-in/", {"store": store_b.pk, "vehicle": "x"}).status_code == 404
    monkeypatch.setattr(
        "aftercare.appointments.selectors.visible_store_ids",
        lambda user, resource=None: frozenset(Store.objects.values_list("id", flat=True)),
    )
    problems = walk_pages(advisor, rows, prefix="appointments/")
    assert any(p.startswith(f"GET /appointments/rescue/{rows['rescue_id'].pk}/ ") and "canary" in p
               for p in problems), problems
# ---- appointments: booking pages, waitlist, parts (their store-B rows: aftercare/appointments/tests/canary.py) -----

APPOINTMENT_BOOKING_PAGES = {
    "appointments/",
    "appointments/slots/",
    "appointments/book/",
    "appointments/list/",
    "appointments/<int:booking_id>/",
    "appointments/<int:booking_id>/move/",
    "appointments/<int:booking_id>/cancel/",
    "appointments/waitlist/",
    "appointments/waitlist/add/",
    "appointments/waitlist/<int:entry_id>/cancel/",
    "appointments/parts/",
}


def test_it_walks_the_appointment_booking_pages_with_a_canary_booking_of_store_b(monkeypatch, users, store_b):
    """The booking pages are in the walk, their ids are the planted store-B booking and waitlist entry, and the
    walk would notice an appointment selector that forgot the scope."""
    from aftercare.org.calendar import business_tz
    from aftercare.org.models import Store

    assert APPOINTMENT_BOOKING_PAGES <= {r.template for r in django_routes()}
    rows = plant_rows(store_b)
    assert rows["booking_id"].store_id == store_b.pk and rows["entry_id"].store_id == store_b.pk
    for route in django_routes():
        if route.template in APPOINTMENT_BOOKING_PAGES and route.params:
            booking_url = f"/appointments/{rows['booking_id'].pk}/" + route.template.split("/", 2)[2]
            assert fill(route, rows) in ([booking_url], [f"/appointments/waitlist/{rows['entry_id'].pk}/cancel/"]), (
                route.template)
    advisor = users[Role.SERVICE_ADVISOR]
    client = Client()
    client.force_login(advisor)
    assert client.get(f"/appointments/{rows['booking_id'].pk}/").status_code == 404
    assert client.get("/appointments/", {"store": store_b.pk}).status_code == 404
    for url in ("/appointments/list/", "/appointments/waitlist/", "/appointments/parts/"):
        day = rows["booking_id"].start_at.astimezone(business_tz()).date().isoformat()
        assert CANARY not in client.get(url, {"date": day}).content.decode(), url
    monkeypatch.setattr(
        "aftercare.appointments.selectors.visible_store_ids",
        lambda user, resource=None: frozenset(Store.objects.values_list("id", flat=True)),
    )
    problems = walk_pages(advisor, rows, prefix="appointments/")
    detail = f"GET /appointments/{rows['booking_id'].pk}/ "
    assert any(p.startswith(detail) and "canary" in p for p in problems), problems

# ---- appointments: the customer's self-booking link (public) and the appointments API (aself) ------------------

SELF_BOOKING_PAGES = {"b/<str:token>/", "b/<str:token>/confirm/", "b/<str:token>/move/", "b/<str:token>/cancel/"}
APPOINTMENT_API = {"/api/appointments/availability", "/api/appointments/bookings",
                   "/api/appointments/bookings/{booking_id}", "/api/appointments/bookings/{booking_id}/move",
                   "/api/appointments/bookings/{booking_id}/cancel", "/api/appointments/bookings/{booking_id}/arrive"}


def test_it_walks_the_appointment_routes_with_a_canary_booking_of_store_b(users, store_b):
    """The self-booking pages and the API's booking routes are in the walks; their ids are the planted store-B
    booking's (aftercare/appointments/tests/canary.py), which a store-A user never reaches."""
    assert SELF_BOOKING_PAGES <= {r.template for r in django_routes()}
    assert APPOINTMENT_API <= {r.template for r in api_routes()}
    rows = plant_rows(store_b)
    booking = rows["booking_id"]
    assert booking.store_id == store_b.pk
    assert fill(Route("/api/appointments/bookings/{booking_id}", ("booking_id",), ("get",)), rows) == [
        f"/api/appointments/bookings/{booking.pk}"]
    client = api_client(users[Role.SERVICE_ADVISOR])
    assert client.get(f"/api/appointments/bookings/{booking.pk}").status_code == 404
    assert client.get("/api/appointments/bookings").json()["count"] == 0


def test_a_self_booking_token_of_store_b_reaches_only_that_booking(store_a, store_b):
    """The self-booking route is public: what it shows is decided by the signed token alone. A token of store B's
    booking shows only that booking (and no canary: neither the customer's name, notes, parts nor model); an id, or
    another booking's nonce under this token's signature, reaches nothing."""
    import datetime as dt

    from aftercare.appointments.links import SEP, self_booking_token
    from aftercare.appointments.models import Booking, ServiceKind
    from aftercare.appointments.tests.canary import plant as plant_appointments

    rows = plant_rows(store_b)
    own = plant_appointments(store_a, "OWN-A")["booking"]
    other = rows["booking_id"]
    later = other.start_at + dt.timedelta(days=2)  # the canary's booking starts now: a link ends at the start
    Booking.objects.filter(pk=other.pk).update(start_at=later, end_at=later + dt.timedelta(minutes=30))
    other.refresh_from_db()
    ServiceKind.objects.filter(store=store_b).update(name="常规保养")  # the customer sees the kinds booked
    client = Client(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE="en")
    token = self_booking_token(other.self_link.nonce)
    for suffix in ("", "move/", "cancel/"):
        response = client.get(f"/b/{token}/{suffix}")
        html = response.content.decode()
        assert response.status_code == 200 and not _leaks(response), suffix
        assert store_b.name in html and store_a.name not in html and "OWN-A" not in html
    nonce, stamp, signature = token.split(SEP)
    swapped = SEP.join((own.self_link.nonce, stamp, signature))
    ids = {str(row.pk) for row in rows.values() if hasattr(row, "pk")} | {str(own.pk)}
    for bad in (swapped, *ids, f"{own.pk}{SEP}{stamp}{SEP}{signature}"):
        for suffix in ("", "confirm/", "move/", "cancel/"):
            response = client.post(f"/b/{bad}/{suffix}") if suffix in ("confirm/", "cancel/") else client.get(
                f"/b/{bad}/{suffix}")
            assert response.status_code == 404 and not _leaks(response), (bad, suffix)
            assert "OWN-A" not in response.content.decode() and store_a.name not in response.content.decode()
    Client(REMOTE_ADDR="192.0.2.50").post(f"/b/{token}/confirm/")  # the bad tokens above used up 127.0.0.1's uses
    states = dict(Booking.objects.filter(pk__in=[other.pk, own.pk]).values_list("pk", "state"))
    assert states == {other.pk: "confirmed", own.pk: "booked"}

# ---- appointments: the measures (figures, drill-down lists, export, API) never count another store's rows -----


@pytest.mark.parametrize("foreign_rows", [Role.STORE_MANAGER, Role.SERVICE_ADVISOR, Role.GROUP_ADMIN], indirect=True)
def test_it_never_counts_or_lists_another_stores_appointments(foreign_rows):
    """The canary store's appointment (arrived, this month, matched to a booked order) and no-show count nowhere in
    the user's measures; its id answers 404; the drill-down lists and the export never show it."""
    import io

    from openpyxl import load_workbook

    from aftercare.org.calendar import business_date

    user, foreign = foreign_rows["user"], foreign_rows["store"]
    month = business_date().strftime("%Y-%m")
    client = Client(raise_request_exception=False)
    client.force_login(user)
    page = client.get("/appointments/measures/", {"month": month})
    assert page.status_code == 200 and not _leaks(page)
    rows = {r["key"]: r for r in page.context["page"]["rows"]}
    this = business_date().month - 1
    assert rows["orders_booked"]["cells"][this]["value"] == 0 and rows["arrived"]["cells"][this]["value"] == 0
    assert rows["no_show"]["cells"][this]["value"] == 0
    for url in ("/appointments/measures/orders/", "/appointments/measures/bookings/"):
        listed = client.get(url, {"month": month})
        assert listed.status_code == 200 and not _leaks(listed) and listed.context["page"].paginator.count == 0
        assert client.get(url, {"month": month, "store": foreign.pk}).status_code == 404
    for url in ("/appointments/measures/", "/appointments/measures/export.xlsx"):
        assert client.get(url, {"store": foreign.pk}).status_code == 404
    book = load_workbook(io.BytesIO(client.get("/appointments/measures/export.xlsx").content))
    assert not [c for ws in book.worksheets for row in ws.iter_rows() for c in row if CANARY in str(c.value)]
    api = client.get("/api/appointments/measures", {"month": month})
    assert api.status_code == 200 and api.json()["months"][this]["orders_booked"] == 0
    assert client.get("/api/appointments/measures", {"store": foreign.pk}).status_code == 404


# ---- classes: classes and churn pages, win-back list and export, churn reasons, the class API ----------------------
# (store-B rows: aftercare/care/tests/canary.py, `_plant_classes`: a lost customer with its history and reason)

CLASS_PAGES = {"care/classes/", "care/classes/flow/", "care/classes/settings/", "care/winback/",
               "care/winback/export/", "care/customers/<int:customer_id>/churn-reason/"}
CLASS_API = {"/api/care/classes", "/api/care/customers/{customer_id}/class"}


def test_it_walks_the_class_pages_with_a_canary_lost_customer_of_store_b(monkeypatch, users, store_b):
    """The class pages and API are in the walks; store B's lost customer counts nowhere in store A's manager's
    figures, lists or export, its id answers 404; and the walk would notice a class selector that forgot the
    scope."""
    import io
    from datetime import date

    from openpyxl import load_workbook

    from aftercare.org.models import Store

    assert CLASS_PAGES <= {r.template for r in django_routes()}
    assert CLASS_API <= {r.template for r in api_routes()}
    rows = plant_rows(store_b)
    manager = users[Role.CS_MANAGER]
    client = Client(raise_request_exception=False)
    client.force_login(manager)
    month = date.today().strftime("%Y-%m")
    for url in ("/care/winback/", "/care/classes/", f"/care/classes/flow/?month={month}&from=regular&to=lost"):
        response = client.get(url)
        assert response.status_code == 200 and not _leaks(response), url
    book = load_workbook(io.BytesIO(client.get("/care/winback/export/").content))
    assert not [c for ws in book.worksheets for row in ws.iter_rows() for c in row if CANARY in str(c.value)]
    api = api_client(manager)
    assert api.get("/api/care/classes", {"month": month}).json()["churned"] == 0
    assert api.get(f"/api/care/customers/{rows['class_customer'].pk}/class").status_code == 404
    assert client.post(f"/care/customers/{rows['class_customer'].pk}/churn-reason/",
                       {"reason": "moved"}).status_code == 404
    everything = lambda *args, **kwargs: frozenset(Store.objects.values_list("id", flat=True))  # noqa: E731
    monkeypatch.setattr("aftercare.care.selectors.visible_store_ids", everything)
    monkeypatch.setattr("aftercare.care.views.classes.current_store_ids", everything)
    problems = walk_pages(manager, rows, prefix="care/")
    assert any(p.startswith("GET /care/winback/ ") and "canary" in p for p in problems), problems


# ---- churn: the churn-risk page and API (their store-B row: aftercare/care/tests/canary.py) ----


@pytest.mark.django_db
def test_it_never_shows_another_stores_churn_scores(users, store_a, store_b, monkeypatch):
    """The churn page and list API of store A's manager never show store B's scored customer; store B's customer
    answers 404 on the customer route; and the check would notice a churn selector that forgot the scope."""
    import datetime

    import aftercare.org.scoping as scoping
    from aftercare.care.models import ChurnScore
    from aftercare.care.tests.canary import plant

    rows = plant(store_b, CANARY)
    own = f.CustomerFactory(store=store_a, name="own-churn")
    ChurnScore.objects.create(store=store_a, customer=own, risk=0.5, scored_on=datetime.date(2026, 12, 6))
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(users[Role.CS_MANAGER])
    page = client.get("/care/churn/")
    assert page.status_code == 200 and "own-churn" in page.text and CANARY not in page.text
    listing = client.get("/api/care/churn")
    assert listing.status_code == 200 and [r["customer_id"] for r in listing.json()["items"]] == [own.pk]
    assert client.get(f"/api/care/customers/{rows['churn_customer'].pk}/churn").status_code == 404
    assert client.get(f"/customers/{rows['churn_customer'].pk}/").status_code == 404
    both = lambda user, resource=None: frozenset({store_a.pk, store_b.pk})  # noqa: E731
    monkeypatch.setattr(scoping, "visible_store_ids", both)
    monkeypatch.setattr("aftercare.care.selectors.visible_store_ids", both)  # care_store_ids imported it by name
    assert CANARY in client.get("/care/churn/").text  # the walk's check is not vacuous


# ---- end churn ----
# ---- channels: the delivery log, its export and API, the message templates (store-B rows: followups canary) ----
CHANNEL_PAGES = {"care/messages/", "care/messages/export.xlsx", "care/templates/", "care/templates/new/",
                 "care/templates/<int:pk>/", "care/optout/<str:token>/", "care/channels/settings/"}


@pytest.mark.parametrize("role", [Role.CS_MANAGER, Role.CS_SPECIALIST, Role.STORE_MANAGER])
def test_it_keeps_another_stores_messages_and_templates_out_of_the_channel_pages(users, store_a, store_b, role):
    import io

    import openpyxl

    from aftercare.followups.tests.canary import plant

    assert CHANNEL_PAGES <= {r.template for r in django_routes()}
    assert "/api/care/messages" in {r.template for r in api_routes()}
    rows = plant(store_b, CANARY)
    mine = plant(store_a, "MINE")
    client = Client(raise_request_exception=False)
    client.force_login(users[role])
    for url in ("/care/messages/", f"/care/messages/?customer={rows['message'].customer_id}", "/care/templates/",
                "/api/care/messages", f"/api/care/messages?customer_id={rows['message'].customer_id}"):
        response = client.get(url)
        assert response.status_code in (200, 403) and not _leaks(response), url
    if role != Role.CS_SPECIALIST:
        page = client.get("/care/messages/")
        assert page.status_code == 200 and b"MINE" in page.content  # the walk sees the store's own rows
        assert client.get(f"/care/templates/{rows['message_template'].pk}/").status_code == 404
        assert client.get(f"/care/templates/{mine['message_template'].pk}/").status_code == 200
        export = client.get("/care/messages/export.xlsx")
        cells = [c for row in openpyxl.load_workbook(io.BytesIO(export.content)).active.iter_rows(values_only=True)
                 for c in row]
        assert "MINE" in cells and CANARY not in cells
        # the channel settings: the own store's page, another store's a 404 (read and write)
        assert client.get("/care/channels/settings/").status_code == 200
        assert client.get("/care/channels/settings/", {"store": store_b.pk}).status_code == 404
        assert client.post("/care/channels/settings/", {"store": store_b.pk, "quiet_start": "22:00",
                                                        "quiet_end": "07:00", "marketing_weekly_cap": "1",
                                                        "calls_weekly_cap": "1"}).status_code == 404
        from aftercare.followups.models import ChannelSettings

        assert not ChannelSettings.objects.filter(store=store_b).exists()
    else:
        assert client.get("/care/messages/").status_code == 200
        assert client.get("/care/messages/export.xlsx").status_code == 403
        assert client.get("/care/templates/").status_code == 403
        assert client.get("/care/channels/settings/", {"store": store_b.pk}).status_code == 403
# ---- end channels ----
