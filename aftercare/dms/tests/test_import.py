import datetime as dt
import gc
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext

from aftercare.core.models import AuditEvent
from aftercare.customers.models import (
    Customer,
    InsurancePolicy,
    MileageReading,
    Ownership,
    RepairOrder,
    SalesDelivery,
    Vehicle,
)
from aftercare.customers.selectors import mileage_reading_list
from aftercare.dms.fields import KINDS
from aftercare.dms.importing.validation import RowValidator
from aftercare.dms.importing.writer import ChunkWriter
from aftercare.dms.models import ImportBatch
from aftercare.dms.readers import ImportFileError, open_table
from aftercare.dms.services import import_file
from aftercare.testing import factories as f

from .helpers import RO_HEADER, RO_HEADER_EN, ro_row, vin, write_csv, write_xlsx

pytestmark = pytest.mark.django_db


def run(path, store, kind="repair_orders", actor=None, **kw):
    return import_file(actor=actor, store=store, kind=kind, path=path, **kw)


def counts(batch):
    return batch.created_count, batch.updated_count, batch.unchanged_count, batch.rejected_count


def snapshot():
    return {
        "ro": sorted(RepairOrder.objects.values_list("ro_number", "row_hash", "updated_at", "customer_id", "amount")),
        "customers": sorted(Customer.objects.values_list("id", "number", "row_hash", "updated_at")),
        "vehicles": sorted(Vehicle.objects.values_list("vin", "plate", "updated_at")),
        "ownerships": sorted(Ownership.objects.values_list("vehicle_id", "customer_id", "valid_from", "valid_to")),
        "mileage": sorted(MileageReading.objects.values_list("vehicle_id", "read_on", "km", "updated_at")),
    }


def test_it_imports_repair_orders_with_customers_vehicles_owners_and_mileage(tmp_path, store_a, importer):
    path = write_csv(tmp_path / "ro.csv", RO_HEADER, [ro_row(n) for n in range(6)])
    batch = run(path, store_a, actor=importer)
    assert counts(batch) == (6, 0, 0, 0)
    assert batch.status == "done" and batch.total_rows == 6 and batch.processed_rows == 6
    assert RepairOrder.objects.filter(store=store_a).count() == 6
    assert Customer.objects.filter(store=store_a).count() == 3  # one per mobile + name
    assert Vehicle.objects.count() == 3
    assert Ownership.objects.filter(valid_to__isnull=True).count() == 3
    ro = RepairOrder.objects.get(ro_number="RO00004")
    assert ro.kind == "maintenance" and ro.amount == Decimal("104.50") and ro.mileage == 10004
    assert ro.settled_at == dt.datetime(2024, 3, 5, 2, 0, tzinfo=dt.UTC)  # 10:00 Shanghai
    assert ro.customer.mobile == "+8613812340001" and ro.customer.source == "dms_import"
    assert ro.customer.number.startswith("A01")
    assert ro.vehicle.vin == vin(1) and ro.vehicle.plate == "粤B00001"
    # the order carries the mileage: no copy in MileageReading, the vehicle's history shows it
    assert not MileageReading.objects.exists()
    history = mileage_reading_list(user=importer, vehicle=ro.vehicle)
    assert (dt.date(2024, 3, 5), 10004, "repair_order") in [(r.read_on, r.km, r.source) for r in history]


def test_it_changes_nothing_when_the_same_file_comes_twice(tmp_path, store_a):
    path = write_csv(tmp_path / "ro.csv", RO_HEADER, [ro_row(n) for n in range(9)] + [ro_row(99, vin="BAD")])
    first = run(path, store_a)
    before = snapshot()
    second = run(path, store_a)
    assert counts(first) == (9, 0, 0, 1)
    assert counts(second) == (0, 0, 9, 1)
    assert snapshot() == before


def test_it_stays_idempotent_across_chunk_boundaries(tmp_path, store_a):
    # the same vehicles and customers recur in later chunks; no duplicates, then nothing changes
    path = write_csv(tmp_path / "ro.csv", RO_HEADER, [ro_row(n) for n in range(10)])
    assert counts(run(path, store_a, chunk_size=2)) == (10, 0, 0, 0)
    assert Customer.objects.count() == 3 and Vehicle.objects.count() == 3
    before = snapshot()
    assert counts(run(path, store_a, chunk_size=3)) == (0, 0, 10, 0)
    assert snapshot() == before


