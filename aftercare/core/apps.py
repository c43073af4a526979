from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "aftercare.core"
    label = "core"
    verbose_name = _("core")

    def ready(self):
        from . import throttle  # noqa: F401  (connects the lockout audit receiver)
