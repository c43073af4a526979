"""Reading a self-booking token and the page's rate limits (`appointments/links.py`, `self_views.py`).

`self_booking_resolve(token)` answers the link or why it is refused: `bad` (tampered, unknown, malformed: nothing
is read, no store is known), `cancelled` (the booking was cancelled or the link revoked: a reused link), `expired`
(older than `SELF_BOOKING_LINK_HOURS`), `closed` (the appointment has started, arrived or was missed).

Rate limits (`self_booking_admit`): each link and each client address may use the page
`SELF_BOOKING_HITS_PER_LINK` / `SELF_BOOKING_HITS_PER_ADDRESS` times in `SELF_BOOKING_WINDOW_MINUTES`; the address
is kept only as a keyed hash (`salted_hmac`), in `SelfBookingHit`, whose old rows are deleted as new ones come.
"""

import datetime as dt
from dataclasses import dataclass

from axes.helpers import get_client_ip_address
from django.conf import settings
from django.core import signing
from django.utils import timezone
from django.utils.crypto import salted_hmac

from .choices import BookingState
from .links import OPEN_STATES, link_max_age, signer
from .models import SelfBookingHit, SelfBookingLink

MAX_TOKEN = 200


@dataclass
class Resolved:
    link: SelfBookingLink | None
    refused: str = ""  # "", "bad", "expired", "cancelled", "closed"


def _link(nonce: str) -> SelfBookingLink | None:
    return (
        SelfBookingLink.objects.select_related("booking", "booking__vehicle", "booking__customer", "store",
                                               "store__appointment_settings")
        .filter(nonce=nonce).first()
    )


def self_booking_resolve(token: str, *, now: dt.datetime | None = None) -> Resolved:
    now = now or timezone.now()
    if not token or len(token) > MAX_TOKEN:
        return Resolved(None, "bad")
    try:
        nonce = signer().unsign(token, max_age=link_max_age())
        expired = False
    except signing.SignatureExpired:
        nonce, expired = signer().unsign(token), True
    except signing.BadSignature:
        return Resolved(None, "bad")
    link = _link(nonce)
    if link is None:
        return Resolved(None, "bad")
    booking = link.booking
    if link.revoked_at is not None or booking.state == BookingState.CANCELLED:
        return Resolved(link, "cancelled")
    if expired:
        return Resolved(link, "expired")
    if booking.state not in OPEN_STATES or booking.start_at <= now:
        return Resolved(link, "closed")
    return Resolved(link)


def address_bucket(request) -> str:
    address = get_client_ip_address(request) or ""
    return "a:" + salted_hmac("aftercare.appointments.self_booking.address", address).hexdigest()[:40]


def link_bucket(link: SelfBookingLink) -> str:
    return f"l:{link.pk}"


def _window(now: dt.datetime) -> dt.datetime:
    return now - dt.timedelta(minutes=settings.SELF_BOOKING_WINDOW_MINUTES)


def self_booking_limited(buckets: dict[str, int], *, now: dt.datetime | None = None) -> bool:
    """Whether any bucket has reached its limit in the window."""
    since = _window(now or timezone.now())
    return any(SelfBookingHit.objects.filter(bucket=b, at__gte=since).count() >= n for b, n in buckets.items())


def self_booking_hit_record(buckets, *, now: dt.datetime | None = None) -> None:
    now = now or timezone.now()
    SelfBookingHit.objects.bulk_create([SelfBookingHit(bucket=b, at=now) for b in buckets])
    SelfBookingHit.objects.filter(at__lt=_window(now)).delete()  # every bucket's: one-time addresses too


def self_booking_admit(request, link: SelfBookingLink | None, *, now: dt.datetime | None = None) -> bool:
    """Count this use against the client address (and the link); False (nothing counted) when either is at its
    limit."""
    buckets = {address_bucket(request): settings.SELF_BOOKING_HITS_PER_ADDRESS}
    if link is not None:
        buckets[link_bucket(link)] = settings.SELF_BOOKING_HITS_PER_LINK
    if self_booking_limited(buckets, now=now):
        return False
    self_booking_hit_record(buckets, now=now)
    return True


# ---- what the customer sees: the first name (surname) and the plate's tail, nothing else ------------------------

COMPOUND_SURNAMES = ("欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒",
                     "夏侯", "轩辕", "令狐", "钟离", "端木", "独孤", "南宫", "西门")
COMPANY_WORDS = ("公司", "集团", "有限", "中心", "厂", "局", "院", "店", "部")
PLATE_TAIL = 3


def surname(name: str) -> str:
    """The family name of a Chinese personal name (the first character, or a compound surname); a Latin name's first
    word; "" for a company or an empty name."""
    name = (name or "").strip()
    if not name or any(w in name for w in COMPANY_WORDS):
        return ""
    if name.isascii():
        return name.split()[0][:30]
    if len(name) > 5:
        return ""
    for compound in COMPOUND_SURNAMES:
        if name.startswith(compound) and len(name) > 2:
            return compound
    return name[0]


def plate_tail(plate: str) -> str:
    return (plate or "")[-PLATE_TAIL:]
