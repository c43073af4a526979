from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "aftercare.customers"
    label = "customers"
    verbose_name = _("customers")

    def ready(self):
        from aftercare.core.schedule import Job, register

        desc = _("Data-quality counts per store")
        register(Job("data_quality_report", app=self.label, at=("02:00",), description=desc))
