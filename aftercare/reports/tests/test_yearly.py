"""The department's year report (issue 19, seed 000; docs/reports.md, "Year report"): its figures from hand-built
rows of store A in 2026 (reports by mail's world: February's complaint forms and calls, as of 2 March), the PDF's
text layer, the XLSX appendix's sheets, the page, the API and the command, scoping."""

import datetime as dt
import io
import re
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from django.utils import translation
from openpyxl import load_workbook

from aftercare.org.choices import Role
from aftercare.org.kpis import measure_get
from aftercare.org.services import kpi_target_set
from aftercare.reports.models import SsiBenchmark
from aftercare.reports.yearly import render
from aftercare.reports.yearly.content import year_report
from aftercare.reports.yearly.svg import bar_chart, line_chart

from .mail_world import NOW, build

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_frozen")]


@pytest.fixture
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def world(store_a, users):
    out = build(store_a, users)
    for month, own, region, nation in ((1, "962", "955", "947"), (2, "971", "957", "950")):
        SsiBenchmark.objects.create(store=store_a, kind="ssi", month=f"2026-{month:02d}-01", factor="",
                                    store_score=Decimal(own), region_score=Decimal(region),
                                    nation_score=Decimal(nation), region_rank=3, region_stores=40)
    kpi_target_set(actor=users[Role.CS_MANAGER], store=store_a, measure="complaints.timeliness",
                   period_kind="year", period_start="2027-01-01", value=Decimal("95"))
    return out


@pytest.fixture
def fast_pdf(monkeypatch):
    """WeasyPrint takes seconds a report; page, API and command tests check routes and files, not pages."""
    monkeypatch.setattr(render, "year_report_pdf", lambda report: b"%PDF-1.4 fake\n")
    from aftercare.reports.yearly import services

    monkeypatch.setattr(services, "year_report_pdf", lambda report: b"%PDF-1.4 fake\n")


def test_it_gathers_each_chapters_figures(store_a, world):
    report = year_report(store=store_a, year=2026)
    assert [s.key for s in report.sections] == ["followups", "ssi", "complaints", "renewals", "appointments",
                                                "care", "classes", "quality", "targets"]
    fu = report.figures["followups"]
    assert (fu["closed"], fu["completed"], fu["unreachable"]) == (3, 2, 1)
    assert fu["closed_by_month"][:3] == [0, 3, 0]
    c = report.figures["complaints"]
    # five forms in February, one on 2 March (08:00, before now)
    assert c["total"] == 6 and c["by_month"][:3] == [0, 5, 1] and c["complaint"] == 6
    assert (c["in_time"], c["late"], c["overdue"]) == (1, 1, 1)
    assert c["categories"] == {"mechanical": 5, "sales": 1}
    # complaints.timeliness in February: one in time of the two due (the overdue one is not returned) …
    assert c["kpis"]["complaints.timeliness"]["months"][1] is not None
    # … and nothing for months not begun
    assert c["kpis"]["complaints.timeliness"]["months"][5] is None
    ssi = report.figures["ssi"]["ssi"]
    assert ssi["store"][:2] == [Decimal("962"), Decimal("971")] and ssi["region"][1] == Decimal("957")
    sentence = next(s for s in report.sections if s.key == "ssi").sentences[0]
    assert "966.5" in sentence and "956" in sentence  # the year's average; the region's
    targets = next(s for s in report.sections if s.key == "targets")
    with translation.override(report.language):
        name = str(measure_get("complaints.timeliness").name)
    assert next(row for row in targets.tables[0].rows if row[0] == name)[-1].startswith("95")
    assert report.figures["targets"]["set"] >= 1


def test_it_writes_the_sentences_in_the_language_asked(store_a, world):
    zh = year_report(store=store_a, year=2026, language="zh-hans")
    en = year_report(store=store_a, year=2026, language="en")
    assert zh.sections[0].title != en.sections[0].title
    assert en.sections[0].title == "Follow-up work and the return-visit rate"
    assert "Follow-up calls closed in 2026: 3 (completed: 2, unreachable: 1)" in en.sections[0].sentences[0]


