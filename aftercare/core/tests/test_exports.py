"""The one export writer (`core/exports.py`) and free-text cleaning (`core/text.py`, the model mixin, the form
mixin, the API parser): a formula-like text comes back from every file as the neutralised text, never as a
formula; no text can break a file; no control character reaches storage."""

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django import forms
from django.http import QueryDict
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from aftercare.core.exports import (
    CSV_CONTENT_TYPE,
    XLSX_CONTENT_TYPE,
    csv_bytes,
    csv_lines,
    neutralise,
    unneutralise,
    xlsx_bytes,
    xlsx_workbook_bytes,
)
from aftercare.core.forms import CleanTextFormMixin
from aftercare.core.parsers import CleanTextParser
from aftercare.core.text import clean_text, has_control_chars
from aftercare.testing import factories as f

# The probe's cases (issue 14) and the other starts a spreadsheet reads as a formula (OWASP "CSV Injection").
FORMULAS = [
    '=HYPERLINK("http://x","y")',
    "+cmd",
    "-1+1",
    "@SUM(1)",
    "\t=1+1",
    "\r=1+1",
    "=1+1",
    "'=1+1",  # already apostrophed: escaped again, so that an importer gets this text back
]


def xlsx_cells(content: bytes) -> list:
    """Every cell of every sheet, loaded the way Excel would (formulas kept as formulas)."""
    wb = load_workbook(io.BytesIO(content))  # not read-only, not data-only: a formula would show as data_type "f"
    return [cell for ws in wb.worksheets for row in ws.iter_rows() for cell in row]


def csv_rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))


def test_it_escapes_each_formula_start_the_owasp_way():
    assert neutralise('=HYPERLINK("http://x","y")') == '\'=HYPERLINK("http://x","y")'
    assert neutralise("+cmd") == "'+cmd"
    assert neutralise("-1+1") == "'-1+1"
    assert neutralise("@SUM(1)") == "'@SUM(1)"
    assert neutralise("\t=1") == "'\t=1"
    assert neutralise("\r=1") == "'\n=1"  # a CR leads: escaped (line ends are written as LF)
    assert neutralise("王小明 = 1") == "王小明 = 1" and neutralise("'plain") == "'plain"
    assert neutralise("a\x07b\x00c\ufffe\uffffd\ud800") == "abcd"  # what XML cannot hold is dropped


@pytest.mark.parametrize("text", FORMULAS)
def test_it_writes_formula_like_text_as_the_neutralised_text_in_xlsx(text):
    content, n = xlsx_bytes("t", ["name", text], [[text, 1, None], [f"x{text}", -1, Decimal("-2.5")]])
    assert n == 2
    cells = xlsx_cells(content)
    assert all(c.data_type != "f" for c in cells)
    texts = [c.value for c in cells if isinstance(c.value, str)]
    assert texts == ["name", neutralise(text), neutralise(text), f"x{text}".replace("\r", "\n")]
    assert [c.data_type for c in cells if isinstance(c.value, str)] == ["s"] * 4
    assert [unneutralise(t) for t in texts[1:3]] == [text.replace("\r", "\n")] * 2
    numbers = [c.value for c in cells if isinstance(c.value, int | float)]
    assert numbers == [1, -1, -2.5]  # numbers stay numbers (a negative number is no formula)


@pytest.mark.parametrize("text", FORMULAS)
def test_it_writes_formula_like_text_as_the_neutralised_text_in_csv(text):
    content = csv_bytes(["name", "n"], [[text, -1], ["ok", None]])
    assert content.startswith("\ufeff".encode())
    rows = csv_rows(content)
    assert rows == [["name", "n"], [neutralise(text), "-1"], ["ok", ""]]
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows[1:] for cell in row[:1])
    streamed = "".join(csv_lines(["name"], iter([[text]]), bom=False))
    assert csv_rows(streamed.encode()) == [["name"], [neutralise(text)]]


