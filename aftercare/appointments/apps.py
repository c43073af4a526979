from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AppointmentsConfig(AppConfig):
    name = "aftercare.appointments"
    label = "appointments"
    verbose_name = _("service appointments")

    def ready(self):
        # ---- booking in the UI: SMS, waitlist, start-page card, customer panel, call-screen panel (abook) ----
        from aftercare.core.schedule import Job, register

        from . import receivers  # noqa: F401  (connects the receivers)
        from .call_screen import register as register_call_panel
        from .cards import register as register_cards
        from .panels import register as register_panel

        desc = _("SMS reminders of tomorrow's appointments")
        register(Job("appointment_reminders_send", app=self.label, at=("18:00",), description=desc))
        desc = _("Waitlist offers not taken in time expire; the next customer waiting is offered")
        register(Job("appointment_waitlist_expire", app=self.label, at=(":05",), description=desc))
        register_cards()
        register_panel()
        register_call_panel()
