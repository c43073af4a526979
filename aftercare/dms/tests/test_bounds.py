"""XLSX imports are bounded and malformed files fail cleanly (issue 14): limits checked before and while reading,
422 / a form error with a message naming no path, no batch left `running`."""

import re
import tracemalloc
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from aftercare.core.models import AuditEvent
from aftercare.customers.models import RepairOrder
from aftercare.dms import services
from aftercare.dms.fields import KINDS
from aftercare.dms.importing import pipeline
from aftercare.dms.importing.writer import ChunkWriter
from aftercare.dms.models import ImportBatch
from aftercare.dms.readers import ImportFileError, open_table

from .helpers import (
    RO_HEADER,
    SHEET_HEAD,
    SHEET_TAIL,
    patch_xlsx,
    ro_row,
    sheet_row,
    write_raw_xlsx,
    write_xlsx,
    xlsx_rows,
)
from .test_api import bearer

pytestmark = pytest.mark.django_db
URL = "/api/imports/"
ALIASES = KINDS["repair_orders"].aliases


def typed_row(n: int) -> list:
    row = ro_row(n)
    row[8] = 100.5 + n  # amount: a number cell
    row[9] = 10_000 + n  # mileage: a number cell
    return row


@pytest.fixture
def valid_xlsx(tmp_path):
    """A minimal valid XLSX written by openpyxl (shared strings, number cells): the base of the malformed ones."""
    return write_xlsx(tmp_path / "valid.xlsx", RO_HEADER, [typed_row(1), typed_row(2)])


def _sheet(data: bytes, pattern: bytes, replacement: bytes) -> bytes:
    patched, n = re.subn(pattern, replacement, data, count=1)
    assert n == 1, pattern
    return patched


