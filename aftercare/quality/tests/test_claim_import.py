"""Import of the carmaker's warranty-claim file (docs/quality.md, "The warranty-claim file"): submitted reports of
source warranty claim with the family, vehicle and build month of the report service; a re-import creates nothing
twice; every bad cell named by row and column with nothing stored; the page and the API."""

import datetime as dt
import io

import openpyxl
import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile

from aftercare.core.models import AuditEvent
from aftercare.org.choices import Role
from aftercare.quality.models import QualityReport
from aftercare.quality.services.claims import quality_reports_import_claims
from aftercare.testing import factories as f
from aftercare.testing.clients import page_client

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 3, 10, 4, 0, tzinfo=dt.UTC)
HEADER = ["索赔单号", "经销商代码", "VIN", "零部件类别", "零件号", "供应商批次", "故障日期", "行驶里程", "故障代码",
          "故障描述", "索赔日期"]
EN_HEADER = ["Claim number", "Dealer code", "VIN", "Part family", "Part number", "Supplier batch", "Failure date",
             "Mileage km", "Symptom code", "Symptom", "Claim date"]


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def advisor(users):
    return users[Role.SERVICE_ADVISOR]


@pytest.fixture
def vehicle(store_a):
    customer = f.CustomerFactory(store=store_a, name="王先生")
    return f.owned_vehicle(customer, model="英朗", delivery_date=dt.date(2025, 4, 18))


@pytest.fixture
def vehicle_b(store_b):
    return f.owned_vehicle(f.CustomerFactory(store=store_b), delivery_date=dt.date(2025, 1, 5))


def csv_file(rows: list[list], header=HEADER, name: str = "claims.csv") -> SimpleUploadedFile:
    lines = [",".join(header)] + [",".join(str(c) for c in row) for row in rows]
    return SimpleUploadedFile(name, ("\n".join(lines) + "\n").encode("utf-8"), content_type="text/csv")


def xlsx_file(rows: list[list], header=EN_HEADER, name: str = "claims.xlsx") -> SimpleUploadedFile:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return SimpleUploadedFile(name, buffer.getvalue())


def row(vin, claim="WC-001", store="A01", family="FRONT_SHOCK", failure="2026-02-20", mileage="18500",
        symptom="SHOCK_LEAK", text="漏油", claim_date="2026-02-25", batch="B2504"):
    return [claim, store, vin, family, "54610-A1", batch, failure, mileage, symptom, text, claim_date]


def test_it_creates_submitted_reports_from_a_csv_with_family_vehicle_and_build_month(advisor, vehicle):
    result = quality_reports_import_claims(actor=advisor, file=csv_file([
        row(vehicle.vin), row(vehicle.vin.lower(), claim="WC-002", family="前减震器", symptom="", text="异响",
                               failure="2026/3/1", claim_date="2026年3月2日", batch=""),
    ]))
    assert result.ok, (result.errors, result.file_error)
    assert (result.rows, result.created, result.skipped) == (2, 2, 0)
    first, second = QualityReport.objects.order_by("claim_number")
    assert (first.status, first.source, first.claim_number, first.claim_date) == (
        "submitted", "warranty_claim", "WC-001", dt.date(2026, 2, 25))
    assert (first.vehicle, first.vin, first.vehicle_model) == (vehicle, vehicle.vin, "英朗")
    assert (first.part_family.code, first.build_month, first.months_in_service) == (
        "FRONT_SHOCK", dt.date(2025, 4, 1), 10)
    assert (first.mileage_km, first.symptom.code, first.supplier_batch) == (18_500, "SHOCK_LEAK", "B2504")
    assert (second.part_family.code, second.symptom, second.symptom_text) == ("FRONT_SHOCK", None, "异响")
    assert second.failure_date == dt.date(2026, 3, 1)
    assert AuditEvent.objects.filter(action="import", object_type="quality.qualityreport").count() == 1
    # each report audited as one recorded by hand
    created = AuditEvent.objects.filter(action="create", object_type="quality.qualityreport")
    assert sorted(created.values_list("object_id", flat=True)) == sorted([str(first.pk), str(second.pk)])
    assert {(e.actor_id, e.store_id, e.detail["source"], e.detail["status"]) for e in created} == {
        (advisor.pk, first.store_id, "warranty_claim", "submitted")}


def test_it_creates_reports_from_an_xlsx_with_english_headers(advisor, vehicle):
    result = quality_reports_import_claims(actor=advisor, file=xlsx_file([
        ["WC-9", "a01", vehicle.vin, "Front shock absorber", "54610-A1", None, dt.datetime(2026, 2, 20), 18500,
         None, "leaks", dt.date(2026, 2, 21)],
    ]))
    assert result.ok, (result.errors, result.file_error)
    report = QualityReport.objects.get()
    assert (report.claim_number, report.part_family.code, report.build_month, report.failure_date) == (
        "WC-9", "FRONT_SHOCK", dt.date(2025, 4, 1), dt.date(2026, 2, 20))


