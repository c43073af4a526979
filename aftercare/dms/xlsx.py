"""Bounded, streaming reading of the first sheet of an XLSX workbook (DMS imports).

An XLSX file is a zip archive of XML parts; a small upload can inflate to gigabytes (a "zip bomb"), hold one
cell of hundreds of megabytes, or be malformed in ways a general reader answers with an exception naming the
server's paths. This reader, before anything is parsed, checks every member's declared inflated size, the
total and the compression ratio (`XlsxLimits`); then it streams the parts through a counter that stops at the
member limit whatever the archive declared, and parses the sheet with expat piece by piece, enforcing the
row, column and cell-length limits while it reads. Nothing is held but the current rows, the workbook's
shared strings (compact, bounded by their own limit) and its date styles.

Every problem is raised as `XlsxError` with a translated message that names the row or cell, never a path.
Values come out as openpyxl's read-only mode gives them: str, int, float, bool, datetime (date-formatted
numbers) or None.
"""

import posixpath
import re
import zipfile
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from xml.parsers import expat

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

READ_BYTES = 64 * 1024
MAX_MEMBERS = 10_000
SMALL_PART_BYTES = 16 * 1024 * 1024  # workbook, relationships, styles: read whole
RATIO_FLOOR_BYTES = 1024 * 1024  # members inflating to less than this are not judged by their ratio
EXCEL_MAX_ROW = 1_048_576
EXCEL_MAX_COLUMN = 16_384


class XlsxError(Exception):
    """The workbook cannot be read (message for the user: translated, names no path)."""


@dataclass(frozen=True)
class XlsxLimits:
    max_rows: int = EXCEL_MAX_ROW
    max_columns: int = 200
    max_cell_chars: int = 32_767
    max_member_bytes: int = 1024**3
    max_total_bytes: int = 2 * 1024**3
    max_ratio: int = 100
    max_shared_strings_bytes: int = 128 * 1024**2

    @classmethod
    def from_settings(cls) -> "XlsxLimits":
        return cls(
            max_rows=settings.IMPORT_XLSX_MAX_ROWS,
            max_columns=settings.IMPORT_XLSX_MAX_COLUMNS,
            max_cell_chars=settings.IMPORT_XLSX_MAX_CELL_CHARS,
            max_member_bytes=settings.IMPORT_XLSX_MAX_MEMBER_BYTES,
            max_total_bytes=settings.IMPORT_XLSX_MAX_TOTAL_BYTES,
            max_ratio=settings.IMPORT_XLSX_MAX_RATIO,
            max_shared_strings_bytes=settings.IMPORT_XLSX_MAX_SHARED_STRINGS_BYTES,
        )


def _damaged(detail: str = "") -> XlsxError:
    if detail:
        return XlsxError(_("The Excel file is damaged: %(detail)s") % {"detail": detail})
    return XlsxError(_("The Excel file is damaged and cannot be read; open it in Excel and save it again."))


def _size(n: int) -> str:
    return str(filesizeformat(n))


class _Bounded:
    """A zip member read through a counter: more inflated bytes than the limit raise, whatever was declared."""

    def __init__(self, raw, limit: int, budget: list[int], message: str):
        self.raw, self.limit, self.budget, self.message = raw, limit, budget, message
        self.count = 0

    def read(self, n: int = READ_BYTES) -> bytes:
        try:
            data = self.raw.read(n if n and n > 0 else READ_BYTES)
        except Exception as exc:  # BadZipFile, EOFError, OSError, zlib.error and the like
            raise _damaged() from exc
        self.count += len(data)
        self.budget[0] -= len(data)
        if self.count > self.limit or self.budget[0] < 0:
            raise XlsxError(self.message)
        return data

    def close(self) -> None:
        self.raw.close()


class _Strings:
    """The shared strings, compact: blocks of 4,096 strings joined, and each string's end in its block."""

    BITS = 12
    MASK = (1 << BITS) - 1

    def __init__(self):
        self.blocks: list[str] = []
        self.ends = array("L")
        self.pending: list[str] = []
        self.pos = 0

    def add(self, text: str) -> None:
        self.pending.append(text)
        self.pos += len(text)
        self.ends.append(self.pos)
        if len(self.pending) > self.MASK:
            self.blocks.append("".join(self.pending))
            self.pending, self.pos = [], 0

    def finish(self) -> None:
        if self.pending:
            self.blocks.append("".join(self.pending))
            self.pending, self.pos = [], 0

    def __len__(self) -> int:
        return len(self.ends)

    def __getitem__(self, i: int) -> str:
        if i < 0:
            raise IndexError(i)
        end = self.ends[i]
        start = self.ends[i - 1] if i & self.MASK else 0
        return self.blocks[i >> self.BITS][start:end]


