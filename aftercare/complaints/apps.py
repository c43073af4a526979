import datetime as dt

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ComplaintsConfig(AppConfig):
    name = "aftercare.complaints"
    label = "complaints"
    verbose_name = _("complaints and feedback")

    def ready(self):
        # the lower apps announce, complaints answers (see docs/architecture.md, "Layers and signals")
        from . import call_screen, signals  # noqa: F401  (connects the receivers)

        call_screen.register()

        from . import cards

        cards.register()  # the start page's cards (org/start.py)
        from . import panels

        panels.register()  # the customer 360's panel (customers/panels.py)

        from aftercare.core.schedule import Job, register

        desc = _("Find repeat repairs and plan their calls")
        register(Job("repeat_repairs_detect", app=self.label, at=("01:30",), description=desc))
        desc = _("Due-soon warnings, escalations, e-mail / SMS delivery")
        grace = dt.timedelta(minutes=15)
        register(Job("complaints_escalate", app=self.label, at=(":00",), grace=grace, description=desc))

        from .kpis import register_measures

        register_measures()  # the KPI catalogue (aftercare/org/kpis.py)
