"""The one writer of every export (XLSX and CSV): text is always written as text, never as a formula.

A cell whose text starts with `=`, `+`, `-`, `@`, a tab or a carriage return is what a spreadsheet reads as a
formula (OWASP, "CSV Injection"): such text is written with a leading apostrophe, and XLSX text cells are
typed as strings explicitly. Characters XML cannot hold are dropped, so no stored value can break an export.
Apps never build a workbook or a CSV writer of their own; they call `xlsx_bytes`, `xlsx_workbook_bytes` or
`csv_lines`. An importer that reads back a file this writer wrote passes each text cell through `unneutralise`.
"""

import csv
import datetime as dt
import decimal
import io
import math
import re
from collections.abc import Iterable, Iterator

from openpyxl.cell import WriteOnlyCell

from .text import newlines_as_lf
from .timezones import business_tz

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# Line ends are written as LF (XML reads a CR back as LF anyway), so a text that started with CR starts with LF
# once written: a leading LF is escaped too, which keeps `unneutralise(neutralise(t))` equal to `t`'s text.
_ESCAPED_PREFIXES = (*FORMULA_PREFIXES, "\n")
# What XML 1.0 cannot hold (C0 controls but tab / LF / CR, lone surrogates, U+FFFE / U+FFFF): openpyxl writes
# some of them into a file that no reader can open again, and refuses the others.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_SHEET_TITLE_ILLEGAL = re.compile(r"[\\*?:/\[\]]")
_FILENAME_UNSAFE = re.compile(r'[\x00-\x1f\x7f"\\/;]')
_PLAIN_TYPES = (bool, int, float, decimal.Decimal, dt.datetime, dt.date, dt.time, dt.timedelta)


def neutralise(text: str) -> str:
    """`text` safe for a spreadsheet cell: XML-illegal characters dropped, line ends as LF, a formula-like start
    escaped with an apostrophe (also when the text already starts with apostrophes before it, so that
    `unneutralise` gives the text back exactly)."""
    text = _XML_ILLEGAL.sub("", text)
    text = newlines_as_lf(text)
    return "'" + text if text.lstrip("'").startswith(_ESCAPED_PREFIXES) else text


def unneutralise(text: str) -> str:
    """The text `neutralise` was given (line ends as LF), for importers reading back a file this writer wrote."""
    if len(text) > 1 and text[0] == "'" and text[1:].lstrip("'").startswith(_ESCAPED_PREFIXES):
        return text[1:]
    return text


def cell_value(value):
    """A value as an export writes it: None, numbers and dates as they are; anything else as neutralised text."""
    if value is None or isinstance(value, _PLAIN_TYPES):
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            return local_naive(value)
        if isinstance(value, float | decimal.Decimal) and not math.isfinite(value):
            return str(value)  # a spreadsheet has no NaN or infinity
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


def _sheet_title(title) -> str:
    """A title Excel accepts: no `\\ * ? : / [ ]`, no XML-illegal characters, no apostrophe at either end, ≤ 31."""
    title = _SHEET_TITLE_ILLEGAL.sub("", _XML_ILLEGAL.sub("", str(title)))
    return title.strip("'")[:31].strip("'") or "sheet"


def xlsx_workbook_bytes(sheets: Iterable[tuple[str, Iterable[Iterable]]]) -> tuple[bytes, int]:
    """A write-only workbook of `(title, rows)` sheets (each sheet's first row is its header, if any).

    Returns the bytes and the number of rows written over all sheets.
    """
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    n = 0
    for title, rows in sheets:
        sheet = wb.create_sheet(_sheet_title(title))
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


def attachment_header(filename: str) -> str:
    """A `Content-Disposition` value that downloads as `filename`, whatever text it was built from (controls,
    quotes and slashes become `_`; a non-ASCII name is sent as RFC 6266 `filename*`)."""
    from django.utils.http import content_disposition_header

    return content_disposition_header(True, _FILENAME_UNSAFE.sub("_", filename) or "export")


def local_naive(value: dt.datetime | None) -> dt.datetime | None:
    """An instant as business-time-zone (Asia/Shanghai) wall time without zone (Excel cells cannot hold a zone)."""
    return value.astimezone(business_tz()).replace(tzinfo=None) if value else None


def staff_name(user) -> str:
    """The staff display name of a user, else the username; "" for none."""
    if user is None:
        return ""
    staff = getattr(user, "staff", None)
    return (staff.display_name if staff else "") or user.get_username()
