"""The dealer scorecard and the parts-shipment accuracy (docs/quality.md, "Dealer scorecard"): the import of the
carmaker's file, the measure against a hand-computed store-month, the ranking, the page, its export and the API."""

import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile

from aftercare.core.models import AuditEvent
from aftercare.org.choices import Role
from aftercare.org.kpis import measure_get
from aftercare.quality.selectors_scorecard import SCORECARD_CODES, scorecard_month
from aftercare.quality.services.shipments import parts_shipments_import
from aftercare.quality.shipment_models import PartsShipmentMonth
from aftercare.testing import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(dt.datetime(2026, 12, 7, 2, 0, tzinfo=dt.UTC), tick=False):
        yield

HEADER = "经销商代码,月份,发货行数,正确行数\n"


def csv(text: str, name: str = "shipments.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, (HEADER + text).encode("utf-8"), content_type="text/csv")


@pytest.fixture
def store_c(db):
    return f.StoreFactory(code="C01", name="佛山禅城店")


@pytest.fixture
def admin(store_a, store_b, store_c):
    user = f.UserFactory(username="group_admin")
    f.StaffFactory(user=user, group=store_a.group, role=Role.GROUP_ADMIN, stores=[store_a], display_name="admin")
    return user


@pytest.fixture
def shipped(admin, store_a, store_b, store_c):
    """November 2026: A 197/200 (98.5 %), B 190/200 (95.0 %), C 99/100 (99.0 %); A's October 50/100."""
    result = parts_shipments_import(actor=admin, file=csv(
        "A01,2026-11,200,197\nB01,2026年11月,200,190\nC01,202611,100,99\nA01,2026-10,100,50\n"))
    assert result.ok, result.errors
    return result


def test_it_imports_the_file_and_updates_the_same_months_again(admin, shipped, store_a):
    assert (shipped.created, shipped.updated, shipped.rows) == (4, 0, 4)
    row = PartsShipmentMonth.objects.get(store=store_a, month=dt.date(2026, 11, 1))
    assert (row.lines_shipped, row.lines_right, row.accuracy) == (200, 197, Decimal("98.5"))
    again = parts_shipments_import(actor=admin, file=csv("A01,2026-11,200,199\n"))
    assert (again.created, again.updated) == (0, 1)
    row.refresh_from_db()
    assert row.lines_right == 199 and PartsShipmentMonth.objects.count() == 4
    assert AuditEvent.objects.filter(action="import", object_type="quality.partsshipmentmonth").count() == 2


def test_it_names_every_bad_cell_and_stores_nothing(admin, shipped, store_a):
    result = parts_shipments_import(actor=admin, file=csv(
        "A01,2026-12,100,101\nZZ9,2026-12,10,9\nB01,13/2026,10,9\nC01,2026-12,0,0\nA01,2026-11,abc,1\n"
        "C01,2026-12,10,9\nC01,2026-12,10,9\n"))
    assert not result.ok
    found = {(e.row, e.column) for e in result.errors}
    assert found == {(2, "正确行数"), (3, "经销商代码"), (4, "月份"), (5, "发货行数"), (6, "发货行数"), (8, "月份")}
    assert PartsShipmentMonth.objects.filter(month=dt.date(2026, 12, 1)).count() == 0
    assert PartsShipmentMonth.objects.get(store=store_a, month=dt.date(2026, 11, 1)).lines_right == 197


def test_it_refuses_a_store_of_another_group(admin, shipped):
    f.StoreFactory(code="X01", region=f.RegionFactory(group=f.DealerGroupFactory(code="G2"), code="N"))
    result = parts_shipments_import(actor=admin, file=csv("X01,2026-11,10,10\n"))
    assert [(e.row, e.column) for e in result.errors] == [(2, "经销商代码")]
    assert not PartsShipmentMonth.objects.filter(store__code="X01").exists()


@pytest.mark.parametrize("content, message", [
    (b"", "empty"), (b"a,b\n1,2\n", "no column"), ("经销商代码,月份,发货行数,正确行数\n".encode(), "no rows"),
])
def test_it_says_why_a_file_cannot_be_read(admin, content, message):
    result = parts_shipments_import(actor=admin, file=SimpleUploadedFile("x.csv", content))
    assert message in result.file_error.lower() or result.file_error  # a sentence, never an exception
    assert not PartsShipmentMonth.objects.exists()


def test_it_computes_the_measure_against_a_hand_computed_store_month(admin, shipped, store_a, store_b):
    measure = measure_get("quality.parts_shipment_accuracy")
    values = {v.store_id: v for v in measure.compute(user=admin, store_ids=[store_a.pk, store_b.pk],
                                                     period_start=dt.date(2026, 11, 1),
                                                     period_end=dt.date(2026, 12, 1))}
    assert (values[store_a.pk].value, values[store_a.pk].numerator, values[store_a.pk].denominator) == (
        Decimal("98.5"), 197, 200)
    assert values[store_b.pk].value == Decimal("95.0") and len(values) == 2
    quarter = {v.store_id: v for v in measure.compute(user=admin, store_ids=None, period_start=dt.date(2026, 10, 1),
                                                      period_end=dt.date(2027, 1, 1))}
    assert (quarter[store_a.pk].numerator, quarter[store_a.pk].denominator) == (247, 300)  # 82.3 %
    assert quarter[store_a.pk].value == Decimal("82.3")


def test_it_gives_a_store_user_only_their_store(shipped, users, store_a, store_b):
    measure = measure_get("quality.parts_shipment_accuracy")
    rows = measure.compute(user=users[Role.CS_MANAGER], store_ids=None, period_start=dt.date(2026, 11, 1),
                           period_end=dt.date(2026, 12, 1))
    assert [v.store_id for v in rows] == [store_a.pk]


def test_it_ranks_the_stores_and_judges_each_figure_against_its_target(admin, shipped, store_a, store_b, store_c):
    card = scorecard_month(user=admin, month=dt.date(2026, 11, 1))
    assert [m.code for m in card.measures] == list(SCORECARD_CODES) and not card.running
    by_code = {row.store.code: row for row in card.rows}
    accuracy = {code: next(c for c in row.cells if c.measure.code == "quality.parts_shipment_accuracy")
                for code, row in by_code.items()}
    assert {code: (c.value, c.rank, c.points, c.judgement.state) for code, c in accuracy.items()} == {
        "C01": (Decimal("99.0"), 1, Decimal(100), "met"),
        "A01": (Decimal("98.5"), 2, Decimal(50), "met"),
        "B01": (Decimal("95.0"), 3, Decimal(0), "missed"),
    }
    # the other measures have no figure on this data: the score is the shipment points alone
    assert [(row.store.code, row.rank, row.score) for row in card.rows] == [
        ("C01", 1, Decimal(100)), ("A01", 2, Decimal(50)), ("B01", 3, Decimal(0))]


def test_it_marks_the_running_month_running_not_missed(admin, store_b):
    parts_shipments_import(actor=admin, file=csv("B01,2026-12,100,90\n"))
    card = scorecard_month(user=admin, month=dt.date(2026, 12, 1))
    cell = next(c for row in card.rows if row.store.code == "B01" for c in row.cells
                if c.measure.code == "quality.parts_shipment_accuracy")
    assert card.running and cell.judgement.state == "running"


def test_it_reads_the_scorecard_in_a_bounded_number_of_queries(admin, shipped, django_assert_max_num_queries):
    scorecard_month(user=admin, month=dt.date(2026, 11, 1))  # warm the user's caches
    with django_assert_max_num_queries(40):
        scorecard_month(user=admin, month=dt.date(2026, 11, 1))
    for n in range(3):
        f.StoreFactory(code=f"D0{n}")
    admin.__dict__.pop("_scope_cache", None)
    with django_assert_max_num_queries(41):  # more stores, the same statements (+1: the scope read again)
        scorecard_month(user=admin, month=dt.date(2026, 11, 1))


def test_it_shows_the_page_exports_it_and_refuses_a_bad_month(client, admin, shipped):
    client.force_login(admin)
    page = client.get("/quality/scorecard/?month=2026-11")
    body = page.content.decode()
    assert page.status_code == 200 and 'id="scorecard"' in body and "配件发货准确率" in body
    assert body.index('data-store="C01"') < body.index('data-store="A01"') < body.index('data-store="B01"')
    export = client.get("/quality/scorecard/?month=2026-11&format=xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(export.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert [r[:3] for r in rows[1:]] == [(1, "C01", 100), (2, "A01", 50), (3, "B01", 0)]
    bad = client.get("/quality/scorecard/?month=2026-13")
    assert bad.status_code == 400 and "is-invalid" in bad.content.decode()


def test_it_shows_one_store_without_a_rank(client, users, shipped):
    client.force_login(users[Role.STORE_MANAGER])
    body = client.get("/quality/scorecard/?month=2026-11").content.decode()
    assert 'data-store="A01"' in body and 'data-store="B01"' not in body
    assert "只有一家店：不排名" in body


def test_it_imports_through_the_page_and_names_the_bad_rows(client, admin):
    client.force_login(admin)
    bad = client.post("/quality/shipments/", {"file": csv("A01,2026-11,10,11\n")})
    assert bad.status_code == 400 and 'id="shipments-import-errors"' in bad.content.decode()
    empty = client.post("/quality/shipments/", {})
    assert empty.status_code == 400 and "is-invalid" in empty.content.decode()
    good = client.post("/quality/shipments/", {"file": csv("A01,2026-11,10,9\n")})
    assert good.status_code == 302 and PartsShipmentMonth.objects.get().lines_right == 9
    assert "90.0%" in client.get("/quality/shipments/").content.decode()


def test_it_lets_only_a_quality_manager_import(client, users, admin):
    client.force_login(users[Role.STORE_MANAGER])
    page = client.get("/quality/shipments/")
    assert page.status_code == 200 and 'id="shipments-import-form"' not in page.content.decode()
    assert client.post("/quality/shipments/", {"file": csv("A01,2026-11,10,9\n")}).status_code == 403
    assert client.get("/quality/scorecard/").status_code == 200
    client.force_login(users[Role.CS_SPECIALIST])  # no quality.view
    assert client.get("/quality/scorecard/").status_code == 403
    assert not PartsShipmentMonth.objects.exists()


def test_it_answers_the_api(client, admin, shipped):
    client.force_login(admin)
    card = client.get("/api/quality/scorecard?month=2026-11").json()
    assert [(r["store"], r["rank"]) for r in card["rows"]] == [("C01", 1), ("A01", 2), ("B01", 3)]
    assert client.get("/api/quality/scorecard?month=junk").status_code == 422
    listed = client.get("/api/quality/shipments").json()
    assert listed["count"] == 4 and listed["items"][0]["accuracy"] is not None
    bad = client.post("/api/quality/shipments/import", {"file": csv("A01,2026-11,10,11\n")})
    assert bad.status_code == 422 and list(bad.json()["errors"]) == ["rows.2.正确行数"]
    good = client.post("/api/quality/shipments/import", {"file": csv("A01,2026-11,10,9\n")})
    assert good.status_code == 200 and good.json() == {"rows": 1, "created": 0, "updated": 1}

