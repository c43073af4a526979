from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    """The managers' instruments (docs/reports.md): the measures pages over the KPI catalogue, SSI against region and
    nation, the action register, reports by mail and the year report. It sits above every app whose figures it shows
    and below only `demo`."""

    name = "aftercare.reports"
    label = "reports"
    verbose_name = _("reports and dashboards")

    def ready(self):
        from . import cards

        cards.register()  # the action register's start-page card
        # ---- ssi: a link from the follow-up manage page to SSI against region and nation ----
        from aftercare.followups.registry import manage_link_register

        manage_link_register("reports.ssi", "reports/ssi/_manage_link.html")
        # ---- end ssi ----
        # ---- mail: reports by mail (issue 19) ----
        from aftercare.core.schedule import Job, register

        register(Job("reports_send", app=self.label, at=("07:30",),
                     description=_("Weekly and monthly reports by e-mail: generate and send the periods due")))
        # ---- end mail ----
