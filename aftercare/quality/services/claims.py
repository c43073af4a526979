"""Import of the carmaker's warranty-claim file (docs/quality.md, "The warranty-claim file"): one row per claim, each
becoming a submitted parts-quality report (source warranty claim) of the dealer's store, recorded through
`reports.quality_report_create` (the vehicle by VIN, its model and build month, the months in service, the checks of
a report). All or nothing, as the parts-shipment import: with any bad cell the result names its row and column and
nothing is written. A claim already imported (the store and the claim number, unique per store) is skipped, so
importing the same file again creates nothing twice."""

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from aftercare.core.choices import AuditAction
from aftercare.core.services import audit_event_record, audit_events_record
from aftercare.core.text import clean_text
from aftercare.customers.validators import parse_date
from aftercare.dms.readers import ImportFileError, RowError, SheetImport, filled_rows, local_path, open_table
from aftercare.org.models import Store
from aftercare.org.permissions import Perm, require_perm
from aftercare.org.scoping import own_store_ids

from ..choices import ReportSource, ReportStatus
from ..models import PartFamily, QualityReport, SymptomCode
from .reports import quality_report_build, vehicles_by_vin

COLUMNS: dict[str, tuple[str, ...]] = {
    "claim_number": ("索赔单号", "索赔编号", "索赔号", "claim number", "claim no", "claim"),
    "store_code": ("经销商代码", "服务站代码", "店代码", "门店代码", "dealer code", "store code", "store"),
    "vin": ("VIN", "车架号", "底盘号", "VIN码", "车辆识别代号"),
    "part_family": ("零部件类别", "零件类别", "部件类别", "故障件类别", "part family", "family"),
    "part_number": ("零件号", "零件编号", "配件编号", "故障件号", "part number", "part no"),
    "supplier_batch": ("供应商批次", "批次号", "批次", "supplier batch", "batch"),
    "failure_date": ("故障日期", "failure date"),
    "mileage_km": ("行驶里程", "里程", "故障里程", "mileage", "mileage km"),
    "symptom_code": ("故障代码", "故障现象代码", "symptom code"),
    "symptom_text": ("故障描述", "故障现象", "symptom", "symptom text"),
    "claim_date": ("索赔日期", "申请日期", "claim date"),
}
OPTIONAL = ("supplier_batch", "symptom_code", "symptom_text")
COLUMN_LABELS = {
    "claim_number": gettext_lazy("Claim number"),
    "store_code": gettext_lazy("Dealer code"),
    "vin": gettext_lazy("VIN"),
    "part_family": gettext_lazy("Part family"),
    "part_number": gettext_lazy("Part number"),
    "supplier_batch": gettext_lazy("Supplier batch (optional)"),
    "failure_date": gettext_lazy("Failure date"),
    "mileage_km": gettext_lazy("Mileage (km)"),
    "symptom_code": gettext_lazy("Symptom code (optional)"),
    "symptom_text": gettext_lazy("Symptom"),
    "claim_date": gettext_lazy("Claim date"),
}
# a report's field (as `quality_report_create` names it in a ValidationError) -> the file's column
FIELD_COLUMNS = {
    "vin": "vin",
    "build_month": "vin",  # the build month comes from the vehicle file, found by the VIN
    "part_family": "part_family",
    "part_number": "part_number",
    "supplier_batch": "supplier_batch",
    "failure_date": "failure_date",
    "mileage_km": "mileage_km",
    "symptom": "symptom_code",
    "symptom_text": "symptom_text",
    "claim_date": "claim_date",
    "claim_number": "claim_number",
}
MAX_ROWS = 5_000
MILEAGE_MAX = 2_000_000
CLAIM_NUMBER_MAX = 40


@dataclass
class ClaimImportResult(SheetImport):
    created: int = 0
    skipped: int = 0  # claims imported before (the same store and claim number)
    refused: int = 0  # rows with at least one error (only the first `MAX_LISTED` errors are listed)


def import_columns_help() -> list[tuple[str, str]]:
    """(label, accepted headers) of every column, for the import page."""
    return [(str(COLUMN_LABELS[name]), " / ".join(aliases)) for name, aliases in COLUMNS.items()]


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return clean_text(str(value)).strip()


def _date(value) -> dt.date | None:
    try:
        day = parse_date(value)
    except ValidationError:
        return None
    return day if day is not None and 2000 <= day.year <= 2100 else None


