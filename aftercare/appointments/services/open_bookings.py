"""Import of a store's open bookings from the list it keeps today (XLSX or CSV: date, time, customer, phone,
plate or VIN, service, advisor, notes), so a store switches over without retyping (docs/appointments.md,
"Capacity").

The file is read with the DMS import's bounded readers (`aftercare.dms.readers`), as the renewal sheet is
(`aftercare/renewals/services/sheets.py`). Each row is matched to a vehicle the store's customer owns (VIN, else
plate) and booked through `booking_create` (source `import`), so capacity, caps and the double-booking guarantee hold
as for any booking. A row that does not match or fit is reported with its file row and column and the others are
booked; the same vehicle at the same time again (a re-import) is skipped, so nothing is booked twice.
"""

import datetime as dt
import logging
import os
import re
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from aftercare.core.choices import AuditAction
from aftercare.core.services import audit_event_record
from aftercare.customers.models import Ownership
from aftercare.customers.validators import clean_text, normalize_plate, normalize_vin, parse_date
from aftercare.dms.readers import ImportFileError, RowError, SheetImport, count_rows, local_path, open_table
from aftercare.org.calendar import business_tz
from aftercare.org.models import Staff
from aftercare.org.permissions import Perm, require_perm
from aftercare.org.scoping import own_store_ids

from ..choices import BookingSource, BookingState
from ..models import Booking, ServiceKind
from .booking import SlotTaken, booking_create

logger = logging.getLogger(__name__)

MAX_ROWS = settings.IMPORT_SYNC_MAX_ROWS

# field → the names a store's list (or an English one) gives the column
ALIASES: dict[str, tuple[str, ...]] = {
    "date": ("预约日期", "日期", "到店日期", "预约到店日期", "date", "appointment date"),
    "time": ("预约时间", "时间", "到店时间", "预约时段", "time", "appointment time"),
    "customer": ("客户姓名", "客户", "姓名", "车主", "customer", "customer name"),
    "phone": ("联系电话", "电话", "手机", "手机号", "phone", "mobile"),
    "plate": ("车牌", "车牌号", "车牌号码", "plate"),
    "vin": ("车架号", "vin", "车辆识别代号", "底盘号"),
    "service": ("预约项目", "服务项目", "项目", "服务类型", "维修项目", "service", "service kind"),
    "advisor": ("服务顾问", "顾问", "接待顾问", "advisor", "service advisor"),
    "notes": ("备注", "说明", "notes", "note"),
}
COLUMN_LABELS = {  # the column named in an error when the file lacks it
    "date": "预约日期", "time": "预约时间", "plate": "车牌", "vin": "车架号", "service": "预约项目",
}


@dataclass
class OpenBookingsResult(SheetImport):
    booked: int = 0
    skipped: int = 0  # already booked (a re-import)
    rejected: int = 0


class _FileError(Exception):
    pass


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return clean_text(str(value))


_TIME = re.compile(r"^\s*(\d{1,2})\s*[:：点时]\s*(\d{1,2})?\s*(?:分)?(?:\s*[-–~至].*)?$")


