from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CareConfig(AppConfig):
    name = "aftercare.care"
    label = "care"
    verbose_name = _("customer care and retention")

    def ready(self):
        """Each part of the app wires its receivers, jobs, cards, panels and measures in its own block below."""

        # ---- classes: the daily classification job, customer panel, call-screen card, start card, KPI measures ----
        from aftercare.core.schedule import Job, register

        from . import classes_hooks

        register(Job("care_classify", app=self.label, at=("03:10",),
                     description=_("Classify customers (new, loyal, regular, lost) and record class changes")))
        classes_hooks.register()
        # ---- end classes ----


        # ---- churn: the daily churn-risk scoring and the customer-360 panel ----
        from aftercare.core.schedule import Job, register

        from .churn_panel import register as register_churn_panel

        register(Job("churn_score", app=self.label, at=("03:30",),
                     description=_("Churn-risk score of every active customer (newest trained model)")))
        register_churn_panel()
        # ---- end churn ----


        # ---- remind: the daily reminder job, the start-page card, the customer-360 panel, the success measure ----
        from aftercare.core.schedule import Job, register

        from .remind_hooks import register as register_remind

        register(Job("care_reminders_generate", app=self.label, at=("06:30",),
                     description=_("Care reminders due: first and periodic maintenance, warranty end, inspection, "
                                   "birthday")))
        register_remind()
        # ---- end remind ----


        # ---- campaigns: the call screen's campaign card, the KPI measures ----
        from . import call_screen, kpis_campaigns

        call_screen.register_campaigns()
        call_screen.register_recalls()
        kpis_campaigns.register()
        from aftercare.core.schedule import Job
        from aftercare.core.schedule import register as register_job

        register_job(Job("care_recalls_update", app=self.label, at=("03:40",),
                         description=_("Recall vehicles done (a repair order since the start) or unreachable")))
