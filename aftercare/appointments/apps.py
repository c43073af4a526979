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
        from aftercare.customers.registry import register_bookings_lookup

        from . import receivers, selectors  # noqa: F401  (receivers: connects the receivers)
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
        register_bookings_lookup(selectors.bookings_made)  # when bookings were made: the care reminders' effect

