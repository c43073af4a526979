"""The reports API under /api/reports/ (docs/reports.md), one module per section."""

from ninja import Router

from .api_actions import router as actions_router

router = Router(tags=["reports"])
router.add_router("", actions_router)


# ---- ssi: SSI / CSI against region and nation (docs/reports.md, "SSI against region and nation") ----
from decimal import Decimal as _Decimal  # noqa: E402

from django.core.exceptions import ValidationError as _ValidationError  # noqa: E402
from django.http import Http404 as _Http404  # noqa: E402
from ninja import File as _File  # noqa: E402
from ninja import Form as _Form  # noqa: E402
from ninja import Query as _Query  # noqa: E402
from ninja import Schema as _Schema  # noqa: E402
from ninja.files import UploadedFile as _UploadedFile  # noqa: E402

from aftercare.core.api import ERRORS as _ERRORS  # noqa: E402
from aftercare.core.api import require_sheet_imported as _require_sheet_imported  # noqa: E402
from aftercare.core.api import require_valid_form as _require_valid_form  # noqa: E402


class SsiImportOut(_Schema):
    rows: int
    created: int
    updated: int


class SsiFigures(_Schema):
    key: str
    own: _Decimal | None
    own_count: int
    carmaker: _Decimal | None
    region: _Decimal | None
    nation: _Decimal | None
    gap_region: _Decimal | None
    gap_nation: _Decimal | None
    region_rank: int | None
    region_stores: int | None
    nation_rank: int | None
    nation_stores: int | None


class SsiComparisonOut(_Schema):
    store: str
    kind: str
    year: int
    period: str
    target_region_rank: int | None
    target_nation_rank: int | None
    months: list[SsiFigures]
    quarters: list[SsiFigures]
    factors: list[SsiFigures]


class SsiComparisonQuery(_Schema):
    store: str
    kind: str = "ssi"
    year: int = 0
    period: str = ""


def _ssi_store(user, code: str, *, write: bool):
    from aftercare.org.models import Store
    from aftercare.org.scoping import own_store_ids, visible_store_ids

    store = Store.objects.filter(code=code).first()
    allowed = own_store_ids(user) if write else visible_store_ids(user)
    if store is None or store.pk not in allowed:
        raise _Http404
    return store


@router.post("/ssi/benchmarks", response={200: SsiImportOut, **_ERRORS}, summary="Import the carmaker's SSI / CSI file")
def ssi_benchmarks_upload(request, file: _File[_UploadedFile], store: _Form[str], kind: _Form[str] = ""):
    """The carmaker's monthly results (XLSX / CSV) for one of the caller's stores (by code): store, region and
    national scores and ranks per month and factor. All or nothing: 422 lists every bad cell as
    `rows.<row>.<column>`; a re-import updates the same rows in place."""
    from aftercare.org.permissions import Perm, require_perm

    from . import ssi
    from .forms_ssi import SsiImportForm

    require_perm(request.user, Perm.KPI_SET_TARGET)
    store_obj = _ssi_store(request.user, store, write=True)
    form = SsiImportForm(data={"store": store_obj.pk, "kind": kind or "ssi"}, files={"file": file},
                         user_store_ids={store_obj.pk})
    _require_valid_form(form)
    result = ssi.ssi_benchmarks_import(actor=request.user, store=store_obj, file=file, kind=kind)
    _require_sheet_imported(result)
    return SsiImportOut(rows=result.rows, created=result.created, updated=result.updated)


@router.get("/ssi/comparison", response={200: SsiComparisonOut, **_ERRORS}, summary="SSI / CSI vs region and nation")
def ssi_comparison(request, query: _Query[SsiComparisonQuery]):
    """A store's score (aftercare's answer sheets and the carmaker's), the region's and the nation's averages, the
    ranks and the target ranks per month and quarter of `year`, and per factor for `period` (`2024-03`,
    `2024-Q1`; default the latest month with figures)."""
    from aftercare.org.calendar import business_date
    from aftercare.org.permissions import Perm, require_perm

    from . import ssi

    require_perm(request.user, Perm.KPI_SET_TARGET)
    if query.kind not in ssi.KINDS:
        raise _ValidationError({"kind": ["ssi / csi"]})
    year = query.year or business_date().year
    if not 2000 <= year <= 2100:
        raise _ValidationError({"year": ["2000–2100"]})
    period = ssi.parse_period(query.period, year) if query.period else None
    if query.period and (period is None or period[1].year != year):
        raise _ValidationError({"period": ["YYYY-MM / YYYY-Qn"]})
    store = _ssi_store(request.user, query.store, write=False)
    data = ssi.ssi_comparison(store=store, kind=query.kind, year=year, period=period)

    def figures(c):
        return SsiFigures(**{name: c[name] for name in SsiFigures.model_fields})

    return SsiComparisonOut(
        store=store.code, kind=query.kind, year=year, period=data["period"]["label"],
        target_region_rank=data["target"]["region_rank"], target_nation_rank=data["target"]["nation_rank"],
        months=[figures(c) for c in data["months"]], quarters=[figures(c) for c in data["quarters"]],
        factors=[figures(c) for c in data["factors"]],
    )