def test_it_renders_the_pdf_with_titles_figures_and_charts(store_a, world):
    pypdf = pytest.importorskip("pypdf")
    report = year_report(store=store_a, year=2026)
    data = render.year_report_pdf(report)
    assert data.startswith(b"%PDF")
    pdf = pypdf.PdfReader(io.BytesIO(data))
    text = re.sub(r"\s+", "", "".join(page.extract_text() or "" for page in pdf.pages))
    with translation.override("zh-hans"):
        titles = [s.title for s in report.sections]
    for word in [*titles, store_a.name, "966.5"]:
        assert re.sub(r"\s+", "", word) in text, word
    assert len(pdf.pages) >= 10  # the cover and a page per chapter at least


def test_it_writes_the_xlsx_appendix_a_sheet_per_table(store_a, world):
    report = year_report(store=store_a, year=2026)
    book = load_workbook(io.BytesIO(render.year_report_xlsx(report)))
    tables = [t for s in report.sections for t in s.tables]
    assert len(book.sheetnames) == 1 + len(tables) and len(set(book.sheetnames)) == len(book.sheetnames)
    followups = list(book.worksheets[1].values)
    assert followups[2][2] == 3  # February: three calls closed
    assert all(len(name) <= 31 for name in book.sheetnames)


def test_it_draws_charts_with_gaps_and_escaped_text():
    bars = bar_chart(["1", "2", "3"], [Decimal("50"), None, Decimal("97.5")], title="<x>", target=95,
                     target_label="目标")
    assert bars.startswith("<svg") and "&lt;x&gt;" in bars and bars.count("<rect") == 2 and "目标 95" in bars
    lines = line_chart(["1", "2", "3"], [("A", [1, None, 3]), ("B", [None, None, None])], title="t")
    assert lines.count("<polyline") == 2  # A's two runs of one point each; B draws nothing


