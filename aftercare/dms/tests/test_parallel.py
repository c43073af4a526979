"""Parallel chunk writers (PostgreSQL): the same files as one writer, whatever the timing."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, OperationalError, connection
from django.test import override_settings
from django.urls import reverse
from psycopg.errors import DeadlockDetected

from aftercare.customers.models import Customer, InsurancePolicy, Ownership, RepairOrder, Vehicle
from aftercare.dms import services
from aftercare.dms.importing import pipeline, validation
from aftercare.dms.importing.validation import RowValidator
from aftercare.dms.importing.writer import ChunkWriter
from aftercare.dms.models import ImportBatch
from aftercare.dms.services import import_file
from aftercare.followups.models import FollowupTask

from .helpers import RO_HEADER, ro_row, vin, write_csv

pytestmark = [
    pytest.mark.postgres,
    # serialized: the rows the migrations made come back after each test, for the tests that follow
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="parallel writers run on PostgreSQL only"),
]


def rows():
    """60 orders of 20 customers and 24 vehicles in chunks of 10: customers with two vehicles, vehicles
    in many chunks, and one vehicle sold on inside a chunk (rows 30–39) and one across chunks."""
    out = []
    for n in range(60):
        c = n % 20
        car = c + 20 * ((n // 20) % 2 if c < 4 else 0)  # customers 0–3 have two cars
        out.append(ro_row(n, vin=vin(car), name=f"客户{c}", mobile=f"1381234{c:04d}", plate=f"粤B{c:05d}"))
    out[33][1] = vin(12)  # customer 13 brings customer 12's car in the same chunk: that chunk is written whole
    out[55][1] = vin(6)  # customer 15 brings customer 6's car, chunks later
    return out


def state():
    """The files, by their natural keys (customer numbers left out: they depend on which writer numbers first)."""
    return {
        "orders": sorted(RepairOrder.objects.values_list("ro_number", "vehicle__vin", "customer__mobile",
                                                         "customer__name", "row_hash", "amount")),
        "customers": sorted(Customer.objects.values_list("name", "mobile", "source")),
        "vehicles": sorted(Vehicle.objects.values_list("vin", "plate", "model")),
        "owners": sorted(Ownership.objects.values_list("vehicle__vin", "customer__mobile", "valid_from", "valid_to")),
        "tasks": FollowupTask.objects.count(),
    }


def counts(batch):
    return batch.created_count, batch.updated_count, batch.unchanged_count, batch.rejected_count


@pytest.fixture
def spy(monkeypatch):
    """Counts writers and whole chunks; customer N's key goes to part N % parts (not a random hash)."""
    seen = {"writers": [], "parallel": 0, "whole": 0}
    chunks = RowValidator.chunks

    def counted_chunks(self, size, parts=1):
        for chunk in chunks(self, size, parts):
            seen["whole"] += parts > 1 and not chunk.parts
            yield chunk

    monkeypatch.setattr(RowValidator, "chunks", counted_chunks)
    monkeypatch.setattr(validation, "part_of", lambda ckey, parts: int(ckey.split("|")[0][-4:]) % parts)
    count = pipeline._writer_count
    init = ChunkWriter.__init__

    def writer_count(*a, **kw):
        seen["writers"].append(count(*a, **kw))
        return seen["writers"][-1]

    def chunk_writer(self, *a, **kw):
        seen["parallel"] += kw.get("growth") is not None
        init(self, *a, **kw)

    monkeypatch.setattr(pipeline, "_writer_count", writer_count)
    monkeypatch.setattr(ChunkWriter, "__init__", chunk_writer)
    return seen