_COLUMNS_CACHE: dict[int, dict[str, int]] = {}


def _column_numbers(limit: int) -> dict[str, int]:
    """{"A": 1, …} for the first `limit` columns."""
    table = _COLUMNS_CACHE.get(limit)
    if table is None:
        from openpyxl.utils import get_column_letter

        table = _COLUMNS_CACHE[limit] = {get_column_letter(i): i for i in range(1, min(limit, EXCEL_MAX_COLUMN) + 1)}
    return table


def _column_of(letters: str) -> int | None:
    """The number of a column name, None if it is not one (ZZZZ, lower case, empty)."""
    from openpyxl.utils.cell import column_index_from_string

    if not letters.isupper():  # openpyxl would take lower case
        return None
    try:
        number = column_index_from_string(letters)
    except ValueError:
        return None
    return number if number <= EXCEL_MAX_COLUMN else None


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _refuse_doctype(*_args) -> None:
    raise _damaged(_("it declares a document type (not allowed in a workbook)"))


def _parser() -> "expat.XMLParserType":
    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.buffer_size = READ_BYTES
    parser.StartDoctypeDeclHandler = _refuse_doctype
    parser.EntityDeclHandler = _refuse_doctype
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    return parser


class XlsxSheet:
    """The first sheet of a workbook, opened with limits: `rows()` yields (row number, cells)."""

    def __init__(self, path, limits: XlsxLimits | None = None, *, values: bool = True):
        """`values=False` skips the shared strings and styles (enough for `count_rows`, not for `rows`)."""
        self.limits = limits or XlsxLimits.from_settings()
        self.dimension_rows = 0  # the last row the sheet's <dimension> names (0: none); a hint only
        try:
            self.zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, NotImplementedError):
            raise XlsxError(_("The file is not a valid .xlsx workbook (it is not a readable zip archive).")) from None
        try:
            self._check_archive()
            self.budget = [self.limits.max_total_bytes]
            self._locate_parts()
            if values:
                self.strings = self._read_shared_strings()
                self.date_styles, self.duration_styles = self._read_styles()
        except BaseException:
            self.zip.close()
            raise

    # --- the archive -----------------------------------------------------------------------------------------

    def _check_archive(self) -> None:
        limits = self.limits
        infos = self.zip.infolist()
        if len(infos) > MAX_MEMBERS:
            raise XlsxError(_("The workbook has too many parts (%(n)s).") % {"n": len(infos)})
        total = 0
        for info in infos:
            total += info.file_size
            if info.flag_bits & 0x1:
                raise XlsxError(_("The workbook is password-protected: save it without a password, or as CSV."))
            if info.file_size > limits.max_member_bytes:
                raise XlsxError(
                    _("A part of the workbook would inflate to %(size)s, more than the %(limit)s allowed.")
                    % {"size": _size(info.file_size), "limit": _size(limits.max_member_bytes)}
                )
            if info.file_size > RATIO_FLOOR_BYTES and info.file_size > limits.max_ratio * max(info.compress_size, 1):
                raise XlsxError(
                    _("A part of the workbook is compressed more than %(ratio)s times (a zip bomb?); it is not read.")
                    % {"ratio": limits.max_ratio}
                )
        if total > limits.max_total_bytes:
            raise XlsxError(
                _("The workbook would inflate to %(size)s, more than the %(limit)s allowed.")
                % {"size": _size(total), "limit": _size(limits.max_total_bytes)}
            )

    def _open(self, name: str, limit: int) -> _Bounded:
        try:
            raw = self.zip.open(name)
        except KeyError:
            raise _damaged() from None
        except RuntimeError:  # encrypted member
            raise XlsxError(_("The workbook is password-protected: save it without a password, or as CSV.")) from None
        except (zipfile.BadZipFile, NotImplementedError, OSError, ValueError, EOFError):
            raise _damaged() from None
        message = _("A part of the workbook inflates to more than %(limit)s; it is not read.") % {"limit": _size(limit)}
        return _Bounded(raw, limit, self.budget, message)

    def _small_xml(self, name: str):
        from defusedxml.ElementTree import fromstring

        stream = self._open(name, min(SMALL_PART_BYTES, self.limits.max_member_bytes))
        try:
            chunks = []
            while data := stream.read():
                chunks.append(data)
        finally:
            stream.close()
        try:
            return fromstring(b"".join(chunks))
        except Exception:  # noqa: BLE001 - ParseError, defusedxml's refusals: all "damaged"
            raise _damaged() from None

    def _rels(self, part: str) -> dict[str, tuple[str, str]]:
        """{relationship id: (type's last word, member name)} of a part ('' for the package)."""
        folder, name = posixpath.split(part)
        rels_name = posixpath.join(folder, "_rels", name + ".rels")
        if rels_name not in self.names:
            return {}
        out = {}
        for rel in self._small_xml(rels_name):
            if _local(rel.tag) != "Relationship" or rel.get("TargetMode") == "External":
                continue
            target = rel.get("Target") or ""
            target = target[1:] if target.startswith("/") else posixpath.join(folder, target)
            out[rel.get("Id") or ""] = ((rel.get("Type") or "").rpartition("/")[2], posixpath.normpath(target))
        return out

    def _locate_parts(self) -> None:
        not_a_workbook = XlsxError(_("The file is a zip archive but not an Excel workbook (.xlsx)."))
        self.names = set(self.zip.namelist())
        workbook = next((t for kind, t in self._rels("").values() if kind == "officeDocument"), None)
        if workbook is None or workbook not in self.names:
            raise not_a_workbook
        root = self._small_xml(workbook)
        self.epoch_1904 = False
        sheet_rel = None
        for element in root.iter():
            tag = _local(element.tag)
            if tag == "workbookPr":
                self.epoch_1904 = (element.get("date1904") or "").lower() in ("1", "true")
            elif tag == "sheet" and sheet_rel is None:
                sheet_rel = next(
                    (v for k, v in element.attrib.items() if k.startswith("{") and _local(k) == "id"), None
                )
        rels = self._rels(workbook)
        if sheet_rel is None or sheet_rel not in rels or rels[sheet_rel][1] not in self.names:
            raise XlsxError(_("The workbook has no sheet."))
        self.sheet_part = rels[sheet_rel][1]
        self.strings_part = next((t for kind, t in rels.values() if kind == "sharedStrings" and t in self.names), None)
        self.styles_part = next((t for kind, t in rels.values() if kind == "styles" and t in self.names), None)

    # --- shared strings and styles -----------------------------------------------------------------------

    def _read_shared_strings(self) -> _Strings:
        strings = _Strings()
        if self.strings_part is None:
            return strings
        limit = min(self.limits.max_shared_strings_bytes, self.limits.max_member_bytes)
        stream = self._open(self.strings_part, limit)
        max_chars = self.limits.max_cell_chars
        state = {"depth_rph": 0, "in_t": False, "text": None, "chars": 0}

        def start(name, _attrs):
            name = name.rpartition(":")[2]
            if name == "si":
                state["text"], state["chars"] = [], 0
            elif name == "t" and not state["depth_rph"]:
                state["in_t"] = True
            elif name == "rPh":
                state["depth_rph"] += 1

        def end(name):
            name = name.rpartition(":")[2]
            if name == "si":
                strings.add("".join(state["text"] or ()))
                state["text"] = None
            elif name == "t":
                state["in_t"] = False
            elif name == "rPh":
                state["depth_rph"] -= 1

        def chars(data):
            if state["in_t"] and state["text"] is not None:
                state["chars"] += len(data)
                if state["chars"] > max_chars:
                    raise XlsxError(
                        _("A text of the workbook is longer than %(n)s characters.") % {"n": max_chars}
                    )
                state["text"].append(data)

        parser = _parser()
        parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = start, end, chars
        try:
            _feed(parser, stream)
        finally:
            stream.close()
        strings.finish()
        return strings

    def _read_styles(self) -> tuple[frozenset[int], frozenset[int]]:
        """(style ids of date formats, style ids of duration formats)."""
        if self.styles_part is None:
            return frozenset(), frozenset()
        from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format, is_timedelta_format

        root = self._small_xml(self.styles_part)
        formats = dict(BUILTIN_FORMATS)
        dates, durations = set(), set()
        for element in root:
            tag = _local(element.tag)
            if tag == "numFmts":
                for fmt in element:
                    try:
                        formats[int(fmt.get("numFmtId"))] = fmt.get("formatCode") or ""
                    except (TypeError, ValueError):
                        continue
            elif tag == "cellXfs":
                for index, xf in enumerate(element):
                    try:
                        code = formats.get(int(xf.get("numFmtId") or 0), "")
                    except ValueError:
                        continue
                    if code and is_date_format(code):
                        dates.add(index)
                        if is_timedelta_format(code):
                            durations.add(index)
        return frozenset(dates), frozenset(durations)

    # --- rows --------------------------------------------------------------------------------------------

    def rows(self) -> Iterator[tuple[int, list]]:
        """(row number, cells) for each row of the sheet, streamed; cells[0] is column A."""
        reader = _SheetReader(self)
        stream = self._open(self.sheet_part, self.limits.max_member_bytes)
        parser = _parser()
        parser.StartElementHandler = reader.start
        parser.EndElementHandler = reader.end
        parser.CharacterDataHandler = reader.chars
        try:
            while True:
                data = stream.read(READ_BYTES)
                _parse(parser, data, final=not data)
                if reader.ready:
                    ready, reader.ready = reader.ready, []
                    if reader.dimension and not self.dimension_rows:
                        self.dimension_rows = reader.dimension
                    yield from ready
                if not data:
                    break
        finally:
            stream.close()

    def count_rows(self, upto: int) -> int:
        """The number of <row> elements of the sheet, counting stops past `upto` (a cheap pass: no parsing)."""
        stream = self._open(self.sheet_part, self.limits.max_member_bytes)
        count, tail = 0, b""
        try:
            while data := stream.read(1 << 20):
                data = tail + data
                cut = data.rfind(b"<")
                if cut < 0:
                    tail = b""
                else:
                    data, tail = data[:cut], data[cut:]
                    if len(tail) > 64:  # no tag: text
                        tail = b""
                count += len(_ROW_TAG.findall(data))
                if count > upto or b"sheetData>" in data and _SHEET_DATA_END.search(data):
                    break
            else:
                count += len(_ROW_TAG.findall(tail))
        finally:
            stream.close()
        return count

    def close(self) -> None:
        self.zip.close()


