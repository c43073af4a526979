"""Parts-quality API (mounted at /api/quality): the reports of the stores in scope (list, record, read, add a
photo) and the group's batch-defect alarms (list, read, workflow step).

Another store's (or group's) id answers 404, a role without the permission 403, bad input 422 naming the field.
A report names its vehicle by VIN, model and store only.
"""

import datetime as dt
from typing import Literal

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate

from aftercare.core.api import ERRORS, MAX_ID, Pagination, PathId, require_sheet_imported, require_valid_form
from aftercare.customers.selectors import repair_order_get
from aftercare.org.permissions import Perm, require_perm
from aftercare.org.scoping import get_scoped_or_404, own_store_ids

from . import selectors
from .choices import AlarmStatus, ReportStatus
from .forms import ClaimImportForm, ReportPhotoForm
from .models import PartFamily, SymptomCode
from .services import alarms, claims, reports

router = Router(tags=["quality"])

StatusCode = Literal[tuple(ReportStatus.values)]  # type: ignore[valid-type]
EnteredSource = Literal["repair_order", "warranty_claim", "entered"]
StepCode = Literal[tuple(s for s in AlarmStatus.values if s != AlarmStatus.NEW)]  # type: ignore[valid-type]
_ID = Field(None, ge=1, le=MAX_ID)


class QualityReportPhotoOut(Schema):
    id: int
    caption: str
    created_at: dt.datetime


class QualityReportOut(Schema):
    id: int
    store: str = Field(..., alias="store.code")
    status: str
    source: str
    vin: str
    vehicle_model: str
    build_month: dt.date | None
    part_family: str | None = Field(None, alias="part_family.code")
    part_number: str
    supplier_batch: str
    failure_date: dt.date | None
    mileage_km: int | None
    months_in_service: int | None
    symptom: str | None = Field(None, alias="symptom.code")
    symptom_text: str
    repair_order_id: int | None
    complaint_id: int | None
    submitted_at: dt.datetime | None
    claim_number: str
    claim_date: dt.date | None
    photos: list[QualityReportPhotoOut]

    @staticmethod
    def resolve_photos(obj):
        return list(obj.photos.all())


class ClaimImportOut(Schema):
    rows: int
    created: int
    skipped: int


