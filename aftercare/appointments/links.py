"""Links of the appointment pages, and the customer's self-booking links put into the SMS.

`self_booking_url(booking)` and `waitlist_offer_url(entry)` answer None until the self-booking link is built:
that part replaces their bodies with a signed, expiring link; the SMS (`services/messages.py`,
`services/waitlist.py`) then carries it."""

import datetime as dt
from urllib.parse import urlencode

from django.urls import reverse


def self_booking_url(booking) -> str | None:
    """The customer's link to confirm, move or cancel `booking` (absolute), or None (no link in the SMS)."""
    return None


def waitlist_offer_url(entry) -> str | None:
    """The customer's link to take the start a waitlist entry is offered, or None (no link in the SMS)."""
    return None


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
