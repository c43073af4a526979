"""The customer's self-booking link (★): confirm, move, cancel through a signed, expiring link without logging in;
expired, reused (after cancel), tampered and unknown links refused with a clear page; rate limits; every use
audited; nothing personal beyond the surname and the plate's tail; a page for a phone 390 px wide."""

import datetime as dt
import re
from pathlib import Path

import pytest
import time_machine
from django.core.signing import TimestampSigner
from django.test import Client

from aftercare.appointments.choices import BookingState
from aftercare.appointments.links import SALT, SEP, plate_tail, self_booking_token, self_booking_url, surname
from aftercare.appointments.models import AppointmentSettings, Booking, SelfBookingLink
from aftercare.appointments.services.booking import booking_create
from aftercare.appointments.services.selfbooking import self_booking_link_issue
from aftercare.core.models import AuditEvent
from aftercare.org.calendar import business_tz
from aftercare.testing import factories as f

pytestmark = pytest.mark.django_db
TZ = business_tz()
DAY = dt.date(2027, 3, 2)  # a Tuesday, a working day
NOW = dt.datetime(2027, 3, 1, 10, tzinfo=TZ)  # the day before, when the reminder goes out
TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "appointments" / "self"


def local(day, hour, minute=0):
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=TZ)


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def booking(store_a, workshop, booker, settings):
    settings.PUBLIC_BASE_URL = "https://fw.example.cn"
    AppointmentSettings.objects.create(store=store_a, walk_in_share=0, booking_horizon_days=365,
                                       service_phone="020-87654321")
    customer = f.CustomerFactory(store=store_a, name="王小明", mobile="+8613812345678", address="天河路88号")
    vehicle = f.owned_vehicle(customer, plate="粤A12345", model="凯美瑞")
    return booking_create(actor=booker, store=store_a, customer=customer, vehicle=vehicle,
                          kinds=[workshop["maintenance"]], start_at=local(DAY, 9), notes="客户要求洗车",
                          parts_to_prepare="机油滤芯")


@pytest.fixture
def url(booking):
    return self_booking_url(booking).removeprefix("https://fw.example.cn")


def client(address="203.0.113.7") -> Client:
    return Client(HTTP_ACCEPT_LANGUAGE="en", REMOTE_ADDR=address, raise_request_exception=False)


def uses(booking) -> list[dict]:
    return [e.detail for e in AuditEvent.objects.filter(object_type="appointments.booking",
                                                        object_id=str(booking.pk), action="view").order_by("id")]


# ---- the link ------------------------------------------------------------------------------------------------


def test_it_builds_an_absolute_short_link_with_no_id_in_it(booking, settings):
    first = self_booking_url(booking)
    assert first.startswith("https://fw.example.cn/b/") and first.endswith("/")
    link = SelfBookingLink.objects.get()
    token = first.removeprefix("https://fw.example.cn/b/").rstrip("/")
    assert token.split(SEP)[0] == link.nonce and link.booking == booking  # the random nonce, no id
    assert len(first) < 100  # fits an SMS
    assert self_booking_url(booking).split(SEP)[0] == first.split(SEP)[0]  # one nonce a booking
    assert SelfBookingLink.objects.count() == 1
    settings.PUBLIC_BASE_URL = ""
    assert self_booking_url(booking) is None


def test_it_gives_no_link_for_a_cancelled_or_past_booking(booking, booker, _now):
    from aftercare.appointments.services.booking import booking_cancel

    _now.move_to(local(DAY, 9, 1))
    assert self_booking_url(booking) is None
    _now.move_to(NOW)
    booking_cancel(actor=booker, booking=booking)
    assert self_booking_url(booking) is None


# ---- what the customer sees and does --------------------------------------------------------------------------


def test_it_shows_the_surname_plate_tail_store_time_and_kinds_without_login(booking, url):
    response = client().get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "王 (Mr/Ms)" in html and "Plate ending 345" in html and "广州天河店" in html
    assert "09:00" in html and "常规保养" in html and "020-87654321" in html
    for private in ("小明", "13812345678", "5678", "粤A12", "凯美瑞", "天河路88号", "客户要求洗车", "机油滤芯",
                    booking.customer.number):
        assert private not in html, private
    assert uses(booking) == [{"via": "self_link", "what": "view"}]


def test_it_confirms_the_booking_with_an_event_and_an_audit(booking, url):
    c = client()
    response = c.post(url + "confirm/")
    assert response.status_code == 302 and response["Location"] == url + "?done=confirmed"
    booking.refresh_from_db()
    assert booking.state == BookingState.CONFIRMED
    event = booking.events.get(kind="confirmed")
    assert event.actor is None and event.detail == {"via": "self_link"}
    page = c.get(response["Location"]).content.decode()
    assert "your appointment is confirmed" in page and 'id="confirm"' not in page
    assert {"via": "self_link", "what": "confirm"} in uses(booking)
    assert c.post(url + "confirm/").status_code == 302  # twice: no second event
    assert booking.events.filter(kind="confirmed").count() == 1


