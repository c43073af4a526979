from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CareConfig(AppConfig):
    name = "aftercare.care"
    label = "care"
    verbose_name = _("customer care and retention")

    def ready(self):
        """The jobs of every part (docs/care.md), and what each part registers with the lower apps: start-page
        cards, customer-360 panels, call-screen cards and KPI measures."""
        from aftercare.core.schedule import Job, register

        from . import call_screen, campaign_cards, classes_hooks, kpis_campaigns, receivers  # noqa: F401  (receivers: connects them)
        from .churn_panel import register as register_churn_panel
        from .queue_rank import register as register_queue_rank
        from .remind_hooks import register as register_remind

        register(Job("care_classify", app=self.label, at=("03:10",),
                     description=_("Classify customers (new, loyal, regular, lost) and record class changes")))
        register(Job("churn_score", app=self.label, at=("03:30",),
                     description=_("Churn-risk score of every active customer (newest trained model)")))
        register(Job("care_recalls_update", app=self.label, at=("03:40",),
                     description=_("Recall vehicles done (a repair order since the start) or unreachable")))
        register(Job("care_reminders_generate", app=self.label, at=("06:30",),
                     description=_("Care reminders due: first and periodic maintenance, warranty end, inspection, "
                                   "birthday")))
        classes_hooks.register()  # customer panel, call-screen card, start card, churn-rate measures
        register_churn_panel()  # the churn-risk panel of the customer 360
        register_queue_rank()  # the churn risk ranks the follow-up queue's calls of one deadline
        register_remind()  # start-page card, customer-360 panel, the reminder success measure
        call_screen.register_campaigns()  # the call screen's campaign and recall cards
        call_screen.register_recalls()
        kpis_campaigns.register()  # the campaign measures
        campaign_cards.register()  # start-page cards: a specialist's campaign calls, a manager's running campaigns
