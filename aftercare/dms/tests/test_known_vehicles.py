"""Repair orders of vehicles an earlier chunk wrote are copied straight into the order table (PostgreSQL).

The direct copy must leave exactly the files the staging path leaves: these tests import the same
files with one writer (never copies directly) and with two (copies directly) and compare every column.
"""

import pytest
from django.db import connection

from aftercare.customers.models import Customer, Ownership, RepairOrder, Vehicle
from aftercare.dms.fields import KINDS
from aftercare.dms.importing import pipeline
from aftercare.dms.importing.known_vehicles import KnownVehicles
from aftercare.dms.importing.validation import RowValidator
from aftercare.dms.importing.writer import ChunkWriter
from aftercare.dms.readers import open_table
from aftercare.dms.services import import_file
from aftercare.followups.models import FollowupTask

from .helpers import vin, write_csv

HEADER = ["工单号", "VIN", "车牌号", "品牌", "车型", "客户姓名", "联系电话", "结算日期", "维修类型", "金额", "里程",
          "服务顾问", "预约", "故障描述"]


def order(n: int, car: int, **over) -> list:
    row = {
        "ro": f"RO{n:05d}", "vin": vin(car), "plate": f"粤B{car:05d}", "brand": "别克", "model": "英朗",
        "name": f"客户{car}", "mobile": f"1391234{car:04d}", "settled": f"2024-05-{1 + n % 28:02d} 09:{n % 60:02d}",
        "kind": "保养", "amount": f"{200 + n}.00", "km": str(20000 + n), "sa": "王顾问",
        "booked": "是" if n % 2 else "否", "fault": "异响" if n % 3 == 0 else "",
    }
    row.update(over)
    return list(row.values())


def orders() -> list[list]:
    """48 orders of 8 cars in chunks of 8: every car in every chunk, so that from the second chunk on most rows
    are orders of known vehicles; some rows differ in what the direct copy must get right."""
    out = [order(n, n % 8) for n in range(48)]
    out[9][2] = out[9][3] = out[9][4] = ""  # car 1's first row has no plate, brand, model: filled by a later row
    out[1][2] = out[1][3] = out[1][4] = ""  # (and this is that first row)
    for cell in (9, 10, 11, 12, 13):  # a known car's order with every optional cell empty: the defaults
        out[18][cell] = ""
    out[27][5], out[27][6] = "新客户", "13900000099"  # car 3 brought in by another customer: no new owner
    out[36][7] = "2024-05-09"  # a date without a time
    out[40][11], out[40][13] = "王\\顾问", "左前轮\\异响"  # backslashes: COPY's escape character
    return out


def files() -> dict:
    """Every column the import writes, by natural keys."""
    return {
        "orders": sorted(RepairOrder.objects.values_list(
            "ro_number", "vehicle__vin", "customer__mobile", "customer__name", "settled_at", "kind", "amount",
            "mileage", "service_advisor", "booked", "fault_description", "row_hash", "store_id",
        )),
        "customers": sorted(Customer.objects.values_list("name", "mobile", "source", "is_active", "store_id")),
        "vehicles": sorted(Vehicle.objects.values_list("vin", "plate", "brand", "model", "store_id")),
        "owners": sorted(Ownership.objects.values_list("vehicle__vin", "customer__mobile", "valid_from", "valid_to")),
        "tasks": sorted(
            FollowupTask.objects.values_list("kind", "customer__name", "vehicle__vin", "event_at", "due_at")
        ),
    }


def counts(batch):
    return batch.created_count, batch.updated_count, batch.unchanged_count, batch.rejected_count


class Copied(list):
    """File row numbers copied directly; `refused`: the sizes of direct copies the database refused; `vehicles`: the
    vehicle ids of each copy, in the order copied."""

    def __init__(self):
        super().__init__()
        self.refused: list[int] = []
        self.vehicles: list[list[int]] = []


@pytest.fixture
def copied(monkeypatch):
    """The file row numbers of the orders each import copied directly (`RO000NN` is in file row NN + 2).

    The file is read in step with the writing (no reading thread ahead): each chunk is split after every
    earlier chunk committed, so which rows are copied does not depend on the timing.
    """
    monkeypatch.setattr(pipeline, "_pipelined", lambda items, depth=1: items)
    seen = Copied()
    copy_known = ChunkWriter._copy_known

    def counted(self, rows):
        try:
            result = copy_known(self, rows)
        except Exception:
            seen.refused.append(len(rows))
            raise
        seen.extend(int(row[1][2:]) + 2 for row in rows)
        seen.vehicles.append([row[2] for row in rows])
        return result

    monkeypatch.setattr(ChunkWriter, "_copy_known", counted)
    return seen


