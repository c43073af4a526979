"""Browser test in Debian's Chromium (issue 17): a follow-up specialist opens the call screen of a due call and books
the next free maintenance slot for the customer's vehicle; the service advisor finds it on the day board of that
day; a DMS repair-order import of the vehicle and day matches it: the board shows it checked in with the order,
and the order is booked.

    .venv/bin/pytest -m browser tests/browser/test_appointment_browser.py
"""

import datetime as dt
import os
import re

import pytest
from playwright.sync_api import expect

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from aftercare.appointments.choices import BookingSource, BookingState  # noqa: E402
from aftercare.appointments.models import AppointmentSettings, Booking, DayOverride, ServiceKind  # noqa: E402
from aftercare.appointments.services.configuration import appointment_capacity_seed_defaults  # noqa: E402
from aftercare.customers.models import RepairOrder  # noqa: E402
from aftercare.followups.models import FollowupTask  # noqa: E402
from aftercare.followups.services.generation import followup_tasks_for_delivery  # noqa: E402
from aftercare.followups.services.rules import followup_rules_seed_defaults  # noqa: E402
from aftercare.org.calendar import business_date, business_tz  # noqa: E402
from aftercare.org.choices import Role  # noqa: E402
from aftercare.testing import factories as f  # noqa: E402

pytestmark = pytest.mark.browser

RO_HEADER = ["工单号", "VIN/车架号", "车牌号", "车型", "客户姓名", "联系电话", "结算日期", "维修类型", "金额", "里程",
             "服务顾问"]


@pytest.fixture
def due_call(transactional_db):
    """GZ01 with the usual capacity (open tomorrow whatever the calendar says), a CS specialist, a service advisor
    and a new-car delivery of yesterday whose satisfaction call is due: (task, tomorrow)."""
    from django.utils import timezone

    store = f.StoreFactory(code="GZ01", name="粤通别克广州天河店")
    followup_rules_seed_defaults(store)
    appointment_capacity_seed_defaults(store)
    AppointmentSettings.objects.filter(store=store).update(walk_in_share=0)
    tomorrow = business_date() + dt.timedelta(days=1)  # the booking form's day
    DayOverride.objects.create(store=store, date=tomorrow, opens_at=dt.time(8, 30), closes_at=dt.time(17, 30))
    for username, role, name in (("kefu", Role.CS_SPECIALIST, "陈晓婷"), ("guwen", Role.SERVICE_ADVISOR, "李顾问")):
        f.StaffFactory(user=f.UserFactory(username=username), group=store.group, role=role, stores=[store],
                       display_name=name)
    customer = f.CustomerFactory(store=store, name="黄志强")
    vehicle = f.owned_vehicle(customer, model="昂科威 Plus", plate="粤A8K321")
    delivery = f.SalesDeliveryFactory(store=store, customer=customer, vehicle=vehicle,
                                      delivered_at=timezone.now() - dt.timedelta(hours=20))
    followup_tasks_for_delivery(delivery=delivery)
    return FollowupTask.objects.get(subject_type="delivery", subject_id=delivery.pk), tomorrow


def _import_repair_order(tmp_path, booking: Booking, number: str, settled: dt.datetime) -> None:
    """The DMS repair-order export of the day, one order of the booked vehicle, through the real import."""
    from aftercare.dms.services import import_file

    vehicle, customer = booking.vehicle, booking.customer
    path = tmp_path / "ro.csv"
    path.write_text(
        ",".join(RO_HEADER) + "\n" + ",".join([
            number, vehicle.vin, vehicle.plate, vehicle.model, customer.name, customer.mobile.removeprefix("+86"),
            f"{settled:%Y-%m-%d %H:%M:%S}", "保养", "680.00", "5000", "李顾问"]) + "\n",
        encoding="utf-8")
    batch = import_file(actor=None, store=booking.store, kind="repair_orders", path=path)
    assert batch.status == "done", (batch.status, batch.error)


