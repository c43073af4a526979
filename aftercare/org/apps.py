from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrgConfig(AppConfig):
    name = "aftercare.org"
    label = "org"
    verbose_name = _("org")

    def ready(self):
        from aftercare.core.sms import user_mobiles_register

        from .selectors import staff_mobiles

        user_mobiles_register(staff_mobiles)  # core sends text messages to the staff's mobiles

        from aftercare.core.schedule import register_alert_recipients

        from .selectors import job_alert_recipients

        register_alert_recipients(job_alert_recipients)  # who hears of a failed or late scheduled job

        from .cards import register as register_cards

        register_cards()  # the work-calendar warning of the group admin (org/cards.py)
        from .glance import register as register_glance_card

        register_glance_card()  # the managers' KPIs against target (org/glance.py)
