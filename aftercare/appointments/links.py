"""Links of the appointment pages, and the customer's self-booking links put into the SMS.

The customer's self-booking link (★): a signed, expiring URL to `/b/<token>/`, where the customer confirms, moves
or cancels the booking without logging in (`appointments/self_views.py`). The token is the booking's random nonce
(`SelfBookingLink`), signed with `django.core.signing.TimestampSigner`: no id in the URL, a changed character fails
the signature, and a link expires `SELF_BOOKING_LINK_HOURS` after it was signed (and never outlives the
appointment's start). Revoking the nonce (on cancel) kills every link sent."""

import datetime as dt
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from .choices import BookingState


def booking_url(booking_id: int) -> str:
    return reverse("appointments:detail", args=[booking_id])


def booking_list_url(**params) -> str:
    return reverse("appointments:list") + (f"?{urlencode(params)}" if params else "")


def waitlist_url(**params) -> str:
    return reverse("appointments:waitlist") + (f"?{urlencode(params)}" if params else "")


def parts_url(day: dt.date | None = None) -> str:
    return reverse("appointments:parts") + (f"?date={day.isoformat()}" if day else "")


def book_url(**params) -> str:
    return reverse("appointments:book") + (f"?{urlencode(params)}" if params else "")


SALT = "aftercare.appointments.self_booking"
SEP = "."  # not in the signature's URL-safe base64 alphabet, and safe in a path

OPEN_STATES = (BookingState.BOOKED, BookingState.CONFIRMED)


def signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=SALT, sep=SEP)


def link_max_age() -> dt.timedelta:
    return dt.timedelta(hours=settings.SELF_BOOKING_LINK_HOURS)


def self_booking_token(nonce: str) -> str:
    return signer().sign(nonce)


def self_booking_url(booking) -> str | None:
    """The absolute self-booking URL for the customer's SMS, or None: no public address configured
    (`PUBLIC_BASE_URL`), or the booking is no longer open or has started. Issues the booking's link (one nonce a
    booking, reused by every SMS) — call it inside the sending transaction."""
    if not settings.PUBLIC_BASE_URL or booking.state not in OPEN_STATES or booking.start_at <= timezone.now():
        return None
    from .services.selfbooking import self_booking_link_issue

    link = self_booking_link_issue(booking=booking)
    if link.revoked_at is not None:
        return None
    path = reverse("self_booking:page", kwargs={"token": self_booking_token(link.nonce)})
    return settings.PUBLIC_BASE_URL + path
