"""Helpers for XLSX exports (call log, letter log, feedback list, questionnaire templates)."""

import datetime as dt
import io

from aftercare.org.selectors import BUSINESS_TZ


def xlsx_bytes(title: str, header: list, rows) -> tuple[bytes, int]:
    """A write-only workbook with one sheet; returns its bytes and the number of data rows."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    sheet = wb.create_sheet(title)
    sheet.append(header)
    n = 0
    for row in rows:
        sheet.append(row)
        n += 1
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue(), n


def local_naive(value: dt.datetime | None) -> dt.datetime | None:
    """An instant as Asia/Shanghai wall time without zone (Excel cells cannot hold a zone)."""
    return value.astimezone(BUSINESS_TZ).replace(tzinfo=None) if value else None


def staff_name(user) -> str:
    """The staff display name of a user, else the username; "" for none."""
    if user is None:
        return ""
    staff = getattr(user, "staff", None)
    return (staff.display_name if staff else "") or user.get_username()
