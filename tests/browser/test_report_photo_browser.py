"""Browser test in Debian's Chromium (issue 20, parts-quality reports): on a phone 390 px wide the service advisor
adds a photo to a parts-quality report, is told in Chinese when the file is not an image, and the photo is listed
and downloads.

    .venv/bin/pytest -m browser tests/browser/test_report_photo_browser.py
"""

import datetime as dt
import io
import os

import pytest
from playwright.sync_api import expect

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from PIL import Image  # noqa: E402

from aftercare.org.choices import Role  # noqa: E402
from aftercare.quality.models import PartFamily, QualityReport, QualityReportPhoto  # noqa: E402
from aftercare.testing import factories as f  # noqa: E402

pytestmark = pytest.mark.browser


@pytest.fixture
def report(transactional_db):
    store = f.StoreFactory(code="GZ01", name="粤通别克广州天河店")
    advisor = f.UserFactory(username="guwen")
    f.StaffFactory(user=advisor, group=store.group, role=Role.SERVICE_ADVISOR, stores=[store], display_name="罗建华")
    vehicle = f.owned_vehicle(f.CustomerFactory(store=store), delivery_date=dt.date(2025, 4, 2))
    # a live-server test empties the database after it, the migration's part families too: made here if gone
    family, _ = PartFamily.objects.get_or_create(code="FRONT_SHOCK",
                                                 defaults={"name_zh": "前减震器", "name_en": "Front shock absorber"})
    return QualityReport.objects.create(
        store=store, source="entered", status="submitted", vehicle=vehicle, vin=vehicle.vin,
        build_month=dt.date(2025, 4, 1), part_family=family,
        failure_date=dt.date(2026, 1, 5), symptom_text="漏油", created_by=advisor,
        submitted_at=dt.datetime(2026, 1, 6, tzinfo=dt.UTC))


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "red").save(buffer, "PNG")
    return buffer.getvalue()


def test_the_advisor_adds_a_photo_to_a_report_on_a_phone(report, live_server, browser, login, until):
    page = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN",
                               accept_downloads=True).new_page()
    page.set_default_timeout(15_000)
    login(page, live_server.url, "guwen")
    page.goto(f"{live_server.url}/quality/reports/{report.pk}/")
    expect(page.locator("#report-photos")).to_contain_text("暂无照片")
    form = page.locator("#report-photo")
    # not an image: refused on the field, in Chinese, nothing stored
    form.locator("input[name=image]").set_input_files(
        {"name": "shock.png", "mimeType": "image/png", "buffer": b"not an image"})
    form.locator("button[type=submit]").click()
    expect(page.locator("#report-photo .invalid-feedback")).to_be_visible()
    assert not QualityReportPhoto.objects.exists()
    assert "Upload" not in page.locator("#report-photo").inner_text()  # no English left on the Chinese page
    form = page.locator("#report-photo")
    form.locator("input[name=image]").set_input_files({"name": "shock.png", "mimeType": "image/png",
                                                        "buffer": _png()})
    form.locator("input[name=caption]").fill("油封渗漏")
    form.locator("button[type=submit]").click()
    until(page, lambda: QualityReportPhoto.objects.filter(report=report).exists())
    expect(page.locator("#report-photos")).to_contain_text("油封渗漏")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing scrolls sideways
    with page.expect_download() as download:
        page.locator("#report-photos a", has_text="油封渗漏").click()
    assert download.value.suggested_filename.endswith(".png")
    assert open(download.value.path(), "rb").read() == _png()