def test_it_writes_the_same_files_with_two_writers_as_with_one(tmp_path, store_a, settings, spy):
    path = write_csv(tmp_path / "ro.csv", RO_HEADER, rows())
    settings.IMPORT_WRITERS = 1
    serial = import_file(actor=None, store=store_a, kind="repair_orders", path=path, chunk_size=10)
    expected = state()
    assert counts(serial) == (60, 0, 0, 0) and spy["writers"] == [1]
    for model in (FollowupTask, RepairOrder, Ownership, Vehicle, Customer):
        model.objects.all().delete()

    settings.IMPORT_WRITERS = 2
    parallel = import_file(actor=None, store=store_a, kind="repair_orders", path=path, chunk_size=10)
    assert spy["writers"] == [1, 2] and spy["parallel"] == 2  # one ChunkWriter per writer thread
    assert spy["whole"] == 1  # the chunk where customer 13 brings customer 12's car
    assert counts(parallel) == (60, 0, 0, 0)
    assert state() == expected
    assert len(expected["customers"]) == 20 and len(expected["vehicles"]) == 24
    numbers = list(Customer.objects.values_list("number", flat=True))
    assert len(set(numbers)) == 20

    again = import_file(actor=None, store=store_a, kind="repair_orders", path=path, chunk_size=10)
    assert counts(again) == (0, 0, 60, 0)
    assert state() == expected


def test_it_reports_bad_rows_and_refused_rows_from_every_writer(tmp_path, store_a, settings, monkeypatch, spy):
    settings.IMPORT_WRITERS = 2
    data = rows()
    data[7][1] = "BAD"  # file row 9: refused by validation
    real_write = ChunkWriter.write

    def write(self, staged, direct=None):
        result = real_write(self, staged, direct)
        # two rows break a constraint only the database knows (whether staged or copied directly)
        if any(row[0] in (26, 52) for row in staged + (direct[0] if direct else [])):
            raise IntegrityError("duplicate key value violates unique constraint")
        return result

    monkeypatch.setattr(ChunkWriter, "write", write)
    batch = import_file(actor=None, store=store_a, kind="repair_orders",
                        path=write_csv(tmp_path / "ro.csv", RO_HEADER, data), chunk_size=10)
    assert spy["writers"] == [2]
    assert counts(batch) == (57, 0, 0, 3)
    assert sorted(batch.row_errors.values_list("row", flat=True)) == [9, 26, 52]
    assert RepairOrder.objects.count() == 57
    assert not RepairOrder.objects.filter(ro_number__in=["RO00007", "RO00024", "RO00050"]).exists()


def test_it_writes_a_chunk_again_when_postgresql_breaks_a_deadlock(tmp_path, store_a, settings, monkeypatch):
    settings.IMPORT_WRITERS = 2
    real_write = ChunkWriter.write
    broken = []

    def write(self, staged, direct=None):
        result = real_write(self, staged, direct)
        if not broken:
            broken.append(staged[0][0])
            raise OperationalError("deadlock detected") from DeadlockDetected("deadlock detected")
        return result

    monkeypatch.setattr(ChunkWriter, "write", write)
    batch = import_file(actor=None, store=store_a, kind="repair_orders",
                        path=write_csv(tmp_path / "ro.csv", RO_HEADER, rows()), chunk_size=10)
    assert broken and counts(batch) == (60, 0, 0, 0)
    assert RepairOrder.objects.count() == 60


def test_it_writes_one_chunk_files_and_dry_runs_with_one_writer(tmp_path, store_a, settings, spy):
    settings.IMPORT_WRITERS = 2
    path = write_csv(tmp_path / "ro.csv", RO_HEADER, rows())
    dry = import_file(actor=None, store=store_a, kind="repair_orders", path=path, chunk_size=10, dry_run=True)
    assert counts(dry) == (60, 0, 0, 0) and not RepairOrder.objects.exists()
    small = import_file(actor=None, store=store_a, kind="repair_orders", path=path, chunk_size=100)
    assert counts(small) == (60, 0, 0, 0)
    assert spy["writers"] == [1, 1] and spy["parallel"] == 0


