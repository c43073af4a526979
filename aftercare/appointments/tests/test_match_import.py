"""The DMS match (a repair-order import marks the appointment shown and the order booked; a booked flag is never
cleared) and the import of a store's open bookings (booked through `booking_create`, errors by row and column,
nothing twice)."""

import datetime as dt

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from aftercare.appointments.choices import BookingSource, BookingState
from aftercare.appointments.models import AppointmentSettings, Booking
from aftercare.appointments.services.booking import booking_create
from aftercare.appointments.services.open_bookings import appointment_bookings_import, parse_time
from aftercare.customers.models import RepairOrder
from aftercare.dms.tests.helpers import RO_HEADER, write_csv, write_xlsx
from aftercare.org.calendar import business_tz
from aftercare.org.choices import Role
from aftercare.testing import factories as f

pytestmark = pytest.mark.django_db
TZ = business_tz()
DAY = dt.date(2027, 3, 2)


def local(day, hour, minute=0):
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=TZ).astimezone(dt.UTC)


@pytest.fixture(autouse=True)
def _settings(store_a):
    AppointmentSettings.objects.create(store=store_a, walk_in_share=0, booking_horizon_days=365)


@pytest.fixture
def manager(users):
    return users[Role.STORE_MANAGER]


def _booked(store, workshop, actor, at, vin_n):
    customer = f.CustomerFactory(store=store, name=f"客户{vin_n}")
    vehicle = f.owned_vehicle(customer, vin=f.make_vin(700_000 + vin_n), plate=f"粤A7{vin_n:04d}")
    with time_machine.travel(at - dt.timedelta(days=2), tick=False):
        return booking_create(actor=actor, store=store, customer=customer, vehicle=vehicle,
                              kinds=[workshop["maintenance"]], start_at=at)


def _ro_row(booking, number, settled, booked=None):
    v, c = booking.vehicle, booking.customer
    row = [number, v.vin, v.plate, v.model or "英朗", c.name, c.mobile.removeprefix("+86"), settled, "保养", "380.00",
           "12000", "李顾问"]
    return row + ([booked] if booked is not None else [])


def test_a_repair_order_import_marks_the_appointment_shown_and_the_order_booked(tmp_path, store_a, workshop, manager):
    from aftercare.dms.services import import_file

    booking = _booked(store_a, workshop, manager, local(DAY, 9), 1)
    rows = [_ro_row(booking, "RO-A-1", f"{DAY} 15:30:00")]
    with time_machine.travel(local(DAY, 20), tick=False):
        import_file(actor=None, store=store_a, kind="repair_orders", path=write_csv(tmp_path / "ro.csv", RO_HEADER,
                                                                                    rows))
    booking.refresh_from_db()
    order = RepairOrder.objects.get(ro_number="RO-A-1")
    assert booking.repair_order == order and booking.state == BookingState.ARRIVED and order.booked
    assert booking.events.filter(kind="matched").count() == 1


def test_a_dms_booked_flag_stays_and_a_match_is_never_undone(tmp_path, store_a, workshop, manager):
    from aftercare.dms.services import import_file

    booking = _booked(store_a, workshop, manager, local(DAY, 9), 2)
    walk_up = f.CustomerFactory(store=store_a)
    walk_up_vehicle = f.owned_vehicle(walk_up, vin=f.make_vin(700_099), plate="粤A70099")
    header = RO_HEADER + ["是否预约"]
    dms_booked = [_ro_row(booking, "RO-B-1", f"{DAY} 15:30:00", "否"),
                  ["RO-B-2", walk_up_vehicle.vin, walk_up_vehicle.plate, "英朗", walk_up.name,
                   walk_up.mobile.removeprefix("+86"), f"{DAY} 11:00:00", "保养", "200.00", "9000", "李顾问", "是"]]
    with time_machine.travel(local(DAY, 20), tick=False):
        import_file(actor=None, store=store_a, kind="repair_orders", path=write_csv(tmp_path / "a.csv", header,
                                                                                    dms_booked))
        # the same orders again, the matched one still 否 in the DMS: the appointment the store saw wins
        import_file(actor=None, store=store_a, kind="repair_orders", path=write_csv(tmp_path / "b.csv", header,
                                                                                    dms_booked))
    matched, own = RepairOrder.objects.get(ro_number="RO-B-1"), RepairOrder.objects.get(ro_number="RO-B-2")
    assert matched.booked and Booking.objects.get(pk=booking.pk).repair_order == matched
    assert own.booked and not Booking.objects.filter(repair_order=own).exists()  # the DMS's own flag stays true


def test_the_daily_match_command_matches_and_changes_nothing_on_a_rerun(store_a, workshop, manager):
    from django.core.management import call_command

    booking = _booked(store_a, workshop, manager, local(DAY, 9), 3)
    order = f.RepairOrderFactory(store=store_a, customer=booking.customer, vehicle=booking.vehicle,
                                 settled_at=local(DAY, 17), booked=False)
    with time_machine.travel(local(DAY, 22), tick=False):
        call_command("appointments_match", stdout=open("/dev/null", "w"))
        call_command("appointments_match", stdout=open("/dev/null", "w"))
    order.refresh_from_db()
    assert order.booked and Booking.objects.get(pk=booking.pk).repair_order == order
    assert Booking.objects.get(pk=booking.pk).events.filter(kind="matched").count() == 1


