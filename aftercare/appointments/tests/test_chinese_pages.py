"""No English left on a Chinese page: every appointments page, rendered in zh-Hans for the service advisor and the
CS manager with bookings in every state on it (parts to prepare, arrived, no-show, walk-in, unmatched), a waitlist
entry and a rescue call, shows no English word but the language switcher's and the product's name; the customer's
self-booking page and its refusal too. Times are shown in business time (Asia/Shanghai)."""

import datetime as dt
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from aftercare.appointments.models import AppointmentSettings, BookingMessage, DayOverride, ServiceKind
from aftercare.appointments.services.board import booking_no_show, booking_walk_in
from aftercare.appointments.services.booking import booking_cancel, booking_create, booking_move
from aftercare.appointments.services.day import booking_arrive
from aftercare.appointments.services.rescue import rescue_call_create
from aftercare.appointments.services.selfbooking import booking_confirm
from aftercare.appointments.services.waitlist import waitlist_entry_create
from aftercare.org.choices import Role
from aftercare.testing import factories as f
from aftercare.testing.i18n import english_words, visible_text

from .abook_helpers import DAY, NOW, TODAY, local

pytestmark = pytest.mark.django_db
PAST = dt.date(2026, 12, 3)  # last Thursday: an arrived and a missed appointment, neither matched to an order




def _car(store, name, plate, **kwargs):
    customer = f.CustomerFactory(store=store, name=name, **kwargs)
    return customer, f.owned_vehicle(customer, plate=plate, model="凯美瑞")


@pytest.fixture
def day_world(store_a, shop, users, time_machine, settings):
    """Store A on Monday 2026-12-07 10:00 Shanghai: last Thursday's arrived and missed appointments (unmatched,
    one with a candidate repair order), today's no-show, arrival and walk-in, an afternoon booking and tomorrow's
    with parts to prepare (its confirmation carries a self-booking link), a waitlist entry and a rescue call."""
    settings.PUBLIC_BASE_URL = "https://fw.example.cn"
    AppointmentSettings.objects.filter(store=store_a).update(service_phone="020-87654321")
    manager, advisor = users[Role.CS_MANAGER], users[Role.SERVICE_ADVISOR]
    maintenance, estimate = shop["maintenance"], shop["estimate"]
    made = {}

    time_machine.move_to(local(PAST, 8) - dt.timedelta(days=2), tick=False)
    for key, name, plate, hour in (("past_arrived", "李明", "粤A10001", 9), ("past_missed", "赵强", "粤A10002", 11)):
        customer, vehicle = _car(store_a, name, plate)
        made[key] = booking_create(actor=manager, store=store_a, customer=customer, vehicle=vehicle,
                                   kinds=[maintenance], start_at=local(PAST, hour), advisor=advisor)
    f.RepairOrderFactory(store=store_a, customer=made["past_arrived"].customer, vehicle=made["past_arrived"].vehicle,
                         settled_at=local(PAST + dt.timedelta(days=1), 15))
    time_machine.move_to(local(PAST, 9, 10), tick=False)
    booking_arrive(actor=advisor, booking=made["past_arrived"])
    time_machine.move_to(local(PAST, 12), tick=False)
    booking_no_show(actor=advisor, booking=made["past_missed"])

    time_machine.move_to(local(TODAY, 7), tick=False)
    for key, name, plate, at, kinds in (("no_show", "孙丽", "粤A20001", local(TODAY, 9), [maintenance]),
                                        ("arrived", "周杰", "粤A20002", local(TODAY, 10, 30), [maintenance, estimate]),
                                        ("later", "吴芳", "粤A20003", local(TODAY, 15), [estimate])):
        customer, vehicle = _car(store_a, name, plate)
        made[key] = booking_create(actor=manager, store=store_a, customer=customer, vehicle=vehicle, kinds=kinds,
                                   start_at=at, advisor=advisor, notes="客户要求洗车")
    customer, vehicle = _car(store_a, "王小明", "粤A12345", consent_service_calls=True)
    made["parts"] = booking_create(actor=manager, store=store_a, customer=customer, vehicle=vehicle,
                                   kinds=[maintenance], start_at=local(DAY, 9), advisor=advisor,
                                   notes="客户要求检查刹车", parts_to_prepare="机油滤芯、空气滤芯")
    for key, name, plate, at in (("late", "冯刚", "粤A20004", local(TODAY, 9, 30)),
                                 ("cancelled", "陈静", "粤A20005", local(DAY, 10)),
                                 ("confirmed", "褚红", "粤A20006", local(DAY, 11)),
                                 ("moved", "卫东", "粤A20007", local(DAY, 13))):
        customer, vehicle = _car(store_a, name, plate)
        made[key] = booking_create(actor=manager, store=store_a, customer=customer, vehicle=vehicle,
                                   kinds=[maintenance], start_at=at, source="phone_in")
    booking_cancel(actor=manager, booking=made["cancelled"], reason="客户临时出差")
    booking_confirm(actor=manager, booking=made["confirmed"])
    made["moved"] = booking_move(actor=manager, booking=made["moved"], start_at=local(DAY, 14))
    time_machine.move_to(local(TODAY, 9, 55), tick=False)
    booking_arrive(actor=advisor, booking=made["arrived"])
    time_machine.move_to(NOW, tick=False)
    booking_no_show(actor=advisor, booking=made["no_show"])
    walker, walker_car = _car(store_a, "郑伟", "粤A30001")
    made["walk_in"] = booking_walk_in(actor=advisor, store=store_a, customer=walker, vehicle=walker_car,
                                      kinds=[maintenance], notes="顺路保养")
    waiting, waiting_car = _car(store_a, "钱进", "粤A40001")
    made["waitlist"] = waitlist_entry_create(actor=manager, store=store_a, customer=waiting, vehicle=waiting_car,
                                             date=DAY, kinds=[maintenance], notes="只要上午")
    made["rescue"] = rescue_call_create(actor=advisor, store=store_a, reported_at=local(TODAY, 7, 40),
                                        place="广州大道中与黄埔大道交界", what_happened="电瓶亏电无法启动",
                                        vehicle=walker_car, dispatched_at=local(TODAY, 7, 45),
                                        dispatched_user=advisor, dispatched_to="救援车1号",
                                        arrived_at=local(TODAY, 8, 20), outcome="fixed_on_site",
                                        outcome_note="搭电后正常启动")
    f.RepairOrderFactory(store=store_a, customer=made["arrived"].customer, vehicle=made["arrived"].vehicle,
                         settled_at=local(TODAY, 9, 50), booked=True)
    followup_customer = made["later"].customer
    made["task"] = _followup_task(store_a, followup_customer, made["later"].vehicle)
    return made