def test_it_lists_the_free_starts_of_the_next_14_days_and_moves_the_booking(booking, url, workshop):
    c = client()
    page = c.get(url + "move/").content.decode()
    days = re.findall(r'href="\?day=(\d{4}-\d{2}-\d{2})"', page)
    assert days[0] == "2027-03-01" and days[-1] == "2027-03-14" and len(days) == 14
    starts = re.findall(r'name="start" value="([^"]+)"', page)
    assert starts[0] == "2027-03-01T10:30:00+08:00"  # after now, in Shanghai time with its offset
    page = c.get(url + "move/", {"day": "2027-03-04"}).content.decode()
    assert 'value="2027-03-04T08:30:00+08:00"' in page
    response = c.post(url + "move/", {"start": "2027-03-04T14:00:00+08:00"})
    assert response.status_code == 302 and response["Location"] == url + "?done=moved"
    booking.refresh_from_db()
    assert booking.start_at == local(dt.date(2027, 3, 4), 14) and booking.state == BookingState.BOOKED
    assert booking.events.filter(kind="moved").get().actor is None
    assert {"via": "self_link", "what": "move"} in uses(booking)
    assert "Your appointment has been moved." in c.get(response["Location"]).content.decode()


def test_it_refuses_a_taken_a_far_or_a_malformed_time_without_moving(booking, url, workshop, booker):
    other = f.CustomerFactory(store=booking.store)
    for _bay in range(2):  # both bays at 14:00 on the 4th
        booking_create(actor=booker, store=booking.store, customer=other, vehicle=f.owned_vehicle(other),
                       kinds=[workshop["maintenance"]], start_at=local(dt.date(2027, 3, 4), 14))
    c = client()
    response = c.post(url + "move/", {"start": "2027-03-04T14:00:00+08:00"})
    assert response.status_code == 409 and "that time was just taken" in response.content.decode()
    for start in ("2027-03-20T09:00:00+08:00", "2027-03-04T14:00:00", "tomorrow", ""):
        assert c.post(url + "move/", {"start": start}).status_code == 422, start
    booking.refresh_from_db()
    assert booking.start_at == local(DAY, 9)


def test_it_cancels_and_a_reused_link_shows_cancelled_with_the_stores_phone(booking, url):
    c = client()
    assert "Yes, cancel it" in c.get(url + "cancel/").content.decode()
    response = c.post(url + "cancel/")
    assert response.status_code == 200 and "Your appointment is cancelled" in response.content.decode()
    booking.refresh_from_db()
    assert booking.state == BookingState.CANCELLED and not booking.slots.exists()
    assert SelfBookingLink.objects.get().revoked_at is not None
    for path, method in ((url, "get"), (url + "confirm/", "post"), (url + "move/", "post"), (url + "cancel/", "post")):
        again = getattr(c, method)(path, {"start": "2027-03-04T14:00:00+08:00"} if method == "post" else None)
        assert again.status_code == 410, path
        html = again.content.decode()
        assert "This appointment was cancelled" in html and "020-87654321" in html and "09:00" not in html
    booking.refresh_from_db()
    assert booking.state == BookingState.CANCELLED
    assert {"via": "self_link", "what": "get", "refused": "cancelled"} in uses(booking)


def test_it_refuses_an_expired_link_with_the_stores_phone(booking, url, _now):
    _now.move_to(NOW + dt.timedelta(hours=72, seconds=1))
    for method, path in (("get", url), ("post", url + "confirm/")):
        response = getattr(client(), method)(path)
        assert response.status_code == 410
        html = response.content.decode()
        assert "This link has expired" in html and "020-87654321" in html and "345" not in html
    booking.refresh_from_db()
    assert booking.state == BookingState.BOOKED
    assert uses(booking)[-1] == {"via": "self_link", "what": "post", "refused": "expired"}


def test_it_refuses_a_link_once_the_appointment_started(booking, url, _now):
    _now.move_to(local(DAY, 9))
    response = client().get(url)
    assert response.status_code == 410 and "can no longer be changed online" in response.content.decode()


def test_it_refuses_tampered_unknown_and_garbage_tokens_with_a_clear_page_and_no_data(booking, url):
    token = url.split("/")[2]
    nonce, stamp, signature = token.split(SEP)
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    other_nonce = TimestampSigner(salt=SALT, sep=SEP).sign("someone-elses")
    unsigned = TimestampSigner(salt="another-salt", sep=SEP).sign(nonce)
    for bad in (f"{nonce}{SEP}{stamp}{SEP}{flipped}", other_nonce, unsigned, str(booking.pk), nonce, "x" * 500,
                "%E7%8E%8B", f"{nonce}{SEP}{stamp}"):
        for method, suffix in (("get", ""), ("post", "confirm/"), ("get", "move/"), ("post", "cancel/")):
            response = getattr(client(), method)(f"/b/{bad}/{suffix}")
            assert response.status_code == 404, (bad, suffix, response.status_code)
            html = response.content.decode()
            assert "This link is not valid" in html
            assert "345" not in html and "广州天河店" not in html and "020-87654321" not in html
    booking.refresh_from_db()
    assert booking.state == BookingState.BOOKED
    assert AuditEvent.objects.filter(object_type="appointments.booking", object_id="",
                                     detail__refused="bad").exists()


