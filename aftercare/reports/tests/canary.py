"""Reports rows of a foreign store for the project-wide scoping walker (aftercare/core/tests/test_scoping.py); every
part of the reports app adds its rows in its own block of `plant`."""

import datetime as dt

from aftercare.testing import factories as f


def plant(store, canary) -> dict:
    rows = {}
    rows.update(_plant_actions(store, canary))
    rows.update(_plant_ssi(store, canary))
    rows.update(_plant_mail(store, canary))
    rows.update(_plant_year_report(store, canary))
    return rows


# ---- action register: an open action owned by the foreign store's staff ----


def _plant_actions(store, canary) -> dict:
    from aftercare.org.choices import Role
    from aftercare.reports.models import RectificationAction

    owner = f.StaffFactory(role=Role.CS_MANAGER, group=store.group, stores=[store]).user
    action = RectificationAction.objects.create(
        store=store, title=f"{canary}-action", source="ssi_factor", source_detail=canary, description=canary,
        owner=owner, due_date=dt.date(2026, 1, 1), created_by=owner,
    )
    return {"rectification_action": action}


# ---- end action register ----

# ---- ssi: the carmaker's figures of the month (its factor named by the canary) and the store's target ranks ----


def _plant_ssi(store, canary) -> dict:
    from aftercare.org.calendar import business_date
    from aftercare.reports.models import SsiBenchmark, SsiRankTarget

    month = business_date().replace(day=1)
    benchmark = SsiBenchmark.objects.create(store=store, kind="ssi", month=month, factor=canary[:30],
                                            store_score=777, region_score=776, nation_score=775, region_rank=7,
                                            region_stores=77, nation_rank=777, nation_stores=7777)
    overall = SsiBenchmark.objects.create(store=store, kind="ssi", month=month - dt.timedelta(days=1), factor="",
                                          store_score=777)
    target = SsiRankTarget.objects.create(store=store, kind="ssi", region_rank=7, nation_rank=777)
    return {"ssi_benchmark": benchmark, "ssi_benchmark_overall": overall, "ssi_rank_target": target}


# ---- end ssi ----


# ---- mail: a mailed report of a department named with the canary, its files and a delivery ----


def _plant_mail(store, canary) -> dict:
    import datetime as dt

    from django.core.files.base import ContentFile
    from django.utils import timezone

    from aftercare.org.models import Department
    from aftercare.reports.models import Report, ReportDelivery

    department, _ = Department.objects.get_or_create(store=store, kind="parts", defaults={"name": canary})
    report = Report(store=store, department=department, kind="weekly", period_start=dt.date(2026, 1, 5),
                    period_end=dt.date(2026, 1, 12), generated_at=timezone.now(), sent_at=timezone.now(),
                    summary={"complaints": 7731}, recipients=[{"email": "canary@example.com", "note": canary}])
    report.pdf.save("report.pdf", ContentFile(b"%PDF-1.4 " + canary.encode()), save=False)
    report.xlsx.save("report.xlsx", ContentFile(b"PK " + canary.encode()), save=False)
    report.save()
    ReportDelivery.objects.create(store=store, report=report, email="canary@example.com", sent_at=timezone.now(),
                                  reason=canary, error=canary)
    return {"report_id": report}


# ---- end mail ----


# ---- yearly: an archived year report of the foreign store, its file named with the canary ----


def _plant_year_report(store, canary) -> dict:
    from django.core.files.base import ContentFile
    from django.utils import timezone

    from aftercare.reports.models import YearReportFile

    row = YearReportFile(store=store, year=2026, language="zh-hans", fmt="pdf", filename=f"{canary}.pdf", size=9,
                         built_at=timezone.now())
    row.file.save("year.pdf", ContentFile(b"%PDF-1.4 " + canary.encode()), save=False)
    row.save()
    return {"year_report_file": row}


# ---- end yearly ----