def _mileage(value) -> int | None:
    if isinstance(value, bool):
        return None
    text = _text(value).replace(",", "").removesuffix("km").removesuffix("KM").strip()
    if text.endswith(".0"):
        text = text[:-2]
    if not text.isdigit() or int(text) > MILEAGE_MAX:
        return None
    return int(text)


class _Lookups:
    """The stores, part families and symptom codes a file's codes are resolved against."""

    def __init__(self, actor):
        own = own_store_ids(actor)
        staff = getattr(actor, "staff", None)
        group_stores = Store.objects.filter(group_id=staff.group_id) if staff is not None else Store.objects.none()
        self.stores = {s.code.upper(): s for s in group_stores}
        self.own = own
        self.families: dict[str, PartFamily] = {}
        for family in PartFamily.objects.all():
            for key in (family.code, family.name_zh, family.name_en):
                if key:
                    self.families.setdefault(clean_text(key).strip().upper(), family)
        self.symptoms = {s.code.upper(): s for s in SymptomCode.objects.all()}


def _read(table, lookups: _Lookups, result: ClaimImportResult) -> list[dict]:
    """Every row read, with its values and its errors ({column: message})."""
    mapping = table.mapping
    missing = [str(COLUMN_LABELS[name]) for name in COLUMNS if name not in mapping and name not in OPTIONAL]
    if "symptom_code" not in mapping and "symptom_text" not in mapping:
        missing.append(str(COLUMN_LABELS["symptom_text"]))
    if missing:
        raise ImportFileError(_("The file has no column %(columns)s.") % {"columns": ", ".join(missing)})
    out: list[dict] = []
    for row_number, cell in filled_rows(table, result, MAX_ROWS):
        errors: dict[str, str] = {}
        values: dict = {}
        claim = _text(cell("claim_number"))
        if not claim:
            errors["claim_number"] = _("Give the claim number.")
        elif len(claim) > CLAIM_NUMBER_MAX:
            errors["claim_number"] = _("A claim number has at most %(n)s characters.") % {"n": CLAIM_NUMBER_MAX}
        code = _text(cell("store_code")).upper()[:40]
        store = lookups.stores.get(code)
        if store is None:
            errors["store_code"] = _("Unknown dealer code %(code)s: give the code of one of your group's stores.") % {
                "code": code or "—"
            }
        elif store.pk not in lookups.own:
            errors["store_code"] = _("You do not report for store %(code)s: import its claims in that store.") % {
                "code": store.code
            }
            store = None
        family_key = _text(cell("part_family")).upper()
        family = lookups.families.get(family_key)
        if family is None:
            errors["part_family"] = _("Unknown part family %(family)s: give its code or its name.") % {
                "family": family_key or "—"
            }
        part_number = _text(cell("part_number"))
        if not part_number:
            errors["part_number"] = _("Give the part number.")
        failure_date = _date(cell("failure_date"))
        if failure_date is None:
            errors["failure_date"] = _("Give a date such as 2026-03-05 or 2026年3月5日.")
        claim_date = _date(cell("claim_date"))
        if claim_date is None:
            errors["claim_date"] = _("Give a date such as 2026-03-05 or 2026年3月5日.")
        mileage = _mileage(cell("mileage_km"))
        if mileage is None:
            errors["mileage_km"] = _("Give the mileage in whole kilometres, 0 to %(max)s.") % {"max": MILEAGE_MAX}
        symptom_code = _text(cell("symptom_code")).upper()
        symptom = lookups.symptoms.get(symptom_code) if symptom_code else None
        if symptom_code and symptom is None:
            errors["symptom_code"] = _("Unknown symptom code %(code)s.") % {"code": symptom_code}
        symptom_text = _text(cell("symptom_text"))
        if not symptom_code and not symptom_text:
            errors["symptom_text" if "symptom_text" in mapping else "symptom_code"] = _(
                "Give a symptom code or describe the symptom."
            )
        values = {
            "vin": _text(cell("vin")),
            "part_family": family,
            "part_number": part_number,
            "supplier_batch": _text(cell("supplier_batch")),
            "failure_date": failure_date,
            "mileage_km": mileage,
            "symptom": symptom,
            "symptom_text": symptom_text,
        }
        out.append({"row": row_number, "store": store, "claim": claim, "claim_date": claim_date,
                    "values": values, "errors": errors})
    return out


# a report's foreign keys the import resolves itself (stores, families and symptom codes read once, the vehicles by
# VIN, the actor): their existence is not asked again row by row
RESOLVED_FIELDS = ("store", "vehicle", "part_family", "symptom", "created_by", "repair_order", "complaint")


