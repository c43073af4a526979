import datetime as dt

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AppointmentsConfig(AppConfig):
    name = "aftercare.appointments"
    label = "appointments"
    verbose_name = _("service appointments")

    def ready(self):
        """Receivers, jobs, start-page card, customer panel, call-screen panel and KPI measures."""
        from aftercare.core.schedule import Job, register

        from . import receivers  # noqa: F401  (connects the receivers)
        from .call_screen import register as register_call_panel
        from .cards import register as register_cards
        from .kpis import register_measures
        from .panels import register as register_panel

        desc = _("Appointments missed beyond the grace become no-shows")
        register(Job("appointments_no_show", app=self.label, at=(":05", ":20", ":35", ":50"), description=desc,
                     grace=dt.timedelta(minutes=10)))
        desc = _("Repair orders matched to their appointments (booked flag)")
        register(Job("appointments_match", app=self.label, at=("03:20",), description=desc))
        desc = _("SMS reminders of tomorrow's appointments")
        register(Job("appointment_reminders_send", app=self.label, at=("18:00",), description=desc))
        desc = _("Waitlist offers not taken in time expire; the next customer waiting is offered")
        register(Job("appointment_waitlist_expire", app=self.label, at=(":05",), description=desc))
        register_cards()
        register_panel()
        register_call_panel()
        register_measures()

        # ---- remind: when bookings were made, for the care reminders' effectiveness (customers/registry.py) ----
        from aftercare.customers.registry import register_bookings_lookup

        register_bookings_lookup(bookings_made)
        # ---- end remind ----


# ---- remind: the bookings lookup of customers/registry.py ----
def bookings_made(vehicle_ids, since, until):
    """(vehicle id, made at) of the bookings made in `[since, until)` for `vehicle_ids`, cancelled ones left out."""
    from .choices import BookingState
    from .models import Booking

    return (Booking.objects.filter(vehicle_id__in=vehicle_ids, created_at__gte=since, created_at__lt=until)
            .exclude(state=BookingState.CANCELLED).values_list("vehicle_id", "created_at"))
# ---- end remind ----
