from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AppointmentsConfig(AppConfig):
    name = "aftercare.appointments"
    label = "appointments"
    verbose_name = _("service appointments")

    def ready(self):
        # ---- measures (ameasure part): the appointment measures of the KPI catalogue (appointments/kpis.py) ----
        from .kpis import register_measures

        register_measures()
