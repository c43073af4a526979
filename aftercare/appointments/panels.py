"""The customer-360 panel of appointments (`aftercare/customers/panels.py`), registered in
`AppointmentsConfig.ready()`: the customer's upcoming and past bookings with their state, the no-show count and a
"Book" button opening the booking form for the customer."""

from django.utils.translation import gettext_lazy as _

from aftercare.customers.panels import PANEL_ROWS, CustomerPanel, register_panel
from aftercare.org.permissions import Perm

from . import selectors
from .links import book_url


def appointments_context(*, user, customer) -> dict:
    upcoming, past, no_shows = selectors.booking_customer_rows(user=user, customer=customer, limit=PANEL_ROWS)
    return {"upcoming": upcoming, "past": past, "no_shows": no_shows, "book_url": book_url(customer=customer.pk)}


def register() -> None:
    register_panel(
        CustomerPanel(
            key="appointments.bookings",
            title=_("Appointments"),
            template="appointments/_customer_panel.html",
            context=appointments_context,
            order=25,
            permission=(Perm.APPOINTMENT_BOOK, Perm.APPOINTMENT_BOARD),
        )
    )
