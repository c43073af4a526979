"""`seed_demo` builds two years of parts-quality reports with one injected batch defect (the front shock absorbers of
the vehicles built in 2024-12, 15 months before NOW) and runs the alarm job: the demo starts with that one alarm.

The demo is seeded once for the package (`conftest.py`, one transaction rolled back at the end); every test reads it.
"""

import datetime as dt
from collections import Counter

import pytest
import time_machine

from aftercare.core.models import AuditEvent, Notification
from aftercare.demo.org import STORES
from aftercare.demo.quality import DEFECT_FAMILY, DEFECT_PHOTO_CAPTION, defect_build_month, defect_photo_png
from aftercare.org.calendar import month_add
from aftercare.quality.choices import ReportSource, ReportStatus
from aftercare.quality.models import PartFamily, QualityAlarm, QualityReport, QualityReportPhoto
from aftercare.quality.services.alarms import quality_alarm_run

from .conftest import NOW, TODAY

DEFECT_MONTH = dt.date(2024, 12, 1)


@pytest.fixture
def demo(seeded_demo, db):
    with time_machine.travel(NOW, tick=False):
        yield


def test_it_has_two_years_of_reports_in_every_store_and_family(demo):
    reports = QualityReport.objects.filter(store__group__code="YUETONG")
    assert reports.count() > 150
    assert not reports.exclude(status=ReportStatus.SUBMITTED).exists()
    dates = sorted(reports.values_list("failure_date", flat=True))
    assert month_add(TODAY.replace(day=1), -24) <= dates[0] < month_add(TODAY.replace(day=1), -22)
    assert dates[-1] <= TODAY
    pairs = Counter(reports.values_list("store__code", "part_family__code"))
    assert {s for s, _ in pairs} == {s.code for s in STORES}
    assert {f for _, f in pairs} == set(PartFamily.objects.values_list("code", flat=True))
    sources = Counter(reports.values_list("source", flat=True))
    assert sources[ReportSource.REPAIR_ORDER] > 10 and sources[ReportSource.WARRANTY_CLAIM] > 10
    # a report from a repair order is of that order's vehicle and day
    for report in reports.filter(source=ReportSource.REPAIR_ORDER).select_related("repair_order")[:20]:
        assert report.repair_order.vehicle_id == report.vehicle_id
    # the build month is the vehicle file's delivery month, as the alarm counts the vehicles at risk
    for report in reports.select_related("vehicle")[:50]:
        assert report.build_month == report.vehicle.delivery_date.replace(day=1)


def test_it_starts_with_one_alarm_for_the_injected_build_month_and_notifies_the_engineer(demo):
    assert defect_build_month(TODAY) == DEFECT_MONTH
    alarm = QualityAlarm.objects.get()
    assert (alarm.part_family.code, alarm.part_family.name_zh) == (DEFECT_FAMILY, "前减震器")
    assert (alarm.build_month, alarm.supplier_batch, alarm.status) == (DEFECT_MONTH, "", "new")
    assert alarm.observed > 3 * alarm.expected
    assert DEFECT_MONTH <= alarm.first_alarm_month < TODAY.replace(day=1)
    assert len(alarm.store_ids) == 3 and "SA2412-03" in alarm.batches
    note = Notification.objects.get(recipient__username="quality", link=f"/quality/alarms/{alarm.pk}/")
    assert "前减震器" in note.title and "2024-12" in note.title
    assert alarm.events.get().to_status == "new"


def test_it_adds_no_alarm_when_the_job_runs_again(demo):
    notes = Notification.objects.count()
    result = quality_alarm_run(today=TODAY)
    assert result.get("created", 0) == 0 and result["series"] > 7 * 24
    assert QualityAlarm.objects.count() == 1 and Notification.objects.count() == notes


def test_it_has_a_photo_on_the_newest_report_of_the_defect(demo, seeded_demo, settings):
    settings.MEDIA_ROOT = seeded_demo["media"]
    photo = QualityReportPhoto.objects.select_related("report__part_family").get()
    report = photo.report
    assert (report.part_family.code, report.build_month) == (DEFECT_FAMILY, DEFECT_MONTH)
    newest = QualityReport.objects.filter(part_family__code=DEFECT_FAMILY, build_month=DEFECT_MONTH).order_by(
        "-failure_date", "-pk").first()
    assert report == newest and photo.caption == DEFECT_PHOTO_CAPTION
    with photo.image.open("rb") as stored:
        assert stored.read() == defect_photo_png()
    # added as the report's advisor would, through the service: audited
    assert AuditEvent.objects.filter(object_type="quality.qualityreport", object_id=str(report.pk),
                                     actor=report.created_by, changed_fields=["photos"]).exists()
