"""Streaming readers for DMS exports: CSV (UTF-8, UTF-8 with BOM, UTF-16, GB18030/GBK) and XLSX.

`open_table(path, aliases)` detects the format and encoding, finds the header row, maps the
file's headers to our field names and yields `(row_number, cells)` one row at a time
(header = row 1, as a spreadsheet numbers them). Nothing is held in memory but the current row.
"""

import codecs
import contextlib
import csv
import io
import logging
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from aftercare.core.text import clean_text as drop_controls
from aftercare.customers.validators import clean_text

logger = logging.getLogger(__name__)
SAMPLE_BYTES = 64 * 1024
HEADER_SEARCH_ROWS = 10
csv.field_size_limit(10 * 1024 * 1024)


class ImportFileError(Exception):
    """The file as a whole cannot be imported (unreadable, wrong format, missing required columns)."""


_HEADER_JUNK = re.compile(r"[\s_*:：#]")
_HEADER_NOTE = re.compile(r"[（(【\[].*?[)）】\]]")


def header_key(text) -> str:
    """Normalise a header for lookup: NFKC, lower case, no spaces/underscores/asterisks."""
    return _HEADER_JUNK.sub("", clean_text(text).lower())


def header_lookup(aliases: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """{normalised alias: field name} from {field name: aliases}."""
    lookup = {}
    for name, names in aliases.items():
        for alias in (name, *names):
            lookup[header_key(alias)] = name
    return lookup


def map_headers(headers: list, lookup: dict[str, str]) -> dict[str, int]:
    """{field name: column index}; the first column wins when a field appears twice."""
    mapping: dict[str, int] = {}
    for index, header in enumerate(headers):
        key = header_key(header or "")
        if not key:
            continue
        name = lookup.get(key) or lookup.get(_HEADER_NOTE.sub("", key))
        if name and name not in mapping:
            mapping[name] = index
    return mapping


@dataclass
class RowError:
    """One row's problem in an uploaded sheet: the row number as the spreadsheet shows it, the column (the file's
    own header where it has one) and what is wrong, in the user's language."""

    row: int
    column: str
    message: str


@dataclass
class SheetImport:
    """What importing an uploaded sheet did, shown on its import page: the rows read, the rows refused (`errors`),
    rows kept with a part not imported (`notes`), or why the file as a whole was not read. Each import (the SSI /
    CSI figures, the renewals sheet, the open appointments, the parts shipments) adds its own counters."""

    rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    notes: list[RowError] = field(default_factory=list)
    file_error: str = ""

    @property
    def ok(self) -> bool:
        return not self.errors and not self.file_error

    def listed(self, into: list[RowError], problems: list[RowError]) -> None:
        """Add `problems` to `into` (`errors` or `notes`), up to `MAX_LISTED` rows; the counters count beyond."""
        into.extend(problems[: max(MAX_LISTED - len(into), 0)])


MAX_LISTED = 500  # rows listed per import page (errors, notes); a whole file of bad rows would be a huge page


def filled_rows(table: "Table", result: SheetImport, max_rows: int):
    """(row number, cell) for each row of `table` with any value, where `cell(name)` is the row's value of the
    mapped field `name` (None when the file has no such column or the row ends before it). Counts `result.rows`;
    a file of more than `max_rows` such rows is refused (`ImportFileError`)."""
    mapping = table.mapping
    for row_number, cells in table.rows:
        if not any(c not in (None, "") and str(c).strip() for c in cells):
            continue
        result.rows += 1
        if result.rows > max_rows:
            raise ImportFileError(_("The file has more than %(n)s rows.") % {"n": max_rows})

        def cell(name, cells=cells):
            index = mapping.get(name)
            return cells[index] if index is not None and index < len(cells) else None

        yield row_number, cell


@dataclass
class Table:
    """An opened file: how it was read, its headers and a row iterator."""

    encoding: str
    headers: list[str]
    mapping: dict[str, int]
    rows: Iterator[tuple[int, list]]
    total_estimate: int = 0
    _closers: list = field(default_factory=list)
    # every cell is a str (CSV); XLSX cells may also be None, numbers or dates
    text_cells: bool = False

    def header_of(self, name: str, label) -> str:
        """The file's own header of the field `name` (the column it is read from), else `label`: how an import names
        a bad cell's column."""
        index = self.mapping.get(name)
        if index is not None and index < len(self.headers) and self.headers[index]:
            return self.headers[index]
        return str(label)

    def close(self) -> None:
        for closer in self._closers:
            try:
                closer()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def detect_encoding(sample: bytes) -> str:
    """utf-8-sig when the sample is strict UTF-8 (a cut multi-byte tail is allowed), utf-16 on its BOM,
    else gb18030 (a superset of GBK and GB2312)."""
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")("strict").decode(sample, final=False)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8-sig"


def _count_lines(path) -> int:
    count = 0
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            count += block.count(b"\n")
    return count


@contextlib.contextmanager
def local_path(file):
    """A path to read `file` from (for `open_table`): a path as is; an upload (a temporary file: its path; in
    memory: written to a temporary file, removed afterwards) or any binary file object."""
    if isinstance(file, str | os.PathLike):
        yield os.fspath(file)
        return
    if hasattr(file, "temporary_file_path"):
        yield file.temporary_file_path()
        return
    handle, path = tempfile.mkstemp(suffix=".upload")
    try:
        with os.fdopen(handle, "wb") as out:
            for chunk in file.chunks() if hasattr(file, "chunks") else iter(lambda: file.read(1 << 20), b""):
                out.write(chunk)
        yield path
    finally:
        os.unlink(path)


def open_table(path, aliases: dict[str, tuple[str, ...]]) -> Table:
    """Open `path` (CSV or XLSX, detected from the content) and locate the header row."""
    try:
        with open(path, "rb") as fh:
            sample = fh.read(SAMPLE_BYTES)
    except OSError:
        raise ImportFileError(_("Cannot read the file.")) from None
    if not sample.strip():
        raise ImportFileError(_("The file is empty."))
    lookup = header_lookup(aliases)
    if sample.startswith(b"PK\x03\x04"):
        return _open_xlsx(path, lookup)
    if sample.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFileError(
            _("Old Excel .xls files and password-protected workbooks are not supported: save the sheet as .xlsx "
              "without a password, or as CSV.")
        )
    if b"\x00" in sample and not sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ImportFileError(_("This is not a CSV or XLSX file."))
    return _open_csv(path, detect_encoding(sample), lookup)


def _find_header(rows: Iterator[tuple[int, list]], lookup: dict[str, str]):
    """The first row (of the first few) that names at least two known columns."""
    best = None
    for row_number, cells in rows:
        mapping = map_headers(cells, lookup)
        if len(mapping) >= 2 or (len(mapping) == 1 and len(cells) == 1):
            return row_number, cells, mapping
        if best is None and any(c not in (None, "") for c in cells):
            best = (row_number, cells, mapping)
        if row_number >= HEADER_SEARCH_ROWS:
            break
    if best is None:
        raise ImportFileError(_("The file has no header row."))
    return best


def _open_csv(path, encoding: str, lookup: dict[str, str]) -> Table:
    fh = open(path, encoding=encoding, errors="strict", newline="")  # noqa: SIM115 - closed by Table
    try:
        first_line = fh.readline()
        fh.seek(0)
    except UnicodeDecodeError:
        fh.close()
        raise ImportFileError(_("The first line cannot be decoded; save the file as UTF-8 or GB18030.")) from None
    delimiter = "\t" if first_line.count("\t") > first_line.count(",") else ","
    if first_line.count(";") > max(first_line.count(","), first_line.count("\t")):
        delimiter = ";"
    reader = csv.reader(fh, delimiter=delimiter)

    def numbered():
        number = 0
        try:
            for cells in reader:
                number += 1
                yield number, cells
        except UnicodeDecodeError:
            raise ImportFileError(
                _("The file is not valid %(encoding)s after row %(row)s; save it in one encoding (UTF-8 or GB18030).")
                % {"encoding": encoding, "row": number}
            ) from None
        except csv.Error as exc:
            raise ImportFileError(
                _("Row %(row)s: the CSV cannot be parsed (%(error)s).") % {"row": number + 1, "error": exc}
            ) from None

    rows = numbered()
    try:
        _row, headers, mapping = _find_header(rows, lookup)
    except Exception:
        fh.close()
        raise
    total = max(_count_lines(path) - _row, 0)
    return Table(
        encoding={"utf-8-sig": "utf-8", "gb18030": "gb18030", "utf-16": "utf-16"}[encoding],
        headers=[clean_text(h) for h in headers],
        mapping=mapping,
        rows=rows,
        total_estimate=total,
        _closers=[fh.close],
        text_cells=True,
    )


def _open_xlsx(path, lookup: dict[str, str]) -> Table:
    """The first sheet, read by the bounded streaming reader (`dms.xlsx`: zip-bomb, row, column and cell limits)."""
    from .xlsx import XlsxError, XlsxSheet

    try:
        sheet = XlsxSheet(path)
    except XlsxError as exc:
        raise ImportFileError(str(exc)) from None
    except Exception:  # noqa: BLE001 - a reader fault on some odd file: a clear message, never the exception's text
        logger.exception("XLSX import: unexpected error while opening")
        raise ImportFileError(
            _("The Excel file is damaged and cannot be read; open it in Excel and save it again.")
        ) from None

    def numbered():
        try:
            yield from sheet.rows()
        except XlsxError as exc:
            raise ImportFileError(str(exc)) from None
        except Exception:  # a reader fault on some odd file: a clear message, never the exception's text
            logger.exception("XLSX import: unexpected error while reading")
            raise ImportFileError(
                _("The Excel file is damaged and cannot be read; open it in Excel and save it again.")
            ) from None

    rows = numbered()
    try:
        header_row, headers, mapping = _find_header(rows, lookup)
    except BaseException:
        rows.close()
        sheet.close()
        raise
    return Table(
        encoding="xlsx",
        headers=[clean_text(h) for h in headers],
        mapping=mapping,
        rows=rows,
        total_estimate=max(sheet.dimension_rows - header_row, 0),
        _closers=[rows.close, sheet.close],
    )


def count_rows(path, upto: int) -> int:
    """How many rows the file holds (counting stops past `upto`): a cheap pass, no parsing of values.

    CSV: lines; XLSX: the first sheet's <row> elements. Raises `ImportFileError` for a file that cannot be read.
    """
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
            if not head.startswith(b"PK\x03\x04"):
                fh.seek(0)
                count = 0
                while block := fh.read(1 << 20):
                    count += block.count(b"\n")
                    if count > upto:
                        break
                return count
    except OSError:
        raise ImportFileError(_("Cannot read the file.")) from None
    from .xlsx import XlsxError, XlsxSheet

    try:
        sheet = XlsxSheet(path, values=False)  # no shared strings: they are not needed to count rows
        try:
            return sheet.count_rows(upto)
        finally:
            sheet.close()
    except XlsxError as exc:
        raise ImportFileError(str(exc)) from None
    except Exception:  # noqa: BLE001 - as in `_open_xlsx`
        logger.exception("XLSX import: unexpected error while counting rows")
        raise ImportFileError(
            _("The Excel file is damaged and cannot be read; open it in Excel and save it again.")
        ) from None


def raw_text(cells: list, limit: int = 2000) -> str:
    """A rejected row as one CSV line, for the error report."""
    buffer = io.StringIO()
    csv.writer(buffer).writerow(["" if c is None else c for c in cells])
    return drop_controls(buffer.getvalue().rstrip("\r\n")[:limit])