def _followup_task(store, customer, vehicle):
    from aftercare.followups.models import FollowupTask
    from aftercare.followups.services.generation import followup_tasks_for_delivery
    from aftercare.followups.services.rules import followup_rules_seed_defaults

    followup_rules_seed_defaults(store)
    delivery = f.SalesDeliveryFactory(store=store, customer=customer, vehicle=vehicle,
                                      delivered_at=NOW - dt.timedelta(hours=20))
    followup_tasks_for_delivery(delivery=delivery)
    return FollowupTask.objects.get(subject_type="delivery", subject_id=delivery.pk)


def _self_booking_path(booking) -> str:
    text = BookingMessage.objects.get(booking=booking, kind="confirmation").letter.text
    return re.search(r"https://fw\.example\.cn(/b/\S+/)", text).group(1)


def _pages(world) -> list[str]:
    """Every appointments page a user with the board and booking permissions opens (the settings and the import
    are the manager's)."""
    parts, arrived, walk_in = world["parts"], world["arrived"], world["walk_in"]
    kinds = f"kinds={parts.kinds.get().pk}"
    return [
        "/appointments/", f"/appointments/?month=2026-12&date={DAY}&{kinds}",
        f"/appointments/slots/?date={DAY}&{kinds}&pick=1", f"/appointments/slots/?date=2026-12-13&{kinds}",
        "/appointments/book/", "/appointments/book/?q=粤A12345",
        f"/appointments/book/?customer={parts.customer_id}&vehicle={parts.vehicle_id}&date={DAY}&{kinds}",
        f"/appointments/book/?customer={world['waitlist'].customer_id}&waitlist={world['waitlist'].pk}",
        "/appointments/list/", f"/appointments/list/?date={DAY}&state=open", f"/appointments/list/?date={PAST}",
        f"/appointments/{parts.pk}/", f"/appointments/{arrived.pk}/", f"/appointments/{world['no_show'].pk}/",
        f"/appointments/{walk_in.pk}/", f"/appointments/{world['past_arrived'].pk}/",
        *(f"/appointments/{world[k].pk}/" for k in ("late", "cancelled", "confirmed", "moved", "past_missed")),
        f"/appointments/list/?date={DAY}&state=cancelled", f"/appointments/list/?date={DAY}&state=confirmed",
        "/appointments/board/", f"/appointments/board/?date={PAST}", f"/appointments/board/?date={DAY}",
        f"/appointments/parts/?date={DAY}", "/appointments/waitlist/", f"/appointments/waitlist/?date={DAY}",
        "/appointments/rescue/", f"/appointments/rescue/{world['rescue'].pk}/",
        "/appointments/measures/", "/appointments/measures/?year=2026&month=2026-12",
        "/appointments/measures/orders/?month=2026-12", "/appointments/measures/orders/?month=2026-12&booked=1",
        "/appointments/measures/bookings/?month=2026-12",
        "/appointments/measures/bookings/?month=2026-12&state=no_show",
        f"/customers/{parts.customer_id}/", f"/customers/{world['no_show'].customer_id}/", "/today/",
    ]


