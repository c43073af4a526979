"""The booking pages: the month calendar and a day's free starts, the booking form (from the customer page and the
call screen), a start taken meanwhile, the booking page with move, cancel and history, the day's list, the parts
list and the parts department's notice, the start-page card and the customer-360 panel; constant queries."""

import re

import pytest
from django.test import Client

from aftercare.appointments import cards
from aftercare.appointments.choices import BookingSource, BookingState
from aftercare.appointments.models import Booking, DayOverride, WaitlistEntry, WaitlistState
from aftercare.core.models import Notification
from aftercare.followups import registry
from aftercare.followups.choices import FollowupKind, SubjectType
from aftercare.followups.models import FollowupTask
from aftercare.followups.services.rules import followup_rules_seed_defaults
from aftercare.org.choices import DepartmentKind, Role
from aftercare.testing import factories as f

from .abook_helpers import DAY, NOW, TODAY, book, customer_with_car, local

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def advisor(users):
    return users[Role.SERVICE_ADVISOR]


def _post_book(client, customer, vehicle, kinds, at, **extra):
    data = {"customer": customer.pk, "vehicle": vehicle.pk, "kinds": [k.pk for k in kinds],
            "date": DAY.isoformat(), "start_at": at.isoformat(), **extra}
    return client.post("/appointments/book/", data, **EN)


def test_it_shows_the_month_with_free_starts_closed_days_and_full_days(shop, store_a, advisor,
                                                                      django_assert_max_num_queries):
    DayOverride.objects.create(store=store_a, date=TODAY.replace(day=20), closed=True, note="盘点")
    DayOverride.objects.create(store=store_a, date=DAY, daily_cap=1)
    book(store_a, advisor, [shop["maintenance"]], local(DAY, 9))
    client = client_for(advisor)
    with django_assert_max_num_queries(20):
        response = client.get("/appointments/", {"kinds": shop["maintenance"].pk}, **EN)
    html = response.content.decode()
    assert response.status_code == 200
    assert re.search(r'data-day="2026-12-20">.*?Closed that day', html, re.S)
    assert re.search(r'data-day="2026-12-08">.*?data-full>Full', html, re.S)
    assert re.search(r'data-day="2026-12-09">.*?data-free>17 free starts', html, re.S)  # 08:30 … 16:30, 60 min
    # another month: the same queries
    with django_assert_max_num_queries(20):
        assert client.get("/appointments/", {"month": "2027-01"}, **EN).status_code == 200


def test_it_shows_a_days_free_starts_for_the_kinds_chosen(shop, store_a, advisor):
    response = client_for(advisor).get("/appointments/slots/", {"date": "2026-12-09", "kinds": shop["estimate"].pk,
                                                                "pick": "1"}, **EN)
    html = response.content.decode()
    assert 'data-free-count="18"' in html  # 30 min, the general bay only, 08:30 … 17:00
    assert f'value="{local(DAY.replace(day=9), 8, 30).isoformat()}"' in html


def test_it_books_from_the_customer_page_and_shows_the_booking(shop, store_a, advisor, outbox):
    customer, vehicle = customer_with_car(store_a)
    client = client_for(advisor)
    page = client.get(f"/customers/{customer.pk}/", **EN).content.decode()
    assert f'href="/appointments/book/?customer={customer.pk}"' in page  # the panel's "Book" button
    assert client.get(f"/appointments/book/?customer={customer.pk}", **EN).status_code == 200
    response = _post_book(client, customer, vehicle, [shop["maintenance"]], local(DAY, 9),
                          notes="客户要求洗车", advisor=advisor.pk)
    booking = Booking.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/appointments/{booking.pk}/"
    assert booking.source == BookingSource.CUSTOMER_PAGE and booking.advisor == advisor
    detail = client.get(response["Location"], **EN).content.decode()
    assert "客户要求洗车" in detail and 'data-event="created"' in detail
    panel = client.get(f"/customers/{customer.pk}/", **EN).content.decode()
    assert f'data-booking="{booking.pk}" data-upcoming' in panel and 'data-no-shows="0"' in panel
    missed = book(store_a, advisor, [shop["maintenance"]], local(TODAY, 15), customer=customer, vehicle=vehicle)
    Booking.objects.filter(pk=missed.pk).update(state=BookingState.NO_SHOW, start_at=local(TODAY, 8))
    panel = client.get(f"/customers/{customer.pk}/", **EN).content.decode()
    assert f'data-booking="{missed.pk}" data-past' in panel and 'data-no-shows="1"' in panel


