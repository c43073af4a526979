"""Generate a year report's file and keep it in the report archive (`YearReportFile`: one per store × year ×
language × format, with the time it was built). A download is served from the archive; it is built again when
missing, when its year was still running at build time and the file is older than `STALE_AFTER`, or on request
(`year_report_regenerate`)."""

import datetime as dt
from functools import partial

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from aftercare.core.choices import AuditAction
from aftercare.core.services import audit_event_record
from aftercare.org.calendar import business_day_start

from ..mail_models import YearReportFile, YearReportFormat
from .content import year_report
from .render import year_report_filename, year_report_pdf, year_report_xlsx

STALE_AFTER = dt.timedelta(days=1)  # a running year's archived report is rebuilt once older than this


def year_report_file(*, store, year: int, fmt: str, language: str | None = None) -> tuple[bytes, str]:
    """(bytes, file name) of the year report of `store` for `year` as "pdf" or "xlsx", generated now."""
    report = year_report(store=store, year=year, language=language)
    data = year_report_pdf(report) if fmt == "pdf" else year_report_xlsx(report)
    return data, year_report_filename(report, fmt)


def year_end(year: int) -> dt.datetime:
    """The instant the year ends in Shanghai (1 January of the next year, 00:00)."""
    return business_day_start(dt.date(year + 1, 1, 1))


def year_report_fresh(row: YearReportFile, *, now: dt.datetime | None = None) -> bool:
    """Whether the archived file may be served: built after its year ended, or less than `STALE_AFTER` ago."""
    now = now or timezone.now()
    return bool(row.file) and (row.built_at >= year_end(row.year) or now - row.built_at < STALE_AFTER)


def _archived(store_id: int, year: int, language: str, fmt: str) -> YearReportFile | None:
    return YearReportFile.objects.filter(store_id=store_id, year=year, language=language, fmt=fmt).first()


def year_report_archived(*, actor, store, year: int, fmt: str, language: str | None = None) -> YearReportFile:
    """The archived year report of `store`, `year`, `language` (default: the store's, `LANGUAGE_CODE`) and `fmt`,
    built first when missing or stale (`year_report_fresh`). A fresh one is read with one query."""
    language = language or settings.LANGUAGE_CODE
    row = _archived(store.pk, year, language, fmt)
    if row is not None and year_report_fresh(row):
        return row
    return year_report_regenerate(actor=actor, store=store, year=year, fmt=fmt, language=language)


def year_report_regenerate(*, actor, store, year: int, fmt: str, language: str | None = None) -> YearReportFile:
    """Build the year report again and replace the archived file (the old file is deleted once committed);
    audited."""
    if fmt not in YearReportFormat.values:
        raise ValueError(f"format must be one of {YearReportFormat.values}")
    language = language or settings.LANGUAGE_CODE
    data, name = year_report_file(store=store, year=year, fmt=fmt, language=language)
    for _attempt in range(2):
        try:
            with transaction.atomic():
                row = (YearReportFile.objects.select_for_update()
                       .filter(store_id=store.pk, year=year, language=language, fmt=fmt).first())
                created = row is None
                if created:
                    row = YearReportFile(store=store, year=year, language=language, fmt=fmt)
                old = row.file.name if row.file else ""
                row.file.save(f"year.{fmt}", ContentFile(data), save=False)
                row.filename, row.size = name, len(data)
                row.built_at, row.built_by = timezone.now(), actor if getattr(actor, "pk", None) else None
                row.full_clean(exclude=["store", "built_by", "file"])
                row.save()
                audit_event_record(actor=actor, action=AuditAction.CREATE if created else AuditAction.UPDATE,
                                   obj=row, detail={"report": "year", "year": year, "language": language,
                                                    "format": fmt})
                if old:
                    transaction.on_commit(partial(row.file.storage.delete, old))
            return row
        except IntegrityError:  # another request archived it meanwhile: replace that one
            continue
    raise RuntimeError("could not archive the year report")
