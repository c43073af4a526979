"""Bad input on every page and API route of the reports app (docs/reports.md): non-numeric and huge ids, bad dates,
unknown choices, missing fields, empty POSTs. Each answers 400 / 404 / 422 (naming the field where there is one) and
never 500; a filter a page cannot use leaves the page as it is (200). And each role's reports nav (_nav.html) links
only to pages it may open. Runs on SQLite and PostgreSQL (huge ids must not reach the database)."""

import datetime as dt
import re

import pytest

from aftercare.org.choices import Role
from aftercare.reports.services.actions import action_complete, action_create, action_verify

pytestmark = pytest.mark.django_db
BIG = "9" * 30  # beyond a 64-bit id


@pytest.fixture
def manager_client(client, users):
    client.force_login(users[Role.CS_MANAGER])
    return client


@pytest.fixture
def action(store_a, users):
    """An action marked done by its owner: the manager verifies it next."""
    made = action_create(
        actor=users[Role.CS_MANAGER],
        store_id=store_a.pk,
        title="前台接待时间缩短",
        source="ssi_factor",
        source_detail="",
        owner=users[Role.DEPARTMENT_DESIGNEE],
        due_date=dt.date(2026, 3, 20),
    )
    return action_complete(actor=users[Role.DEPARTMENT_DESIGNEE], action_id=made.pk, note="增加一名接待")


# (method, url, data, status, field the answer marks invalid or None); "{action}" is the action's id
PAGES = [
    ("get", "/reports/actions/abc/", None, 404, None),
    ("get", f"/reports/actions/{BIG}/", None, 404, None),
    ("get", "/reports/actions/999999/", None, 404, None),
    (
        "post",
        "/reports/actions/",
        {"title": "x" * 5000, "source": "zz", "owner": "abc", "due_date": "2026-99-01"},
        400,
        "due_date",
    ),
    ("post", "/reports/actions/999999/done/", {}, 404, None),
    ("post", f"/reports/actions/{BIG}/done/", {}, 404, None),
    ("post", "/reports/actions/{action}/bogus/", {"note": "x"}, 404, None),
    ("post", "/reports/actions/{action}/not_effective/", {}, 400, "note"),
    ("get", f"/reports/archive/{BIG}/", None, 404, None),
    ("get", "/reports/archive/999999/", None, 404, None),
    ("get", f"/reports/archive/{BIG}/pdf/", None, 404, None),
    ("get", "/reports/archive/999999/xlsx/", None, 404, None),
    ("post", "/reports/archive/999999/resend/", {}, 404, None),
    ("get", "/reports/measures/NOPE/", None, 404, None),
    ("get", "/reports/measures/NOPE/export/", None, 404, None),
    ("post", "/reports/ssi/import/", {"store": "abc", "kind": "zz"}, 400, "store"),
    ("post", "/reports/ssi/target/", {}, 404, None),
    ("post", "/reports/ssi/target/", {"store": BIG, "kind": "zz", "target": "1e400"}, 404, None),
    ("get", "/reports/year/?store=abc&year=2026&format=pdf", None, 404, None),
    ("get", f"/reports/year/?store=A01&year={BIG}&format=xlsx", None, 400, "year"),
    ("get", "/reports/year/?store=A01&year=-1&format=pdf", None, 400, "year"),
    ("get", f"/reports/year/?store={BIG}&year=abc", None, 400, "year"),
]


@pytest.mark.parametrize(("method", "url", "data", "status", "field"), PAGES)
def test_it_answers_bad_input_on_a_page(manager_client, action, method, url, data, status, field):
    response = getattr(manager_client, method)(url.format(action=action.pk), data)
    assert response.status_code == status
    if field:
        html = response.content.decode()
        tags = re.findall(rf'<(?:input|select|textarea)[^>]*name="{field}"[^>]*>', html)
        assert any("is-invalid" in tag for tag in tags), f"{field} is not marked invalid"


# filters a page cannot use: the page is shown (unfiltered or at its default), never a 500, with the fields it
# could not use marked invalid (the SSI page and its sheets / export fall back to their defaults without a mark)
FILTERS = [
    (f"/reports/actions/?status=bogus&mine=maybe&overdue=zz&page={BIG}", ["status"]),
    (f"/reports/archive/?kind=bogus&store=abc&department={BIG}&page=zz", ["store", "department", "kind"]),
    (f"/reports/measures/?level=bogus&store={BIG}&period=decade&start=2026-99-99", ["start"]),
    ("/reports/measures/?start=0001-01-01", ["start"]),
    (f"/reports/ssi/?store=abc&year={BIG}&period=junk&kind=bogus", []),
    ("/reports/ssi/?year=-5", []),
    ("/reports/ssi/sheets/?since=garbage&until=2026-99", []),
    ("/reports/ssi/sheets/?since=0000-01&until=9999-12", []),
    ("/reports/ssi/export/?month=10000-01&store=abc&kind=zz", []),
    ("/reports/year/?store=A01&year=2026&format=docx", []),
]


@pytest.mark.parametrize(("url", "invalid"), FILTERS)
def test_it_shows_the_page_for_a_filter_it_cannot_use(manager_client, url, invalid):
    response = manager_client.get(url)
    assert response.status_code == 200
    if not response["Content-Type"].startswith("text/html"):  # the SSI export: this month's file
        return
    marked = re.findall(
        r'<(?:input|select)[^>]*name="(\w+)"[^>]*is-invalid|<(?:input|select)[^>]*is-invalid[^>]*name="(\w+)"',
        response.content.decode(),
    )
    assert sorted({a or b for a, b in marked}) == sorted(invalid)