SHEET = "xl/worksheets/sheet1.xml"
MALFORMED = {
    "mismatched_tag": lambda d: _sheet(d, rb"</row>", b"</rowx>"),
    "bad_shared_string_index": lambda d: _sheet(d, rb'<c r="A2" t="inlineStr"><is><t>[^<]*</t></is></c>',
                                                 b'<c r="A2" t="s"><v>99999</v></c>'),
    "text_in_number_cell": lambda d: _sheet(d, rb'(<c r="I2"[^>]*><v>)[^<]+(</v>)', rb"\g<1>abc\g<2>"),
    "column_zzzz": lambda d: _sheet(d, rb'r="A2"', b'r="ZZZZ2"'),
    "entity_bomb": lambda d: _sheet(
        d, rb"<worksheet", b'<!DOCTYPE w [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]><worksheet'
    ),
    "truncated_sheet": lambda d: d[: len(d) // 2],
}


def malformed_file(kind: str, tmp_path, valid_xlsx) -> bytes:
    """The bytes of one malformed fixture (generated: a valid XLSX patched, or no workbook at all)."""
    if kind in MALFORMED:
        return patch_xlsx(valid_xlsx, tmp_path / f"{kind}.xlsx", SHEET, MALFORMED[kind]).read_bytes()
    if kind == "not_a_zip":
        return b"PK\x03\x04" + b"\x00garbage" * 100
    if kind == "zip_without_workbook":
        path = tmp_path / "nowb.xlsx"
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("hello.txt", "hello")
        return path.read_bytes()
    if kind == "encrypted_ole":  # an encrypted .xlsx is an OLE compound file, like an old .xls
        return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 1024
    if kind == "no_sheet":
        path = xlsx_rows(tmp_path / "nosheet.xlsx", RO_HEADER, [])
        return patch_xlsx(path, tmp_path / "nosheet2.xlsx", "xl/workbook.xml",
                          lambda d: d.replace(b'r:id="rId1"', b'r:id="rId9"')).read_bytes()
    raise AssertionError(kind)


KINDS_OF_DAMAGE = [*MALFORMED, "not_a_zip", "zip_without_workbook", "encrypted_ole", "no_sheet"]


@pytest.mark.parametrize("kind", KINDS_OF_DAMAGE)
def test_it_answers_422_for_a_malformed_xlsx_naming_no_path(client, importer, store_a, tmp_path, valid_xlsx,
                                                            settings, kind):
    content = malformed_file(kind, tmp_path, valid_xlsx)
    upload = SimpleUploadedFile("ro.xlsx", content)
    response = client.post(URL, {"store": "A01", "kind": "repair_orders", "file": upload}, headers=bearer(importer))
    assert response.status_code == 422, response.content
    body = response.json()
    message = " ".join(body["errors"]["file"])
    assert body["detail"] and message
    batch = ImportBatch.objects.get()
    assert batch.status == "failed" and batch.error and batch.finished_at
    for text in (message, batch.error):
        assert str(settings.MEDIA_ROOT) not in text and "/tmp" not in text and "imports/" not in text
        assert "Traceback" not in text and "Error:" not in text  # no exception class or text
    assert not RepairOrder.objects.exists()


@pytest.mark.parametrize("kind", ["mismatched_tag", "bad_shared_string_index", "text_in_number_cell", "column_zzzz"])
def test_it_shows_a_form_error_for_a_malformed_xlsx(client, importer, store_a, tmp_path, valid_xlsx, settings, kind):
    client.force_login(importer)
    upload = SimpleUploadedFile("ro.xlsx", malformed_file(kind, tmp_path, valid_xlsx))
    data = {"store": store_a.pk, "kind": "repair_orders", "file": upload}
    response = client.post(reverse("dms:index"), data, headers={"Accept-Language": "en"})
    assert response.status_code == 200
    errors = " ".join(response.context["form"].errors["file"])
    assert "Excel file is damaged" in errors and str(settings.MEDIA_ROOT) not in errors
    assert "Excel file is damaged" in response.content.decode()
    assert ImportBatch.objects.get().status == "failed"


def test_it_names_the_cell_of_a_malformed_value(tmp_path, valid_xlsx):
    path = patch_xlsx(valid_xlsx, tmp_path / "abc.xlsx", SHEET, MALFORMED["text_in_number_cell"])
    with pytest.raises(ImportFileError, match="I2.*abc"), open_table(path, ALIASES) as table:
        list(table.rows)
    path = patch_xlsx(valid_xlsx, tmp_path / "zzzz.xlsx", SHEET, MALFORMED["column_zzzz"])
    with pytest.raises(ImportFileError, match="ZZZZ2 is not a cell reference"), open_table(path, ALIASES) as table:
        list(table.rows)


def test_it_reads_a_valid_xlsx_as_openpyxl_types_it(tmp_path, valid_xlsx):
    with open_table(valid_xlsx, ALIASES) as table:
        rows = list(table.rows)
    assert table.encoding == "xlsx" and table.total_estimate == 2
    assert rows[0][0] == 2 and rows[0][1][:2] == ["RO00001", ro_row(1)[1]]
    assert rows[0][1][8] == 101.5 and rows[0][1][9] == 10_001 and type(rows[0][1][9]) is int


def test_it_reads_shared_strings_rich_text_and_date_styles(tmp_path):
    styles = (
        b'<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><numFmts count="1">'
        b'<numFmt numFmtId="164" formatCode="yyyy-mm-dd hh:mm"/></numFmts><cellXfs count="3"><xf numFmtId="0"/>'
        b'<xf numFmtId="14"/><xf numFmtId="164"/></cellXfs></styleSheet>'
    )
    strings = (
        b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>RO7</t></si>'
        b'<si><r><t>A &amp; </t></r><r><t>B</t></r><rPh><t>phonetic</t></rPh></si></sst>'
    )
    rels = (
        b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"'
        b' Target="/xl/worksheets/sheet1.xml"/>'
        b'<Relationship Id="rId2" Type="http://x/sharedStrings" Target="sharedStrings.xml"/>'
        b'<Relationship Id="rId3" Type="http://x/styles" Target="styles.xml"/></Relationships>'
    )
    row = (b'<row r="3"><c r="A3" t="s"><v>0</v></c><c r="B3" t="s"><v>1</v></c><c r="C3" s="1"><v>45352</v></c>'
           b'<c r="D3" s="2"><v>45352.5</v></c><c r="E3" t="b"><v>1</v></c><c r="G3"><f>1+1</f><v>2</v></c>'
           b'<c r="H3" t="str"><f>A3</f><v>RO7</v></c><c r="I3"/></row>')
    path = write_raw_xlsx(tmp_path / "ss.xlsx", [SHEET_HEAD, sheet_row(1, RO_HEADER), row, SHEET_TAIL],
                          extra={"xl/sharedStrings.xml": strings, "xl/styles.xml": styles})
    path = patch_xlsx(path, tmp_path / "ss2.xlsx", "xl/_rels/workbook.xml.rels", lambda d: rels)
    import datetime as dt

    with open_table(path, ALIASES) as table:
        rows = list(table.rows)
    assert rows == [(3, ["RO7", "A & B", dt.datetime(2024, 3, 1), dt.datetime(2024, 3, 1, 12), True, None, 2, "RO7",
                         None])]


# --- limits --------------------------------------------------------------------------------------------------


def test_it_refuses_a_sheet_with_too_many_rows_while_reading(tmp_path, settings):
    settings.IMPORT_XLSX_MAX_ROWS = 50
    path = xlsx_rows(tmp_path / "rows.xlsx", RO_HEADER, [ro_row(n) for n in range(60)])
    with pytest.raises(ImportFileError, match="more than 50 rows"), open_table(path, ALIASES) as table:
        list(table.rows)


def test_it_refuses_a_cell_beyond_the_column_limit(tmp_path, settings):
    settings.IMPORT_XLSX_MAX_COLUMNS = 20
    path = xlsx_rows(tmp_path / "cols.xlsx", RO_HEADER, [ro_row(1) + [None] * 20 + ["far"]])
    with pytest.raises(ImportFileError, match="more than 20 columns"), open_table(path, ALIASES) as table:
        list(table.rows)


def test_it_refuses_a_cell_longer_than_the_limit(tmp_path, settings):
    settings.IMPORT_XLSX_MAX_CELL_CHARS = 1000
    path = xlsx_rows(tmp_path / "cell.xlsx", RO_HEADER, [ro_row(1, sa="x" * 1001)])
    with pytest.raises(ImportFileError, match="Row 2: a cell is longer than 1000"), open_table(path, ALIASES) as t:
        list(t.rows)


def test_it_refuses_a_member_whose_declared_size_is_over_the_limit_before_reading(tmp_path, settings, monkeypatch):
    settings.IMPORT_XLSX_MAX_MEMBER_BYTES = 10_000
    path = xlsx_rows(tmp_path / "big.xlsx", RO_HEADER, [ro_row(n) for n in range(200)])
    monkeypatch.setattr("aftercare.dms.xlsx.XlsxSheet._locate_parts", lambda self: pytest.fail("read before check"))
    with pytest.raises(ImportFileError, match="would inflate to"):
        open_table(path, ALIASES)


def test_it_refuses_a_zip_bomb_by_its_compression_ratio(tmp_path):
    rows = (b'<row><c t="inlineStr"><is><t>x</t></is></c></row>' for _ in range(300_000))
    path = write_raw_xlsx(tmp_path / "bomb.xlsx", [SHEET_HEAD, sheet_row(1, RO_HEADER), *rows, SHEET_TAIL])
    assert path.stat().st_size < 200_000
    with pytest.raises(ImportFileError, match="compressed more than 100 times"):
        open_table(path, ALIASES)


def test_it_stops_at_the_member_limit_when_the_declared_size_lies(tmp_path, settings):
    """A central directory that declares a small size: the counter stops the read, whatever was declared."""
    settings.IMPORT_XLSX_MAX_MEMBER_BYTES = 50_000
    path = xlsx_rows(tmp_path / "liar.xlsx", RO_HEADER, [ro_row(n) for n in range(1000)])
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(SHEET)
    central = data.index(b"PK\x01\x02" + data[data.index(b"PK\x01\x02") + 4:][:0])  # first central record
    while True:  # find the central record of the sheet
        name_len = int.from_bytes(data[central + 28:central + 30], "little")
        if data[central + 46:central + 46 + name_len] == SHEET.encode():
            break
        central = data.index(b"PK\x01\x02", central + 4)
    assert info.file_size > 50_000
    data[central + 24:central + 28] = (1000).to_bytes(4, "little")  # declared inflated size: 1,000 bytes
    path.write_bytes(bytes(data))
    with pytest.raises(ImportFileError, match="damaged"), open_table(path, ALIASES) as table:
        list(table.rows)


def test_it_reads_a_64_mb_cell_bomb_in_bounded_memory(tmp_path, settings):
    """The probe's 65 KB file holding one 64 MB cell (ratio check switched off): refused after 32,767 characters,
    with a few MB of memory (it took ~500 MB before)."""
    settings.IMPORT_XLSX_MAX_RATIO = 10**9

    def chunks():
        yield SHEET_HEAD + sheet_row(1, RO_HEADER)[:-6] + b'<row r="2"><c r="A2" t="inlineStr"><is><t>'
        block = b"a" * (1 << 20)
        for _ in range(64):
            yield block
        yield b"</t></is></c></row>" + SHEET_TAIL

    path = write_raw_xlsx(tmp_path / "cell-bomb.xlsx", chunks())
    assert path.stat().st_size < 200_000
    tracemalloc.start()
    try:
        with pytest.raises(ImportFileError, match="longer than 32767"), open_table(path, ALIASES) as table:
            list(table.rows)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024, peak


# --- in the request or on the worker: by rows ----------------------------------------------------------------


def test_it_counts_rows_cheaply_and_stops_past_the_limit(tmp_path):
    from aftercare.dms.readers import count_rows

    path = xlsx_rows(tmp_path / "n.xlsx", RO_HEADER, [ro_row(n) for n in range(30)])
    assert count_rows(path, 1000) == 31
    assert count_rows(path, 10) <= 31 and count_rows(path, 10) > 10
    csv_path = tmp_path / "n.csv"
    csv_path.write_text("a,b\n" * 30)
    assert count_rows(csv_path, 1000) == 30


def test_it_counts_rows_without_reading_the_shared_strings(tmp_path, monkeypatch):
    from aftercare.dms.readers import count_rows

    path = xlsx_rows(tmp_path / "n.xlsx", RO_HEADER, [ro_row(n) for n in range(5)])
    monkeypatch.setattr("aftercare.dms.xlsx.XlsxSheet._read_shared_strings", lambda self: pytest.fail("read"))
    monkeypatch.setattr("aftercare.dms.xlsx.XlsxSheet._read_styles", lambda self: pytest.fail("read"))
    assert count_rows(path, 1000) == 6


@pytest.mark.parametrize(
    ("letters", "number"),
    [("A", 1), ("XFD", 16384), ("XFE", None), ("ZZZZ", None), ("a", None), ("", None), ("A1B", None)],
)
def test_it_knows_a_column_name_only_in_excels_range(letters, number):
    from aftercare.dms.xlsx import _column_of

    assert _column_of(letters) == number


def test_it_sends_a_small_xlsx_of_many_rows_to_the_worker(client, importer, store_a, tmp_path, monkeypatch):
    """The switch looks at rows: a 20-row file over a 10-row limit is queued, however few bytes it has."""
    monkeypatch.setattr(services, "SYNC_MAX_ROWS", 10)
    path = xlsx_rows(tmp_path / "many.xlsx", RO_HEADER, [ro_row(n) for n in range(20)])
    assert path.stat().st_size < 10_000
    upload = SimpleUploadedFile("many.xlsx", path.read_bytes())
    body = client.post(URL, {"store": "A01", "kind": "repair_orders", "file": upload}, headers=bearer(importer)).json()
    assert body["status"] == "pending"
    path = xlsx_rows(tmp_path / "few.xlsx", RO_HEADER, [ro_row(n) for n in range(5)])
    upload = SimpleUploadedFile("few.xlsx", path.read_bytes())
    body = client.post(URL, {"store": "A01", "kind": "repair_orders", "file": upload}, headers=bearer(importer)).json()
    assert body["status"] == "done" and body["created"] == 5


# --- no batch left running -----------------------------------------------------------------------------------


def test_it_fails_the_batch_with_a_safe_reason_on_any_error(tmp_path, store_a, importer, monkeypatch):
    def broken(self, rows, direct=None):
        raise RuntimeError("disk full at /srv/aftercare/media/imports/secret.csv")

    monkeypatch.setattr(ChunkWriter, "write", broken)
    path = xlsx_rows(tmp_path / "ro.xlsx", RO_HEADER, [ro_row(1)])
    batch = services.import_batch_create(actor=importer, store=store_a, kind="repair_orders", filename="ro.xlsx")
    with pytest.raises(RuntimeError):
        services.import_batch_run(batch=batch, path=path)
    batch.refresh_from_db()
    assert batch.status == "failed" and batch.finished_at
    assert "/srv" not in batch.error and "unexpected error" in batch.error


def test_it_fails_the_batch_when_opening_the_file_breaks(tmp_path, store_a, importer, monkeypatch):
    monkeypatch.setattr(pipeline, "open_table", lambda *a, **k: (_ for _ in ()).throw(ValueError("/srv/x")))
    batch = services.import_batch_create(actor=importer, store=store_a, kind="repair_orders", filename="ro.csv")
    with pytest.raises(ValueError):
        services.import_batch_run(batch=batch, path=tmp_path / "ro.csv")
    batch.refresh_from_db()
    assert batch.status == "failed" and "/srv" not in batch.error


def _running(store, minutes_ago: int) -> ImportBatch:
    batch = ImportBatch.objects.create(store=store, kind="repair_orders", filename="x.csv", status="running")
    ImportBatch.objects.filter(pk=batch.pk).update(updated_at=timezone.now() - timezone.timedelta(minutes=minutes_ago))
    return batch


def test_it_fails_batches_left_running_by_a_killed_worker(store_a, capsys):
    stale, fresh = _running(store_a, 60), _running(store_a, 1)
    call_command("import_fail_stale")
    assert capsys.readouterr().out.strip() == "failed=1"
    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert stale.status == "failed" and "stopped without finishing" in stale.error and stale.finished_at
    assert fresh.status == "running"
    assert AuditEvent.objects.filter(object_id=str(stale.pk), detail__reason="stale").count() == 1


def test_it_sweeps_stale_batches_when_the_next_import_runs(tmp_path, store_a, importer):
    stale = _running(store_a, 60)
    path = xlsx_rows(tmp_path / "ro.xlsx", RO_HEADER, [ro_row(1)])
    services.import_file(actor=importer, store=store_a, kind="repair_orders", path=path)
    stale.refresh_from_db()
    assert stale.status == "failed"
