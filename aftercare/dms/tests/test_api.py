import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from aftercare.core.services import api_token_create
from aftercare.customers.models import RepairOrder
from aftercare.dms.models import ImportBatch
from aftercare.org.choices import Role

from .helpers import RO_HEADER, ro_row, write_csv

pytestmark = pytest.mark.django_db
URL = "/api/imports/"


def bearer(user):
    _token, key = api_token_create(user=user, name="test")
    return {"Authorization": f"Bearer {key}"}


def csv_upload(tmp_path, rows, header=RO_HEADER):
    path = write_csv(tmp_path / "ro.csv", header, rows)
    return SimpleUploadedFile("ro.csv", path.read_bytes(), content_type="text/csv")


def test_it_imports_an_upload_and_returns_the_result(client, importer, store_a, tmp_path):
    data = {"store": "A01", "kind": "repair_orders", "file": csv_upload(tmp_path, [ro_row(1), ro_row(2, vin="X")])}
    response = client.post(URL, data, headers=bearer(importer))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "done" and body["store"] == "A01"
    assert (body["created"], body["updated"], body["unchanged"], body["rejected"]) == (1, 0, 0, 1)
    errors = client.get(f"{URL}{body['id']}/errors", headers=bearer(importer)).json()
    assert errors == [{"row": 3, "column": "VIN/车架号", "reason": errors[0]["reason"]}]
    listed = client.get(URL, headers=bearer(importer)).json()
    assert [b["id"] for b in listed] == [body["id"]]
    assert client.get(f"{URL}{body['id']}", headers=bearer(importer)).json()["created"] == 1


def test_it_supports_a_dry_run(client, importer, store_a, tmp_path):
    data = {"store": "A01", "kind": "repair_orders", "dry_run": "true", "file": csv_upload(tmp_path, [ro_row(1)])}
    body = client.post(URL, data, headers=bearer(importer)).json()
    assert body["dry_run"] is True and body["created"] == 1
    assert not RepairOrder.objects.exists()


def test_it_answers_422_for_a_file_it_cannot_import(client, importer, store_a, tmp_path):
    data = {"store": "A01", "kind": "repair_orders", "file": csv_upload(tmp_path, [["x"]], header=["工单号"])}
    response = client.post(URL, data, headers=bearer(importer))
    assert response.status_code == 422
    assert "VIN" in str(response.json()["errors"]["file"])


def test_it_answers_404_for_another_stores_code_or_import(client, importer, store_a, store_b, tmp_path):
    data = {"store": "B01", "kind": "repair_orders", "file": csv_upload(tmp_path, [ro_row(1)])}
    assert client.post(URL, data, headers=bearer(importer)).status_code == 404
    data = {"store": "ZZZ", "kind": "repair_orders", "file": csv_upload(tmp_path, [ro_row(1)])}
    assert client.post(URL, data, headers=bearer(importer)).status_code == 404
    other = ImportBatch.objects.create(store=store_b, kind="repair_orders", filename="CANARY.csv")
    assert client.get(f"{URL}{other.pk}", headers=bearer(importer)).status_code == 404
    assert client.get(f"{URL}{other.pk}/errors", headers=bearer(importer)).status_code == 404
    assert "CANARY" not in client.get(URL, headers=bearer(importer)).content.decode()
    assert not RepairOrder.objects.exists()


def test_it_answers_403_without_the_import_permission_and_401_without_a_token(client, users, store_a, tmp_path):
    data = {"store": "A01", "kind": "repair_orders", "file": csv_upload(tmp_path, [ro_row(1)])}
    assert client.post(URL, data, headers=bearer(users[Role.CS_SPECIALIST])).status_code == 403
    assert client.get(URL, headers=bearer(users[Role.CS_SPECIALIST])).status_code == 403
    assert client.post(URL, data).status_code == 401
    assert not RepairOrder.objects.exists()


def test_it_declares_its_error_responses(client):
    schema = client.get("/api/openapi.json").json()
    for path, methods in schema["paths"].items():
        if path.startswith("/api/imports"):
            for operation in methods.values():
                assert {"401", "403", "404", "422"} <= set(operation["responses"]), path