def test_it_updates_rows_whose_content_changed(tmp_path, store_a):
    run(write_csv(tmp_path / "a.csv", RO_HEADER, [ro_row(n) for n in range(3)]), store_a)
    changed = [ro_row(0), ro_row(1, amount="999"), ro_row(2), ro_row(3)]
    batch = run(write_csv(tmp_path / "b.csv", RO_HEADER, changed), store_a)
    assert counts(batch) == (1, 1, 2, 0)
    assert RepairOrder.objects.get(ro_number="RO00001").amount == Decimal("999.00")


def test_it_keeps_stored_values_of_columns_a_later_file_does_not_have(tmp_path, store_a):
    # a column missing from the file is not staged at all: it must read as "no value", never as "blank it"
    run(write_csv(tmp_path / "a.csv", RO_HEADER, [ro_row(n) for n in range(3)]), store_a)
    narrow = [i for i, h in enumerate(RO_HEADER) if h not in ("金额", "服务顾问", "车牌号")]
    rows = [[ro_row(n, km=str(20000 + n))[i] for i in narrow] for n in range(3)]
    batch = run(write_csv(tmp_path / "b.csv", [RO_HEADER[i] for i in narrow], rows), store_a)
    assert counts(batch) == (0, 3, 0, 0)
    ro = RepairOrder.objects.get(ro_number="RO00001")
    assert (ro.mileage, ro.amount, ro.service_advisor) == (20001, Decimal("101.50"), "李顾问")
    assert ro.vehicle.plate == "粤B00001"
    customer_rows = [["K001", "张三", "13800000001", "广州市天河区", "1980/5/1", "私人", vin(7), "粤B10001", "英朗",
                      "2023-06-01"]]
    run(write_csv(tmp_path / "c.csv", CUSTOMER_HEADER, customer_rows), store_a, kind="customers")
    batch = run(write_csv(tmp_path / "d.csv", ["客户编号", "客户姓名", "手机"], [["K001", "张三", "13800000002"]]),
                store_a, kind="customers")
    assert counts(batch) == (0, 1, 0, 0)
    zhang = Customer.objects.get(dms_code="K001")
    assert (zhang.mobile, zhang.address, zhang.birthday) == ("+8613800000002", "广州市天河区", dt.date(1980, 5, 1))
    assert zhang.ownerships.get().vehicle.vin == vin(7)


def test_it_counts_a_changed_customer_or_vehicle_column_as_a_changed_order(tmp_path, store_a):
    run(write_csv(tmp_path / "a.csv", RO_HEADER, [ro_row(n) for n in range(3)]), store_a)
    changed = [ro_row(0), ro_row(1, mobile="13900000009"), ro_row(2, plate="粤B99999")]
    batch = run(write_csv(tmp_path / "b.csv", RO_HEADER, changed), store_a)
    assert counts(batch) == (0, 2, 1, 0)
    # same name on the same vehicle: the present owner, not a new file
    assert Customer.objects.count() == 3
    assert RepairOrder.objects.get(ro_number="RO00001").customer.name == "客户1"


def test_it_finds_the_customer_without_code_or_mobile_on_the_stored_order(tmp_path, store_a):
    # the vehicle's owner is 李四; 张三 brings it in and leaves no mobile: a customer file of her own
    first = [ro_row(0, vin=vin(5), name="李四", mobile="13800000005"), ro_row(1, vin=vin(5), name="张三", mobile="")]
    assert counts(run(write_csv(tmp_path / "a.csv", RO_HEADER, first), store_a)) == (2, 0, 0, 0)
    zhang = RepairOrder.objects.get(ro_number="RO00001").customer
    assert zhang.name == "张三" and zhang.mobile == "" and Customer.objects.count() == 2
    # her order again, changed: she is not an owner of the vehicle, but the customer already on that order
    batch = run(write_csv(tmp_path / "b.csv", RO_HEADER, [ro_row(1, vin=vin(5), name="张三", mobile="", amount="9")]),
                store_a)
    assert counts(batch) == (0, 1, 0, 0)
    assert Customer.objects.count() == 2 and RepairOrder.objects.get(ro_number="RO00001").customer == zhang


