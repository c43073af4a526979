"""The appointment card of the start page (`aftercare/org/start.py`), registered in `AppointmentsConfig.ready()`:
today's appointments, tomorrow's not yet confirmed, and the waitlist offers pending, each linked to the list that
shows exactly those rows (`selectors.booking_start_counts`, `booking_narrow`, `waitlist_narrow`)."""

from django.utils.translation import gettext_lazy as _

from aftercare.org.calendar import business_date
from aftercare.org.choices import Role
from aftercare.org.glance import GlanceKpi, register_glance
from aftercare.org.permissions import Perm
from aftercare.org.start import CardData, CardRow, StartCard, register_card

from . import selectors
from .links import booking_list_url, waitlist_url


def appointments_today(*, user, store_ids, now) -> CardData:
    today = business_date(now)
    tomorrow = today.fromordinal(today.toordinal() + 1)
    n = selectors.booking_start_counts(user=user, store_ids=store_ids, now=now, today=today)
    return CardData(
        rows=(
            CardRow(_("Appointments today"), n["today"], booking_list_url(date=today.isoformat(), state="active"),
                    "info"),
            CardRow(_("Tomorrow, not yet confirmed"), n["unconfirmed"],
                    booking_list_url(date=tomorrow.isoformat(), state="booked"), "warning"),
            CardRow(_("Waitlist offers pending"), n["offers"], waitlist_url(state="offered"), "warning"),
        )
    )


def register() -> None:
    # the key KPIs of the managers' "store at a glance" (org/glance.py), linked to the page of their rows
    register_glance(GlanceKpi(code="appointments.appointment_rate", url_name="appointments:measures", order=30))
    register_card(
        StartCard(
            key="appointments.today",
            title=_("Appointments"),
            data=appointments_today,
            order=12,
            permission=Perm.APPOINTMENT_BOOK,
            roles=(Role.SERVICE_ADVISOR, Role.CS_SPECIALIST, Role.CS_MANAGER, Role.STORE_MANAGER, Role.GROUP_ADMIN),
        )
    )
