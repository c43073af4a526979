"""Parts-quality reports: record (from a repair order, a warranty claim or by hand), change a draft, submit; and
the hand-over of a product-quality complaint as a draft report.

A report is written in one of the actor's own stores (`quality.report`); its vehicle is found by VIN among the
vehicles the actor may read (the store's file, or a store sharing customers with it). The vehicle file gives the
model and the build month (the month of its delivery date: the vehicle file keeps no production date, and a VIN
encodes only the model year), and the months in service at failure.
"""

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Min
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftercare.core.choices import AuditAction
from aftercare.core.services import audit_event_record
from aftercare.core.text import clean_text
from aftercare.customers.models import RepairOrder, Vehicle
from aftercare.org.calendar import business_date, month_start
from aftercare.org.choices import SharedResource
from aftercare.org.permissions import Perm, require_perm
from aftercare.org.scoping import own_store_ids, visible_store_ids

from ..choices import ReportSource, ReportStatus
from ..models import QualityReport, QualityReportPhoto

EDITABLE = (
    "vin",
    "build_month",
    "part_family",
    "part_number",
    "supplier_batch",
    "failure_date",
    "mileage_km",
    "symptom",
    "symptom_text",
)


def months_between(start: dt.date, end: dt.date) -> int:
    """Whole months from `start` to `end` (0 in the first month; never negative)."""
    months = (end.year - start.year) * 12 + end.month - start.month - (1 if end.day < start.day else 0)
    return max(0, months)


def vehicle_build_month(vehicle: Vehicle) -> dt.date | None:
    """The build month the vehicle file gives: the month of its delivery date (or of its first sales delivery)."""
    if vehicle.delivery_date:
        return month_start(vehicle.delivery_date)
    if hasattr(vehicle, "first_delivered_at"):  # read with the vehicle (`vehicles_by_vin`)
        first = vehicle.first_delivered_at
    else:
        first = vehicle.deliveries.order_by("delivered_at").values_list("delivered_at", flat=True).first()
    return month_start(business_date(first)) if first else None


def _vin(value) -> str:
    return clean_text(value or "").replace(" ", "").upper()


def vehicles_by_vin(actor, vins) -> dict[str, Vehicle]:
    """The vehicles of `vins` the actor may read (the stores visible for customers: its own and those sharing with
    them), one a VIN, in one query a 500 VINs: what `_vehicle_for` finds for each, read for many reports at once,
    each with its first sales delivery's time (`vehicle_build_month` without a delivery date in the file)."""
    ids = visible_store_ids(actor, SharedResource.CUSTOMERS)
    wanted = sorted({v for v in (_vin(v) for v in vins) if v})
    found: dict[str, Vehicle] = {}
    for start in range(0, len(wanted), 500):
        chunk = (Vehicle.objects.filter(vin__in=wanted[start:start + 500], store_id__in=ids)
                 .annotate(first_delivered_at=Min("deliveries__delivered_at")).order_by("vin", "pk"))
        for vehicle in chunk:
            found.setdefault(vehicle.vin, vehicle)
    return found


def _vehicle_for(actor, store_id: int, vin: str, vehicles: dict[str, Vehicle] | None = None) -> Vehicle | None:
    """The vehicle of `vin` the actor may read in the store's file (or a store sharing with it); `vehicles`: the
    ones read before (`vehicles_by_vin`, for a store of the actor's own)."""
    vin = _vin(vin)
    if not vin:
        return None
    if vehicles is not None:
        vehicle = vehicles.get(vin)
    else:
        ids = visible_store_ids(actor, SharedResource.CUSTOMERS) | {store_id}
        vehicle = Vehicle.objects.filter(vin=vin, store_id__in=ids).first()
    if vehicle is None:
        raise ValidationError({"vin": [_("No vehicle with this VIN in the store's vehicle file.")]})
    return vehicle