# ---- the open-bookings import --------------------------------------------------------------------------------------

LIST_HEADER = ["预约日期", "预约时间", "客户姓名", "联系电话", "车牌号", "车架号", "预约项目", "服务顾问", "备注"]


def _vehicles(store, n):
    out = []
    for i in range(n):
        customer = f.CustomerFactory(store=store, name=f"车主{i}")
        out.append(f.owned_vehicle(customer, vin=f.make_vin(800_000 + i), plate=f"粤A8{i:04d}"))
    return out


def test_it_books_the_open_bookings_of_a_store_list_and_reports_the_rest_by_row_and_column(
    tmp_path, store_a, workshop, manager, users
):
    v = _vehicles(store_a, 4)
    advisor = users[Role.SERVICE_ADVISOR]
    rows = [
        ["2027-03-02", "09:00", "车主0", "", v[0].plate, "", "常规保养", advisor.staff.display_name, "带备件"],  # row 2
        ["2027/3/2", "9点", "车主1", "", "", v[1].vin, "maintenance", "", ""],  # row 3: the other bay at 9:00
        ["2027-03-02", "09:00", "车主2", "", v[2].plate, "", "常规保养", "王五", ""],  # row 4: no bay left
        ["2027-03-02", "10:00", "某人", "", "粤Z99999", "", "常规保养", "", ""],  # row 5: unknown plate
        ["2027-03-02", "25:00", "车主3", "", v[3].plate, "", "洗车", "", ""],  # row 6: bad time, unknown service
        ["2027-03-01", "10:00", "车主3", "", v[3].plate, "", "估价", "", ""],  # row 7: in the past
        ["2027-03-02", "10:30", "车主3", "", v[3].plate, "", "钣喷估价", "王五", ""],  # row 8: booked, advisor unknown
    ]
    path = write_csv(tmp_path / "list.csv", LIST_HEADER, rows)
    with time_machine.travel(local(DAY - dt.timedelta(days=1), 12), tick=False):
        result = appointment_bookings_import(actor=manager, store=store_a, file=str(path), filename="list.csv")
        again = appointment_bookings_import(actor=manager, store=store_a, file=str(path), filename="list.csv")
    assert (result.rows, result.booked, result.rejected, result.skipped) == (7, 3, 4, 0)
    problems = {(p.row, p.column) for p in result.errors}
    expected = {(4, "预约时间"), (5, "车牌号"), (6, "预约时间"), (6, "预约项目"), (7, "预约日期")}
    assert problems == expected, result.errors
    assert [(p.row, p.column) for p in result.notes] == [(8, "服务顾问")]
    first = Booking.objects.get(vehicle=v[0])
    assert first.source == BookingSource.IMPORT and first.advisor == advisor and first.notes == "带备件"
    assert first.start_at == local(DAY, 9) and Booking.objects.get(vehicle=v[1]).start_at == local(DAY, 9)
    assert (again.booked, again.skipped) == (0, 3) and Booking.objects.count() == 3


def test_the_import_page_reads_xlsx_and_names_a_file_it_cannot_read(tmp_path, store_a, workshop, manager):
    v = _vehicles(store_a, 1)
    path = write_xlsx(tmp_path / "list.xlsx", LIST_HEADER,
                      [[dt.date(2027, 3, 2), dt.time(14, 0), "车主0", "", v[0].plate, "", "常规保养", "", ""]])
    with time_machine.travel(local(DAY - dt.timedelta(days=1), 12), tick=False):
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        client.force_login(manager)
        with open(path, "rb") as fh:
            ok = client.post("/appointments/import/", {"store": store_a.pk, "file": SimpleUploadedFile(
                "list.xlsx", fh.read())})
        bad = client.post("/appointments/import/", {"store": store_a.pk, "file": SimpleUploadedFile(
            "x.csv", "客户姓名,车牌号\n张三,粤A12345\n".encode())})
    assert ok.status_code == 200 and 'id="rows-booked">1<' in ok.content.decode()
    assert Booking.objects.get().start_at == local(DAY, 14)
    assert bad.status_code == 400 and "no date column" in bad.content.decode()


def test_it_reads_the_times_a_store_writes():
    assert parse_time("9:30") == dt.time(9, 30) and parse_time("09:00-10:00") == dt.time(9)
    assert parse_time("14点30分") == dt.time(14, 30) and parse_time(0.375) == dt.time(9)
    with pytest.raises(Exception, match="Not a time"):
        parse_time("morning")


def test_the_import_is_for_the_settings_roles(users):
    client = Client()
    client.force_login(users[Role.SERVICE_ADVISOR])
    assert client.get("/appointments/import/").status_code == 403