def test_it_counts_stored_unchanged_rows_without_validating_them(tmp_path, store_a, settings, monkeypatch):
    settings.IMPORT_WRITERS = 2
    path = write_csv(tmp_path / "ro.csv", RO_HEADER, rows())
    assert counts(import_file(actor=None, store=store_a, kind="repair_orders", path=path, chunk_size=10)) == (
        60, 0, 0, 0
    )
    before = state()
    validated = []
    validate = RowValidator.validate

    def counted_validate(self, row_no, cells, row_hash):
        validated.append(row_no)
        return validate(self, row_no, cells, row_hash)

    monkeypatch.setattr(RowValidator, "validate", counted_validate)
    again = import_file(actor=None, store=store_a, kind="repair_orders", path=path, chunk_size=10)
    assert counts(again) == (0, 0, 60, 0) and validated == []
    assert state() == before

    changed = rows()
    changed[10][8] = "999.50"  # file row 12: a new amount
    changed.append(list(changed[5]))  # file row 62: RO00005 again, as stored, but a duplicate in this file
    batch = import_file(actor=None, store=store_a, kind="repair_orders",
                        path=write_csv(tmp_path / "b.csv", RO_HEADER, changed), chunk_size=10)
    assert sorted(validated) == [12, 62]
    assert counts(batch) == (0, 1, 59, 1)
    assert batch.row_errors.get().row == 62
    assert str(RepairOrder.objects.get(ro_number="RO00010").amount) == "999.50"


def test_it_counts_stored_unchanged_policies_without_validating_them(tmp_path, store_a, settings, monkeypatch):
    settings.IMPORT_WRITERS = 2
    header = ["保单号", "VIN", "客户姓名", "联系电话", "保险公司", "起保日期", "到期日期", "保费", "投保类型"]
    policies = [[f"PDAA{n:03d}", vin(n % 7), f"客户{n % 7}", f"1380000{n % 7:04d}", "平安", "2024-06-01",
                 "2025-05-31", "3000", "续保"] for n in range(25)]
    path = write_csv(tmp_path / "p.csv", header, policies)
    first = import_file(actor=None, store=store_a, kind="policies", path=path, chunk_size=10)
    assert counts(first) == (25, 0, 0, 0)
    validated = []
    validate = RowValidator.validate
    monkeypatch.setattr(RowValidator, "validate",
                        lambda self, row_no, cells, row_hash: validated.append(row_no)
                        or validate(self, row_no, cells, row_hash))
    policies[3][7] = "3100"  # file row 5: a new premium
    batch = import_file(actor=None, store=store_a, kind="policies",
                        path=write_csv(tmp_path / "q.csv", header, policies), chunk_size=10)
    assert counts(batch) == (0, 1, 24, 0) and validated == [5]
    assert InsurancePolicy.objects.get(policy_number="PDAA003").premium == 3100


@override_settings(TASKS={"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}})
def test_it_writes_an_uploaded_file_with_two_writers_on_the_worker(client, importer, store_a, tmp_path, settings,
                                                                   monkeypatch, spy):
    settings.IMPORT_WRITERS = 2
    monkeypatch.setattr(services, "SYNC_MAX_ROWS", 0)  # every upload goes to the task worker
    monkeypatch.setattr(services, "CHUNK_SIZE", 10)
    client.force_login(importer)
    path = write_csv(tmp_path / "ro.csv", RO_HEADER, rows())
    upload = SimpleUploadedFile("ro.csv", path.read_bytes(), content_type="text/csv")
    response = client.post(reverse("dms:index"), {"store": store_a.pk, "kind": "repair_orders", "file": upload})
    batch = ImportBatch.objects.get()
    assert response.status_code == 302 and response.url == reverse("dms:detail", args=[batch.pk])
    assert spy["writers"] == [2] and spy["parallel"] == 2
    assert batch.status == "done" and counts(batch) == (60, 0, 0, 0) and batch.processed_rows == 60
    assert RepairOrder.objects.filter(store=store_a).count() == 60 and Customer.objects.count() == 20
    page = client.get(reverse("dms:detail", args=[batch.pk])).content.decode()
    assert 'data-count="created">60<' in page