def _apply(report: QualityReport, *, actor, values: dict, vehicles: dict[str, Vehicle] | None = None) -> list[str]:
    """Set the given fields (VIN → vehicle, model, build month; months in service), validating each; returns the
    names changed."""
    errors: dict[str, list] = {}
    changed = []
    if "vin" in values:
        try:
            vehicle = _vehicle_for(actor, report.store_id, values["vin"], vehicles)
        except ValidationError as exc:
            errors.update(exc.message_dict)
            vehicle = report.vehicle
        if vehicle != report.vehicle or (vehicle and report.vin != vehicle.vin):
            report.vehicle = vehicle
            report.vin = vehicle.vin if vehicle else ""
            report.vehicle_model = vehicle.model if vehicle else ""
            changed += ["vehicle", "vin", "vehicle_model"]
    for name in EDITABLE[1:]:
        if name not in values:
            continue
        value = values[name]
        if isinstance(value, str):
            value = clean_text(value)
        if name == "build_month" and value:
            value = month_start(value)
        if getattr(report, name) != value:
            setattr(report, name, value)
            changed.append(name)
    if report.build_month is None and report.vehicle is not None:
        report.build_month = vehicle_build_month(report.vehicle)
        if report.build_month:
            changed.append("build_month")
    family = report.part_family
    if family is not None and not family.active and "part_family" in changed:
        errors["part_family"] = [_("This part family is no longer in use.")]
    if report.symptom is not None and report.symptom.family_id not in (None, report.part_family_id):
        errors["symptom"] = [_("This symptom code belongs to another part family.")]
    today = business_date()
    if report.failure_date and report.failure_date > today:
        errors["failure_date"] = [_("The failure date cannot be in the future.")]
    if report.build_month and report.build_month > today:
        errors["build_month"] = [_("The build month cannot be in the future.")]
    if report.failure_date and report.build_month and report.failure_date < report.build_month:
        errors["failure_date"] = [_("The part cannot fail before the vehicle was built.")]
    if errors:
        raise ValidationError(errors)
    start = report.vehicle.delivery_date if report.vehicle and report.vehicle.delivery_date else report.build_month
    months = months_between(start, report.failure_date) if start and report.failure_date else None
    if months != report.months_in_service:
        report.months_in_service = months
        changed.append("months_in_service")
    return changed


def _missing_for_submit(report: QualityReport) -> dict[str, list]:
    errors = {}
    if report.vehicle_id is None:
        errors["vin"] = [_("Enter the VIN of the vehicle.")]
    if report.part_family_id is None:
        errors["part_family"] = [_("Choose the part family.")]
    if report.failure_date is None:
        errors["failure_date"] = [_("Enter the failure date.")]
    if report.build_month is None:
        errors["build_month"] = [_("Enter the build month (the vehicle file has no delivery date).")]
    if report.symptom_id is None and not report.symptom_text:
        errors["symptom"] = [_("Choose a symptom code or describe the symptom.")]
    return errors


def _submit_apply(report: QualityReport) -> None:
    errors = _missing_for_submit(report)
    if errors:
        raise ValidationError(errors)
    report.status = ReportStatus.SUBMITTED
    report.submitted_at = timezone.now()


def quality_report_build(
    *,
    actor,
    store_id: int,
    source: str = ReportSource.ENTERED,
    repair_order: RepairOrder | None = None,
    claim_number: str = "",
    claim_date: dt.date | None = None,
    submit: bool = False,
    vehicles: dict[str, Vehicle] | None = None,
    **values,
) -> QualityReport:
    """A new report, checked and not saved (`quality_report_create` saves one; the warranty-claim import saves
    many at once). Raises PermissionDenied outside the actor's own stores, ValidationError naming the fields.
    `vehicles`: the vehicles by VIN read before (`vehicles_by_vin`)."""
    require_perm(actor, Perm.QUALITY_REPORT)
    if store_id not in own_store_ids(actor):
        raise PermissionDenied
    unknown = set(values) - set(EDITABLE)
    if unknown:
        raise TypeError(f"unknown fields {sorted(unknown)}")
    errors = {}
    if source not in (ReportSource.REPAIR_ORDER, ReportSource.WARRANTY_CLAIM, ReportSource.ENTERED):
        errors["source"] = [_("Choose repair order, warranty claim or entered by hand.")]
    if repair_order is not None:
        if repair_order.store_id != store_id:
            errors["repair_order"] = [_("This repair order belongs to another store.")]
        else:
            values.setdefault("vin", repair_order.vehicle.vin)
            values.setdefault("failure_date", business_date(repair_order.settled_at))
            if repair_order.mileage is not None:
                values.setdefault("mileage_km", repair_order.mileage)
    if errors:
        raise ValidationError(errors)
    report = QualityReport(
        store_id=store_id, source=source, repair_order=repair_order, created_by=actor,
        claim_number=clean_text(claim_number or "").strip(), claim_date=claim_date,
    )
    _apply(report, actor=actor, values=values, vehicles=vehicles)
    if claim_date is not None:
        if claim_date > business_date():
            errors["claim_date"] = [_("The claim date cannot be in the future.")]
        elif report.failure_date and claim_date < report.failure_date:
            errors["claim_date"] = [_("The claim cannot be made before the part failed.")]
        if errors:
            raise ValidationError(errors)
    if submit:
        _submit_apply(report)
    return report