def _english_on(client, urls, **headers) -> dict:
    codes = set(ServiceKind.objects.values_list("code", flat=True))  # the store's own identifiers, not UI text
    found = {}
    for url in urls:
        response = client.get(url, **headers)
        assert response.status_code == 200, (url, response.status_code)
        if words := english_words(response.content.decode(), codes):
            found[url] = sorted(words)
    return found


def test_it_shows_the_appointment_pages_in_chinese_to_the_advisor_and_the_manager(day_world, users):
    found = {}
    for role, extra in ((Role.SERVICE_ADVISOR, []),
                        (Role.CS_MANAGER, ["/appointments/settings/", "/appointments/import/",
                                           f"/followups/tasks/{day_world['task'].pk}/"])):
        client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
        client.force_login(users[role])
        found |= {f"{role} {url}": words for url, words in _english_on(client, _pages(day_world) + extra).items()}
        found |= {f"{role} {url} (htmx)": words for url, words in _english_on(
            client, ["/appointments/board/", f"/appointments/board/?date={PAST}"], HTTP_HX_REQUEST="true").items()}
    assert not found, found


def test_it_shows_the_self_booking_page_and_its_refusal_in_chinese(day_world):
    path = _self_booking_path(day_world["parts"])
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans", REMOTE_ADDR="203.0.113.7", raise_request_exception=False)
    page = client.get(path)
    assert page.status_code == 200
    assert "12月8日" in visible_text(page.content.decode()) and "09:00" in visible_text(page.content.decode())
    refused = client.get(path[:-3] + "xx/")
    assert refused.status_code == 404 and "链接无效" in refused.content.decode()
    found = {url: english_words(r.content.decode()) for url, r in ((path, page), ("tampered", refused))}
    assert not any(found.values()), found


def test_it_shows_times_in_business_time(day_world, users):
    """09:00 Shanghai is 01:00 UTC: the pages show the business time, never the UTC one."""
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(users[Role.CS_MANAGER])
    parts = day_world["parts"]
    for url in (f"/appointments/{parts.pk}/", f"/appointments/list/?date={DAY}", f"/appointments/parts/?date={DAY}",
                f"/appointments/board/?date={DAY}", f"/customers/{parts.customer_id}/"):
        html = visible_text(client.get(url).content.decode())
        assert "09:00" in html, url
        assert "01:00" not in html, url
    kinds = f"kinds={parts.kinds.get().pk}"
    starts = visible_text(client.get(f"/appointments/slots/?date={DAY}&{kinds}&pick=1").content.decode())
    assert "08:30" in starts and "00:30" not in starts  # the first start of the day, 00:30 UTC
    call = visible_text(client.get(f"/followups/tasks/{day_world['task'].pk}/").content.decode())
    assert "15:00" in call and "07:00" not in call  # the customer's next appointment on the call card
    for user in (users[Role.SERVICE_ADVISOR], users[Role.CS_MANAGER]):  # the pages checked hold what they should
        other = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
        other.force_login(user)
        assert "/appointments/list/?date=2026-12-07" in other.get("/today/").content.decode()  # the start card
        assert f"/appointments/book/?customer={parts.customer_id}" in other.get(
            f"/customers/{parts.customer_id}/").content.decode()  # the 360 panel
    assert 'id="appointment-call-card"' in client.get(f"/followups/tasks/{day_world['task'].pk}/").content.decode()
    html = client.get("/appointments/board/").content.decode()
    for state in ("expected", "late", "shown", "no_show", "walk_in"):  # every state of the board is on the page
        assert f'data-state="{state}"' in html, state
    assert f'id="unmatched-{day_world["past_arrived"].pk}"' in html and "<select" in html
    board = visible_text(html)
    assert "09:30" in board and "01:30" not in board
    history = visible_text(client.get(f"/appointments/{day_world['moved'].pk}/").content.decode())
    assert "2026-12-07 07:00" in history and "2026-12-06 23:00" not in history  # booked and moved at 07:00
    rescue = client.get(f"/appointments/rescue/{day_world['rescue'].pk}/").content.decode()
    assert "T07:40" in rescue and "T23:40" not in rescue
    listing = visible_text(client.get("/appointments/rescue/").content.decode())
    assert "07:40" in listing and "23:40" not in listing


