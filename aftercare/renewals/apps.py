from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RenewalsConfig(AppConfig):
    name = "aftercare.renewals"
    label = "renewals"
    verbose_name = _("insurance renewals")

    def ready(self):
        from aftercare.core.schedule import Job, register

        from . import receivers  # noqa: F401  (connects the receivers)
        from .kpis import register_measures

        register_measures()  # the renewal measures of the KPI catalogue (renewals/kpis.py)

        desc = _("Renewal cases, contacts due, imported renewals and lapses")
        register(Job("renewals_generate", app=self.label, at=("02:10",), description=desc))
        desc = _("Renewal SMS reminders (two months before and in the month of expiry)")
        register(Job("renewal_reminders_send", app=self.label, at=("09:30",), description=desc))

        # the start page's cards, the customer 360's panel, the call screen's case card (api part)
        from .call_screen import register as register_call_panel
        from .cards import register as register_cards
        from .panels import register as register_panel

        register_cards()
        register_panel()
        register_call_panel()