def test_it_remembers_a_vehicle_with_each_customer_key():
    known = KnownVehicles(limit=3)
    known.add([(vin(1), "m:+8613912340001|张三", 11, 21), (vin(1), "m:+8613912340009|李四", 11, 22)])
    known.add([(vin(1), "m:+8613912340001|张三", 12, 23)])  # the first entry of a pair stays
    assert known.ids(vin(1), "m:+8613912340001|张三") == (11, 21)
    assert known.ids(vin(1), "m:+8613912340009|李四") == (11, 22)
    assert known.ids(vin(1), "m:+8613912340002|张三") is None  # another customer key: not known
    assert known.ids(vin(2), "m:+8613912340001|张三") is None
    assert known.ids("not a VIN", "k:C1") is None
    known.add([(vin(2), "k:C2", 2**40, 1), (vin(3), "k:C3", 13, 23), (vin(4), "k:C4", 14, 24)])
    assert known.ids(vin(2), "k:C2") is None  # an id too big to pack is not remembered
    assert known.ids(vin(3), "k:C3") == (13, 23)
    assert known.ids(vin(4), "k:C4") is None and len(known.map) == 3  # the limit
    packed = known.lookup([vin(3), vin(1), vin(4)], ["k:C3", "m:+8613912340009|李四", "k:C4"])
    assert packed == [13 << 40 | 23, 11 << 40 | 22, None]
    assert known.lookup([vin(3), "VIN-WITH-DASHES"], ["k:C3", "k:C9"]) == []


def test_it_copies_the_orders_of_a_part_in_vehicle_order(tmp_path):
    """The index inserts of the copy and the commit's foreign-key checks then go page after page, not at random."""
    path = write_csv(tmp_path / "ro.csv", HEADER, [order(n, n % 6) for n in range(12)])
    known = KnownVehicles()
    # the cars' vehicle ids fall as their order numbers rise: file order is not vehicle order
    known.add([(vin(car), f"m:+861391234{car:04d}|客户{car}", 100 - car, 200 + car) for car in range(6)])
    with open_table(path, KINDS["repair_orders"].aliases) as table:
        validator = RowValidator(table, KINDS["repair_orders"])
        validator.use_known(known, store_id=1)
        (chunk,) = validator.chunks(100)
    (_staged, tables), = chunk.direct
    assert [row[1] for row in tables][:2] == ["RO00005", "RO00011"]  # car 5: vehicle id 95, the lowest
    assert [row[2] for row in tables] == sorted(row[2] for row in tables) and len(tables) == 12


pg = pytest.mark.skipif(connection.vendor != "postgresql", reason="the direct copy runs on PostgreSQL only")


@pytest.mark.postgres
@pg
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_copies_orders_of_known_vehicles_to_the_same_files_as_the_staging_path(
    tmp_path, store_a, settings, copied
):
    path = write_csv(tmp_path / "ro.csv", HEADER, orders())
    settings.IMPORT_WRITERS = 1
    serial = import_file(actor=None, store=store_a, kind="repair_orders", path=path, chunk_size=8)
    expected = files()
    assert counts(serial) == (48, 0, 0, 0) and copied == []
    for model in (FollowupTask, RepairOrder, Ownership, Vehicle, Customer):
        model.objects.all().delete()

    settings.IMPORT_WRITERS = 2
    parallel = import_file(actor=None, store=store_a, kind="repair_orders", path=path, chunk_size=8)
    assert counts(parallel) == (48, 0, 0, 0) and copied.refused == []
    assert files() == expected
    # file rows 2–9 are chunk 1 (everything new); car 1 is known once its blanks are filled (row 18, chunk 3),
    # car 3's order by another customer (row 29) is never copied
    assert 20 in copied and 30 in copied and 38 in copied and 47 in copied
    assert not set(copied) & set(range(2, 10)) and 29 not in copied and 11 not in copied and 19 not in copied
    assert len(copied) >= 30
    owners = dict(Ownership.objects.filter(valid_to=None).values_list("vehicle__vin", "customer__name"))
    assert owners[vin(3)] == "客户3" and len(owners) == 8
    amount, mileage, advisor, booked, fault = RepairOrder.objects.filter(ro_number="RO00018").values_list(
        "amount", "mileage", "service_advisor", "booked", "fault_description").get()
    assert (amount, mileage, advisor, booked, fault) == (0, None, "", False, "")
    assert str(RepairOrder.objects.get(ro_number="RO00036").settled_at) == "2024-05-08 16:00:00+00:00"
    assert 42 in copied
    # copied in vehicle order (the index inserts and the commit's checks then go page after page)
    assert all(ids == sorted(ids) for ids in copied.vehicles) and max(map(len, copied.vehicles)) > 1
    assert RepairOrder.objects.filter(ro_number="RO00040").values_list("service_advisor", "fault_description").get() \
        == ("王\\顾问", "左前轮\\异响")


