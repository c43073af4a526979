"""The import error report (page, CSV, XLSX, API): written by the one export writer (no formulas), phones masked
for roles that may not reveal them, every download audited; the errors API bounded (issue 14)."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from aftercare.core.models import AuditEvent
from aftercare.customers.models import Customer
from aftercare.dms.models import ImportBatch
from aftercare.org.choices import Role
from aftercare.org.permissions import ROLE_PERMISSIONS, Perm

from .helpers import RO_HEADER, ro_row, write_csv
from .test_api import bearer

pytestmark = pytest.mark.django_db
PHONE = "13987654321"


@pytest.fixture
def no_reveal(monkeypatch):
    """The import role without `customer.reveal_phone` (as a group may configure it)."""
    perms = ROLE_PERMISSIONS[Role.CS_MANAGER] - {Perm.CUSTOMER_REVEAL_PHONE}
    monkeypatch.setitem(ROLE_PERMISSIONS, Role.CS_MANAGER, perms)


@pytest.fixture
def batch(client, importer, store_a, tmp_path):
    """An import with rejected rows holding a phone, a formula-like order number and a bad phone in the reason."""
    rows = [ro_row(1, ro="=1+1", vin="BAD", mobile=PHONE), ro_row(2, mobile="139 8765 43", ro="@SUM(1)"), ro_row(3)]
    path = write_csv(tmp_path / "ro.csv", RO_HEADER, rows)
    client.force_login(importer)
    client.post(reverse("dms:index"), {"store": store_a.pk, "kind": "repair_orders",
                                       "file": SimpleUploadedFile("ro.csv", path.read_bytes())})
    batch = ImportBatch.objects.get()
    assert batch.rejected_count == 2
    return batch


def _csv(client, batch) -> list[list[str]]:
    response = client.get(reverse("dms:errors", args=[batch.pk, "csv"]))
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


def _xlsx(client, batch, tmp_path):
    response = client.get(reverse("dms:errors", args=[batch.pk, "xlsx"]))
    path = tmp_path / "e.xlsx"
    path.write_bytes(response.content)
    return load_workbook(path).active


def test_it_masks_phones_in_every_form_of_the_report_for_roles_that_may_not_reveal(client, batch, importer,
                                                                                   tmp_path, no_reveal):
    rows = _csv(client, batch)
    text = repr(rows)
    assert PHONE not in text and "139****4321" in text
    sheet = _xlsx(client, batch, tmp_path)
    cells = [c.value for row in sheet.iter_rows() for c in row]
    assert PHONE not in repr(cells) and "139****4321" in repr(cells)
    page = client.get(reverse("dms:detail", args=[batch.pk])).content.decode()
    assert "8765" not in page and "139" in page
    api = client.get(f"/api/imports/{batch.pk}/errors", headers=bearer(importer)).json()
    assert "8765" not in repr(api)


def test_it_shows_full_phones_to_roles_that_may_reveal(client, batch):
    assert PHONE in repr(_csv(client, batch))


def test_it_writes_no_formula_into_the_report(client, batch, tmp_path):
    sheet = _xlsx(client, batch, tmp_path)
    for row in sheet.iter_rows():
        for cell in row:
            assert cell.data_type != "f", cell.value
    rows = _csv(client, batch)
    for row in rows[1:]:
        for value in row:
            assert not value.startswith(("=", "+", "-", "@")), value


def test_it_audits_every_download_of_the_report(client, batch, importer, tmp_path):
    _csv(client, batch)
    _xlsx(client, batch, tmp_path)
    client.get(f"/api/imports/{batch.pk}/errors", headers=bearer(importer))
    events = AuditEvent.objects.filter(action="export", object_id=str(batch.pk)).order_by("id")
    assert [e.detail["format"] for e in events] == ["csv", "xlsx", "api"]
    assert all(e.actor_id == importer.pk and e.store_id == batch.store_id for e in events)
    assert events[1].detail["rows"] == 2 and events[1].detail["phones_masked"] is False


def test_it_masks_phone_shapes_but_not_vins_or_order_numbers():
    from aftercare.dms.reports import mask_phones

    assert mask_phones("138 1234 5678,+86 13812345678,020-12345678") == (
        "138 **** 5678,+86 1******5678,020-****5678"
    )
    kept = "LSGAB12EXR0900001,RO13812345678,1234567.50,2024-03-02 10:00:00,20240302,150000"
    assert mask_phones(kept) == kept
    assert mask_phones("不是有效的电话号码：139 8765 43") == "不是有效的电话号码：139 **** 43"


# --- the errors API and the upload route: bad input is 4xx with the error schema, never 500 ---------------------


def test_it_bounds_the_offset_of_the_errors_api(client, batch, importer):
    for query in ("offset=99999999999999999999999", "offset=-1", "limit=0", "limit=99999999999999999999"):
        response = client.get(f"/api/imports/{batch.pk}/errors?{query}", headers=bearer(importer))
        assert response.status_code == 422, query
        assert response.json()["detail"]
    page = client.get(f"/api/imports/{batch.pk}/errors?offset=1&limit=1", headers=bearer(importer)).json()
    assert [e["row"] for e in page] == [3]
    assert client.get("/api/imports/99999999999999999999999/errors", headers=bearer(importer)).status_code == 422


def test_it_answers_4xx_for_a_multipart_upload_without_a_boundary(client, importer, store_a):
    for content_type in ("multipart/form-data", "multipart/form-data; boundary="):
        response = client.post("/api/imports/", data=b"--x\r\nfoo\r\n--x--\r\n", content_type=content_type,
                               headers=bearer(importer))
        assert 400 <= response.status_code < 500, (content_type, response.status_code)
        assert response.json()["detail"]
    assert not ImportBatch.objects.exists()


# --- import input: control characters -------------------------------------------------------------------------


def test_it_strips_control_characters_from_imported_text(client, importer, store_a, tmp_path):
    rows = [ro_row(1, name="张\x07三", sa="李\x1b顾问", model="英\x01朗\x7f")]
    path = write_csv(tmp_path / "ro.csv", RO_HEADER, rows)
    client.force_login(importer)
    client.post(reverse("dms:index"), {"store": store_a.pk, "kind": "repair_orders",
                                       "file": SimpleUploadedFile("ro.csv", path.read_bytes())})
    batch = ImportBatch.objects.get()
    assert batch.status == "done" and batch.created_count == 1, batch.error
    customer = Customer.objects.get()
    assert customer.name == "张三"
    order = customer.repair_orders.get()
    assert order.service_advisor == "李顾问"
    assert order.vehicle.model == "英朗"


@given(st.text())
def test_it_never_keeps_a_control_character_in_imported_text(text):
    from aftercare.core.text import has_control_chars
    from aftercare.dms.fields import p_text

    value = p_text(text)
    assert value is None or not has_control_chars(value)
