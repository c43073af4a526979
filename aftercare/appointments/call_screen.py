"""What appointments adds to the follow-up call screen (`aftercare.followups.registry`, registered in
`AppointmentsConfig.ready()`): on any call (follow-up, renewal, reminder), "Book a visit" opening the booking form
for the call's customer and vehicle, the booking linked to the task (`source=call`); and the customer's next
booking, if any."""

from django.utils import timezone

from aftercare.followups.registry import CallPanel, call_panel_register
from aftercare.org.permissions import Perm, has_perm

from . import selectors
from .choices import BookingState
from .links import book_url, booking_url


def booking_call_context(*, user, task) -> dict | None:
    if not has_perm(user, Perm.APPOINTMENT_BOOK):
        return None
    params = {"customer": task.customer_id, "task": task.pk}
    if task.vehicle_id:
        params["vehicle"] = task.vehicle_id
    upcoming = (
        selectors.booking_rows(selectors.booking_list(user=user).filter(
            customer_id=task.customer_id, start_at__gte=timezone.now(),
            state__in=(BookingState.BOOKED, BookingState.CONFIRMED)))
        .order_by("start_at").first()
    )
    return {"book_url": book_url(**params), "upcoming": upcoming,
            "upcoming_url": booking_url(upcoming.pk) if upcoming else ""}


def register() -> None:
    call_panel_register(
        CallPanel(name="appointments.book", template="appointments/_call_book.html", context=booking_call_context)
    )
