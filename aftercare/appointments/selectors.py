"""Scoped reads of appointments. Every selector takes the acting user and reads only the stores they may see.

---- the API's reads (aself; the same signatures as the booking pages' selectors, so either copy serves) ----"""

from django.http import Http404

from aftercare.org.scoping import visible_store_ids

from .models import Booking


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


def booking_events(booking: Booking):
    return booking.events.select_related("actor__staff").order_by("at", "pk")
