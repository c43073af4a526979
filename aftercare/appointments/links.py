"""Links of the appointment pages, and the customer's self-booking links put into the SMS.

The customer's self-booking link (★): a signed, expiring URL to `/b/<token>/`, where the customer confirms, moves
or cancels the booking without logging in (`appointments/views/self_booking.py`). The token is the booking's
random nonce (`SelfBookingLink`), signed with `django.core.signing.TimestampSigner`: no id in the URL, a changed
character fails the signature, and a link expires `SELF_BOOKING_LINK_HOURS` after it was signed (and never outlives
the appointment's start). Revoking the nonce (on cancel) kills every link sent."""

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlencode

from axes.helpers import get_client_ip_address
from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac

from .choices import BookingState
from .models import SelfBookingHit, SelfBookingLink


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


# ---- reading a self-booking token, the page's rate limits ----
# `self_booking_resolve(token)` answers the link or why it is refused: `bad` (tampered, unknown, malformed: nothing
# is read, no store is known), `cancelled` (the booking was cancelled or the link revoked: a reused link), `expired`
# (older than `SELF_BOOKING_LINK_HOURS`), `closed` (the appointment has started, arrived or was missed).
#
# Rate limits (`self_booking_admit`): each link and each client address may use the page
# `SELF_BOOKING_HITS_PER_LINK` / `SELF_BOOKING_HITS_PER_ADDRESS` times in `SELF_BOOKING_WINDOW_MINUTES`; the address
# is kept only as a keyed hash (`salted_hmac`), in `SelfBookingHit`, whose old rows are deleted as new ones come.

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


# ---- what the customer sees: the first name (surname) and the plate's tail, nothing else ----

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


def plate_tail(plate: str, length: int = PLATE_TAIL) -> str:
    """The last `length` characters of a plate (spaces around it left out): the self-booking page shows
    `PLATE_TAIL`, the SMS `messages.SMS_PLATE_TAIL` — they name no more of the vehicle."""
    return (plate or "").strip()[-length:]