# ---- end ssi ----

# ---- mail: reports by mail, the archive (issue 19; reports/mail/api.py) ----
from .mail import api as _mail_api  # noqa: E402

router.add_router("", _mail_api.router)
# ---- end mail ----

# ---- measures ----
from . import api_measures  # noqa: E402, F401, I001  (its routes join the router)

# ---- yearly: the department's year report (docs/reports.md, "Year report") ----
from django.http import HttpResponse as _HttpResponse  # noqa: E402, I001
from ninja import Field as _Field  # noqa: E402


class YearReportQuery(_Schema):
    store: str
    year: int = _Field(ge=2000, le=2100)


def _year_report_response(request, query: YearReportQuery, fmt: str):
    from aftercare.core.choices import AuditAction
    from aftercare.core.exports import XLSX_CONTENT_TYPE
    from aftercare.core.services import audit_event_record
    from aftercare.org.permissions import Perm, require_perm

    from .yearly.services import year_report_archived

    require_perm(request.user, Perm.REPORT_ARCHIVE_ALL)
    store = _ssi_store(request.user, query.store, write=False)
    row = year_report_archived(actor=request.user, store=store, year=query.year, fmt=fmt)
    audit_event_record(actor=request.user, action=AuditAction.EXPORT, obj=store,
                       detail={"report": "year", "year": query.year, "format": fmt})
    with row.file.open("rb") as stored:
        data = stored.read()
    response = _HttpResponse(data, content_type="application/pdf" if fmt == "pdf" else XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{row.filename}"'
    response["X-Report-Built-At"] = row.built_at.isoformat()
    return response


class YearReportRegenerateIn(_Schema):
    store: str = _Field(max_length=30)
    year: int = _Field(ge=2000, le=2100)
    format: str = _Field("", pattern=r"^(pdf|xlsx)?$", description="pdf or xlsx; empty: both")


class YearReportArchivedOut(_Schema):
    store: str
    year: int
    language: str
    format: str
    filename: str
    size: int
    built_at: str


@router.post("/year/regenerate", response={200: list[YearReportArchivedOut], **_ERRORS},
             operation_id="reports_year_regenerate", summary="Build a store's year report again")
def year_report_regenerate_api(request, payload: YearReportRegenerateIn):
    """Build the year report of one of the user's own stores again (one format, or both) and replace the archived
    file; the downloads then serve it. Another store's code answers 404."""
    from aftercare.org.permissions import Perm, require_perm

    from .yearly.services import year_report_regenerate

    require_perm(request.user, Perm.REPORT_ARCHIVE_ALL)
    store = _ssi_store(request.user, payload.store, write=True)
    rows = [year_report_regenerate(actor=request.user, store=store, year=payload.year, fmt=fmt)
            for fmt in ([payload.format] if payload.format else ["pdf", "xlsx"])]
    return [{"store": store.code, "year": r.year, "language": r.language, "format": r.fmt, "filename": r.filename,
             "size": r.size, "built_at": r.built_at.isoformat()} for r in rows]


@router.get("/year/pdf", response={200: None, **_ERRORS}, operation_id="reports_year_pdf",
            summary="The department's year report of a store (PDF)")
def year_report_pdf_api(request, query: _Query[YearReportQuery]):
    """The customer service department's year report of one store in scope (by code) for `year`, generated now:
    chapters, sentences, charts and tables. Another store's code answers 404."""
    return _year_report_response(request, query, "pdf")


@router.get("/year/xlsx", response={200: None, **_ERRORS}, operation_id="reports_year_xlsx",
            summary="The tables of the department's year report of a store (XLSX)")
def year_report_xlsx_api(request, query: _Query[YearReportQuery]):
    """The year report's tables, a sheet each (see `/year/pdf`)."""
    return _year_report_response(request, query, "xlsx")


# ---- end yearly ----
