import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase, override_settings
from django.urls import reverse
from openpyxl import load_workbook

from aftercare.customers.models import RepairOrder
from aftercare.dms import services
from aftercare.dms.models import ImportBatch
from aftercare.org.choices import Role

from .helpers import RO_HEADER, ro_row, write_csv

pytestmark = pytest.mark.django_db
IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def upload(tmp_path, rows, name="ro.csv"):
    path = write_csv(tmp_path / name, RO_HEADER, rows)
    return SimpleUploadedFile(name, path.read_bytes(), content_type="text/csv")


def post(client, store, upload_file, kind="repair_orders", **extra):
    return client.post(reverse("dms:index"), {"store": store.pk, "kind": kind, "file": upload_file, **extra})


def test_it_shows_the_upload_page_and_past_imports(client, importer, store_a, tmp_path):
    client.force_login(importer)
    response = post(client, store_a, upload(tmp_path, [ro_row(1), ro_row(2, vin="BAD")]))
    batch = ImportBatch.objects.get()
    assert response.status_code == 302 and response.url == reverse("dms:detail", args=[batch.pk])
    assert batch.status == "done" and batch.created_by == importer and batch.filename == "ro.csv"
    assert (batch.created_count, batch.rejected_count) == (1, 1)
    page = client.get(reverse("dms:index"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "ro.csv" in html and importer.staff.display_name in html
    assert reverse("dms:errors", args=[batch.pk, "csv"]) in html
    detail = client.get(reverse("dms:detail", args=[batch.pk])).content.decode()
    assert "VIN/车架号" in detail and 'data-count="created">1<' in detail


@override_settings(TASKS=IMMEDIATE)
def test_it_runs_large_uploads_as_a_task_and_reports_progress(client, importer, store_a, tmp_path, monkeypatch):
    monkeypatch.setattr(services, "SYNC_MAX_ROWS", 0)
    client.force_login(importer)
    with TestCase.captureOnCommitCallbacks(execute=True) as callbacks:
        post(client, store_a, upload(tmp_path, [ro_row(n) for n in range(5)]))
    batch = ImportBatch.objects.get()
    assert batch.status == "done" and batch.created_count == 5 and batch.processed_rows == batch.total_rows == 5
    assert RepairOrder.objects.count() == 5
    response = client.get(reverse("dms:progress", args=[batch.pk]), headers={"HX-Request": "true"})
    assert response.status_code == 286  # htmx stops polling once done
    assert 'data-count="created">5<' in response.content.decode()
    assert len(callbacks) == 1  # enqueued once the upload was committed


def test_it_polls_while_an_import_is_pending(client, importer, store_a):
    batch = ImportBatch.objects.create(store=store_a, kind="repair_orders", filename="x.csv", total_rows=10,
                                       processed_rows=4, status="running")
    client.force_login(importer)
    response = client.get(reverse("dms:progress", args=[batch.pk]), headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200 and 'hx-trigger="every 1s"' in html and "40%" in html


def test_it_downloads_the_error_report_as_csv_and_xlsx(client, importer, store_a, tmp_path):
    client.force_login(importer)
    post(client, store_a, upload(tmp_path, [ro_row(1, settled="yesterday"), ro_row(2)]))
    batch = ImportBatch.objects.get()
    response = client.get(reverse("dms:errors", args=[batch.pk, "csv"]))
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff") and "2,结算日期," in body
    response = client.get(reverse("dms:errors", args=[batch.pk, "xlsx"]))
    path = tmp_path / "errors.xlsx"
    path.write_bytes(response.content)
    sheet = load_workbook(path).active
    assert [c.value for c in sheet[2]][:2] == [2, "结算日期"]
    assert client.get(reverse("dms:errors", args=[batch.pk, "pdf"])).status_code == 404


def test_it_does_not_import_into_another_store(client, importer, store_a, store_b, tmp_path):
    client.force_login(importer)
    response = post(client, store_b, upload(tmp_path, [ro_row(1)]))
    assert response.status_code == 200  # the form refuses a store the user does not work in
    assert "store" in response.context["form"].errors
    assert not ImportBatch.objects.exists() and not RepairOrder.objects.exists()


def test_it_answers_404_for_another_stores_import(client, importer, store_b):
    batch = ImportBatch.objects.create(store=store_b, kind="repair_orders", filename="CANARY.csv")
    client.force_login(importer)
    for url in (
        reverse("dms:detail", args=[batch.pk]),
        reverse("dms:progress", args=[batch.pk]),
        reverse("dms:errors", args=[batch.pk, "csv"]),
    ):
        assert client.get(url).status_code == 404
    assert "CANARY" not in client.get(reverse("dms:index")).content.decode()


@pytest.mark.parametrize("role", [Role.CS_SPECIALIST, Role.RENEWAL_SPECIALIST, Role.DEPARTMENT_DESIGNEE,
                                  Role.SUPERVISOR])
def test_it_forbids_roles_without_the_import_permission(client, users, store_a, tmp_path, role):
    batch = ImportBatch.objects.create(store=store_a, kind="repair_orders", filename="x.csv")
    client.force_login(users[role])
    assert client.get(reverse("dms:index")).status_code == 403
    assert post(client, store_a, upload(tmp_path, [ro_row(1)])).status_code == 403
    assert client.get(reverse("dms:detail", args=[batch.pk])).status_code == 403
    assert not RepairOrder.objects.exists()


def test_it_rejects_files_that_are_not_csv_or_xlsx(client, importer, store_a):
    client.force_login(importer)
    response = post(client, store_a, SimpleUploadedFile("ro.pdf", b"%PDF-1.4"))
    assert response.status_code == 200 and "file" in response.context["form"].errors


def test_it_lets_the_group_admin_see_every_stores_imports(client, users, store_a, store_b):
    batch = ImportBatch.objects.create(store=store_b, kind="policies", filename="b.csv")
    client.force_login(users[Role.GROUP_ADMIN])
    assert client.get(reverse("dms:detail", args=[batch.pk])).status_code == 200