def parse_time(value) -> dt.time | None:
    """09:30, 9:30, 9点30, 9:30-10:30 (the start), an Excel time fraction or time/datetime cell."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.time().replace(second=0, microsecond=0)
    if isinstance(value, dt.time):
        return value.replace(second=0, microsecond=0)
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value < 1:
        minutes = round(value * 24 * 60)
        return dt.time(minutes // 60, minutes % 60)
    text = _text(value)
    match = _TIME.match(text)
    if match and int(match[1]) < 24 and int(match[2] or 0) < 60:
        return dt.time(int(match[1]), int(match[2] or 0))
    raise ValidationError(gettext("Not a time: %(value)s") % {"value": text[:40]})


class _Reader:
    def __init__(self, store, headers: list, mapping: dict[str, int]):
        self.store, self.headers, self.mapping = store, headers, mapping
        self.kinds = list(ServiceKind.objects.filter(store=store, is_active=True))
        by_name = {}
        for staff in Staff.objects.filter(stores=store, user__is_active=True).select_related("user"):
            by_name.setdefault(clean_text(staff.display_name).lower(), staff.user)
        self.advisors = by_name

    def column(self, name: str) -> str:
        index = self.mapping.get(name)
        if index is not None and index < len(self.headers) and self.headers[index]:
            return str(self.headers[index])
        return COLUMN_LABELS.get(name, name)

    def raw(self, cells: list, name: str):
        index = self.mapping.get(name)
        return cells[index] if index is not None and index < len(cells) else None

    def kinds_of(self, text: str) -> list[ServiceKind]:
        found = []
        for part in [p for p in re.split(r"[、,，/+＋;；\s]+", text) if p]:
            key = part.lower()
            kind = next((k for k in self.kinds if key in (k.code.lower(), k.name.lower())), None)
            kind = kind or next((k for k in self.kinds if key in k.name.lower() or k.name.lower() in key), None)
            if kind is None:
                raise ValidationError(gettext("Not a service kind of the store: %(value)s") % {"value": part[:40]})
            if kind not in found:
                found.append(kind)
        return found

    def read(self, number: int, cells: list) -> tuple[dict | None, list[RowError], list[RowError]]:
        errors, notes = [], []

        def bad(name, message):
            errors.append(RowError(number, self.column(name), str(message)))

        ownership = None
        vin, plate = _text(self.raw(cells, "vin")), _text(self.raw(cells, "plate"))
        owned = Ownership.objects.filter(store=self.store, valid_to__isnull=True).select_related("vehicle", "customer")
        if vin:
            try:
                vin = normalize_vin(vin)
            except ValidationError as exc:
                bad("vin", exc.messages[0])
            else:
                ownership = owned.filter(vehicle__vin=vin).first()
                if ownership is None:
                    bad("vin", gettext("No vehicle of this store has the VIN %(value)s.") % {"value": vin})
        elif plate:
            try:
                plate = normalize_plate(plate)
            except ValidationError as exc:
                bad("plate", exc.messages[0])
            else:
                found = list(owned.filter(vehicle__plate=plate)[:2])
                if not found:
                    bad("plate", gettext("No vehicle of this store has the plate %(value)s.") % {"value": plate})
                elif len(found) > 1:
                    bad("plate", gettext("Several vehicles of this store have the plate %(value)s: give the VIN.")
                        % {"value": plate})
                else:
                    ownership = found[0]
        else:
            bad("plate" if "plate" in self.mapping else "vin", gettext("Give the plate or the VIN."))
        day = start = None
        try:
            day = parse_date(self.raw(cells, "date"))
            if day is None:
                bad("date", gettext("Give the date."))
        except ValidationError as exc:
            bad("date", exc.messages[0])
        raw_time = self.raw(cells, "time") if "time" in self.mapping else None
        if raw_time in (None, "") and isinstance(self.raw(cells, "date"), dt.datetime):
            raw_time = self.raw(cells, "date")
        try:
            at = parse_time(raw_time)
            if at is None:
                bad("time", gettext("Give the time."))
            elif day is not None:
                start = dt.datetime.combine(day, at, tzinfo=business_tz())
        except ValidationError as exc:
            bad("time", exc.messages[0])
        kinds = []
        try:
            kinds = self.kinds_of(_text(self.raw(cells, "service")))
            if not kinds:
                bad("service", gettext("Give the service (one of the store's service kinds)."))
        except ValidationError as exc:
            bad("service", exc.messages[0])
        advisor = None
        if name := _text(self.raw(cells, "advisor")):
            advisor = self.advisors.get(name.lower())
            if advisor is None:
                notes.append(RowError(number, self.column("advisor"), gettext(
                    "No staff of this store is called %(value)s: booked without an advisor.") % {"value": name[:40]}))
        if errors:
            return None, errors, notes
        return {"ownership": ownership, "start": start, "kinds": kinds, "advisor": advisor,
                "notes": _text(self.raw(cells, "notes"))[:2000]}, errors, notes


def appointment_bookings_import(*, actor, store, file, filename: str = "") -> OpenBookingsResult:
    """Book each row of a store's open-bookings list (see the module's docstring). A file that cannot be read gives
    `file_error` and books nothing. Audited as one `import` event."""

    require_perm(actor, Perm.APPOINTMENT_SETTINGS)
    if store.pk not in own_store_ids(actor):
        raise PermissionDenied
    result = OpenBookingsResult()
    try:
        with local_path(file) as path:
            if count_rows(path, MAX_ROWS + 10) > MAX_ROWS + 10:
                raise _FileError(gettext("The list has more than %(n)s rows: split it into smaller files.")
                                 % {"n": MAX_ROWS})
            with open_table(path, ALIASES) as table:
                if "date" not in table.mapping:
                    raise _FileError(gettext("The list has no date column (预约日期 / Date)."))
                if "service" not in table.mapping:
                    raise _FileError(gettext("The list has no service column (预约项目 / Service)."))
                if not {"vin", "plate"} & table.mapping.keys():
                    raise _FileError(gettext("The list needs a plate (车牌) or VIN (车架号) column."))
                reader = _Reader(store, table.headers, table.mapping)
                for number, cells in table.rows:
                    if not any(_text(c) for c in cells):
                        continue
                    result.rows += 1
                    if result.rows > MAX_ROWS:
                        raise _FileError(gettext("The list has more than %(n)s rows: split it into smaller files.")
                                         % {"n": MAX_ROWS})
                    _import_row(actor, store, reader, number, cells, result)
    except (ImportFileError, _FileError) as exc:
        result.file_error = str(exc)
    audit_event_record(
        actor=actor, action=AuditAction.IMPORT, object_type=Booking._meta.label_lower, store_id=store.pk,
        detail={"report": "open_bookings", "filename": os.path.basename(filename)[:100], "rows": result.rows,
                "booked": result.booked, "skipped": result.skipped, "rejected": result.rejected,
                "failed": bool(result.file_error)},
    )
    return result


def _import_row(actor, store, reader: _Reader, number: int, cells: list, result: OpenBookingsResult) -> None:
    try:
        row, errors, notes = reader.read(number, cells)
    except (ValueError, ArithmeticError, TypeError) as exc:  # a value no check foresaw: this row's error, not a 500
        logger.warning("open bookings import: row %s unreadable: %r", number, exc)
        row, errors, notes = None, [RowError(number, "", gettext("The row could not be read."))], []
    if row is None:
        result.rejected += 1
        result.listed(result.errors, errors)
        return
    vehicle, start = row["ownership"].vehicle, row["start"]
    if start <= timezone.now():
        result.rejected += 1
        result.listed(result.errors, [RowError(number, reader.column("date"), gettext(
            "The appointment is in the past: %(value)s") % {"value": f"{start:%Y-%m-%d %H:%M}"})])
        return
    if Booking.objects.filter(vehicle=vehicle, start_at=start.astimezone(dt.UTC)).exclude(
            state=BookingState.CANCELLED).exists():
        result.skipped += 1
        return
    try:
        with transaction.atomic():
            booking_create(actor=actor, store=store, customer=row["ownership"].customer, vehicle=vehicle,
                           kinds=row["kinds"], start_at=start, advisor=row["advisor"], notes=row["notes"],
                           source=BookingSource.IMPORT)
    except SlotTaken:
        result.rejected += 1
        result.listed(result.errors, [RowError(number, reader.column("time"), gettext(
            "No free slot at %(value)s for this service: the day is full or the time is not a slot start.")
            % {"value": f"{start:%Y-%m-%d %H:%M}"})])
        return
    except ValidationError as exc:
        result.rejected += 1
        column = reader.column("time") if "start_at" in getattr(exc, "error_dict", {}) else ""
        result.listed(result.errors, [RowError(number, column, "; ".join(exc.messages))])
        return
    result.booked += 1
    result.listed(result.notes, notes)
