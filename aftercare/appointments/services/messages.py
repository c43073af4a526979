"""SMS about bookings: the confirmation when a booking is made and the reminder the day before
(`manage.py appointment_reminders_send`, daily). Each is queued by the one outbound interface,
`followups.services.outbound.message_send` (purpose `service`: never held by quiet hours nor capped), a row of the
letter log (kind `notice`, the delivery log) like the renewal reminders, and a `BookingMessage` row, unique per
booking, kind and start: a booking is confirmed and reminded once per start.

Only to customers who accept service calls (`Customer.consent_service_calls`) and have a mobile; a booking
imported from the store's list gets no confirmation (the customer booked it before), but its reminder.

Idempotent: the message, its letter and `Booking.reminded_on` are written in one transaction, the SMS sent after
the commit; a rerun makes no reminder twice and sends the letters a killed run left unsent."""

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext

from aftercare.followups.choices import LetterChannel, LetterKind, LetterStatus, MessagePurpose
from aftercare.followups.services.outbound import letter_deliver, message_send
from aftercare.org.calendar import business_date, business_day_start, business_tz

from ..choices import BookingSource, BookingState
from ..links import plate_tail, self_booking_url
from ..models import Booking, BookingMessage, BookingMessageKind

CHUNK = 500
RESEND_DAYS = 1  # pending reminders of a killed run are sent on rerun the same or the next day, never later


SMS_PLATE_TAIL = 4  # the SMS names the vehicle by the last four characters of its plate


def _when(at: dt.datetime) -> str:
    return f"{timezone.localtime(at, business_tz()):%Y-%m-%d %H:%M}"


def _with_link(text: str, link: str | None) -> str:
    if link:
        text += " " + gettext("Confirm, move or cancel: %(link)s") % {"link": link}
    return text


def confirmation_text(booking: Booking) -> str:
    """The confirmation SMS in the site's language (Chinese): store, time, plate tail, the self-booking link."""
    with translation.override(settings.LANGUAGE_CODE):
        text = gettext(
            "[%(store)s] Your service appointment is booked: %(time)s, vehicle ending %(tail)s. See you then."
        ) % {"store": booking.store.name, "time": _when(booking.start_at),
             "tail": plate_tail(booking.vehicle.plate, SMS_PLATE_TAIL)}
        return _with_link(text, self_booking_url(booking))


def reminder_text(booking: Booking) -> str:
    """The reminder SMS the day before, in the site's language (Chinese)."""
    with translation.override(settings.LANGUAGE_CODE):
        text = gettext(
            "[%(store)s] Reminder: your service appointment is tomorrow, %(time)s, vehicle ending %(tail)s."
        ) % {"store": booking.store.name, "time": _when(booking.start_at),
             "tail": plate_tail(booking.vehicle.plate, SMS_PLATE_TAIL)}
        return _with_link(text, self_booking_url(booking))


def may_text(customer) -> bool:
    """Whether the customer gets SMS about bookings: accepts service calls and has a mobile."""
    return bool(customer.consent_service_calls and customer.mobile)


def booking_sms_send(*, customer, store, text: str, rules_by_store: dict | None = None):
    """Queue one SMS about a booking through the outbound interface (a service message, sent after the caller's
    transaction commits); returns its row of the letter log."""
    return message_send(customer=customer, store=store, purpose=MessagePurpose.SERVICE, channel=LetterChannel.SMS,
                        kind=LetterKind.NOTICE, text=text, rules_by_store=rules_by_store)


def booking_confirmation_make(*, booking: Booking) -> BookingMessage | None:
    """The confirmation of a booking just made (inside its transaction): the message and its pending letter now,
    the SMS after the commit. None when the customer gets no SMS or the booking was imported."""
    if booking.source == BookingSource.IMPORT or not may_text(booking.customer):
        return None
    with transaction.atomic():
        message, created = BookingMessage.objects.get_or_create(
            booking=booking, kind=BookingMessageKind.CONFIRMATION, start_at=booking.start_at,
            defaults={"sent_on": business_date()},
        )
        if not created:  # confirmed for this start already: no second SMS
            return message
        message.letter = booking_sms_send(customer=booking.customer, store=booking.store,
                                          text=confirmation_text(booking))
        message.save(update_fields=["letter"])
    return message


def _due(tomorrow: dt.date):
    return (
        Booking.objects.filter(
            state__in=(BookingState.BOOKED, BookingState.CONFIRMED), reminded_on__isnull=True,
            start_at__gte=business_day_start(tomorrow),
            start_at__lt=business_day_start(tomorrow + dt.timedelta(days=1)),
            customer__consent_service_calls=True,
        )
        .exclude(customer__mobile="")
        .select_related("store", "vehicle", "customer")
        .order_by("pk")
    )


def _make(today: dt.date) -> int:
    """Reminders and their pending letters, a chunk per transaction; returns how many were made."""
    tomorrow = today + dt.timedelta(days=1)
    made = 0
    while True:
        with transaction.atomic():
            bookings = list(_due(tomorrow)[:CHUNK])
            if not bookings:
                return made
            BookingMessage.objects.bulk_create(
                [BookingMessage(booking=b, kind=BookingMessageKind.REMINDER, start_at=b.start_at, sent_on=today)
                 for b in bookings],
                ignore_conflicts=True,
            )
            # the rows this run inserted (a concurrent run's are committed with their letters)
            by_id = {b.pk: b for b in bookings}
            mine = list(
                BookingMessage.objects.select_for_update().filter(
                    booking_id__in=list(by_id), kind=BookingMessageKind.REMINDER, letter__isnull=True
                )
            )
            mine = [m for m in mine if m.start_at == by_id[m.booking_id].start_at]
            rules_by_store = {}  # each store's sending rules read once a chunk
            for message in mine:
                booking = by_id[message.booking_id]
                message.letter = booking_sms_send(customer=booking.customer, store=booking.store,
                                                  text=reminder_text(booking), rules_by_store=rules_by_store)
            BookingMessage.objects.bulk_update(mine, ["letter"])
            # every booking of the chunk is done (reminded now, or earlier for this start): never picked again
            Booking.objects.filter(pk__in=list(by_id)).update(reminded_on=today)
            made += len(mine)


def _send_pending(today: dt.date) -> int:
    pending = (
        BookingMessage.objects.filter(kind=BookingMessageKind.REMINDER, letter__status=LetterStatus.PENDING,
                                      sent_on__gte=today - dt.timedelta(days=RESEND_DAYS))
        .order_by("letter_id").values_list("letter_id", flat=True)
    )
    rules_by_store = {}  # each store's rules read once
    return sum(1 for letter_id in list(pending) if letter_deliver(letter_id=letter_id, rules_by_store=rules_by_store))


def appointment_reminders_send(*, today: dt.date | None = None) -> int:
    """Remind the customers booked for the day after `today` (Asia/Shanghai; default today) and send the SMS.
    Returns how many reminders were made; a rerun makes none twice."""
    today = today or business_date()
    made = _make(today)
    _send_pending(today)
    return made