def test_it_creates_nothing_twice_when_the_file_is_imported_again(advisor, vehicle):
    file = [row(vehicle.vin), row(vehicle.vin, claim="WC-002")]
    assert quality_reports_import_claims(actor=advisor, file=csv_file(file)).created == 2
    again = quality_reports_import_claims(actor=advisor, file=csv_file([*file, row(vehicle.vin, claim="WC-003")]))
    assert again.ok and (again.rows, again.created, again.skipped) == (3, 1, 2)
    assert QualityReport.objects.count() == 3


@pytest.mark.parametrize("in_file", [True, False], ids=["delivery-date-in-file", "first-sales-delivery"])
def test_it_imports_a_file_in_queries_that_do_not_grow_with_its_claims(advisor, vehicle, in_file):
    """The stores, codes, claims imported before and vehicles (with their first sales delivery, for a build month
    the vehicle file does not give) are read once; the reports and their audit events written in one statement each
    (before, about 24 queries a claim)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    if not in_file:
        f.SalesDeliveryFactory(store=vehicle.store, customer=vehicle.ownerships.get().customer, vehicle=vehicle,
                               delivered_at=dt.datetime(2025, 4, 18, 2, tzinfo=dt.UTC))
        type(vehicle).objects.filter(pk=vehicle.pk).update(delivery_date=None)
    counts = []
    for n, prefix in ((1, "ONE"), (30, "MANY")):
        with CaptureQueriesContext(connection) as queries:
            result = quality_reports_import_claims(
                actor=advisor, file=csv_file([row(vehicle.vin, claim=f"{prefix}-{i}") for i in range(n)]))
        assert result.created == n, (result.errors, result.file_error)
        counts.append(len(queries))
    assert counts[1] <= counts[0] <= 14, counts
    assert set(QualityReport.objects.values_list("build_month", flat=True)) == {dt.date(2025, 4, 1)}


def test_it_keeps_nothing_when_another_upload_imports_the_same_claims_meanwhile(advisor, vehicle, monkeypatch):
    """The claims imported before are read first; one imported between that read and the write is refused by the
    database's unique key: the file is reported, nothing of it kept, and a second try skips the claim."""
    from aftercare.quality.services import claims

    assert quality_reports_import_claims(actor=advisor, file=csv_file([row(vehicle.vin)])).created == 1
    monkeypatch.setattr(claims, "_claims_imported", lambda keys: set())  # as if read before the other upload
    result = quality_reports_import_claims(actor=advisor, file=csv_file([row(vehicle.vin, claim="WC-NEW"),
                                                                          row(vehicle.vin)]))
    assert result.created == 0 and "at the same time" in result.file_error
    assert list(QualityReport.objects.values_list("claim_number", flat=True)) == ["WC-001"]
    assert AuditEvent.objects.filter(action="import").count() == 1
    monkeypatch.undo()
    again = quality_reports_import_claims(actor=advisor, file=csv_file([row(vehicle.vin, claim="WC-NEW"),
                                                                         row(vehicle.vin)]))
    assert (again.created, again.skipped) == (1, 1)


def test_it_names_every_bad_row_and_column_and_stores_nothing(advisor, vehicle, vehicle_b, store_b):
    f.StoreFactory(code="X01", region=f.RegionFactory(group=f.DealerGroupFactory(code="G2"), code="N"))
    quality_reports_import_claims(actor=advisor, file=csv_file([row(vehicle.vin, claim="OLD-1")]))
    result = quality_reports_import_claims(actor=advisor, file=csv_file([
        row(vehicle.vin),  # good, but the file is refused as a whole
        row(vehicle.vin, claim="WC-2", family="WHEEL"),
        row(vehicle.vin, claim="WC-3", failure="2026-02-31"),
        row("LSGZZZZZZZZZZZZZ1", claim="WC-4"),
        row(vehicle.vin, claim="WC-5", store="Z99"),
        row(vehicle_b.vin, claim="WC-6", store="B01"),
        row(vehicle.vin, claim="WC-7", store="X01"),
        row(vehicle.vin, claim="WC-8", mileage="many"),
        row(vehicle.vin, claim="WC-1", claim_date="2026-02-01"),
        row(vehicle.vin, claim="WC-10", failure="2026-04-01", claim_date="2026-04-02"),
        row(vehicle.vin),  # WC-001 twice
        row(vehicle.vin, claim="OLD-1", family="WHEEL"),  # imported before: skipped, not read again
    ]))
    assert not result.ok and not result.file_error
    assert [(e.row, e.column) for e in result.errors] == [
        (3, "零部件类别"), (4, "故障日期"), (5, "VIN"), (6, "经销商代码"), (7, "经销商代码"), (8, "经销商代码"),
        (9, "行驶里程"), (10, "索赔日期"), (11, "故障日期"), (12, "索赔单号"),
    ]
    assert "B01" in result.errors[4].message and "row 2" in result.errors[-1].message
    assert (result.rows, result.refused, result.skipped, result.created) == (12, 10, 1, 0)
    assert list(QualityReport.objects.values_list("claim_number", flat=True)) == ["OLD-1"]


