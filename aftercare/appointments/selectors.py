"""Scoped reads of appointments. Every selector takes the acting user and reads only the stores they may see.

---- booking pages, waitlist, parts list, start-page card, customer panel (abook) ----"""

import datetime as dt

from django.db.models import Count, Q, Value
from django.http import Http404

from aftercare.complaints.models import DepartmentDesignee
from aftercare.org.calendar import business_day_start
from aftercare.org.choices import DepartmentKind, Role
from aftercare.org.models import Staff
from aftercare.org.permissions import Perm, has_perm
from aftercare.org.scoping import visible_store_ids

from .choices import BookingState
from .models import Booking, WaitlistEntry, WaitlistState


def _scope(user, store_ids=None) -> frozenset[int]:
    ids = visible_store_ids(user)
    return ids if store_ids is None else ids & frozenset(store_ids)


def booking_list(*, user, store_ids=None):
    """The bookings of the stores in scope (narrowed to `store_ids`)."""
    return Booking.objects.filter(store_id__in=_scope(user, store_ids))


def booking_rows(bookings):
    """What a list of bookings shows, in a constant number of queries."""
    return bookings.select_related("store", "customer", "vehicle", "bay", "advisor__staff").prefetch_related("kinds")


def booking_get(*, user, booking_id: int) -> Booking:
    """One booking in scope, or 404."""
    booking = booking_rows(booking_list(user=user)).filter(pk=booking_id).first()
    if booking is None:
        raise Http404
    return booking


def booking_day(bookings, day: dt.date):
    """The bookings starting on the Shanghai day `day`."""
    return bookings.filter(start_at__gte=business_day_start(day),
                           start_at__lt=business_day_start(day + dt.timedelta(days=1)))


def booking_narrow(bookings, *, day: dt.date | None = None, state: str = "", parts: bool = False):
    """The list's filters (the start-page card's links use exactly these)."""
    if day is not None:
        bookings = booking_day(bookings, day)
    if state == "active":
        bookings = bookings.exclude(state=BookingState.CANCELLED)
    elif state == "open":
        bookings = bookings.filter(state__in=(BookingState.BOOKED, BookingState.CONFIRMED))
    elif state:
        bookings = bookings.filter(state=state)
    if parts:
        bookings = bookings.exclude(parts_to_prepare="").exclude(state=BookingState.CANCELLED)
    return bookings.order_by("start_at", "pk")


def booking_customer_rows(*, user, customer, limit: int) -> tuple[list[Booking], list[Booking], int]:
    """The customer's upcoming (soonest first) and past (latest first) bookings, at most `limit` of each, and
    their no-show count, in one query (the customer-360 panel: each row carries the count; no rows, no no-shows)."""
    from django.db.models import IntegerField, OuterRef, Subquery
    from django.db.models.functions import Coalesce
    from django.utils import timezone

    now = timezone.now()
    mine = booking_list(user=user).filter(customer=customer)
    no_shows = (
        booking_list(user=user).filter(customer_id=OuterRef("customer_id"), state=BookingState.NO_SHOW)
        .values("customer_id").annotate(n=Count("pk")).values("n")
    )
    rows = list(
        mine.select_related("vehicle")
        .annotate(no_shows=Coalesce(Subquery(no_shows[:1], output_field=IntegerField()), Value(0)))
        .order_by("-start_at", "-pk")[: 2 * limit]
    )
    upcoming = [b for b in reversed(rows) if b.start_at >= now][:limit]
    past = [b for b in rows if b.start_at < now][:limit]
    return upcoming, past, rows[0].no_shows if rows else 0


def booking_events(booking: Booking):
    return booking.events.select_related("actor__staff").order_by("at", "pk")


def service_advisor_list(*, store_id: int):
    """The store's service advisors (the booking form's advisor choices)."""
    return (
        Staff.objects.filter(stores=store_id, role=Role.SERVICE_ADVISOR, user__is_active=True)
        .select_related("user").order_by("display_name")
    )


def waitlist_list(*, user, store_ids=None):
    return WaitlistEntry.objects.filter(store_id__in=_scope(user, store_ids))


def waitlist_rows(entries):
    return entries.select_related("store", "customer", "vehicle", "booking").prefetch_related("kinds")


def waitlist_narrow(entries, *, day: dt.date | None = None, state: str = "", now=None):
    if day is not None:
        entries = entries.filter(date=day)
    if state == "offered":  # offers pending: not yet expired
        entries = entries.filter(state=WaitlistState.OFFERED, offer_expires_at__gt=now)
    elif state == "open":
        entries = entries.filter(state__in=(WaitlistState.WAITING, WaitlistState.OFFERED))
    elif state:
        entries = entries.filter(state=state)
    return entries.order_by("date", "created_at", "pk")


def parts_store_ids(*, user, store_ids=None) -> frozenset[int]:
    """Stores whose parts list `user` may read: with `appointment.book` those in scope; a parts department's
    designee, the stores of the parts departments they are designee of."""
    scope = _scope(user, store_ids)
    if has_perm(user, Perm.APPOINTMENT_BOOK):
        return scope
    designee_of = DepartmentDesignee.objects.filter(
        user=user, department__kind=DepartmentKind.PARTS, department__store_id__in=scope
    ).values_list("department__store_id", flat=True)
    return frozenset(designee_of)


def parts_booking_list(*, user, store_ids=None):
    """The bookings whose parts list `user` may read (`parts_store_ids`)."""
    return Booking.objects.filter(store_id__in=parts_store_ids(user=user, store_ids=store_ids))


def parts_designees(*, store_id: int) -> list:
    """The users notified of parts to prepare: the designee of the store's parts department."""
    return [d.user for d in DepartmentDesignee.objects.filter(
        department__store_id=store_id, department__kind=DepartmentKind.PARTS).select_related("user")]


def booking_start_counts(*, user, store_ids, now, today: dt.date) -> dict:
    """The start-page card's numbers, in two aggregate queries: today's bookings (not cancelled), tomorrow's
    bookings not yet confirmed (`booked`), and the waitlist offers pending."""
    tomorrow = today + dt.timedelta(days=1)
    bookings = booking_list(user=user, store_ids=store_ids)
    t0, t1, t2 = (business_day_start(today), business_day_start(tomorrow),
                  business_day_start(tomorrow + dt.timedelta(days=1)))
    counts = bookings.aggregate(
        today=Count("pk", filter=Q(start_at__gte=t0, start_at__lt=t1) & ~Q(state=BookingState.CANCELLED)),
        unconfirmed=Count("pk", filter=Q(start_at__gte=t1, start_at__lt=t2, state=BookingState.BOOKED)),
    )
    counts["offers"] = waitlist_narrow(waitlist_list(user=user, store_ids=store_ids), state="offered",
                                       now=now).count()
    return counts