def test_it_writes_several_sheets_dates_in_shanghai_time_and_safe_sheet_titles():
    instant = dt.datetime(2026, 3, 1, 16, 30, tzinfo=dt.UTC)
    content, n = xlsx_workbook_bytes([("=a:b/[c]?*", [["when"], [instant]]), ("'second'", [["x"]])])
    wb = load_workbook(io.BytesIO(content))
    assert n == 3 and wb.sheetnames == ["=abc", "second"]
    assert wb.worksheets[0]["A2"].value == dt.datetime(2026, 3, 2, 0, 30)
    assert (XLSX_CONTENT_TYPE, CSV_CONTENT_TYPE) == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "text/csv; charset=utf-8",
    )


@settings(max_examples=120, deadline=None)
@given(st.lists(st.text(), min_size=1, max_size=4))
def test_it_writes_any_text_as_text_that_reads_back(texts):
    """Any text at all (control characters, surrogates, U+FFFF, formula starts): the writer never raises, the file
    opens again, no cell is a formula, and each cell is the neutralised text, in XLSX and in CSV."""
    content, _n = xlsx_bytes("t", ["h"] * len(texts), [texts])
    cells = xlsx_cells(content)
    assert all(c.data_type != "f" for c in cells)
    written = [neutralise(t) for t in texts]
    assert [c.value for c in cells[len(texts) :]] == [w or None for w in written]
    assert not any(w.startswith(("=", "+", "-", "@", "\t", "\r", "\n")) for w in written)
    assert csv_rows(csv_bytes(["h"] * len(texts), [texts]))[1] == written


@given(st.text())
def test_it_gives_a_stored_text_back_to_an_importer(text):
    """What the system stores (clean text) comes back from `unneutralise(neutralise(...))` as it was (less the two
    non-characters XML cannot hold)."""
    stored = clean_text(text)
    assert unneutralise(neutralise(stored)) == stored.replace("\ufffe", "").replace("\uffff", "")


@given(st.text())
def test_it_cleans_any_text_to_no_control_characters(text):
    cleaned = clean_text(text)
    assert not has_control_chars(cleaned)
    assert all(ch in "\t\n" or ord(ch) > 0x1F for ch in cleaned) and "\x7f" not in cleaned
    assert clean_text(cleaned) == cleaned
    assert clean_text("a\r\nb\rc\x07\x00d\te\nf") == "a\nb\ncd\te\nf"


# ---- text reaches storage cleaned: models, forms, the API parser --------------------------------------------------


def test_it_cleans_every_text_field_of_a_model_before_validation_and_on_save(store_a):
    customer = f.CustomerFactory.build(store=store_a, name="王\x07小明", address="广州\x00路\r\n1号")
    customer.full_clean(exclude=["number"])
    assert (customer.name, customer.address) == ("王小明", "广州路\n1号")
    customer = f.CustomerFactory(store=store_a, name="李\x1b大华")  # objects.create: no full_clean, still cleaned
    customer.refresh_from_db()
    assert customer.name == "李大华"
    store_a.name = "店\x08名"
    store_a.save()
    store_a.refresh_from_db()
    assert store_a.name == "店名"


class _NoteForm(CleanTextFormMixin, forms.Form):
    note = forms.CharField(max_length=4)
    tags = forms.MultipleChoiceField(choices=[("a", "a")], required=False)


def test_it_cleans_a_forms_submitted_text_before_the_fields_see_it():
    form = _NoteForm(QueryDict("note=a%07b%0D%0Ac&tags=a"))  # 6 characters sent, 4 once clean
    assert form.is_valid(), form.errors
    assert form.cleaned_data == {"note": "ab\nc", "tags": ["a"]}
    assert _NoteForm({"note": "x\x07", "tags": ["a\x00"]}).data == {"note": "x", "tags": ["a"]}


def test_it_cleans_every_string_of_an_api_body_and_query(rf):
    parser = CleanTextParser()
    request = rf.post("/", data='{"text": "a\\u0007b", "items": [{"note": "c\\r\\nd\\u0000"}], "n": 1}',
                      content_type="application/json")
    assert parser.parse_body(request) == {"text": "ab", "items": [{"note": "c\nd"}], "n": 1}
    query = QueryDict("q=x%07y&ids=1&ids=2%00")
    assert parser.parse_querydict(query, ["ids"], request) == {"q": "xy", "ids": ["1", "2"]}