class QualityReportFilter(Schema):
    family: str | None = Field(None, max_length=20, description="part family code")
    build_month: str | None = Field(None, pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")
    store: str | None = Field(None, max_length=20, description="store code")
    status: StatusCode | None = None


class QualityReportIn(Schema):
    store_id: int = Field(..., ge=1, le=MAX_ID)
    source: EnteredSource = "entered"
    repair_order_id: int | None = _ID
    vin: str = Field("", max_length=17)
    part_family: str | None = Field(None, max_length=20, description="part family code")
    part_number: str = Field("", max_length=50)
    supplier_batch: str = Field("", max_length=50)
    build_month: str | None = Field(None, pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")
    failure_date: dt.date | None = None
    mileage_km: int | None = Field(None, ge=0, le=2_000_000)
    symptom: str | None = Field(None, max_length=20, description="symptom code")
    symptom_text: str = Field("", max_length=2000)
    submit: bool = False


class QualityAlarmOut(Schema):
    id: int
    part_family: str = Field(..., alias="part_family.code")
    build_month: dt.date
    supplier_batch: str
    first_alarm_month: dt.date
    last_alarm_month: dt.date
    observed: int
    expected: float
    statistic: float
    threshold: float
    p_value: float
    test: str
    store_ids: list[int]
    vehicle_count: int
    batches: dict[str, int]
    status: str
    reason: str


class QualityAlarmStepIn(Schema):
    to_status: StepCode
    note: str = Field("", max_length=2000)


def _month(value: str | None) -> dt.date | None:
    return dt.date(int(value[:4]), int(value[5:7]), 1) if value else None


def _code(model, code: str | None, field: str):
    if not code:
        return None
    row = model.objects.filter(code=code.strip().upper(), active=True).first()
    if row is None:
        raise ValidationError({field: [_("Unknown code.")]})
    return row


@router.get("/reports", response={200: list[QualityReportOut], **ERRORS}, operation_id="quality_report_list")
@paginate(Pagination)
def report_list(request: HttpRequest, filters: Query[QualityReportFilter]):
    """The reports of the stores in scope (a quality engineer: every store of the group), newest failure first."""
    require_perm(request.user, Perm.QUALITY_VIEW)
    qs = selectors.quality_report_list(user=request.user).prefetch_related("photos")
    if filters.family:
        qs = qs.filter(part_family__code=filters.family.upper())
    if filters.store:
        qs = qs.filter(store__code=filters.store)
    return selectors.quality_report_narrow(qs, build_month=_month(filters.build_month), status=filters.status or "")


@router.post("/reports", response={201: QualityReportOut, **ERRORS}, operation_id="quality_report_create")
def report_create(request: HttpRequest, payload: QualityReportIn):
    """Record a report in one of the caller's own stores (a foreign store answers 404); `submit` submits it."""
    require_perm(request.user, Perm.QUALITY_REPORT)
    if payload.store_id not in own_store_ids(request.user):
        raise Http404
    order = repair_order_get(user=request.user, pk=payload.repair_order_id) if payload.repair_order_id else None
    values = {
        "vin": payload.vin,
        "part_family": _code(PartFamily, payload.part_family, "part_family"),
        "symptom": _code(SymptomCode, payload.symptom, "symptom"),
        "part_number": payload.part_number,
        "supplier_batch": payload.supplier_batch,
        "build_month": _month(payload.build_month),
        "failure_date": payload.failure_date,
        "mileage_km": payload.mileage_km,
        "symptom_text": payload.symptom_text,
    }
    if order is not None:  # what is not given comes from the repair order
        values = {k: v for k, v in values.items() if v not in (None, "")}
    report = reports.quality_report_create(
        actor=request.user,
        store_id=payload.store_id,
        source=payload.source,
        repair_order=order,
        submit=payload.submit,
        **values,
    )
    return Status(201, selectors.quality_report_get(user=request.user, report_id=report.pk))


@router.post("/reports/import", response={200: ClaimImportOut, **ERRORS}, operation_id="quality_report_import")
def report_import(request: HttpRequest, file: File[UploadedFile]):
    """The carmaker's warranty-claim file (XLSX / CSV, one row per claim; docs/quality.md): each claim becomes a
    submitted report of its store. All or nothing: 422 names every bad cell as `rows.<row>.<column>` (a file that
    cannot be read: `file`); claims imported before are skipped (`skipped`). 403 without `quality.report`."""
    require_perm(request.user, Perm.QUALITY_REPORT)
    form = ClaimImportForm(data={}, files={"file": file})
    require_valid_form(form)
    result = claims.quality_reports_import_claims(actor=request.user, file=file, filename=file.name or "")
    require_sheet_imported(result)
    return ClaimImportOut(rows=result.rows, created=result.created, skipped=result.skipped)


@router.get("/reports/{report_id}", response={200: QualityReportOut, **ERRORS}, operation_id="quality_report_get")
def report_get(request: HttpRequest, report_id: PathId):
    """One report of the stores in scope; another store's id answers 404."""
    require_perm(request.user, Perm.QUALITY_VIEW)
    return selectors.quality_report_get(user=request.user, report_id=report_id)


@router.post(
    "/reports/{report_id}/photos",
    response={201: QualityReportPhotoOut, **ERRORS},
    operation_id="quality_report_photo_add",
)
def report_photo_add(request: HttpRequest, report_id: PathId, image: File[UploadedFile], caption: Form[str] = ""):
    """Attach a photo (an image of at most 10 MB, else 422 on `image`) to a report of one of the caller's own
    stores (`quality.report`), a draft or a submitted one; another store's report answers 404."""
    require_perm(request.user, Perm.QUALITY_VIEW)
    report = selectors.quality_report_get(user=request.user, report_id=report_id)
    require_perm(request.user, Perm.QUALITY_REPORT)
    form = ReportPhotoForm(data={"caption": caption}, files={"image": image})
    require_valid_form(form)
    photo = reports.quality_report_photo_add(
        actor=request.user, report=report, image=form.cleaned_data["image"], caption=form.cleaned_data["caption"]
    )
    return Status(201, photo)


@router.get("/alarms", response={200: list[QualityAlarmOut], **ERRORS}, operation_id="quality_alarm_list")
@paginate(Pagination)
def alarm_list(request: HttpRequest):
    """The batch-defect alarms of the caller's dealer group (`quality.group`), newest first."""
    require_perm(request.user, Perm.QUALITY_GROUP)
    return selectors.quality_alarm_list(user=request.user)


@router.get("/alarms/{alarm_id}", response={200: QualityAlarmOut, **ERRORS}, operation_id="quality_alarm_get")
def alarm_get(request: HttpRequest, alarm_id: PathId):
    """One alarm of the caller's group; another group's id answers 404."""
    require_perm(request.user, Perm.QUALITY_GROUP)
    return selectors.quality_alarm_get(user=request.user, alarm_id=alarm_id)


@router.post("/alarms/{alarm_id}/step", response={200: QualityAlarmOut, **ERRORS}, operation_id="quality_alarm_step")
def alarm_step(request: HttpRequest, alarm_id: PathId, payload: QualityAlarmStepIn):
    """The next step of an alarm (`quality.manage`): acknowledged, investigating, confirmed, or dismissed (a reason
    in `note` required); a step not possible from the present status answers 422 on `to_status`."""
    require_perm(request.user, Perm.QUALITY_GROUP)
    alarm = get_scoped_or_404(selectors.quality_alarm_list(user=request.user), pk=alarm_id)
    alarms.quality_alarm_step(actor=request.user, alarm=alarm, to_status=payload.to_status, note=payload.note)
    return selectors.quality_alarm_get(user=request.user, alarm_id=alarm_id)