def test_it_refuses_a_file_that_is_no_sheet_with_a_sentence(advisor):
    for content in (b"", b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR", b"PK\x03\x04garbage", b"a,b\n1,2\n"):
        result = quality_reports_import_claims(actor=advisor, file=SimpleUploadedFile("x.csv", content))
        assert result.file_error and not result.created
    header_only = quality_reports_import_claims(actor=advisor, file=csv_file([]))
    assert "no rows" in header_only.file_error
    assert not QualityReport.objects.exists()


def test_it_stores_a_formula_looking_cell_as_text(advisor, vehicle):
    formula = '=HYPERLINK("http://x.example","click")'
    book_row = ["WC-F", "A01", vehicle.vin, "FRONT_SHOCK", "54610-A1", None, "2026-02-20", 100, None, formula,
                "2026-02-21"]
    book = openpyxl.Workbook()
    book.active.append(EN_HEADER)
    book.active.append(book_row)
    book.active.cell(row=2, column=10).data_type = "s"  # a text cell, as Excel keeps a text starting with "="
    buffer = io.BytesIO()
    book.save(buffer)
    result = quality_reports_import_claims(actor=advisor, file=SimpleUploadedFile("f.xlsx", buffer.getvalue()))
    assert result.ok, (result.errors, result.file_error)
    assert QualityReport.objects.get().symptom_text == formula
    csv_result = quality_reports_import_claims(
        actor=advisor, file=csv_file([row(vehicle.vin, claim="WC-G", symptom="", text="=1+2")]))
    assert csv_result.ok and QualityReport.objects.get(claim_number="WC-G").symptom_text == "=1+2"


def test_it_lets_only_a_reporting_user_import(users, vehicle):
    with pytest.raises(PermissionDenied):
        quality_reports_import_claims(actor=users[Role.QUALITY_ENGINEER], file=csv_file([row(vehicle.vin)]))


def test_it_imports_through_the_page(advisor, users, vehicle):
    client = page_client(advisor)
    assert 'id="report-import"' in client.get("/quality/reports/").content.decode()
    page = client.get("/quality/reports/import/")
    assert page.status_code == 200 and 'id="claims-import-form"' in page.content.decode()
    bad = client.post("/quality/reports/import/", {"file": csv_file([row(vehicle.vin, family="WHEEL")])})
    assert bad.status_code == 400
    body = bad.content.decode()
    assert 'id="claims-import-errors"' in body and "零部件类别" in body and 'id="claims-import-result"' in body
    junk = client.post("/quality/reports/import/", {"file": SimpleUploadedFile("x.csv", b"a,b\n1,2\n")})
    assert junk.status_code == 400 and "no column" in junk.content.decode()
    good = client.post("/quality/reports/import/", {"file": csv_file([row(vehicle.vin)])}, follow=True)
    assert good.status_code == 200 and "reports created: 1" in good.content.decode()
    assert QualityReport.objects.get().claim_number == "WC-001"
    engineer = page_client(users[Role.QUALITY_ENGINEER])
    assert engineer.get("/quality/reports/import/").status_code == 403
    assert engineer.post("/quality/reports/import/", {"file": csv_file([row(vehicle.vin)])}).status_code == 403


def test_it_answers_the_api(advisor, users, vehicle):
    client = page_client(advisor)
    bad = client.post("/api/quality/reports/import", {"file": csv_file([row(vehicle.vin, failure="junk")])})
    assert bad.status_code == 422 and list(bad.json()["errors"]) == ["rows.2.故障日期"]
    junk = client.post("/api/quality/reports/import", {"file": SimpleUploadedFile("x.pdf", b"%PDF-1.4")})
    assert junk.status_code == 422 and list(junk.json()["errors"]) == ["file"]
    good = client.post("/api/quality/reports/import", {"file": csv_file([row(vehicle.vin)])})
    assert good.status_code == 200 and good.json() == {"rows": 1, "created": 1, "skipped": 0}
    again = client.post("/api/quality/reports/import", {"file": csv_file([row(vehicle.vin)])})
    assert again.json() == {"rows": 1, "created": 0, "skipped": 1}
    report = client.get(f"/api/quality/reports/{QualityReport.objects.get().pk}").json()
    assert (report["claim_number"], report["claim_date"], report["source"]) == (
        "WC-001", "2026-02-25", "warranty_claim")
    refused = page_client(users[Role.QUALITY_ENGINEER]).post(
        "/api/quality/reports/import", {"file": csv_file([row(vehicle.vin)])})
    assert refused.status_code == 403