def test_it_downloads_from_the_page_and_the_api(store_a, store_b, users, world, fast_pdf):
    client = Client()
    client.force_login(users[Role.CS_MANAGER])
    page = client.get("/reports/year/")
    assert page.status_code == 200 and 'id="year-report"' in page.content.decode()
    assert 'id="year-report-link"' in client.get("/reports/archive/").content.decode()
    pdf = client.get("/reports/year/", {"store": "A01", "year": 2026, "format": "pdf"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert "year-report-A01-2026.pdf" in pdf["Content-Disposition"]
    xlsx = client.get("/api/reports/year/xlsx", {"store": "A01", "year": 2026})
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    # another store, a year out of range, a format not offered
    assert client.get("/reports/year/", {"store": "B01", "year": 2026, "format": "pdf"}).status_code == 404
    assert client.get("/api/reports/year/pdf", {"store": "B01", "year": 2026}).status_code == 404
    assert client.get("/reports/year/", {"store": "A01", "year": 99999, "format": "pdf"}).status_code == 400
    assert client.get("/api/reports/year/pdf", {"store": "A01", "year": 99999}).status_code == 422
    assert client.get("/api/reports/year/xlsx", {"store": "A01"}).status_code == 422
    # a specialist has no year report
    specialist = Client()
    specialist.force_login(users[Role.CS_SPECIALIST])
    assert specialist.get("/reports/year/").status_code == 403
    assert specialist.get("/api/reports/year/pdf", {"store": "A01", "year": 2026}).status_code == 403


def test_it_writes_both_files_with_the_command(store_a, world, tmp_path):
    out = io.StringIO()
    call_command("year_report", "--store", "A01", "--year", "2026", "--out", str(tmp_path), stdout=out)
    assert (tmp_path / "year-report-A01-2026.pdf").read_bytes().startswith(b"%PDF")
    assert (tmp_path / "year-report-A01-2026.xlsx").read_bytes()[:2] == b"PK"
    assert "year-report-A01-2026.xlsx" in out.getvalue()


# ---- the archive: a generated year report is kept per store × year × language × format ----


def _download(client, **params):
    return client.get("/reports/year/", {"store": "A01", "year": 2026, "format": "pdf", **params})


def test_it_serves_the_second_download_from_the_archive_without_computing_the_report(store_a, users, world,
                                                                                       fast_pdf, monkeypatch):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from aftercare.reports.models import YearReportFile
    from aftercare.reports.yearly import services

    client = Client()
    client.force_login(users[Role.CS_MANAGER])
    with CaptureQueriesContext(connection) as first:
        assert _download(client).status_code == 200
    row = YearReportFile.objects.get()
    assert (row.store_id, row.year, row.language, row.fmt) == (store_a.pk, 2026, "zh-hans", "pdf")
    assert row.file.read().startswith(b"%PDF") and row.size > 0

    def never(**kwargs):
        raise AssertionError("the report was computed again")

    monkeypatch.setattr(services, "year_report", never)
    with CaptureQueriesContext(connection) as second:
        again = _download(client)
    assert again.status_code == 200 and again.content.startswith(b"%PDF")
    assert again["X-Report-Built-At"] == row.built_at.isoformat()
    # session, user, staff, stores, the store, the archived row, the audit event: none of the report's queries
    assert len(second) <= 9 < len(first), (len(second), len(first))
    tables = " ".join(q["sql"] for q in second.captured_queries)
    for table in ("customers_repairorder", "followups_followuptask", "complaints_feedback", "renewals_renewalcase"):
        assert table not in tables
    api = client.get("/api/reports/year/pdf", {"store": "A01", "year": 2026})
    assert api.status_code == 200 and api["X-Report-Built-At"] == row.built_at.isoformat()
    page = client.get("/reports/year/").content.decode()
    assert f'data-archived="{row.pk}"' in page and "Regenerate" in page or "重新生成" in page


def test_it_regenerates_on_request_and_a_running_year_once_a_day_old(store_a, store_b, users, world, fast_pdf,
                                                                     django_capture_on_commit_callbacks):
    from aftercare.reports.models import YearReportFile

    client = Client()
    client.force_login(users[Role.CS_MANAGER])
    _download(client)
    row = YearReportFile.objects.get()
    old_name, built = row.file.name, row.built_at
    storage = row.file.storage
    with time_machine.travel(NOW + dt.timedelta(hours=2), tick=False):
        _download(client)  # the running year, two hours old: served as it is
        assert YearReportFile.objects.get().built_at == built
        with django_capture_on_commit_callbacks(execute=True):  # the old file is deleted once committed
            response = client.post("/reports/year/regenerate/", {"store": "A01", "year": 2026, "format": "pdf"})
        assert response.status_code == 302
    row = YearReportFile.objects.get()
    assert row.built_at > built and row.file.name != old_name and row.built_by == users[Role.CS_MANAGER]
    assert not storage.exists(old_name) and storage.exists(row.file.name)  # replaced, not piled up
    rebuilt = row.built_at
    with time_machine.travel(NOW + dt.timedelta(days=1, hours=3), tick=False):
        client.force_login(users[Role.CS_MANAGER])
        _download(client)  # the running year's file is more than a day old: built again
    assert YearReportFile.objects.get().built_at > rebuilt
    # both formats at once, through the API too
    api = client.post("/api/reports/year/regenerate", {"store": "A01", "year": 2026}, content_type="application/json")
    assert api.status_code == 200 and {r["format"] for r in api.json()} == {"pdf", "xlsx"}
    assert YearReportFile.objects.count() == 2
    # another store: 404, nothing built
    assert client.post("/reports/year/regenerate/", {"store": "B01", "year": 2026}).status_code == 404
    assert client.post("/api/reports/year/regenerate", {"store": "B01", "year": 2026},
                       content_type="application/json").status_code == 404
    assert _download(client, store="B01").status_code == 404
    assert not YearReportFile.objects.filter(store=store_b).exists()
    # bad input: named, never a 500
    bad = client.post("/reports/year/regenerate/", {"store": "A01", "year": 99999, "format": "doc"})
    assert bad.status_code == 400
    assert client.post("/api/reports/year/regenerate", {"store": "A01", "year": 2026, "format": "doc"},
                       content_type="application/json").status_code == 422


def test_it_keeps_a_finished_years_report_built_after_the_year_ended(store_a, users, world, fast_pdf):
    from aftercare.reports.models import YearReportFile

    client = Client()
    with time_machine.travel(dt.datetime(2027, 1, 3, 2, 0, tzinfo=dt.UTC), tick=False):
        client.force_login(users[Role.CS_MANAGER])
        _download(client)
    built = YearReportFile.objects.get().built_at
    with time_machine.travel(dt.datetime(2027, 3, 1, 2, 0, tzinfo=dt.UTC), tick=False):
        client.force_login(users[Role.CS_MANAGER])
        assert _download(client).status_code == 200
    assert YearReportFile.objects.get().built_at == built
