"""The waitlist of a full day: the first entry waiting whose kinds fit a freed start is offered it by SMS when a
booking of the day is cancelled or moved away; the offer expires and passes to the next; a booking of the entry's
vehicle marks it booked; staff add entries from the booking form when the day is full and list them per day."""

import datetime as dt

import pytest
from django.test import Client

from aftercare.appointments.models import DayOverride, KindCap, WaitlistEntry, WaitlistState
from aftercare.appointments.services.booking import booking_cancel, booking_move
from aftercare.appointments.services.waitlist import OFFER_HOURS, waitlist_entry_create, waitlist_offers_expire
from aftercare.followups.models import LetterLog
from aftercare.org.choices import Role

from .abook_helpers import DAY, NOW, book, customer_with_car, local

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def advisor(users):
    return users[Role.SERVICE_ADVISOR]


@pytest.fixture
def full_day(shop, store_a, advisor):
    """DAY takes one booking (a cap of 1), and has it."""
    DayOverride.objects.create(store=store_a, date=DAY, daily_cap=1)
    return book(store_a, advisor, [shop["maintenance"]], local(DAY, 9))


def _wait(store, advisor, kinds, plate):
    customer, vehicle = customer_with_car(store, plate=plate)
    return waitlist_entry_create(actor=advisor, store=store, customer=customer, vehicle=vehicle, date=DAY,
                                 kinds=kinds)


def test_a_cancelled_booking_offers_its_start_to_the_first_waiting(shop, store_a, advisor, full_day, outbox, users,
                                                                   django_capture_on_commit_callbacks):
    first = _wait(store_a, advisor, [shop["maintenance"]], "粤A11111")
    second = _wait(store_a, advisor, [shop["maintenance"]], "粤A22222")
    outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        booking_cancel(actor=advisor, booking=full_day, reason="改期")
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.state == WaitlistState.OFFERED and first.offered_start_at == local(DAY, 9)
    assert first.offer_expires_at == NOW + dt.timedelta(hours=OFFER_HOURS)
    assert second.state == WaitlistState.WAITING
    assert len(outbox) == 1 and outbox[0]["to"] == first.customer.mobile and "1111" in outbox[0]["text"]
    assert first.offer_letter == LetterLog.objects.get(customer=first.customer)
    # queued by the outbound interface: a sent service SMS of the delivery log
    from aftercare.care.selectors import message_log_search

    rows = list(message_log_search(user=users[Role.CS_MANAGER], customer_id=first.customer_id))
    assert [(r.pk, r.channel, r.status, r.purpose) for r in rows] == [(first.offer_letter_id, "sms", "sent", "service")]


def test_the_first_entry_whose_kinds_fit_is_offered(shop, store_a, advisor, full_day,
                                                    django_capture_on_commit_callbacks):
    KindCap.objects.create(store=store_a, weekday=DAY.weekday(), service_kind=shop["estimate"], cap=0)
    no_fit = _wait(store_a, advisor, [shop["estimate"]], "粤A11111")
    fits = _wait(store_a, advisor, [shop["maintenance"]], "粤A22222")
    with django_capture_on_commit_callbacks(execute=True):
        booking_move(actor=advisor, booking=full_day, start_at=local(DAY + dt.timedelta(days=1), 9))
    no_fit.refresh_from_db()
    fits.refresh_from_db()
    assert no_fit.state == WaitlistState.WAITING and fits.state == WaitlistState.OFFERED


def test_an_expired_offer_passes_to_the_next_and_a_booking_marks_it_booked(shop, store_a, advisor, full_day, outbox,
                                                                           time_machine,
                                                                           django_capture_on_commit_callbacks):
    first = _wait(store_a, advisor, [shop["maintenance"]], "粤A11111")
    second = _wait(store_a, advisor, [shop["maintenance"]], "粤A22222")
    with django_capture_on_commit_callbacks(execute=True):
        booking_cancel(actor=advisor, booking=full_day)
    time_machine.move_to(NOW + dt.timedelta(hours=OFFER_HOURS, minutes=1), tick=False)
    assert waitlist_offers_expire() == 1
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.state == WaitlistState.EXPIRED and second.state == WaitlistState.OFFERED
    booking = book(store_a, advisor, [shop["maintenance"]], second.offered_start_at, customer=second.customer,
                   vehicle=second.vehicle)
    second.refresh_from_db()
    assert second.state == WaitlistState.BOOKED and second.booking == booking


def test_staff_add_to_the_waitlist_from_the_full_day_and_list_it(shop, store_a, advisor, full_day):
    customer, vehicle = customer_with_car(store_a, plate="粤A33333")
    client = Client()
    client.force_login(advisor)
    partial = client.get("/appointments/slots/", {"date": DAY.isoformat(), "kinds": shop["maintenance"].pk,
                                                  "pick": "1"}, **EN).content.decode()
    assert "data-full" in partial and 'formaction="/appointments/waitlist/add/"' in partial
    response = client.post("/appointments/waitlist/add/", {
        "customer": customer.pk, "vehicle": vehicle.pk, "kinds": [shop["maintenance"].pk], "date": DAY.isoformat(),
        "to_waitlist": "1"}, **EN)
    assert response.status_code == 302
    entry = WaitlistEntry.objects.get()
    assert entry.vehicle == vehicle and entry.state == WaitlistState.WAITING
    page = client.get(response["Location"], **EN).content.decode()
    assert f'data-entry="{entry.pk}"' in page
    # twice the same day: a clear error, no second entry
    again = client.post("/appointments/waitlist/add/", {
        "customer": customer.pk, "vehicle": vehicle.pk, "kinds": [shop["maintenance"].pk], "date": DAY.isoformat()},
        **EN)
    assert again.status_code == 400 and "already on the waitlist" in again.content.decode()
    assert client.post(f"/appointments/waitlist/{entry.pk}/cancel/").status_code == 302
    entry.refresh_from_db()
    assert entry.state == WaitlistState.CANCELLED
