from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QualityConfig(AppConfig):
    name = "aftercare.quality"
    label = "quality"
    verbose_name = _("parts quality")

    def ready(self) -> None:
        from .kpis import register_measures

        register_measures()
