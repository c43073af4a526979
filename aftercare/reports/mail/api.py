"""The report archive's API under `/api/reports/mail/` (docs/reports.md, "Reports by mail"): the list, one report
with its deliveries, and its PDF / XLSX. Scoped like the pages (`report.archive`; a department's own reports
without `report.archive_all`)."""

import datetime as _dt
from typing import Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate

from aftercare.core.api import ERRORS, Pagination, PathId
from aftercare.org.permissions import Perm, require_perm
from aftercare.org.scoping import narrowed_store_ids

from . import selectors
from .views import report_download

router = Router(tags=["reports"])


class ReportDeliveryOut(Schema):
    email: str
    sent_at: _dt.datetime
    ok: bool
    error: str
    resent_by_id: int | None
    reason: str


class ReportOut(Schema):
    id: int
    store_id: int
    department_id: int | None
    department_kind: str | None
    kind: str
    period_start: _dt.date
    period_end: _dt.date
    generated_at: _dt.datetime | None
    sent_at: _dt.datetime | None
    summary: dict

    @staticmethod
    def resolve_department_kind(obj) -> str | None:
        return obj.department.kind if obj.department_id else None


class ReportDetailOut(ReportOut):
    deliveries: list[ReportDeliveryOut]

    @staticmethod
    def resolve_deliveries(obj) -> list:
        return list(obj.deliveries.all())


class ReportFilter(Schema):
    store_id: int | None = Field(None, ge=1)
    department_id: int | None = Field(None, ge=1)
    store_manager: bool = False
    kind: Literal["", "weekly", "monthly"] = ""


@router.get("/mail/reports", response={200: list[ReportOut], **ERRORS}, operation_id="reports_mail_list")
@paginate(Pagination)
def report_list_api(request: HttpRequest, filters: Query[ReportFilter]):
    """Mailed reports of the stores in scope, newest period first."""
    require_perm(request.user, Perm.REPORT_ARCHIVE)
    return selectors.report_list(user=request.user, store_ids=narrowed_store_ids(request.user, filters.store_id),
                                 department_id=filters.department_id, store_manager=filters.store_manager,
                                 kind=filters.kind)


@router.get("/mail/reports/{report_id}", response={200: ReportDetailOut, **ERRORS},
            operation_id="reports_mail_get")
def report_get_api(request: HttpRequest, report_id: PathId):
    """One report with its deliveries; another store's id answers 404."""
    require_perm(request.user, Perm.REPORT_ARCHIVE)
    return selectors.report_get(user=request.user, pk=report_id)


def _file(request: HttpRequest, report_id: int, fmt: str):
    return report_download(request.user, report_id, fmt)


@router.get("/mail/reports/{report_id}/pdf", response={200: None, **ERRORS}, operation_id="reports_mail_pdf")
def report_pdf_api(request: HttpRequest, report_id: PathId):
    """The report's PDF (audited as an export)."""
    return _file(request, report_id, "pdf")


@router.get("/mail/reports/{report_id}/xlsx", response={200: None, **ERRORS}, operation_id="reports_mail_xlsx")
def report_xlsx_api(request: HttpRequest, report_id: PathId):
    """The report's XLSX (audited as an export)."""
    return _file(request, report_id, "xlsx")