_ROW_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row[\s/>]")
_SHEET_DATA_END = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?sheetData>")


def _parse(parser, data: bytes, final: bool) -> None:
    try:
        parser.Parse(data, final)
    except expat.ExpatError as exc:
        raise _damaged(
            _("its XML is malformed at line %(line)s, column %(column)s.") % {"line": exc.lineno, "column": exc.offset}
        ) from None


def _feed(parser, stream: _Bounded) -> None:
    while True:
        data = stream.read(READ_BYTES)
        _parse(parser, data, final=not data)
        if not data:
            return


class _SheetReader:
    """expat handlers turning a worksheet's XML into rows of values, with the limits checked on the way."""

    def __init__(self, sheet: XlsxSheet):
        limits = sheet.limits
        self.sheet = sheet
        self.strings = sheet.strings
        self.date_styles = sheet.date_styles
        self.duration_styles = sheet.duration_styles
        self.epoch = None
        self.max_rows = limits.max_rows
        self.max_columns = limits.max_columns
        self.max_chars = limits.max_cell_chars
        self.columns = _column_numbers(limits.max_columns)
        self.ready: list[tuple[int, list]] = []
        self.dimension = 0
        self.row_count = 0
        self.row_no = 0
        self.cells: list | None = None
        self.col = 0
        self.ctype = None
        self.style = None
        self.text = None  # the cell's value text once a <v> (or <is><t>) began, else None
        self.collect = False  # inside <v> or <is><t> (not in phonetic <rPh>)
        self.in_is = False
        self.rph = 0

    # the handlers are the hot path: a few comparisons per element

    def start(self, name, attrs):
        if ":" in name:
            name = name.rpartition(":")[2]
        if name == "c":
            ref = attrs.get("r")
            if ref is None:
                col = self.col + 1
            else:
                col = self.columns.get(ref.rstrip("0123456789"))
                if col is None:
                    col = self._bad_column(ref)
            self.col = col
            self.ctype = attrs.get("t")
            self.style = attrs.get("s")
        elif name == "v":
            self.text = ""
            self.collect = True
        elif name == "row":
            self._start_row(attrs)
        elif name == "is":
            self.in_is = True
        elif name == "t" and self.in_is and not self.rph:
            if self.text is None:
                self.text = ""
            self.collect = True
        elif name == "rPh":
            self.rph += 1
        elif name == "dimension":
            ref = (attrs.get("ref") or "").rpartition(":")[2]
            digits = ref.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
            self.dimension = int(digits) if digits.isdigit() else 0

    def chars(self, data):
        if self.collect:
            if len(self.text) + len(data) > self.max_chars:
                raise XlsxError(
                    _("Row %(row)s: a cell is longer than %(n)s characters.")
                    % {"row": self.row_no, "n": self.max_chars}
                )
            self.text += data

    def end(self, name):
        if ":" in name:
            name = name.rpartition(":")[2]
        if name == "c":
            self._end_cell()
        elif name == "row":
            if self.cells is not None:
                self.ready.append((self.row_no, self.cells))
                self.cells = None
        elif name == "v" or name == "t":
            self.collect = False
        elif name == "is":
            self.in_is = False
        elif name == "rPh":
            self.rph -= 1

    def _start_row(self, attrs):
        self.row_count += 1
        if self.row_count > self.max_rows:
            raise XlsxError(_("The sheet has more than %(n)s rows; split the file.") % {"n": self.max_rows})
        number = attrs.get("r")
        if number is None:
            self.row_no += 1
        else:
            try:
                self.row_no = int(number)
            except ValueError:
                raise _damaged(_("a row number is not a number (%(value)s).") % {"value": number[:20]}) from None
            if not 1 <= self.row_no <= EXCEL_MAX_ROW:
                raise _damaged(_("row number %(value)s is out of range.") % {"value": number[:20]})
        self.cells = []
        self.col = 0

    def _bad_column(self, ref: str) -> int:
        letters = ref.rstrip("0123456789")
        column = _column_of(letters)
        if column is None:
            raise _damaged(
                _("row %(row)s: %(ref)s is not a cell reference.") % {"row": self.row_no, "ref": ref[:20]}
            )
        raise XlsxError(
            _("Row %(row)s: the sheet has more than %(n)s columns (cell %(ref)s).")
            % {"row": self.row_no, "n": self.max_columns, "ref": ref[:20]}
        )

    def _end_cell(self):
        text, self.text = self.text, None
        self.in_is = self.collect = False
        if self.cells is None:  # a cell outside a row
            raise _damaged(_("a cell is outside a row."))
        if text is None or (text == "" and self.ctype not in ("s", "inlineStr", "str")):
            value = None
        else:
            ctype = self.ctype
            if ctype is None or ctype == "n":
                value = self._number(text)
            elif ctype == "s":
                try:
                    value = self.strings[int(text)]
                except (ValueError, IndexError, OverflowError):
                    raise _damaged(
                        _("cell %(cell)s refers to a shared text that does not exist.") % {"cell": self._ref()}
                    ) from None
            elif ctype == "inlineStr" or ctype == "str" or ctype == "e":
                value = text
            elif ctype == "b":
                value = text.strip() in ("1", "true")
            elif ctype == "d":
                value = self._iso_date(text)
            else:
                raise _damaged(_("cell %(cell)s has an unknown type.") % {"cell": self._ref()})
        cells = self.cells
        col = self.col
        have = len(cells)
        if col > have:
            if col > have + 1:
                cells.extend([None] * (col - have - 1))
            cells.append(value)
        else:
            cells[col - 1] = value

    def _ref(self) -> str:
        from openpyxl.utils import get_column_letter

        return f"{get_column_letter(self.col)}{self.row_no}"

    def _number(self, text: str):
        try:
            if "." in text or "E" in text or "e" in text:
                value = float(text)
            else:
                value = int(text)
        except ValueError:
            raise _damaged(
                _("cell %(cell)s should hold a number but holds “%(value)s”.")
                % {"cell": self._ref(), "value": text[:40]}
            ) from None
        if self.style is not None and self.date_styles:
            try:
                style = int(self.style)
            except ValueError:
                return value
            if style in self.date_styles:
                from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900, from_excel

                epoch = CALENDAR_MAC_1904 if self.sheet.epoch_1904 else CALENDAR_WINDOWS_1900
                try:
                    return from_excel(value, epoch, timedelta=style in self.duration_styles)
                except (ValueError, OverflowError, TypeError):
                    raise _damaged(
                        _("cell %(cell)s holds a date out of range.") % {"cell": self._ref()}
                    ) from None
        return value

    def _iso_date(self, text: str):
        from openpyxl.utils.datetime import from_ISO8601

        try:
            return from_ISO8601(text)
        except (ValueError, TypeError, AttributeError):
            raise _damaged(_("cell %(cell)s holds no valid date.") % {"cell": self._ref()}) from None
