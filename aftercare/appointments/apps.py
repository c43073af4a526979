import datetime as dt

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AppointmentsConfig(AppConfig):
    name = "aftercare.appointments"
    label = "appointments"
    verbose_name = _("service appointments")

    def ready(self):
        self._ready_day_board()

    def _ready_day_board(self):
        """Capacity seed of a new store, the DMS match, the no-show and match jobs (day board part)."""
        from aftercare.core.schedule import Job, register

        from . import day_receivers  # noqa: F401  (connects the receivers)

        desc = _("Appointments missed beyond the grace become no-shows")
        register(Job("appointments_no_show", app=self.label, at=(":05", ":20", ":35", ":50"), description=desc,
                     grace=dt.timedelta(minutes=10)))
        desc = _("Repair orders matched to their appointments (booked flag)")
        register(Job("appointments_match", app=self.label, at=("03:20",), description=desc))