def test_it_does_no_work_for_an_unchanged_row(tmp_path, store_a):
    # an unchanged row is skipped before its vehicle and customer are looked at: a vehicle whose owner
    # was closed in the app is not handed back to the customer of an old order
    path = write_csv(tmp_path / "a.csv", RO_HEADER, [ro_row(n) for n in range(3)])
    run(path, store_a)
    Ownership.objects.filter(vehicle__vin=vin(0)).update(valid_to=dt.date(2024, 12, 31))
    assert counts(run(path, store_a)) == (0, 0, 3, 0)
    assert not Ownership.objects.filter(vehicle__vin=vin(0), valid_to__isnull=True).exists()
    # a changed row of that vehicle is written in full, and gives the vehicle an owner again
    batch = run(write_csv(tmp_path / "b.csv", RO_HEADER, [ro_row(0, amount="1"), ro_row(1), ro_row(2)]), store_a)
    assert counts(batch) == (0, 1, 2, 0)
    assert Ownership.objects.filter(vehicle__vin=vin(0), valid_to__isnull=True).count() == 1


def test_it_reads_gb18030(tmp_path, store_a):
    path = write_csv(tmp_path / "gbk.csv", RO_HEADER, [ro_row(1, name="欧阳娜娜", sa="王顾问")], encoding="gb18030")
    assert path.read_bytes().decode("gb18030")  # really not UTF-8
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")
    batch = run(path, store_a)
    assert batch.encoding == "gb18030" and counts(batch) == (1, 0, 0, 0)
    ro = RepairOrder.objects.get()
    assert ro.customer.name == "欧阳娜娜" and ro.service_advisor == "王顾问"