def quality_report_create(*, actor, store_id: int, source: str = ReportSource.ENTERED, **fields) -> QualityReport:
    """Record a report in one of the actor's own stores (`quality_report_build`): from `repair_order` the VIN,
    failure date and mileage default to the order's; `submit` submits it at once (every required field then named
    if missing). A report imported from a warranty claim (`services.claims`) carries the claim's number and date; a
    claim number is recorded once per store (a unique constraint)."""
    report = quality_report_build(actor=actor, store_id=store_id, source=source, **fields)
    with transaction.atomic():
        report.full_clean()
        report.save()
        audit_event_record(
            actor=actor, action=AuditAction.CREATE, obj=report, detail={"source": source, "status": report.status}
        )
    return report


def quality_report_update(*, actor, report: QualityReport, submit: bool = False, **values) -> QualityReport:
    """Change a draft (of one of the actor's own stores) and, with `submit`, submit it. A submitted report is
    final."""
    require_perm(actor, Perm.QUALITY_REPORT)
    if report.store_id not in own_store_ids(actor):
        raise PermissionDenied
    if report.status != ReportStatus.DRAFT:
        raise ValidationError(_("A submitted report cannot be changed."))
    unknown = set(values) - set(EDITABLE)
    if unknown:
        raise TypeError(f"unknown fields {sorted(unknown)}")
    changed = _apply(report, actor=actor, values=values)
    if submit:
        _submit_apply(report)
        changed += ["status", "submitted_at"]
    with transaction.atomic():
        report.full_clean()
        report.save()
        audit_event_record(actor=actor, action=AuditAction.UPDATE, obj=report, changed_fields=changed)
    return report


def quality_report_photo_add(*, actor, report: QualityReport, image, caption: str = "") -> QualityReportPhoto:
    """Attach a photo to a report of one of the actor's own stores (`quality.report`, as for changing a draft).
    Photos are evidence, so they may be added after submission too: a report has no closed state, and a photo
    changes no figure the alarm reads. `image` is an uploaded file already checked (`core.forms.PhotoField`)."""
    require_perm(actor, Perm.QUALITY_REPORT)
    if report.store_id not in own_store_ids(actor):
        raise PermissionDenied
    with transaction.atomic():
        photo = QualityReportPhoto(report=report, image=image, caption=caption)
        photo.full_clean()
        photo.save()
        audit_event_record(
            actor=actor, action=AuditAction.UPDATE, obj=report, changed_fields=["photos"],
            detail={"photo_id": photo.pk},
        )
    return photo


def quality_report_from_complaint(*, actor, feedback) -> QualityReport:
    """The hand-over: a product-quality complaint becomes a draft report of its store (once; a second call returns
    the first). Runs in the complaint's transaction; the store completes and submits it."""
    existing = QualityReport.objects.filter(complaint=feedback).first()
    if existing is not None:
        return existing
    vehicle = feedback.vehicle
    report = QualityReport(
        store_id=feedback.store_id,
        source=ReportSource.COMPLAINT,
        complaint=feedback,
        vehicle=vehicle,
        vin=vehicle.vin if vehicle else "",
        vehicle_model=vehicle.model if vehicle else "",
        build_month=vehicle_build_month(vehicle) if vehicle else None,
        failure_date=business_date(feedback.created_at),
        symptom_text=feedback.text,
        created_by=actor,
    )
    if report.build_month and report.failure_date:
        start = vehicle.delivery_date or report.build_month
        report.months_in_service = months_between(start, report.failure_date)
    report.full_clean()
    report.save()
    audit_event_record(actor=actor, action=AuditAction.CREATE, obj=report, detail={"source": "complaint"})
    return report
