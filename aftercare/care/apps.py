from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CareConfig(AppConfig):
    name = "aftercare.care"
    label = "care"
    verbose_name = _("customer care and retention")

    def ready(self):
        """Each part of the app wires its receivers, jobs, cards, panels and measures in its own block below."""

        # ---- remind: the daily reminder job, the start-page card, the customer-360 panel, the success measure ----
        from aftercare.core.schedule import Job, register

        from .remind_hooks import register as register_remind

        register(Job("care_reminders_generate", app=self.label, at=("06:30",),
                     description=_("Care reminders due: first and periodic maintenance, warranty end, inspection, "
                                   "birthday")))
        register_remind()
        # ---- end remind ----
