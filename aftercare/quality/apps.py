from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QualityConfig(AppConfig):
    name = "aftercare.quality"
    label = "quality"
    verbose_name = _("parts quality")

    def ready(self):
        """The complaint hand-over (receivers), the start-page cards and the daily alarm job (docs/quality.md)."""
        from aftercare.core.schedule import Job, register

        from . import cards, receivers  # noqa: F401  (receivers: connects them)
        from .kpis import register_measures

        cards.register()
        register_measures()
        register(
            Job(
                "quality_alarm_run",
                app=self.label,
                at=("04:20",),
                description=_(
                    "Batch-defect alarm: failures of every part family and build month against the "
                    "expected, alarms to the quality engineers"
                ),
            )
        )
