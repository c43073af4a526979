from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FollowupsConfig(AppConfig):
    name = "aftercare.followups"
    label = "followups"
    verbose_name = _("follow-up calls")

    def ready(self):
        from aftercare.core.schedule import Job, register

        from . import receivers  # noqa: F401  (connects them; see docs/architecture.md, "Layers and signals")
        from .cards import register as register_cards

        register_cards()  # the start page's cards (org/start.py)
        from .panels import register as register_panels

        register_panels()  # the customer 360's panel (customers/panels.py)

        desc = _("Create missed follow-up call tasks")
        register(Job("followups_generate", app=self.label, at=("01:00",), description=desc))

        from .kpis import register_measures

        register_measures()  # the KPI catalogue (aftercare/org/kpis.py)

        # ---- channels: held marketing messages sent when the quiet hours end; the weekly call cap ----
        register(Job("messages_release", app=self.label, at=(":00", ":15", ":30", ":45"),
                     description=_("Send held and unsent messages")))
        register(Job("calls_cap_apply", app=self.label, at=("06:30",),
                     description=_("Put off care and campaign calls beyond the weekly cap")))
        # ---- end channels ----
