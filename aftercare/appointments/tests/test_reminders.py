"""The confirmation SMS on booking and the reminder the day before: once per booking and start, only to customers
who accept service calls, logged in the letter log, the self-booking link when there is one; reruns and killed
runs send nothing twice."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.test import Client

from aftercare.appointments.choices import BookingSource
from aftercare.appointments.models import Booking, BookingMessage
from aftercare.appointments.services import messages
from aftercare.appointments.services.booking import booking_move
from aftercare.appointments.services.messages import appointment_reminders_send
from aftercare.core.schedule import jobs
from aftercare.followups.choices import LetterStatus
from aftercare.followups.models import LetterLog
from aftercare.org.choices import Role

from .abook_helpers import DAY, TODAY, book, customer_with_car, local

pytestmark = pytest.mark.django_db


@pytest.fixture
def advisor(users):
    return users[Role.SERVICE_ADVISOR]


def test_it_confirms_a_booking_by_sms_once(shop, store_a, advisor, outbox, django_capture_on_commit_callbacks):
    customer, vehicle = customer_with_car(store_a, plate="粤A12345")
    with django_capture_on_commit_callbacks(execute=True):
        booking = book(store_a, advisor, [shop["maintenance"]], local(DAY, 9), customer=customer, vehicle=vehicle)
    assert len(outbox) == 1 and outbox[0]["to"] == customer.mobile
    text = outbox[0]["text"]
    assert store_a.name in text and "2026-12-08 09:00" in text and "2345" in text and "粤A12345" not in text
    letter = LetterLog.objects.get()
    assert letter.status == LetterStatus.SENT and letter.customer == customer
    assert BookingMessage.objects.get().booking == booking


def test_it_sends_nothing_to_a_customer_who_refused_service_calls(shop, store_a, advisor, outbox,
                                                                  django_capture_on_commit_callbacks):
    customer, vehicle = customer_with_car(store_a, consent_service_calls=False)
    with django_capture_on_commit_callbacks(execute=True):
        booking = book(store_a, advisor, [shop["maintenance"]], local(DAY, 9), customer=customer, vehicle=vehicle)
    assert appointment_reminders_send(today=TODAY) == 0
    assert outbox == [] and not LetterLog.objects.exists()
    client = Client()
    client.force_login(advisor)
    page = client.get(f"/appointments/{booking.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="no-sms"' in page


def test_an_imported_booking_gets_no_confirmation_but_its_reminder(shop, store_a, advisor, outbox,
                                                                   django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        book(store_a, advisor, [shop["maintenance"]], local(DAY, 9), source=BookingSource.IMPORT)
    assert outbox == []
    assert appointment_reminders_send(today=TODAY) == 1 and len(outbox) == 1


def test_it_reminds_the_day_before_once_and_again_after_a_move(shop, store_a, advisor, outbox):
    tomorrow = book(store_a, advisor, [shop["maintenance"]], local(DAY, 9))
    later = book(store_a, advisor, [shop["maintenance"]], local(DAY + dt.timedelta(days=1), 9))
    outbox.clear()
    assert appointment_reminders_send(today=TODAY) == 1
    assert appointment_reminders_send(today=TODAY) == 0  # a rerun
    assert len(outbox) == 1 and "2026-12-08 09:00" in outbox[0]["text"]
    tomorrow.refresh_from_db()
    assert tomorrow.reminded_on == TODAY
    later.refresh_from_db()
    assert later.reminded_on is None
    booking_move(actor=advisor, booking=tomorrow, start_at=local(DAY, 11))  # moved: reminded for the new time
    call_command("appointment_reminders_send", "--today", TODAY.isoformat())
    assert len(outbox) == 2 and "2026-12-08 11:00" in outbox[1]["text"]
    assert Booking.objects.get(pk=tomorrow.pk).messages.filter(kind="reminder").count() == 2


def test_a_killed_run_is_finished_by_the_rerun_without_sending_twice(shop, store_a, advisor, outbox, monkeypatch):
    book(store_a, advisor, [shop["maintenance"]], local(DAY, 9))
    outbox.clear()
    monkeypatch.setattr(messages, "_send_pending", lambda today: 0)  # killed after the commit, before sending
    assert appointment_reminders_send(today=TODAY) == 1
    assert outbox == []
    assert BookingMessage.objects.filter(kind="reminder", letter__status=LetterStatus.PENDING).count() == 1
    monkeypatch.undo()
    assert appointment_reminders_send(today=TODAY) == 0
    assert appointment_reminders_send(today=TODAY) == 0
    assert len(outbox) == 1


def test_it_puts_the_self_booking_link_into_the_sms(shop, store_a, advisor, outbox, monkeypatch,
                                                    django_capture_on_commit_callbacks):
    monkeypatch.setattr(messages, "self_booking_url", lambda booking: f"https://s.example/b/{booking.pk}")
    with django_capture_on_commit_callbacks(execute=True):
        booking = book(store_a, advisor, [shop["maintenance"]], local(DAY, 9))
    assert outbox[0]["text"].endswith(f"https://s.example/b/{booking.pk}")


def test_the_reminder_is_a_daily_job_with_its_command():
    registered = {job.name: job for job in jobs()}
    assert registered["appointment_reminders_send"].at == ("18:00",)
    assert registered["appointment_waitlist_expire"].at == (":05",)


# ---- through the one outbound interface: the delivery log, service purpose ----


def test_its_sms_appear_in_the_delivery_log_with_channel_and_status(shop, store_a, advisor, users, outbox, client,
                                                                    django_capture_on_commit_callbacks):
    from aftercare.care.selectors import message_log_search

    customer, vehicle = customer_with_car(store_a, name="李雷")
    with django_capture_on_commit_callbacks(execute=True):
        booking = book(store_a, advisor, [shop["maintenance"]], local(DAY, 9), customer=customer, vehicle=vehicle)
    assert appointment_reminders_send(today=TODAY) == 1
    manager = users[Role.CS_MANAGER]
    rows = list(message_log_search(user=manager, customer_id=customer.pk))
    assert [(r.channel, r.status, r.purpose, r.kind) for r in rows] == [("sms", "sent", "service", "notice")] * 2
    assert {m.letter_id for m in booking.messages.all()} == {r.pk for r in rows}
    client.force_login(manager)
    page = client.get("/care/messages/", {"channel": "sms", "status": "sent"}, HTTP_ACCEPT_LANGUAGE="en")
    assert page.content.decode().count("李雷") == 2


def test_a_booking_sms_in_quiet_hours_is_sent_not_held(shop, store_a, advisor, outbox, time_machine,
                                                       django_capture_on_commit_callbacks):
    time_machine.move_to(local(TODAY, 22, 30), tick=False)  # quiet hours: a service message still goes
    with django_capture_on_commit_callbacks(execute=True):
        booking = book(store_a, advisor, [shop["maintenance"]], local(DAY, 9))
    letter = booking.messages.get().letter
    assert (letter.status, letter.hold_until) == (LetterStatus.SENT, None) and len(outbox) == 1


def test_a_confirmation_is_made_once_per_start(shop, store_a, advisor, outbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        booking = book(store_a, advisor, [shop["maintenance"]], local(DAY, 9))
    again = messages.booking_confirmation_make(booking=booking)
    assert again == booking.messages.get() and LetterLog.objects.count() == 1 and len(outbox) == 1
