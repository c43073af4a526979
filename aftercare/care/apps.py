from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CareConfig(AppConfig):
    name = "aftercare.care"
    label = "care"
    verbose_name = _("customer care and retention")

    def ready(self):
        """Each part of the app wires its receivers, jobs, cards, panels and measures in its own block below."""
        # ---- campaigns: the call screen's campaign card, the KPI measures ----
        from . import call_screen, kpis_campaigns

        call_screen.register_campaigns()
        call_screen.register_recalls()
        kpis_campaigns.register()
        from aftercare.core.schedule import Job
        from aftercare.core.schedule import register as register_job

        register_job(Job("care_recalls_update", app=self.label, at=("03:40",),
                         description=_("Recall vehicles done (a repair order since the start) or unreachable")))
