"""Import of the carmaker's parts-shipment file (docs/quality.md, "Parts-shipment accuracy"): one row per dealer and
month with the lines shipped and the lines shipped right. All or nothing: with any bad cell the result names its row
and column and nothing is written; importing the same file again updates the same store-months in place."""

import datetime as dt
import re
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from aftercare.core.choices import AuditAction
from aftercare.core.services import audit_event_record
from aftercare.core.text import clean_text
from aftercare.dms.readers import ImportFileError, RowError, SheetImport, filled_rows, local_path, open_table
from aftercare.org.models import Store
from aftercare.org.permissions import Perm, require_perm

from ..selectors import quality_store_ids
from ..shipment_models import PartsShipmentMonth

COLUMNS: dict[str, tuple[str, ...]] = {
    "store_code": ("经销商代码", "服务站代码", "店代码", "门店代码", "dealer code", "store code", "store"),
    "month": ("月份", "月", "month"),
    "lines_shipped": ("发货行数", "订单行数", "发运行数", "lines shipped", "lines"),
    "lines_right": ("正确行数", "准确行数", "发货正确行数", "lines right", "lines shipped right"),
}
COLUMN_LABELS = {
    "store_code": gettext_lazy("Dealer code"),
    "month": gettext_lazy("Month"),
    "lines_shipped": gettext_lazy("Lines shipped"),
    "lines_right": gettext_lazy("Lines shipped right"),
}
MAX_ROWS = 20_000
LINES_MAX = 10_000_000
_MONTH_RE = re.compile(r"^\s*(\d{4})\s*(?:[-/.年]\s*(\d{1,2})\s*月?|(\d{2}))\s*$")


@dataclass
class ShipmentImportResult(SheetImport):
    created: int = 0
    updated: int = 0


def import_columns_help() -> list[tuple[str, str]]:
    """(label, accepted headers) of every column, for the import page."""
    return [(str(COLUMN_LABELS[name]), " / ".join(aliases)) for name, aliases in COLUMNS.items()]


def _month(value) -> dt.date | None:
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.replace(day=1)
    match = _MONTH_RE.match(clean_text(str(value or "")))
    if match:
        year, month = int(match.group(1)), int(match.group(2) or match.group(3))
        if 1 <= month <= 12 and 2000 <= year <= 2100:
            return dt.date(year, month, 1)
    return None


def _lines(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = clean_text(str(value if value is not None else "")).strip().replace(",", "")
    if not text.isdigit() or int(text) > LINES_MAX:
        return None
    return int(text)


def _read(table, stores: dict[str, Store], result: ShipmentImportResult) -> dict[tuple[int, dt.date], dict]:
    mapping = table.mapping
    missing = [str(COLUMN_LABELS[name]) for name in COLUMNS if name not in mapping]
    if missing:
        raise ImportFileError(_("The file has no column %(columns)s.") % {"columns": ", ".join(missing)})

    def header(name):
        return table.header_of(name, COLUMN_LABELS[name])

    out: dict[tuple[int, dt.date], dict] = {}
    for row_number, cell in filled_rows(table, result, MAX_ROWS):
        def error(name, message, row_number=row_number):
            result.errors.append(RowError(row_number, header(name), str(message)))

        code = clean_text(str(cell("store_code") or "")).strip().upper()[:40]
        store = stores.get(code)
        if store is None:
            error("store_code", _("Unknown dealer code %(code)s: give the code of one of your group's stores.")
                  % {"code": code or "—"})
        month = _month(cell("month"))
        if month is None:
            error("month", _("Give a month such as 2024-03 or 2024年3月."))
        shipped, right = _lines(cell("lines_shipped")), _lines(cell("lines_right"))
        if shipped is None or shipped < 1:
            error("lines_shipped", _("Give a whole number of lines of at least 1."))
        if right is None:
            error("lines_right", _("Give a whole number of lines, 0 or more."))
        elif shipped is not None and right > shipped:
            error("lines_right", _("More lines shipped right (%(right)s) than shipped (%(shipped)s).")
                  % {"right": right, "shipped": shipped})
        if store is None or month is None or shipped is None or shipped < 1 or right is None or right > shipped:
            continue
        key = (store.pk, month)
        if key in out:
            error("month", _("This dealer and month are already given in row %(row)s.") % {"row": out[key]["row"]})
            continue
        out[key] = {"row": row_number, "lines_shipped": shipped, "lines_right": right}
    return out


def parts_shipments_import(*, actor, file, filename: str = "") -> ShipmentImportResult:
    """Import the parts-shipment file for the stores the actor watches (a quality engineer: the group's)."""
    require_perm(actor, Perm.QUALITY_MANAGE)
    result = ShipmentImportResult()
    stores = {s.code.upper(): s for s in Store.objects.filter(pk__in=quality_store_ids(actor))}
    try:
        with local_path(file) as path, open_table(path, COLUMNS) as table:
            rows = _read(table, stores, result)
    except ImportFileError as exc:
        result.file_error = str(exc)
        return result
    if result.errors:
        return result
    if not rows:
        result.file_error = _("The file has no rows.")
        return result
    name = clean_text(filename or getattr(file, "name", ""))[:200]
    now = timezone.now()
    with transaction.atomic():
        existing = {
            (r.store_id, r.month): r
            for r in PartsShipmentMonth.objects.select_for_update().filter(
                store_id__in={k[0] for k in rows}, month__in={k[1] for k in rows})
        }
        new = []
        for (store_id, month), values in sorted(rows.items()):
            row = existing.get((store_id, month))
            if row is None:
                row = PartsShipmentMonth(store_id=store_id, month=month)
                new.append(row)
            row.lines_shipped, row.lines_right, row.source_file = values["lines_shipped"], values["lines_right"], name
            row.updated_at = now
            row.full_clean(validate_unique=False, validate_constraints=False)
        PartsShipmentMonth.objects.bulk_create(new)
        changed = [r for r in existing.values() if (r.store_id, r.month) in rows]
        PartsShipmentMonth.objects.bulk_update(changed, ["lines_shipped", "lines_right", "source_file", "updated_at"])
        result.created, result.updated = len(new), len(changed)
        audit_event_record(actor=actor, action=AuditAction.IMPORT, object_type="quality.partsshipmentmonth",
                           detail={"file": name, "rows": result.rows, "created": result.created,
                                   "updated": result.updated})
    return result