def test_it_books_from_the_call_screen_with_the_task(shop, store_a, users, outbox):
    specialist = users[Role.CS_SPECIALIST]
    customer, vehicle = customer_with_car(store_a)
    rule = followup_rules_seed_defaults(store_a)[0]
    task = FollowupTask.objects.create(
        store=store_a, rule=rule, kind=FollowupKind.RENEWAL, subject_type=SubjectType.RENEWAL_CONTACT, subject_id=1,
        customer=customer, vehicle=vehicle, event_at=NOW, due_at=NOW, status="claimed", claimed_by=specialist,
        claimed_at=NOW,
    )
    panels = [p for p in registry.call_panels(user=specialist, task=task) if p["template"].startswith("appointments")]
    assert panels and f"task={task.pk}" in panels[0]["book_url"] and f"vehicle={vehicle.pk}" in panels[0]["book_url"]
    response = _post_book(client_for(specialist), customer, vehicle, [shop["maintenance"]], local(DAY, 10),
                          task=task.pk)
    assert response.status_code == 302
    booking = Booking.objects.get()
    assert booking.followup_task == task and booking.source == BookingSource.CALL


def test_it_shows_a_clear_message_and_the_next_free_starts_when_the_start_was_taken(shop, store_a, advisor):
    book(store_a, advisor, [shop["maintenance"]], local(DAY, 9))
    book(store_a, advisor, [shop["maintenance"]], local(DAY, 9))  # both bays at 09:00 now
    customer, vehicle = customer_with_car(store_a)
    response = _post_book(client_for(advisor), customer, vehicle, [shop["maintenance"]], local(DAY, 9))
    html = response.content.decode()
    assert response.status_code == 409
    assert "This start was taken meanwhile" in html and 'id="next-free"' in html
    assert f'value="{local(DAY, 10).isoformat()}"' in html
    assert Booking.objects.count() == 2


@pytest.mark.parametrize("start", ["", "tomorrow at nine", "2026-12-08T09:00:00"])
def test_it_answers_bad_input_with_a_field_error(shop, store_a, advisor, start):
    customer, vehicle = customer_with_car(store_a)
    response = client_for(advisor).post(
        "/appointments/book/", {"customer": customer.pk, "vehicle": vehicle.pk, "kinds": ["x"], "date": "2026-13-01",
                                "start_at": start}, **EN)
    assert response.status_code == 400
    assert "is-invalid" in response.content.decode()
    assert not Booking.objects.exists()


def test_it_moves_and_cancels_and_keeps_the_history(shop, store_a, advisor):
    booking = book(store_a, advisor, [shop["maintenance"]], local(DAY, 9))
    client = client_for(advisor)
    response = client.get(f"/appointments/{booking.pk}/", {"date": "2026-12-09"}, **EN)
    assert 'class="form-control"' in str(response.context["move_form"]["start_at"])
    page = response.content.decode()
    assert f'value="{local(DAY.replace(day=9), 11).isoformat()}"' in page
    response = client.post(f"/appointments/{booking.pk}/move/",
                           {"start_at": local(DAY.replace(day=9), 11).isoformat()}, **EN)
    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.start_at == local(DAY.replace(day=9), 11)
    assert client.post(f"/appointments/{booking.pk}/cancel/", {"reason": ""}, **EN).status_code == 400
    response = client.post(f"/appointments/{booking.pk}/cancel/", {"reason": "客户出差"}, **EN)
    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.state == BookingState.CANCELLED
    assert list(booking.events.values_list("kind", flat=True)) == ["created", "moved", "cancelled"]
    page = client.get(f"/appointments/{booking.pk}/", **EN).content.decode()
    assert "客户出差" in page and 'data-event="moved"' in page and 'id="move-form"' not in page


