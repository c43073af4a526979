"""Reports' rows of a foreign store for the scoping walker (aftercare/core/tests/test_scoping.py); each part of the
app adds its rows in its own block of `plant`."""


def plant(store, canary) -> dict:
    rows = {}
    rows.update(_plant_mail(store, canary))
    return rows


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
