"""What the customer does through the self-booking link (`appointments/links.py`, `appointments/views/self_booking.py`):
confirm, move within the free slots of the next days, or cancel — each audited with the booking and no personal
data (`detail.via = "self_link"`). The customer has no user: `actor` is None in the booking's history."""

import datetime as dt
import secrets

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from aftercare.core.choices import AuditAction
from aftercare.core.services import audit_event_record
from aftercare.org.calendar import business_date
from aftercare.org.permissions import Perm, require_perm
from aftercare.org.scoping import own_store_ids

from ..choices import BookingEventKind, BookingState
from ..models import Booking, BookingEvent, SelfBookingLink
from .booking import booking_cancel, booking_move

# the customer moves the booking within this many days from today (the page lists them)
MOVE_DAYS = 14
VIA = "self_link"


def self_booking_link_issue(*, booking: Booking) -> SelfBookingLink:
    """The booking's link (made once; every SMS of the booking signs the same nonce)."""
    link = SelfBookingLink.objects.filter(booking_id=booking.pk).first()
    if link is not None:
        return link
    try:
        with transaction.atomic():
            link = SelfBookingLink.objects.create(booking=booking, store_id=booking.store_id,
                                                  nonce=secrets.token_urlsafe(9))
            audit_event_record(actor=None, action=AuditAction.CREATE, obj=link, store_id=booking.store_id,
                               detail={"booking": booking.pk})
    except IntegrityError:  # issued concurrently for the same booking
        link = SelfBookingLink.objects.get(booking_id=booking.pk)
    return link


def booking_confirm(*, actor, booking: Booking) -> Booking:
    """The customer confirms they will come (state `confirmed`, an event). `actor` None: the customer through the
    link; otherwise a booker of the store (e.g. confirmed on the phone). Confirming twice changes nothing."""
    if actor is not None:
        require_perm(actor, Perm.APPOINTMENT_BOOK)
        if booking.store_id not in own_store_ids(actor):
            raise PermissionDenied
    if booking.state == BookingState.CONFIRMED:
        return booking
    if booking.state != BookingState.BOOKED:
        raise ValidationError({"state": _("Only an open booking can be confirmed.")})
    with transaction.atomic():
        changed = Booking.objects.filter(pk=booking.pk, state=BookingState.BOOKED).update(
            state=BookingState.CONFIRMED, updated_at=timezone.now()
        )
        booking.state = BookingState.CONFIRMED
        if changed:
            BookingEvent.objects.create(booking=booking, kind=BookingEventKind.CONFIRMED, actor=actor,
                                        detail={"via": VIA} if actor is None else {})
            audit_event_record(actor=actor, action=AuditAction.UPDATE, obj=booking, changed_fields=["state"],
                               detail={"via": VIA} if actor is None else {})
    return booking


def self_booking_use_record(*, link: SelfBookingLink | None, what: str, why: str = "") -> None:
    """Audit one use of the page: the booking (when the token named one), what was done or why it was refused."""
    detail = {"via": VIA, "what": what}
    if why:
        detail["refused"] = why
    if link is None:
        audit_event_record(actor=None, action=AuditAction.VIEW, object_type=Booking._meta.label_lower, detail=detail)
    else:
        audit_event_record(actor=None, action=AuditAction.VIEW, object_type=Booking._meta.label_lower,
                           object_id=link.booking_id, store_id=link.store_id, detail=detail)


def self_booking_confirm(*, link: SelfBookingLink) -> Booking:
    booking = booking_confirm(actor=None, booking=link.booking)
    self_booking_use_record(link=link, what="confirm")
    return booking


def self_booking_move(*, link: SelfBookingLink, start_at: dt.datetime, today: dt.date | None = None) -> Booking:
    """Move to a free start of its kinds within the next `MOVE_DAYS` days (raises `SlotTaken` when it was taken
    meanwhile). The booking stays confirmed if it was."""
    if timezone.is_naive(start_at):
        raise ValidationError({"start": _("Choose one of the times shown.")})
    today = today or business_date()
    if not today <= business_date(start_at) < today + dt.timedelta(days=MOVE_DAYS):
        raise ValidationError({"start": _("Choose one of the times shown.")})
    with transaction.atomic():
        booking = booking_move(actor=None, booking=link.booking, start_at=start_at)
        self_booking_use_record(link=link, what="move")
    return booking


def self_booking_cancel(*, link: SelfBookingLink) -> Booking:
    """Cancel the booking and revoke the link (a reused link shows "cancelled")."""
    with transaction.atomic():
        booking = booking_cancel(actor=None, booking=link.booking, reason=str(_("Cancelled by the customer online")))
        SelfBookingLink.objects.filter(pk=link.pk).update(revoked_at=timezone.now())
        self_booking_use_record(link=link, what="cancel")
    return booking