def _claims_imported(keys: set[tuple[int, str]]) -> set[tuple[int, str]]:
    """The (store, claim number) of `keys` imported before, in one query a 500 claim numbers."""
    existing: set[tuple[int, str]] = set()
    claims = sorted({k[1] for k in keys})
    for start in range(0, len(claims), 500):
        existing.update(QualityReport.objects.filter(
            store_id__in={k[0] for k in keys}, claim_number__in=claims[start:start + 500],
        ).values_list("store_id", "claim_number"))
    return existing & keys


def _row_errors(exc: ValidationError, mapping: dict) -> dict[str, str]:
    """{column: message} of a report's ValidationError, each field on the file's column it comes from (the claim
    number's column for a field the file has no column of)."""
    errors: dict[str, str] = {}
    for field, messages in (exc.message_dict if hasattr(exc, "error_dict") else {"claim_number": exc.messages}).items():
        column = FIELD_COLUMNS.get(field, "claim_number")
        if column not in mapping:
            column = "claim_number"
        errors[column] = " ".join([errors[column], *messages]) if column in errors else " ".join(messages)
    return errors


def quality_reports_import_claims(*, actor, file, filename: str = "") -> ClaimImportResult:
    """Import the carmaker's warranty-claim file into submitted reports of the actor's own stores (`quality.report`,
    as for recording a report by hand). Raises PermissionDenied without the permission or an own store."""
    require_perm(actor, Perm.QUALITY_REPORT)
    if not own_store_ids(actor):
        raise PermissionDenied
    result = ClaimImportResult()
    lookups = _Lookups(actor)
    try:
        with local_path(file) as path, open_table(path, COLUMNS) as table:
            rows = _read(table, lookups, result)
    except ImportFileError as exc:
        result.file_error = str(exc)
        return result
    if not rows:
        result.file_error = _("The file has no rows.")
        return result

    mapping = table.mapping

    def header(name: str) -> str:
        return table.header_of(name, COLUMN_LABELS[name])

    problems: list[RowError] = []

    def refuse(row: dict, errors: dict[str, str]) -> None:
        result.refused += 1
        problems.extend(RowError(row["row"], header(name), str(message)) for name, message in errors.items())

    # the claims already imported, and a claim given twice in the file
    existing = _claims_imported({(r["store"].pk, r["claim"]) for r in rows if r["store"] is not None and r["claim"]})
    seen: dict[tuple[int, str], int] = {}
    todo = []
    for row in rows:
        key = (row["store"].pk, row["claim"]) if row["store"] is not None and row["claim"] else None
        if key in existing:
            result.skipped += 1
            continue
        if key is not None and key in seen:
            row["errors"].setdefault("claim_number", _("This claim is already given in row %(row)s.")
                                     % {"row": seen[key]})
        elif key is not None:
            seen[key] = row["row"]
        if row["errors"]:
            refuse(row, row["errors"])
        else:
            todo.append(row)

    # each claim checked as a report recorded by hand (`quality_report_build`), the vehicles read at once
    vehicles = vehicles_by_vin(actor, [row["values"]["vin"] for row in todo])
    reports = []
    for row in todo:
        try:
            report = quality_report_build(
                actor=actor, store_id=row["store"].pk, source=ReportSource.WARRANTY_CLAIM, claim_number=row["claim"],
                claim_date=row["claim_date"], submit=True, vehicles=vehicles, **row["values"],
            )
            # the fields' own checks; the objects were just read, the constraints are what the build checked
            report.clean_fields(exclude=RESOLVED_FIELDS)
        except ValidationError as exc:
            refuse(row, _row_errors(exc, mapping))
        else:
            reports.append(report)
    problems.sort(key=lambda e: e.row)
    result.listed(result.errors, problems)
    if result.errors:
        return result
    name = clean_text(filename or getattr(file, "name", ""))[:200]
    try:
        with transaction.atomic():
            QualityReport.objects.bulk_create(reports, batch_size=500)
            audit_events_record(actor=actor, action=AuditAction.CREATE, objs=reports,
                                detail={"source": ReportSource.WARRANTY_CLAIM, "status": ReportStatus.SUBMITTED})
            result.created = len(reports)
            audit_event_record(actor=actor, action=AuditAction.IMPORT, object_type="quality.qualityreport",
                               detail={"file": name, "rows": result.rows, "created": result.created,
                                       "skipped": result.skipped})
    except IntegrityError:  # the same claims imported meanwhile by another upload: nothing of this one is kept
        result.created = 0
        result.file_error = _("These claims were being imported at the same time by another upload: import the file "
                              "again (the claims imported meanwhile are skipped).")
    return result
