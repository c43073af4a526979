"""The one writer of every export (XLSX and CSV): text is always written as text, never as a formula.

A cell whose text starts with `=`, `+`, `-`, `@`, a tab or a carriage return is what a spreadsheet reads as a
formula (OWASP, "CSV Injection"): such text is written with a leading apostrophe, and XLSX text cells are
typed as strings explicitly. Characters XML cannot hold are dropped, so no stored value can break an export.
Apps never build a workbook or a CSV writer of their own; they call `xlsx_bytes`, `xlsx_workbook_bytes` or
`csv_lines`.
"""

import csv
import datetime as dt
import decimal
import io
from collections.abc import Iterable, Iterator

from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from aftercare.org.selectors import BUSINESS_TZ

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_TYPES = (bool, int, float, decimal.Decimal, dt.datetime, dt.date, dt.time, dt.timedelta)


def neutralise(text: str) -> str:
    """`text` safe for a spreadsheet cell: XML-illegal characters dropped, a formula-like start escaped."""
    text = ILLEGAL_CHARACTERS_RE.sub("", text)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def unneutralise(text: str) -> str:
    """The text `neutralise` was given, for importers reading back a file this writer wrote."""
    if len(text) > 1 and text[0] == "'" and text[1:].startswith(FORMULA_PREFIXES):
        return text[1:]
    return text


def cell_value(value):
    """A value as an export writes it: None, numbers and dates as they are; anything else as neutralised text."""
    if value is None or isinstance(value, _PLAIN_TYPES):
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            return local_naive(value)
        return value
    return neutralise(str(value))


def _xlsx_row(sheet, row: Iterable) -> list:
    cells = []
    for value in row:
        value = cell_value(value)
        cell = WriteOnlyCell(sheet, value=value)
        if isinstance(value, str):
            cell.data_type = "s"  # set explicitly: never "f" (formula), whatever the text
        cells.append(cell)
    return cells


def xlsx_workbook_bytes(sheets: Iterable[tuple[str, Iterable[Iterable]]]) -> tuple[bytes, int]:
    """A write-only workbook of `(title, rows)` sheets (each sheet's first row is its header, if any).

    Returns the bytes and the number of rows written over all sheets.
    """
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    n = 0
    for title, rows in sheets:
        sheet = wb.create_sheet(neutralise(title)[:31] or "sheet")
        for row in rows:
            sheet.append(_xlsx_row(sheet, row))
            n += 1
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue(), n


def xlsx_bytes(title: str, header: list, rows: Iterable[Iterable]) -> tuple[bytes, int]:
    """A one-sheet workbook: the header, then `rows`; returns its bytes and the number of data rows."""

    def all_rows():
        yield header
        yield from rows

    content, n = xlsx_workbook_bytes([(title, all_rows())])
    return content, n - 1


class _Echo:
    def write(self, value):
        return value


def csv_lines(header: list, rows: Iterable[Iterable], *, bom: bool = True) -> Iterator[str]:
    """CSV text line by line (for a StreamingHttpResponse): UTF-8 BOM first so that Excel reads it as UTF-8."""
    writer = csv.writer(_Echo())

    def csv_row(row):
        return ["" if (v := cell_value(value)) is None else v for value in row]

    first = writer.writerow(csv_row(header))
    yield ("\ufeff" + first) if bom else first
    for row in rows:
        yield writer.writerow(csv_row(row))


def csv_bytes(header: list, rows: Iterable[Iterable], *, bom: bool = True) -> bytes:
    """The whole CSV as UTF-8 bytes (small exports)."""
    return "".join(csv_lines(header, rows, bom=bom)).encode("utf-8")


def local_naive(value: dt.datetime | None) -> dt.datetime | None:
    """An instant as Asia/Shanghai wall time without zone (Excel cells cannot hold a zone)."""
    return value.astimezone(BUSINESS_TZ).replace(tzinfo=None) if value else None


def staff_name(user) -> str:
    """The staff display name of a user, else the username; "" for none."""
    if user is None:
        return ""
    staff = getattr(user, "staff", None)
    return (staff.display_name if staff else "") or user.get_username()