def test_it_shows_the_import_result_in_chinese(day_world, users, store_a):
    """The open-bookings import's answer: a booked row, a row with a remark and rejected rows, all in Chinese."""
    lines = ["预约日期,预约时间,客户姓名,联系电话,车牌,预约项目,服务顾问,备注",
             f"{DAY},11:00,钱进,13800000001,粤A40001,常规保养,,老客户",
             f"{DAY},11:00,王小明,13800000002,粤A12345,常规保养,张三,",
             f"{DAY},25:00,孙丽,13800000003,粤A20001,常规保养,,",
             f"{DAY},14:00,无名,13800000004,粤Z99999,喷漆,,"]
    upload = SimpleUploadedFile("预约.csv", "\n".join(lines).encode("utf-8"), content_type="text/csv")
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(users[Role.CS_MANAGER])
    response = client.post("/appointments/import/", {"store": store_a.pk, "file": upload})
    html = response.content.decode()
    assert response.status_code == 200 and "bookings-import-errors" in html
    assert not english_words(html, set(ServiceKind.objects.values_list("code", flat=True))), english_words(html)


def test_it_answers_errors_and_closed_days_in_chinese(day_world, users, store_a):
    """A start taken meanwhile (409, the next free starts), a board action refused (the HTMX notice), closed days of
    the calendar (a day override, the Spring Festival), a full day in the booking form, a bad settings form."""
    DayOverride.objects.create(store=store_a, date=dt.date(2026, 12, 12), closed=True, note="店庆停业")
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(users[Role.CS_MANAGER])
    parts = day_world["parts"]
    kind = parts.kinds.get().pk
    answers = {
        "taken": client.post("/appointments/book/", {
            "customer": parts.customer_id, "vehicle": parts.vehicle_id, "date": DAY.isoformat(), "kinds": [kind],
            "start_at": local(DAY, 7).isoformat()}),
        "no start": client.post("/appointments/book/", {
            "customer": parts.customer_id, "vehicle": parts.vehicle_id, "date": DAY.isoformat(), "kinds": [kind]}),
        "early no-show": client.post(f"/appointments/board/{day_world['later'].pk}/no-show/",
                                     {"date": TODAY.isoformat()}, HTTP_HX_REQUEST="true"),
        "closed day": client.get(f"/appointments/?month=2026-12&date=2026-12-12&kinds={kind}"),
        # the Spring Festival the statutory calendar knows (2026's): a closed day and why
        "spring festival": client.get(f"/appointments/?month=2026-02&date=2026-02-17&kinds={kind}"),
        "bad settings": client.post("/appointments/settings/", {"section": "settings", "store": store_a.pk,
                                                                "s-slot_minutes": "5"}),
        "bad rescue": client.post("/appointments/rescue/", {"rescue_place": ""}),
    }
    assert answers["taken"].status_code == 409 and 'id="next-free"' in answers["taken"].content.decode()
    assert answers["no start"].status_code == 400
    assert "danger" in answers["early no-show"].content.decode()
    assert "当天不营业" in visible_text(answers["closed day"].content.decode())
    assert "法定节假日" in visible_text(answers["spring festival"].content.decode())
    assert answers["bad settings"].status_code == 400 and answers["bad rescue"].status_code == 400
    codes = set(ServiceKind.objects.values_list("code", flat=True))
    found = {what: english_words(r.content.decode(), codes) for what, r in answers.items()}
    assert not any(found.values()), found