def test_it_refuses_another_stores_booking_and_customer(shop, store_a, store_b, advisor):
    other = f.StaffFactory(group=store_b.group, role=Role.SERVICE_ADVISOR, stores=[store_b]).user
    booking = book(store_a, advisor, [shop["maintenance"]], local(DAY, 9))
    client = client_for(other)
    assert client.get(f"/appointments/{booking.pk}/").status_code == 404
    assert client.post(f"/appointments/{booking.pk}/cancel/", {"reason": "x"}).status_code == 404
    assert client.get(f"/appointments/book/?customer={booking.customer_id}").status_code == 404
    assert client.get("/appointments/", {"store": store_a.pk}).status_code == 404


def test_it_lists_the_days_parts_and_notifies_the_parts_designee(shop, store_a, advisor, users, outbox):
    from aftercare.complaints.models import DepartmentDesignee

    parts = f.DepartmentFactory(store=store_a, kind=DepartmentKind.PARTS, name="配件部")
    designee = f.StaffFactory(group=store_a.group, role=Role.DEPARTMENT_DESIGNEE, stores=[store_a],
                              department=parts).user
    DepartmentDesignee.objects.create(store=store_a, department=parts, user=designee)
    customer, vehicle = customer_with_car(store_a)
    _post_book(client_for(advisor), customer, vehicle, [shop["maintenance"]], local(DAY, 9),
               parts_to_prepare="机油滤芯 ×1")
    book(store_a, advisor, [shop["maintenance"]], local(DAY, 10))  # no parts: neither listed nor notified
    note = Notification.objects.get()
    assert note.recipient == designee and note.link == "/appointments/parts/?date=2026-12-08"
    page = client_for(designee).get(note.link, **EN).content.decode()
    assert page.count("data-booking=") == 1 and "机油滤芯" in page
    # a designee of another department may not read it
    body = f.DepartmentFactory(store=store_a, kind=DepartmentKind.SERVICE_BODY, name="钣喷")
    other = f.StaffFactory(group=store_a.group, role=Role.DEPARTMENT_DESIGNEE, stores=[store_a], department=body).user
    DepartmentDesignee.objects.create(store=store_a, department=body, user=other)
    assert client_for(other).get(note.link).status_code == 403


def test_the_cards_numbers_are_the_lists_they_link_to(shop, store_a, advisor, django_assert_max_num_queries):
    book(store_a, advisor, [shop["maintenance"]], local(TODAY, 15))
    book(store_a, advisor, [shop["maintenance"]], local(TODAY, 16))
    cancelled = book(store_a, advisor, [shop["maintenance"]], local(TODAY, 11))
    Booking.objects.filter(pk=cancelled.pk).update(state=BookingState.CANCELLED)  # counted nowhere
    book(store_a, advisor, [shop["maintenance"]], local(DAY, 9))
    confirmed = book(store_a, advisor, [shop["maintenance"]], local(DAY, 10))
    Booking.objects.filter(pk=confirmed.pk).update(state=BookingState.CONFIRMED)
    customer, vehicle = customer_with_car(store_a, plate="粤A77777")
    WaitlistEntry.objects.create(store=store_a, customer=customer, vehicle=vehicle, date=DAY,
                                 state=WaitlistState.OFFERED, offered_start_at=local(DAY, 11),
                                 offer_expires_at=local(TODAY, 14))
    with django_assert_max_num_queries(3):
        data = cards.appointments_today(user=advisor, store_ids=[store_a.pk], now=NOW)
    assert [r.count for r in data.rows] == [2, 1, 1]
    client = client_for(advisor)
    for row in data.rows:
        html = client.get(row.url, **EN).content.decode()
        assert html.count("data-booking=") + html.count("data-entry=") == row.count, row.url
    start = client.get("/today/", **EN).content.decode()
    assert "Appointments today" in start


def test_the_list_runs_the_same_queries_for_more_bookings(shop, store_a, advisor, django_assert_num_queries):
    client = client_for(advisor)
    for hour in (9, 10):
        book(store_a, advisor, [shop["maintenance"]], local(DAY, hour))
    client.get("/appointments/list/", {"date": DAY.isoformat()})  # warm the session and caches

    def count():
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            response = client.get("/appointments/list/", {"date": DAY.isoformat()})
        assert response.status_code == 200
        return len(ctx.captured_queries)

    few = count()
    for hour in (11, 12, 13, 14):
        book(store_a, advisor, [shop["maintenance"]], local(DAY, hour), advisor=advisor)
    assert count() == few