def test_a_token_of_another_booking_reaches_only_that_booking(booking, url, store_b, workshop):
    from aftercare.appointments.tests.canary import plant

    rows = plant(store_b, "CANARY-other")
    other = rows["booking"]
    later = other.start_at + dt.timedelta(days=2)  # the canary's booking starts now: a link ends at the start
    Booking.objects.filter(pk=other.pk).update(start_at=later, end_at=later + dt.timedelta(minutes=30))
    other.refresh_from_db()
    other_url = f"/b/{self_booking_token(other.self_link.nonce)}/"
    html = client().get(other_url).content.decode()
    assert "深圳南山店" in html and "广州天河店" not in html
    client().post(other_url + "confirm/")
    other.refresh_from_db()
    booking.refresh_from_db()
    assert other.state == BookingState.CONFIRMED and booking.state == BookingState.BOOKED


# ---- limits, audit, layout -------------------------------------------------------------------------------------


def test_it_limits_uses_per_link_and_per_address(booking, url, settings, store_a, workshop, booker):
    settings.SELF_BOOKING_HITS_PER_LINK = 3
    settings.SELF_BOOKING_HITS_PER_ADDRESS = 5
    for i in range(3):
        assert client(f"198.51.100.{i}").get(url).status_code == 200
    limited = client("198.51.100.9").get(url)
    assert limited.status_code == 429 and "Too many requests" in limited.content.decode()
    assert "020-87654321" in limited.content.decode()
    # another link from one address: the address's own limit
    settings.SELF_BOOKING_HITS_PER_LINK = 30
    other = f.CustomerFactory(store=store_a)
    second = booking_create(actor=booker, store=store_a, customer=other, vehicle=f.owned_vehicle(other),
                            kinds=[workshop["maintenance"]], start_at=local(DAY, 11))
    second_url = f"/b/{self_booking_token(self_booking_link_issue(booking=second).nonce)}/"
    same = client("198.51.100.0")  # 1 use so far
    assert [same.get(second_url).status_code for _ in range(5)] == [200, 200, 200, 200, 429]
    assert client("192.0.2.1").get(second_url).status_code == 200
    assert len(uses(booking)) == 3  # the refused uses were not counted or audited


def test_it_audits_every_use_without_personal_data(booking, url):
    c = client()
    c.get(url)
    c.get(url + "move/")
    c.post(url + "confirm/")
    c.get(url + "cancel/")
    c.post(url + "cancel/")
    c.get(url)
    events = AuditEvent.objects.filter(object_type="appointments.booking", object_id=str(booking.pk),
                                       action="view")
    assert [e.detail.get("what") for e in events.order_by("id")] == [
        "view", "move_page", "confirm", "cancel_page", "cancel", "get"]
    assert all(e.actor_id is None and e.store_id == booking.store_id for e in events)
    text = repr([(e.detail, e.changed_fields) for e in AuditEvent.objects.all()])
    for private in ("王", "138", "粤A", "203.0.113.7"):
        assert private not in text


def test_the_page_keeps_a_constant_number_of_queries(booking, url, django_assert_max_num_queries):
    c = client()
    with django_assert_max_num_queries(10):
        assert c.get(url).status_code == 200


def test_the_pages_fit_a_phone_390px_wide_with_no_inline_script_or_style(booking, url):
    base = (TEMPLATES / "base.html").read_text()
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in base
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text()
        assert not re.search(r"\bstyle=|<style|<script|\d+px|width=\"\d|min-width|max-width", text), template.name
    html = client().get(url + "move/").content.decode()
    assert "<script" not in html and "style=" not in html
    assert "w-100" in html and "row-cols-3" in html  # buttons across the width, three times a row


def test_the_surname_and_plate_tail():
    assert [surname(n) for n in ("王小明", "欧阳娜娜", "李", "广州某某汽车服务有限公司", "John Smith", "")] == [
        "王", "欧阳", "李", "", "John", ""]
    assert plate_tail("粤A12345") == "345" and plate_tail("") == ""
    assert plate_tail(" 粤A12345 ", 4) == "2345"  # the SMS names four


def test_the_public_pages_carry_no_login_requirement(booking, url):
    response = client().get(url)
    assert response.status_code == 200 and "/login/" not in response.get("Location", "")
    assert Booking.objects.get().state == BookingState.BOOKED


def test_old_hits_are_forgotten_after_the_window_whatever_their_address(booking, url, _now, settings):
    from aftercare.appointments.models import SelfBookingHit

    settings.SELF_BOOKING_HITS_PER_LINK = 2
    client("192.0.2.10").get(url)
    client("192.0.2.11").get(url)
    assert client("192.0.2.12").get(url).status_code == 429
    _now.move_to(NOW + dt.timedelta(minutes=61))
    assert client("192.0.2.13").get(url).status_code == 200
    assert SelfBookingHit.objects.count() == 2  # the new use's address and link; the four old rows deleted