def test_it_names_the_missing_fields_of_an_empty_action_post(manager_client):
    response = manager_client.post("/reports/actions/", {})
    marked = re.search(r'<input[^>]*is-invalid[^>]*id="action_title"', response.content.decode())
    assert response.status_code == 400 and marked


def test_it_shows_why_an_open_action_cannot_be_verified(manager_client, action, users):
    action_verify(actor=users[Role.CS_MANAGER], action_id=action.pk, effective=False, note="仍需改进")  # reopened
    response = manager_client.post(f"/reports/actions/{action.pk}/effective/", {"note": ""})
    assert response.status_code == 400 and "只有已标记完成的整改措施可以验证。" in response.content.decode()


# the DMS import page shows its form's errors with 200 (dms/tests/test_views.py), the others with 400
@pytest.mark.parametrize(
    "url, status",
    [("/reports/ssi/import/", 400), ("/renewals/import/", 400), ("/appointments/import/", 400), ("/imports/", 200)],
)
def test_it_names_the_file_missing_from_an_empty_import(manager_client, url, status):
    response = manager_client.post(url, {})
    file_input = re.search(r'<input[^>]*name="file"[^>]*>', response.content.decode())
    assert response.status_code == status and file_input and "is-invalid" in file_input.group(0), url


# (method, url, JSON body or None, status, a field the 422 names)
API = [
    ("get", "/api/reports/actions?status=bogus", None, 422, "status"),
    ("get", "/api/reports/actions?store_id=abc", None, 422, "store_id"),
    ("get", f"/api/reports/actions?store_id={BIG}", None, 404, None),
    ("get", "/api/reports/actions/abc", None, 422, "action_id"),
    ("get", f"/api/reports/actions/{BIG}", None, 422, "action_id"),
    ("get", "/api/reports/actions/999999", None, 404, None),
    ("post", "/api/reports/actions", {}, 422, "title"),
    (
        "post",
        "/api/reports/actions",
        {"store_id": BIG, "title": "x", "source": "zz", "owner_id": "abc", "due_date": "2026-99-01"},
        422,
        "due_date",
    ),
    ("post", "/api/reports/actions", "not json", 422, "body"),
    ("post", "/api/reports/actions/999999/done", {"note": "x"}, 404, None),
    ("post", "/api/reports/actions/{action}/verify", {"effective": False}, 422, "note"),
    ("post", "/api/reports/actions/{action}/verify", {"effective": "zz"}, 422, "effective"),
    ("get", "/api/reports/measures?level=zzz", None, 422, "level"),
    ("get", "/api/reports/measures?store=abc", None, 422, "store"),
    ("get", f"/api/reports/measures?store={BIG}", None, 422, "store"),
    ("get", "/api/reports/measures?start=2026-99-01", None, 422, "start"),
    ("get", "/api/reports/measures?start=0001-01-01", None, 422, "start"),
    ("get", "/api/reports/mail/reports?kind=zz", None, 422, "kind"),
    ("get", "/api/reports/mail/reports?store_id=abc", None, 422, "store_id"),
    ("get", "/api/reports/mail/reports/abc", None, 422, "report_id"),
    ("get", f"/api/reports/mail/reports/{BIG}/xlsx", None, 422, "report_id"),
    ("get", "/api/reports/mail/reports/999999/pdf", None, 404, None),
    ("get", "/api/reports/ssi/comparison", None, 422, "store"),
    ("get", f"/api/reports/ssi/comparison?store=A01&year={BIG}", None, 422, "year"),
    ("get", "/api/reports/ssi/comparison?store=A01&kind=zz", None, 422, "kind"),
    ("get", "/api/reports/ssi/comparison?store=ZZZ", None, 404, None),
    ("post", "/api/reports/ssi/benchmarks", None, 422, "file"),
    ("get", "/api/reports/year/pdf?store=A01&year=abc", None, 422, "year"),
    ("get", "/api/reports/year/xlsx?store=ZZZ&year=2026", None, 404, None),
    ("get", "/api/reports/year/pdf?year=2026", None, 422, "store"),
]


@pytest.mark.parametrize(("method", "url", "body", "status", "field"), API)
def test_it_answers_bad_input_on_the_api(manager_client, action, method, url, body, status, field):
    url = url.format(action=action.pk)
    if method == "get":
        response = manager_client.get(url)
    elif body is None:
        response = manager_client.post(url, {})  # an empty multipart form
    else:
        response = manager_client.post(url, body, content_type="application/json")
    assert response.status_code == status
    if field:
        errors = response.json()["errors"]
        assert any(key.split(".")[-1] == field for key in errors), errors


@pytest.mark.parametrize("role", Role.values)
def test_it_links_each_role_only_to_reports_pages_it_may_open(client, users, role):
    client.force_login(users[role])
    pages = ["/reports/actions/", "/reports/measures/", "/reports/archive/", "/reports/ssi/", "/reports/year/"]
    links, shown = set(), 0
    for page in pages:
        response = client.get(page)
        if response.status_code != 200:
            continue
        shown += 1
        nav = re.search(r'<nav[^>]*id="reports-nav".*?</nav>', response.content.decode(), re.S)
        assert nav, page
        links |= set(re.findall(r'href="([^"]+)"', nav.group(0)))
    assert shown and links, "every role opens at least the action register"
    for link in sorted(links):
        assert client.get(link).status_code == 200, link