def test_it_books_from_the_call_screen_and_the_dms_import_checks_the_booking_in(due_call, live_server, browser,
                                                                                tmp_path, login, until):
    task, day = due_call
    maintenance = ServiceKind.objects.get(store=task.store, code="maintenance")
    specialist = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="zh-CN").new_page()
    specialist.set_default_timeout(15_000)

    # the specialist: the queue's top call, the call screen's appointment card, the booking form
    login(specialist, live_server.url, "kefu")
    specialist.goto(f"{live_server.url}/followups/")
    specialist.locator("#queue-table tbody tr").first.locator("button[type=submit]").click()
    specialist.wait_for_url(f"{live_server.url}/followups/tasks/{task.pk}/")
    expect(specialist.locator("#call-upcoming")).to_have_count(0)
    specialist.click("#appointment-call-card #call-book")
    specialist.wait_for_selector("#booking-form")
    expect(specialist.locator("#book-from-call")).to_be_visible()
    expect(specialist.locator("#booking-form select[name=vehicle] option:checked")).to_have_text("粤A8K321")
    expect(specialist.locator("#booking-form input[name=date]")).to_have_value(day.isoformat())
    specialist.check(f"#booking-form input[name=kinds][value='{maintenance.pk}']")
    first = specialist.locator("#free-starts input[name=start_at]").first  # swapped in by HTMX
    expect(first).to_be_attached()
    first_value = first.get_attribute("value")
    start = dt.datetime.fromisoformat(first_value)
    assert start.astimezone(business_tz()) == dt.datetime.combine(day, dt.time(8, 30), tzinfo=business_tz())
    specialist.click("#free-starts label[for=start-1]")
    specialist.select_option("#booking-form select[name=advisor]", label="李顾问")
    specialist.fill("#booking-form textarea[name=notes]", "首次保养，客户上午到店")
    specialist.click("#booking-form textarea[name=parts_to_prepare]")  # the notes' change event fires
    expect(specialist.locator("#free-starts input[name=start_at]:checked")).to_have_value(first_value)
    specialist.click("#book-submit")
    until(specialist, lambda: Booking.objects.filter(customer=task.customer).exists())
    booking = Booking.objects.get(customer=task.customer)
    specialist.wait_for_url(f"{live_server.url}/appointments/{booking.pk}/")
    assert booking.start_at == start and booking.vehicle_id == task.vehicle_id
    assert booking.source == BookingSource.CALL and booking.followup_task_id == task.pk
    assert list(booking.kinds.all()) == [maintenance] and booking.advisor.username == "guwen"
    specialist.goto(f"{live_server.url}/followups/tasks/{task.pk}/")
    expect(specialist.locator("#call-upcoming")).to_contain_text("08:30")
    specialist.context.close()

    # the service advisor: the day board of that day
    advisor = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="zh-CN").new_page()
    advisor.set_default_timeout(15_000)
    login(advisor, live_server.url, "guwen")
    advisor.goto(f"{live_server.url}/appointments/board/")
    advisor.fill("#board-filter input[name=date]", day.isoformat())
    advisor.click("#board-filter button[type=submit]")
    advisor.wait_for_url(f"**/appointments/board/?*date={day.isoformat()}*")
    row = advisor.locator(f"#booking-{booking.pk}")
    expect(row).to_have_attribute("data-state", "expected")
    expect(row).to_contain_text("08:30")
    expect(row).to_contain_text("粤A8K321")
    expect(row).to_contain_text("黄志强")
    expect(row).to_contain_text("常规保养")

    # the DMS export of that day: the vehicle's repair order matches the appointment
    settled = dt.datetime.combine(day, dt.time(16, 20), tzinfo=business_tz())
    _import_repair_order(tmp_path, booking, "RO-GZ-20001", settled)
    advisor.reload()
    row = advisor.locator(f"#booking-{booking.pk}")
    expect(row).to_have_attribute("data-state", "shown")
    expect(row).to_contain_text("RO-GZ-20001")
    expect(advisor.locator("#board-counts .text-bg-success")).to_have_text(re.compile(r"\D1$"))
    booking.refresh_from_db()
    order = RepairOrder.objects.get(ro_number="RO-GZ-20001")
    assert booking.state == BookingState.ARRIVED and booking.repair_order_id == order.pk
    assert order.booked
    advisor.context.close()