@pytest.mark.postgres
@pg
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_updates_stored_orders_of_known_vehicles_through_the_staging_path(tmp_path, store_a, settings, copied):
    settings.IMPORT_WRITERS = 2
    data = orders()
    first = import_file(actor=None, store=store_a, kind="repair_orders",
                        path=write_csv(tmp_path / "a.csv", HEADER, data[:8] + data[36:37]), chunk_size=8)
    assert counts(first) == (9, 0, 0, 0)
    copied.clear()
    data[36][9] = "888.00"  # file row 38 (chunk 5, car 4 known by then): stored, with a new amount
    second = import_file(actor=None, store=store_a, kind="repair_orders",
                         path=write_csv(tmp_path / "b.csv", HEADER, data), chunk_size=8)
    assert counts(second) == (39, 1, 8, 0)
    assert 38 not in copied and {34, 35, 36, 37, 39} <= set(copied)  # the new orders of known cars are copied
    assert copied.refused == []  # the stored row was never tried: the reader knew it is stored
    assert str(RepairOrder.objects.get(ro_number="RO00036").amount) == "888.00"
    assert RepairOrder.objects.count() == 48 and Vehicle.objects.count() == 8
    assert Customer.objects.count() == 9  # and the one who brought car 3 (file row 29)


@pytest.mark.postgres
@pg
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_writes_a_chunk_again_through_the_staging_path_when_the_copy_is_refused(
    tmp_path, store_a, settings, monkeypatch, copied
):
    """Another import stored an order meanwhile (here: the stored rows are hidden from the reader): the direct
    copy breaks the unique key, and the chunk is written again with every row searched, as an update."""
    settings.IMPORT_WRITERS = 2
    data = orders()
    import_file(actor=None, store=store_a, kind="repair_orders",
                path=write_csv(tmp_path / "a.csv", HEADER, data[24:25]), chunk_size=8)
    assert RepairOrder.objects.count() == 1
    monkeypatch.setattr(pipeline, "_stored_rows_precheck", lambda kind, store: None)
    data[24][9] = "777.00"  # file row 26 (chunk 4, rows 26–33) is stored with another amount
    batch = import_file(actor=None, store=store_a, kind="repair_orders",
                        path=write_csv(tmp_path / "b.csv", HEADER, data), chunk_size=8)
    assert counts(batch) == (47, 1, 0, 0)
    assert 26 not in copied and len(copied.refused) == 1  # its part of chunk 4 went through the staging path
    assert set(range(34, 42)) <= set(copied)  # and the next one was copied again
    assert str(RepairOrder.objects.get(ro_number="RO00024").amount) == "777.00"
    assert RepairOrder.objects.count() == 48


@pytest.mark.postgres
@pg
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_copies_orders_of_a_vehicle_another_store_keeps_and_never_fills_it(
    tmp_path, store_a, store_b, settings, copied
):
    """VINs are unique in the group: car 7's file is kept by store B, blank; store A's orders reference it."""
    path = write_csv(tmp_path / "ro.csv", HEADER, orders())
    results = []
    for writers in (1, 2):
        for model in (FollowupTask, RepairOrder, Ownership, Vehicle, Customer):
            model.objects.all().delete()
        Vehicle.objects.create(store=store_b, vin=vin(7))
        settings.IMPORT_WRITERS = writers
        batch = import_file(actor=None, store=store_a, kind="repair_orders", path=path, chunk_size=8)
        assert counts(batch) == (48, 0, 0, 0)
        results.append(files())
    assert results[0] == results[1]
    kept = Vehicle.objects.get(vin=vin(7))
    assert kept.store == store_b and (kept.plate, kept.brand, kept.model) == ("", "", "")
    assert RepairOrder.objects.filter(vehicle=kept, store=store_a).count() == 6
    assert {17, 25, 33, 41, 49} <= set(copied) and 9 not in copied  # car 7's orders after its first chunk