def test_it_reads_utf8_with_bom(tmp_path, store_a):
    path = write_csv(tmp_path / "bom.csv", RO_HEADER, [ro_row(1)], encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    batch = run(path, store_a)
    assert batch.encoding == "utf-8" and counts(batch) == (1, 0, 0, 0)


def test_it_reads_xlsx_with_typed_cells(tmp_path, store_a):
    rows = [
        ro_row(1, settled=dt.datetime(2024, 3, 5, 9, 30), mobile=13812340001, amount=680.5, km=12000),
        ro_row(2, settled=45356, amount=100),  # Excel serial date in a number cell
    ]
    batch = run(write_xlsx(tmp_path / "ro.xlsx", RO_HEADER, rows), store_a)
    assert batch.encoding == "xlsx" and counts(batch) == (2, 0, 0, 0)
    first = RepairOrder.objects.get(ro_number="RO00001")
    assert first.settled_at == dt.datetime(2024, 3, 5, 1, 30, tzinfo=dt.UTC)
    assert first.amount == Decimal("680.50") and first.customer.mobile == "+8613812340001"
    assert RepairOrder.objects.get(ro_number="RO00002").settled_at.date() == dt.date(2024, 3, 4)  # 00:00 +08


def test_it_accepts_english_headers_and_tab_separated_files(tmp_path, store_a):
    path = write_csv(tmp_path / "en.tsv.csv", RO_HEADER_EN, [ro_row(1, kind="mechanical")], delimiter="\t")
    assert counts(run(path, store_a)) == (1, 0, 0, 0)
    assert RepairOrder.objects.get().kind == "mechanical"


def test_it_normalises_serial_dates_slash_dates_and_full_width_digits(tmp_path, store_a):
    rows = [
        ro_row(1, settled="45356", mobile="１３８ １２３４ ０００１", amount="￥１,２００.５"),
        ro_row(2, settled="2024/3/5", km="１２０００", kind="首保"),
        ro_row(3, settled="  2024年3月5日 ", plate=" 粤b 00000 ", name="  客户0 "),
        # full-width digits in the shapes the fast paths take (no spaces, ISO date-time, plain amount)
        ro_row(4, settled="２０２４-03-05 10:00", mobile="139１２３４０００２", amount="１２００.５", name="客户4"),
    ]
    batch = run(write_csv(tmp_path / "n.csv", RO_HEADER, rows), store_a)
    assert counts(batch) == (4, 0, 0, 0)
    four = RepairOrder.objects.get(ro_number="RO00004")
    assert four.customer.mobile == "+8613912340002" and four.amount == Decimal("1200.50")
    assert four.settled_at == dt.datetime(2024, 3, 5, 2, 0, tzinfo=dt.UTC)
    one, two, three = (RepairOrder.objects.get(ro_number=f"RO0000{n}") for n in (1, 2, 3))
    assert one.settled_at.astimezone(dt.timezone(dt.timedelta(hours=8))).date() == dt.date(2024, 3, 5)
    assert one.customer.mobile == "+8613812340001" and one.amount == Decimal("1200.50")
    assert two.mileage == 12000 and two.kind == "first_free_maintenance"
    assert two.settled_at == dt.datetime(2024, 3, 4, 16, 0, tzinfo=dt.UTC)
    assert three.customer.name == "客户0" and three.vehicle.plate == "粤B00000"


def test_it_reports_bad_rows_with_row_number_column_and_reason(tmp_path, store_a):
    rows = [
        ro_row(1),
        ro_row(2, vin="LSGAB12E0R0000002"),  # wrong check digit
        ro_row(3, settled="2024-02-30"),
        ro_row(4, kind="打蜡", amount="-5"),
        ro_row(5, ro=""),
        ro_row(1, amount="1"),  # same RO number again
    ]
    batch = run(write_csv(tmp_path / "bad.csv", RO_HEADER, rows), store_a)
    assert counts(batch) == (1, 0, 0, 5)
    errors = [(e.row, e.column) for e in batch.row_errors.all()]
    assert errors == [(3, "VIN/车架号"), (4, "结算日期"), (5, "维修类型"), (5, "金额"), (6, "工单号"), (7, "工单号")]
    assert "打蜡" in batch.row_errors.get(row=5, column="维修类型").reason
    assert batch.row_errors.get(row=3).raw.startswith("RO00002,LSGAB12E0R0000002")


def test_it_writes_nothing_on_a_dry_run(tmp_path, store_a, importer):
    path = write_csv(tmp_path / "ro.csv", RO_HEADER, [ro_row(n) for n in range(4)] + [ro_row(9, vin="X")])
    next_number = store_a.next_customer_number
    batch = run(path, store_a, actor=importer, dry_run=True)
    assert counts(batch) == (4, 0, 0, 1) and batch.dry_run
    assert not RepairOrder.objects.exists() and not Customer.objects.exists() and not Vehicle.objects.exists()
    assert not Ownership.objects.exists() and not MileageReading.objects.exists()
    assert not AuditEvent.objects.filter(action="import").exists()
    store_a.refresh_from_db()
    assert store_a.next_customer_number == next_number
    assert ImportBatch.objects.get().row_errors.count() == 1  # the batch and its report are kept


def test_it_leaves_stored_data_and_good_rows_alone_when_rows_fail(tmp_path, store_a):
    customer = f.CustomerFactory(store=store_a, name="老客户", mobile="+8613900000000")
    vehicle = f.owned_vehicle(customer, vin=vin(50), plate="粤A11111")
    stored = f.RepairOrderFactory(store=store_a, customer=customer, vehicle=vehicle, ro_number="RO00050",
                                  amount=Decimal("1.00"))
    rows = [ro_row(1), ro_row(50, vin="NOT-A-VIN", amount="5000"), ro_row(2)]
    batch = run(write_csv(tmp_path / "ro.csv", RO_HEADER, rows), store_a)
    assert counts(batch) == (2, 0, 0, 1)
    stored.refresh_from_db()
    assert stored.amount == Decimal("1.00") and stored.customer_id == customer.pk
    vehicle.refresh_from_db()
    assert vehicle.plate == "粤A11111"


def test_it_isolates_a_row_the_database_refuses(tmp_path, store_a, monkeypatch):
    real_write = ChunkWriter.write

    def write(self, rows, direct=None):
        result = real_write(self, rows, direct)
        if any(row[0] == 5 for row in rows):  # file row 5 breaks a constraint only the database knows
            raise IntegrityError("duplicate key value violates unique constraint")
        return result

    monkeypatch.setattr(ChunkWriter, "write", write)
    batch = run(write_csv(tmp_path / "ro.csv", RO_HEADER, [ro_row(n) for n in range(8)]), store_a)
    assert counts(batch) == (7, 0, 0, 1)
    assert batch.row_errors.get().row == 5
    assert sorted(RepairOrder.objects.values_list("ro_number", flat=True)) == [
        f"RO{n:05d}" for n in range(8) if n != 3
    ]


def test_it_records_the_import_in_the_audit_trail_without_personal_values(tmp_path, store_a, importer):
    batch = run(write_csv(tmp_path / "客户张三.csv", RO_HEADER, [ro_row(1)]), store_a, actor=importer)
    event = AuditEvent.objects.get(action="import")
    assert event.actor == importer and event.store_id == store_a.pk and event.object_id == str(batch.pk)
    assert event.detail["created"] == 1 and event.detail["kind"] == "repair_orders"
    text = str(event.detail) + str(event.changed_fields)
    assert "13812340001" not in text and "客户" not in text and "粤B" not in text


def test_it_refuses_a_file_without_the_required_columns(tmp_path, store_a):
    path = write_csv(tmp_path / "x.csv", ["工单号", "车牌号", "客户姓名"], [["RO1", "粤B00001", "张三"]])
    with pytest.raises(ImportFileError, match="VIN"):
        run(path, store_a)
    batch = ImportBatch.objects.get()
    assert batch.status == "failed" and "VIN" in batch.error


def test_it_refuses_empty_and_binary_files(tmp_path, store_a):
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0" + b"\x00" * 100)
    with pytest.raises(ImportFileError):
        run(tmp_path / "empty.csv", store_a)
    with pytest.raises(ImportFileError, match="xls"):
        run(tmp_path / "old.xls", store_a)
    with pytest.raises(ImportFileError):
        run(tmp_path / "missing.csv", store_a)


CUSTOMER_HEADER = ["客户编号", "客户姓名", "手机", "地址", "生日", "客户类别", "VIN", "车牌号", "车型", "交车日期"]


def test_it_imports_customers_with_their_vehicles_by_dms_code(tmp_path, store_a):
    rows = [
        ["K001", "张三", "13800000001", "广州市天河区", "1980/5/1", "私人", vin(1), "粤B10001", "英朗", "2023-06-01"],
        ["K001", "张三", "13800000001", "广州市天河区", "1980/5/1", "私人", vin(2), "粤B10002", "君威", "2024-01-01"],
        ["K002", "李四公司", "", "", "", "公司", "", "", "", ""],
        ["", "王五", "13800000003", "", "", "", "", "", "", ""],
        ["", "赵六", "", "", "", "", "", "", "", ""],  # no code, mobile or VIN: no key
    ]
    path = write_csv(tmp_path / "c.csv", CUSTOMER_HEADER, rows)
    batch = run(path, store_a, kind="customers")
    assert counts(batch) == (4, 0, 0, 1)
    zhang = Customer.objects.get(dms_code="K001")
    assert zhang.birthday == dt.date(1980, 5, 1) and zhang.background == "private" and zhang.address == "广州市天河区"
    assert sorted(o.vehicle.vin for o in zhang.ownerships.all()) == sorted([vin(1), vin(2)])
    assert Ownership.objects.get(vehicle__vin=vin(1)).valid_from == dt.date(2023, 6, 1)
    assert Vehicle.objects.get(vin=vin(2)).delivery_date == dt.date(2024, 1, 1)
    assert Customer.objects.get(dms_code="K002").background == "company"
    assert Customer.objects.filter(name="王五", mobile="+8613800000003").exists()
    before = snapshot()
    assert counts(run(path, store_a, kind="customers")) == (0, 0, 4, 1)
    assert snapshot() == before
    rows[0][3] = "广州市越秀区"
    rows[1][3] = "广州市越秀区"
    batch = run(write_csv(tmp_path / "c2.csv", CUSTOMER_HEADER, rows[:2]), store_a, kind="customers")
    assert counts(batch) == (0, 2, 0, 0)
    assert Customer.objects.get(dms_code="K001").address == "广州市越秀区"


def test_it_rejects_a_customer_repeated_with_different_details(tmp_path, store_a):
    rows = [
        ["K001", "张三", "13800000001", "广州", "", "", "", "", "", ""],
        ["K001", "张三", "13800000001", "深圳", "", "", "", "", "", ""],
    ]
    batch = run(write_csv(tmp_path / "c.csv", CUSTOMER_HEADER, rows), store_a, kind="customers")
    assert counts(batch) == (1, 0, 0, 1)
    assert "row 2" in batch.row_errors.get().reason or "2" in batch.row_errors.get().reason


DELIVERY_HEADER = ["VIN", "车牌号", "车型", "客户姓名", "联系电话", "交车日期", "销售顾问", "订单号"]


def test_it_imports_deliveries_once_per_vehicle(tmp_path, store_a):
    rows = [
        [vin(1), "粤B20001", "英朗", "张三", "13800000001", "2024-05-01 15:30", "王销售", "SO1"],
        [vin(2), "", "君威", "李四", "13800000002", "2024/5/2", "", ""],
    ]
    path = write_csv(tmp_path / "d.csv", DELIVERY_HEADER, rows)
    assert counts(run(path, store_a, kind="deliveries")) == (2, 0, 0, 0)
    delivery = SalesDelivery.objects.get(vehicle__vin=vin(1))
    assert delivery.delivered_at == dt.datetime(2024, 5, 1, 7, 30, tzinfo=dt.UTC)
    assert delivery.sales_consultant == "王销售" and delivery.customer.name == "张三"
    assert delivery.vehicle.delivery_date == dt.date(2024, 5, 1)
    assert Ownership.objects.get(vehicle=delivery.vehicle).valid_from == dt.date(2024, 5, 1)
    before = snapshot()
    assert counts(run(path, store_a, kind="deliveries")) == (0, 0, 2, 0)
    assert snapshot() == before
    rows[1][6] = "赵销售"
    again = run(write_csv(tmp_path / "d2.csv", DELIVERY_HEADER, rows), store_a, kind="deliveries")
    assert counts(again) == (0, 1, 1, 0)
    assert SalesDelivery.objects.get(vehicle__vin=vin(2)).sales_consultant == "赵销售"


POLICY_HEADER = ["保单号", "VIN", "客户姓名", "联系电话", "保险公司", "起保日期", "到期日期", "保费", "投保类型"]


def test_it_imports_policies_and_never_touches_another_stores_policy(tmp_path, store_a, other_store_rows):
    foreign = other_store_rows["policy"]
    f.VehicleFactory(store=store_a, vin=vin(3), delivery_date=dt.date(2024, 6, 1))
    rows = [
        ["PDAA001", vin(1), "张三", "13800000001", "中国人保", "2024-06-01", "2025-05-31", "4,500.00", "续保"],
        ["PDAA002", vin(3), "李四", "13800000002", "平安", "2024-06-05", "2025-06-04", "3000", ""],
        [foreign.policy_number, vin(2), "王五", "13800000003", "太平洋", "2024-01-01", "2025-01-01", "1", "续保"],
        ["PDAA004", vin(4), "赵六", "13800000004", "平安", "2025-01-01", "2024-01-01", "1", ""],
    ]
    batch = run(write_csv(tmp_path / "p.csv", POLICY_HEADER, rows), store_a, kind="policies")
    assert counts(batch) == (2, 0, 0, 2)
    assert {(e.row, e.column) for e in batch.row_errors.all()} == {(4, "保单号"), (5, "到期日期")}
    assert InsurancePolicy.objects.get(policy_number="PDAA001").kind == "renewal"
    assert InsurancePolicy.objects.get(policy_number="PDAA002").kind == "new_car"  # starts 4 days after delivery
    foreign.refresh_from_db()
    assert foreign.store_id != store_a.pk and foreign.premium == Decimal("4500.00")
    assert not Vehicle.objects.filter(vin=vin(2)).exists()


def test_it_skips_a_title_line_above_the_header_and_counts_file_rows(tmp_path, store_a):
    path = tmp_path / "title.csv"
    lines = ["维修工单导出 2024年3月,,,,,,,,,,", ",".join(RO_HEADER)]
    lines += [",".join(ro_row(1)), ",".join(ro_row(2, vin="BAD"))]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    batch = run(path, store_a)
    assert counts(batch) == (1, 0, 0, 1)
    assert batch.row_errors.get().row == 4  # title = 1, header = 2


def test_it_reads_utf16_tab_separated_exports(tmp_path, store_a):
    path = write_csv(tmp_path / "u16.txt", RO_HEADER, [ro_row(1), ro_row(2)], encoding="utf-16", delimiter="\t")
    batch = run(path, store_a)
    assert batch.encoding == "utf-16" and counts(batch) == (2, 0, 0, 0)


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_it_parses_distinct_columns_directly_and_still_reports_their_bad_cells(tmp_path, store_a, suffix):
    # 300 rows: the first block is big enough to judge which columns repeat (RowValidator.choose_parsers)
    rows = [ro_row(n, plate=f"粤B{n:05d}", vin=vin(n)) for n in range(300)]
    rows[250] = ro_row(250, plate="粤B 00250", vin=vin(250), amount="１２０.５")  # not as stored: the slow way
    rows[260] = ro_row(260, plate="XYZ", vin=vin(260), amount="abc")
    if suffix == "csv":
        path = write_csv(tmp_path / "many.csv", RO_HEADER, rows)
    else:  # typed cells, as Excel keeps them: amounts and mileage as numbers
        typed = [[*row[:8], float(row[8]) if row[8][0].isascii() and row[8][0].isdigit() else row[8], int(row[9]),
                  *row[10:]] for row in rows]
        path = write_xlsx(tmp_path / "many.xlsx", RO_HEADER, typed)
    spec = KINDS["repair_orders"]
    with open_table(path, spec.aliases) as table:
        validator = RowValidator(table, spec)
        list(validator.chunks(1000))
        parsers = {name: parse for name, _index, parse, _max, _header in validator.plan}
    fields = {f.name: f.parse for f in spec.fields}
    assert parsers["ro_number"] is fields["ro_number"] and parsers["amount"] is fields["amount"]
    assert parsers["ro_kind"] is not fields["ro_kind"]  # one value in every row: remembered

    batch = run(path, store_a)
    assert counts(batch) == (299, 0, 0, 1)
    assert sorted(e.column for e in batch.row_errors.filter(row=262)) == ["车牌号", "金额"]
    order = RepairOrder.objects.get(ro_number="RO00250")
    assert order.vehicle.plate == "粤B00250" and order.amount == Decimal("120.50")
    assert RepairOrder.objects.get(ro_number="RO00007").amount == Decimal("107.50")


def test_it_collects_garbage_rarely_while_importing_and_as_before_after(tmp_path, store_a, monkeypatch):
    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    during = []
    validate = RowValidator.validate

    def spied(self, row_no, cells, row_hash):
        during.append(gc.get_threshold())
        return validate(self, row_no, cells, row_hash)

    monkeypatch.setattr(RowValidator, "validate", spied)
    run(write_csv(tmp_path / "a.csv", RO_HEADER, [ro_row(n) for n in range(3)]), store_a)
    assert during and during[0][0] == 100_000
    assert gc.get_threshold() == before and gc.get_freeze_count() == frozen
    # also when the file cannot be read
    with pytest.raises(ImportFileError):
        run(write_csv(tmp_path / "x.csv", ["工单号"], [["RO1"]]), store_a)
    assert gc.get_threshold() == before and gc.get_freeze_count() == frozen


@pytest.mark.skipif(connection.vendor != "postgresql", reason="ANALYZE is PostgreSQL's")
def test_it_analyzes_a_table_the_planner_saw_empty_once_per_import(tmp_path, store_a, importer):
    """The planner scales the statistics it has by the table's size: only tables it saw empty get them anew."""

    def analyzed(first: int) -> list[str]:
        rows = [ro_row(n, vin=vin(n), name=f"客户{n}", mobile=f"139{n:08d}", plate=f"粤B{n % 100000:05d}")
                for n in range(first, first + 3000)]
        path = write_csv(tmp_path / f"ro{first}.csv", RO_HEADER, rows)
        with CaptureQueriesContext(connection) as queries:
            batch = import_file(actor=importer, store=store_a, kind="repair_orders", path=path, chunk_size=600)
        assert batch.created_count == 3000
        return sorted(q["sql"] for q in queries.captured_queries if q["sql"].startswith("ANALYZE"))

    # the tables as the planner sees them in a new database: empty (an earlier test of this worker may have left
    # statistics of its rows, e.g. a demo seed's ANALYZE: pg_class keeps them through the rollback)
    with connection.cursor() as cur:
        cur.execute("UPDATE pg_class SET reltuples = 0 WHERE oid = ANY(%s::regclass[])",
                    [["customers_customer", "customers_vehicle", "customers_ownership", "customers_repairorder"]])
    # the new store's tables: once each, when 1,000 rows are in (not again at 2,400)
    assert analyzed(0) == [
        "ANALYZE customers_customer", "ANALYZE customers_ownership", "ANALYZE customers_repairorder",
        "ANALYZE customers_vehicle",
    ]
    assert analyzed(3000) == []  # the planner has statistics of rows now: they scale


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the plans are PostgreSQL's")
def test_it_finds_stored_rows_by_their_keys_whatever_the_statistics_say(tmp_path, store_a):
    """Each lookup of a chunk has one good plan only. A plan made while the planner believed a new store's customers
    few (before its statistics had them) once read `MIN(id)` as "walk the store's customers in id order until one
    matches": every customer, for every new key, ~10 s for one chunk of a 1 M-row import."""
    big = [ro_row(n, vin=vin(n), name=f"老客户{n}", mobile=f"137{n:08d}") for n in range(3000)]
    assert run(write_csv(tmp_path / "big.csv", RO_HEADER, big), store_a, chunk_size=1000).created_count == 3000
    rows = [ro_row(n, vin=vin(n), name=f"客户{n}", mobile=f"139{n:08d}") for n in range(5000, 5040)]
    with CaptureQueriesContext(connection) as queries:
        assert run(write_csv(tmp_path / "ro.csv", RO_HEADER, rows), store_a).created_count == 40
    reads = ("INSERT INTO dms_cust", "INSERT INTO dms_veh", "INSERT INTO dms_seen", "INSERT INTO customers_ownership")
    statements = [q["sql"] for q in queries.captured_queries if q["sql"].startswith(reads)]
    assert len(statements) == len(reads)
    tables = ("customers_customer", "customers_vehicle", "customers_ownership", "customers_repairorder")
    with connection.cursor() as cur:
        # thousands of rows, and no statistics of them (the planner then takes the store's share of the rows for
        # 0.5 %, and a walk of the store's rows for short)
        cur.execute("DELETE FROM pg_statistic WHERE starelid = ANY(%s::regclass[])", [list(tables)])
        cur.execute("UPDATE pg_class SET reltuples = -1, relpages = 0 WHERE oid = ANY(%s::regclass[])", [list(tables)])
        plans = []
        for sql in statements:
            cur.execute("EXPLAIN " + sql)
            plans.append("\n".join(line for (line,) in cur.fetchall()))
    plan = "\n\n".join(plans)
    assert "Index Cond: ((mobile)::text = dms_stage.mobile)" in plan, plan  # customer_mobile_store_idx
    assert "Index Cond: ((vin)::text = dms_stage.vin)" in plan, plan
    store = store_a.pk
    assert f"Index Cond: ((store_id = {store}) AND ((ro_number)::text = s.ro_number))" in plan, plan
    assert "Index Cond: (vehicle_id = vv.id)" in plan, plan  # the vehicle's current owner
    assert "Index Cond: (vehicle_id = vk.id)" in plan, plan  # the vehicle's owners, then those customers by id
    # no walk of the store's rows: an index scan on the store alone, or in id order
    assert f"Index Cond: (store_id = {store})" not in plan, plan
    assert "AND (id IS NOT NULL))" not in plan, plan
